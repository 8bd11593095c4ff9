"""fast_conv.py: each formulation equals TensorFlow's Conv2D, the layer keeps
slim.conv2d's variables and contract, and evaluation gives the same
accuracy with it as without."""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from resnet_tf1 import config
from resnet_tf1.model_dir import run_record
from resnet_tf1.data import inputs
from resnet_tf1.data import mnist
from resnet_tf1.evaluation import evaluate
from resnet_tf1.nets import registry
from resnet_tf1.nets import resnet
from resnet_tf1.compute import conv_padding
from resnet_tf1.compute import fast_conv
from resnet_tf1.training import loop

from conftest import tiny_train_config

tf1 = tf.compat.v1


def test_winograd_matrices_compute_a_correlation():
    # One axis, in float64: AT [(G g) * (BT d)] is the 4 outputs of the
    # 3-tap correlation of d with g.
    rng = np.random.RandomState(0)
    for _ in range(10):
        d, g = rng.normal(size=6), rng.normal(size=3)
        winograd = fast_conv.WINOGRAD_AT @ (
            (fast_conv.WINOGRAD_G @ g) * (fast_conv.WINOGRAD_BT @ d))
        direct = [d[r:r + 3] @ g for r in range(4)]
        np.testing.assert_allclose(winograd, direct, rtol=1e-12, atol=1e-12)


# (height, width, channels in, channels out, kernel, stride, padding, batch)
DENSE_SHAPES = [
    (2, 2, 8, 8, 3, 1, 'SAME', 3),      # stage 4 of ResNet-34
    (1, 1, 3, 4, 3, 1, 'SAME', 2),      # only the centre tap
    (2, 2, 1, 5, 3, 2, 'SAME', 1),      # stride 2, one channel, batch 1
    (4, 4, 6, 4, 3, 2, 'SAME', 2),      # 4x4 -> 2x2 (the rule keeps TF's)
    (2, 3, 2, 3, 4, 1, 'SAME', 2),      # even kernel: asymmetric padding
    (3, 4, 2, 2, 3, 1, 'VALID', 2),
]
WINOGRAD_SHAPES = [
    (4, 4, 16, 16, 3, 1, 'SAME', 3),    # stage 3 of ResNet-34
    (3, 3, 1, 1, 3, 1, 'SAME', 1),      # one channel, batch 1
    (2, 2, 4, 3, 3, 1, 'SAME', 2),
    (4, 3, 2, 3, 3, 1, 'VALID', 2),
    (7, 7, 5, 6, 3, 1, 'SAME', 2),      # 2x2 tiles, the last cropped
    (9, 6, 3, 2, 3, 1, 'SAME', 2),
]


def _arrays(height, width, c_in, c_out, kernel, batch):
    rng = np.random.RandomState(height * 100 + width * 10 + c_out)
    return (rng.normal(size=(batch, height, width, c_in)).astype(np.float32),
            rng.normal(size=(kernel, kernel, c_in, c_out)).astype(np.float32))


def _compare(fast_fn, x, w, stride, padding, relative_tolerance):
    with tf.Graph().as_default():
        # The batch size is unknown when the graph is built, as in eval.
        images = tf1.placeholder(tf.float32, (None,) + x.shape[1:])
        reference = tf.nn.conv2d(images, w, stride, padding)
        fast = fast_fn(images, tf.constant(w))
        with tf1.Session() as session:
            reference, fast = session.run([reference, fast], {images: x})
    assert fast.shape == reference.shape
    np.testing.assert_allclose(
        fast, reference, rtol=0,
        atol=relative_tolerance * np.abs(reference).max())


@pytest.mark.parametrize('height,width,c_in,c_out,kernel,stride,padding,batch',
                         DENSE_SHAPES)
def test_dense_equals_conv2d(height, width, c_in, c_out, kernel, stride,
                             padding, batch):
    x, w = _arrays(height, width, c_in, c_out, kernel, batch)

    def dense(images, weights):
        matrix = fast_conv.dense_kernel(weights, (height, width), stride,
                                        padding)
        out_h, out_w = conv_padding.output_size(
            (height, width), (kernel, kernel), stride, padding)
        return fast_conv.dense_conv(images, matrix, (out_h, out_w, c_out))
    # The same products, summed in another order.
    _compare(dense, x, w, stride, padding, 1e-6)


