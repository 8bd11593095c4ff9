"""The owned batch norm against a NumPy reference, and the option-A ops."""

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1.nets import layers

tf1 = tf.compat.v1


def numpy_batch_norm(x, mean, variance, gamma, beta, epsilon):
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def run_batch_norm(x, is_training, decay=0.9, steps=1, data_format='NHWC'):
    """Builds batch_norm on a placeholder, runs its UPDATE_OPS `steps` times
    with `x`, returns (output, variables by short name)."""
    graph = tf.Graph()
    with graph.as_default():
        inputs = tf1.placeholder(tf.float32, x.shape)
        outputs = layers.batch_norm(inputs, decay=decay, scale=True,
                                    epsilon=1e-3, is_training=is_training,
                                    data_format=data_format)
        updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            for variable in tf1.global_variables():
                if variable.op.name.endswith('gamma'):
                    variable.load(np.linspace(0.5, 2.0, variable.shape[0]),
                                  session)
                if variable.op.name.endswith('beta'):
                    variable.load(np.linspace(-1.0, 1.0, variable.shape[0]),
                                  session)
            for _ in range(steps):
                result = session.run([outputs] + updates, {inputs: x})[0]
            values = {v.op.name.split('/')[-1]: session.run(v)
                      for v in tf1.global_variables()}
            names = sorted(v.op.name for v in tf1.global_variables())
            trainable = sorted(v.op.name for v in tf1.trainable_variables())
    return result, values, names, trainable, len(updates)


@pytest.fixture
def x():
    return np.random.RandomState(0).normal(3.0, 2.0, (4, 5, 5, 3)).astype(
        np.float32)


def test_training_mode_normalizes_with_batch_statistics(x):
    out, values, _, _, _ = run_batch_norm(x, is_training=True)
    mean, variance = x.mean((0, 1, 2)), x.var((0, 1, 2))
    expected = numpy_batch_norm(x, mean, variance, values['gamma'],
                                values['beta'], 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_training_mode_updates_moving_statistics(x):
    # Two updates with decay 0.9 from (0, 1): m <- 0.9 m + 0.1 batch.
    _, values, _, _, num_updates = run_batch_norm(x, True, decay=0.9, steps=2)
    assert num_updates == 2
    n = x.shape[0] * x.shape[1] * x.shape[2]
    mean = x.mean((0, 1, 2))
    unbiased_variance = x.var((0, 1, 2)) * n / (n - 1)
    np.testing.assert_allclose(values['moving_mean'], mean * (1 - 0.9 ** 2),
                               rtol=1e-5)
    np.testing.assert_allclose(
        values['moving_variance'],
        0.9 ** 2 * 1.0 + unbiased_variance * (1 - 0.9 ** 2), rtol=1e-5)


def test_inference_mode_uses_moving_statistics_and_adds_no_updates(x):
    out, values, _, _, num_updates = run_batch_norm(x, is_training=False)
    assert num_updates == 0
    # Fresh moving statistics are mean 0, variance 1.
    expected = numpy_batch_norm(x, 0.0, 1.0, values['gamma'], values['beta'],
                                1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_variables_follow_slims_names_and_trainability(x):
    _, _, names, trainable, _ = run_batch_norm(x, is_training=True)
    assert names == ['BatchNorm/beta', 'BatchNorm/gamma',
                     'BatchNorm/moving_mean', 'BatchNorm/moving_variance']
    assert trainable == ['BatchNorm/beta', 'BatchNorm/gamma']


def test_nchw_matches_nhwc(x):
    nhwc, _, _, _, _ = run_batch_norm(x, is_training=True)
    nchw, _, _, _, _ = run_batch_norm(x.transpose(0, 3, 1, 2), True,
                                      data_format='NCHW')
    np.testing.assert_allclose(nchw.transpose(0, 2, 3, 1), nhwc, rtol=1e-5,
                               atol=1e-5)


def test_works_as_slim_normalizer_fn():
    import tf_slim as slim
    graph = tf.Graph()
    with graph.as_default():
        images = tf1.placeholder(tf.float32, [None, 8, 8, 3])
        with slim.arg_scope([layers.batch_norm], is_training=True):
            slim.conv2d(images, 4, 3, normalizer_fn=layers.batch_norm,
                        scope='conv')
        names = sorted(v.op.name for v in tf1.global_variables())
    # The normalizer replaces the bias, as with slim.batch_norm.
    assert names == ['conv/BatchNorm/beta', 'conv/BatchNorm/moving_mean',
                     'conv/BatchNorm/moving_variance', 'conv/weights']
    assert len(graph.get_collection(tf1.GraphKeys.UPDATE_OPS)) == 2


def test_subsample_and_pad_channels():
    x = np.arange(2 * 7 * 7 * 3, dtype=np.float32).reshape(2, 7, 7, 3)
    sub = layers.subsample(tf.constant(x), 2)
    padded = layers.pad_channels(sub, 8)
    np.testing.assert_array_equal(sub.numpy(), x[:, ::2, ::2, :])
    assert padded.shape == (2, 4, 4, 8)
    np.testing.assert_array_equal(padded.numpy()[..., :3], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(padded.numpy()[..., 3:], 0)
    with pytest.raises(ValueError, match='cannot zero-pad 3 channels down'):
        layers.pad_channels(tf.constant(x), 2)
