"""tf1_migrate.compat_ops.batch_norm, the batch norm the migration guide
gives for slim.batch_norm: slim's variable names and collections, slim's
fused-path numbers (checked against numpy), its update contract, rank 2 and
4, NCHW, a tensor `is_training`, and use as a slim normalizer_fn."""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from tf1_migrate.compat_ops import batch_norm

tf1 = tf.compat.v1
RNG = np.random.default_rng(0)
IMAGES = RNG.normal(2.0, 3.0, (4, 3, 3, 2)).astype(np.float32)
ROWS = RNG.normal(-1.0, 2.0, (5, 3)).astype(np.float32)


def run(fetches, feed=None, updates=True):
    """Runs `fetches` (after the UPDATE_OPS when `updates`) once, then
    returns them with the variables by name."""
    graph = tf1.get_default_graph()
    update_ops = graph.get_collection(tf1.GraphKeys.UPDATE_OPS)
    with tf1.Session() as session:
        session.run(tf1.global_variables_initializer())
        values = session.run([fetches, update_ops if updates else []],
                             feed)[0]
        variables = {v.op.name: session.run(v)
                     for v in tf1.global_variables()}
    return values, variables


def expected(x, axes, decay=0.999, epsilon=0.001):
    mean, variance = x.mean(axes), x.var(axes)
    count = x.size // mean.size
    return ((x - mean) / np.sqrt(variance + epsilon),
            (1 - decay) * mean,
            decay + (1 - decay) * variance * count / (count - 1))


def test_variables_are_slims():
    with tf.Graph().as_default():
        batch_norm(tf.constant(IMAGES), scale=True)
        batch_norm(tf.constant(IMAGES), scope='second')
        names = [v.op.name for v in tf1.global_variables()]
        assert names == ['BatchNorm/beta', 'BatchNorm/gamma',
                         'BatchNorm/moving_mean', 'BatchNorm/moving_variance',
                         'second/beta', 'second/moving_mean',
                         'second/moving_variance']
        assert [v.op.name for v in tf1.trainable_variables()] == [
            'BatchNorm/beta', 'BatchNorm/gamma', 'second/beta']
        assert [v.op.name for v in slim.get_model_variables()] == names
        assert len(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)) == 4


@pytest.mark.parametrize('x, axes', [(IMAGES, (0, 1, 2)), (ROWS, (0,))],
                         ids=['rank4', 'rank2'])
def test_training_numbers_are_slims(x, axes):
    with tf.Graph().as_default():
        y = batch_norm(tf.constant(x), is_training=True)
        value, variables = run(y)
    normalized, mean, variance = expected(x, axes)
    np.testing.assert_allclose(value, normalized, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(variables['BatchNorm/moving_mean'], mean,
                               rtol=1e-4)
    np.testing.assert_allclose(variables['BatchNorm/moving_variance'],
                               variance, rtol=1e-5)


def test_inference_uses_the_moving_statistics_and_adds_no_update():
    initializers = {'moving_mean': tf1.constant_initializer([1.0, -1.0]),
                    'moving_variance': tf1.constant_initializer([4.0, 9.0]),
                    'beta': tf1.constant_initializer([0.5, 0.0])}
    with tf.Graph().as_default():
        y = batch_norm(tf.constant(IMAGES), is_training=False,
                       param_initializers=initializers)
        assert not tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        value, _ = run(y)
    want = ((IMAGES - [1.0, -1.0]) / np.sqrt(np.array([4.0, 9.0]) + 0.001)
            + [0.5, 0.0])
    np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6)


def test_tensor_is_training_picks_the_mode_when_run():
    with tf.Graph().as_default():
        training = tf1.placeholder(tf.bool, [])
        y = batch_norm(tf.constant(ROWS), is_training=training, decay=0.5)
        train_value, train_vars = run(y, {training: True})
        test_value, test_vars = run(y, {training: False})
    normalized, mean, variance = expected(ROWS, (0,), decay=0.5)
    np.testing.assert_allclose(train_value, normalized, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(train_vars['BatchNorm/moving_mean'], mean,
                               rtol=1e-5)
    np.testing.assert_allclose(test_value, ROWS / np.sqrt(1.001), rtol=1e-5)
    np.testing.assert_array_equal(test_vars['BatchNorm/moving_mean'], 0.0)
    np.testing.assert_array_equal(test_vars['BatchNorm/moving_variance'], 1.0)


def test_updates_collections_none_updates_in_place():
    with tf.Graph().as_default():
        y = batch_norm(tf.constant(ROWS), updates_collections=None)
        assert not tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        _, variables = run(y, updates=False)
    _, mean, variance = expected(ROWS, (0,))
    np.testing.assert_allclose(variables['BatchNorm/moving_mean'], mean,
                               rtol=1e-4)
    np.testing.assert_allclose(variables['BatchNorm/moving_variance'],
                               variance, rtol=1e-5)


def test_nchw_equals_nhwc_transposed():
    with tf.Graph().as_default():
        nhwc = batch_norm(tf.constant(IMAGES), scope='a')
        nchw = batch_norm(tf.constant(IMAGES.transpose(0, 3, 1, 2)),
                          data_format='NCHW', scope='b')
        (a, b), variables = run([nhwc, nchw])
    np.testing.assert_allclose(a, b.transpose(0, 2, 3, 1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(variables['a/moving_variance'],
                               variables['b/moving_variance'], rtol=1e-6)


def test_is_a_slim_normalizer_fn_with_arg_scope():
    with tf.Graph().as_default():
        with slim.arg_scope([batch_norm], scale=True, decay=0.9):
            slim.conv2d(tf.constant(IMAGES), 2, 1, normalizer_fn=batch_norm)
        assert [v.op.name for v in tf1.global_variables()] == [
            'Conv/weights', 'Conv/BatchNorm/beta', 'Conv/BatchNorm/gamma',
            'Conv/BatchNorm/moving_mean', 'Conv/BatchNorm/moving_variance']


def test_rank_1_is_refused_in_one_line():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match='rank >= 2, got shape'):
            batch_norm(tf.constant([1.0, 2.0]))