@pytest.mark.parametrize('height,width,c_in,c_out,kernel,stride,padding,batch',
                         WINOGRAD_SHAPES)
def test_winograd_equals_conv2d(height, width, c_in, c_out, kernel, stride,
                                padding, batch):
    x, w = _arrays(height, width, c_in, c_out, kernel, batch)

    def winograd(images, weights):
        return fast_conv.winograd_conv(
            images, fast_conv.winograd_kernel(weights), padding)
    # The transforms' coefficients (up to 8 and 1/24) cost a few bits:
    # measured errors are 2-4e-6 of the output's range.
    _compare(winograd, x, w, stride, padding, 2e-5)


@pytest.mark.parametrize('c_in,c_out,batch', [(8, 8, 3), (1, 5, 1),
                                              (3, 2, 2)])
def test_toeplitz_equals_conv2d(c_in, c_out, batch):
    x, w = _arrays(2, 2, c_in, c_out, 3, batch)

    def toeplitz(images, weights):
        return fast_conv.toeplitz_conv(images,
                                       fast_conv.toeplitz_kernel(weights))
    # Coefficients 0 and +-1: summation order only.
    _compare(toeplitz, x, w, 1, 'SAME', 1e-6)


@pytest.mark.parametrize('input_size,kernel,stride,kwargs,expected', [
    ((2, 2), (3, 3), 1, {}, 'toeplitz'),
    ((2, 2), (3, 3), 1, {'padding': 'VALID'}, 'tf'),     # no output
    ((2, 2), (3, 3), 2, {}, 'dense'),
    ((1, 1), (3, 3), 1, {}, 'dense'),
    ((4, 4), (3, 3), 1, {}, 'winograd'),
    ((7, 7), (3, 3), 1, {}, 'tf'),            # TF's conv measured faster
    ((14, 14), (3, 3), 1, {}, 'tf'),
    ((7, 7), (3, 3), 2, {}, 'tf'),
    ((28, 28), (7, 7), 1, {}, 'tf'),
    ((7, 7), (1, 1), 1, {}, 'tf'),
    ((7, 7), (3, 3), 1, {'data_format': 'NCHW'}, 'tf'),
    ((7, 7), (3, 3), 1, {'dtype': tf.bfloat16}, 'tf'),
    ((2, 2), (3, 3), 1, {'rate': 2}, 'tf'),
    ((None, None), (3, 3), 1, {}, 'tf'),
])
def test_inference_formulation_rule(input_size, kernel, stride, kwargs,
                                    expected):
    assert fast_conv.inference_formulation(input_size, kernel, stride,
                                           **kwargs) == expected


@pytest.mark.parametrize('input_size,kernel,stride,kwargs,expected', [
    ((2, 2), (3, 3), 1, {}, 'dense'),
    ((1, 1), (3, 3), 1, {}, 'dense'),
    ((4, 4), (3, 3), 1, {}, 'winograd'),
    ((3, 3), (3, 3), 1, {'padding': 'VALID'}, 'winograd'),
    ((7, 7), (3, 3), 1, {}, 'tf'),            # measured no faster
    ((14, 14), (3, 3), 1, {}, 'tf'),
    ((4, 4), (3, 3), 2, {}, 'tf'),            # dense: 2x the MACs
    ((28, 28), (7, 7), 1, {}, 'tf'),
    ((4, 4), (1, 1), 1, {}, 'tf'),
    ((2, 2), (3, 3), 1, {'dtype': tf.bfloat16}, 'tf'),
    ((2, 2), (3, 3), 1, {'data_format': 'NCHW'}, 'tf'),
    ((4, 4), (3, 3), 1, {'rate': 2}, 'tf'),
    ((None, None), (3, 3), 1, {}, 'tf'),
])
def test_formulation_rule(input_size, kernel, stride, kwargs, expected):
    assert fast_conv.formulation(input_size, kernel, stride,
                                 **kwargs) == expected


def _variables(graph):
    """name -> (shape, trainable, model variable)."""
    with graph.as_default():
        model = set(slim.get_model_variables())
        trainable = set(tf1.trainable_variables())
        return {v.op.name: (v.shape.as_list(), v in trainable, v in model)
                for v in tf1.global_variables()}


def _layer(x, norm, fast, **conv_kwargs):
    """slim.conv2d inside the ResNets' arg_scope, with or without the fast
    formulations installed; returns
    (output, variables, regularization losses, op types) after loading the
    same weights whichever way it computes."""
    graph = tf.Graph()
    with graph.as_default():
        images = tf1.placeholder(tf.float32, (None,) + x.shape[1:])
        with slim.arg_scope(resnet.resnet_arg_scope(
                norm=norm, weight_decay=1e-3)), \
                fast_conv.inference_formulations(fast):
            outputs = slim.conv2d(images, 6, 3, scope='conv', **conv_kwargs)
        losses = len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES))
        rng = np.random.RandomState(1)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            for variable in tf1.global_variables():
                shape = variable.shape.as_list()
                variable.load(rng.uniform(0.5, 1.5, shape)
                              if 'variance' in variable.op.name
                              else rng.normal(size=shape), session)
            session.run(fast_conv.refresh_op())
            result = session.run(outputs, {images: x})
    op_types = {op.type for op in graph.get_operations()}
    return result, _variables(graph), losses, op_types


@pytest.mark.parametrize('size,norm,kwargs', [
    (2, 'none', {}),                          # toeplitz; bias, ReLU
    (4, 'none', {'activation_fn': None}),     # winograd, one tile
    (2, 'batch', {}),                         # BN instead of the bias
    (4, 'batch', {'activation_fn': None}),
])
def test_layer_keeps_slims_variables_and_outputs(size, norm, kwargs):
    x = np.random.RandomState(0).normal(size=(3, size, size, 1)).astype(
        np.float32)
    fast, fast_vars, fast_losses, fast_ops = _layer(x, norm, True, **kwargs)
    stock, stock_vars, stock_losses, stock_ops = _layer(x, norm, False,
                                                        **kwargs)
    assert fast_vars == stock_vars
    assert ('conv/biases' in fast_vars) == (norm == 'none')
    assert fast_losses == stock_losses == 1
    assert 'Conv2D' in stock_ops and 'Conv2D' not in fast_ops
    np.testing.assert_allclose(fast, stock, rtol=0,
                               atol=2e-5 * np.abs(stock).max())


def test_outside_the_block_slim_conv2d_is_slims_own():
    # Training graphs: no rewrite, no cached kernels; the block puts slim's
    # conv2d back even when building inside it fails.
    original = slim.conv2d
    with pytest.raises(ValueError, match='boom'):
        with fast_conv.inference_formulations():
            assert slim.conv2d is fast_conv.conv2d
            raise ValueError('boom')
    assert slim.conv2d is original
    x = np.zeros((1, 2, 2, 3), np.float32)
    graph = tf.Graph()
    with graph.as_default():
        slim.conv2d(tf.constant(x), 4, 3)
        assert [op.type for op in graph.get_operations()].count(
            'Conv2D') == 1
        assert not tf1.get_collection(fast_conv.CACHED_KERNELS)
        assert not tf1.local_variables()


def test_cached_kernels_follow_the_weights_after_refresh():
    x = np.random.RandomState(0).normal(size=(2, 2, 2, 3)).astype(np.float32)
    with tf.Graph().as_default():
        with fast_conv.inference_formulations():
            outputs = slim.conv2d(tf.constant(x), 4, 3, activation_fn=None,
                                  scope='conv')
        weights = [v for v in tf1.global_variables()
                   if v.op.name == 'conv/weights'][0]
        reference = tf.nn.conv2d(x, weights, 1, 'SAME')
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            session.run(fast_conv.refresh_op())
            weights.load(np.ones(weights.shape.as_list()), session)
            stale, expected = session.run([outputs, reference])
            session.run(fast_conv.refresh_op())
            fresh = session.run(outputs)
    # The contract: a cache is only as new as the last refresh.
    assert not np.allclose(stale, expected)
    np.testing.assert_allclose(fresh, expected, rtol=1e-6)


def test_resnet34_uses_the_fast_formulations_on_stages_3_and_4():
    model = tiny_train_config().model
    counts = {}
    for fast in (False, True):
        graph = tf.Graph()
        with graph.as_default():
            images, _ = inputs.placeholders(model)
            with fast_conv.inference_formulations(fast):
                registry.build(model, images, is_training=False)
            counts[fast] = (
                [op.type for op in graph.get_operations()].count('Conv2D'),
                sorted(v.op.name.split('/')[-1] for v in
                       tf1.get_collection(fast_conv.CACHED_KERNELS)))
            variables = _variables(graph)
        counts[fast] += (variables,)
    # 33 convs: stem, 3+4 units of 14x14 and 7x7, two stride-2 convs stay
    # TF's; 11 convs on 4x4 (Winograd) and 5 on 2x2 (Toeplitz) are
    # rewritten.
    assert counts[False][:2] == (33, [])
    assert counts[True][0] == 33 - 16
    assert counts[True][1] == sorted(['toeplitz_weights'] * 5 +
                                     ['winograd_weights'] * 11)
    assert counts[True][2] == counts[False][2]


def _evaluate(evaluator, checkpoint, split):
    return evaluator.evaluate(checkpoint, split, batch_size=64).accuracy


def test_evaluator_accuracy_is_the_same_with_and_without(mnist_data, tmp_path):
    # Checkpoints written by training's unchanged path, restored into both
    # inference graphs, one checkpoint after the other into the same graph.
    train_config = tiny_train_config(steps=40, learning_rate=0.1,
                                     batch_size=32, save_every=20)
    loop.train(train_config, str(tmp_path), mnist_data.train,
               log=lambda _: None)
    loaded = run_record.load(str(tmp_path))
    split = mnist.Split(mnist_data.test.images[:500],
                        mnist_data.test.labels[:500])
    fast = evaluate.Evaluator(loaded)
    stock = evaluate.Evaluator(
        loaded, compute=config.ComputeConfig(inference_convolutions='tf'))
    try:
        accuracies = []
        for step in (20, 40):
            checkpoint = str(tmp_path / ('model.ckpt-%d' % step))
            accuracies.append((_evaluate(fast, checkpoint, split),
                               _evaluate(stock, checkpoint, split)))
        # The caches hold the kernels of the checkpoint restored last.
        with fast.graph.as_default():
            caches = tf1.get_collection(fast_conv.CACHED_KERNELS)
            assert len(caches) == 16
            for cache in caches:
                value, recomputed = fast.session.run(
                    [cache, cache.initial_value])
                np.testing.assert_array_equal(value, recomputed)
    finally:
        fast.close()
        stock.close()
    for with_fast, with_stock in accuracies:
        assert with_fast == with_stock
    # Trained enough for the comparison to mean something (0.30 measured;
    # chance is 0.1).
    assert accuracies[-1][0] > 0.2, accuracies


def test_batch_norm_network_evaluates_the_same(mnist_data, tmp_path):
    train_config = tiny_train_config(steps=3, norm='batch')
    loop.train(train_config, str(tmp_path), mnist_data.train,
               log=lambda _: None)
    loaded = run_record.load(str(tmp_path))
    split = mnist.Split(mnist_data.test.images[:200],
                        mnist_data.test.labels[:200])
    checkpoint = str(tmp_path / 'model.ckpt-3')
    results = []
    for fast in (True, False):
        evaluator = evaluate.Evaluator(
            loaded, compute=config.ComputeConfig(
                inference_convolutions='fast' if fast else 'tf'))
        try:
            results.append(_evaluate(evaluator, checkpoint, split))
        finally:
            evaluator.close()
    assert results[0] == results[1]

