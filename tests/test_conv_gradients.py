"""The rewritten Conv2D gradients equal TensorFlow's own kernels."""

import ast

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1.compute import conv_gradients
from resnet_tf1.compute import conv_padding

from conftest import REPO_DIR

tf1 = tf.compat.v1

# (input size, channels in, channels out, kernel, stride, padding): every
# conv class of ResNet-34 (narrowed), plus odd sizes, strides and kernels.
SHAPES = [
    (28, 1, 4, 7, 1, 'SAME'),     # the MNIST stem
    (14, 4, 4, 3, 1, 'SAME'),
    (14, 4, 8, 3, 2, 'SAME'),     # pad 0 before, 1 after
    (7, 8, 16, 3, 2, 'SAME'),     # odd input: 7 -> 4, pad 1 and 1
    (4, 16, 32, 3, 2, 'SAME'),
    (2, 32, 32, 3, 1, 'SAME'),    # the 2x2 maps of stage 4
    (7, 5, 6, 1, 2, 'SAME'),      # a projection shortcut
    (9, 3, 4, 5, 3, 'VALID'),     # rows the VALID window never reads
    (8, 3, 4, 4, 2, 'SAME'),      # even kernel: asymmetric padding
    (5, 2, 3, 3, 1, 'VALID'),
]


def _arrays(size, c_in, c_out, kernel, stride, padding, batch=3):
    out = (-(-size // stride) if padding == 'SAME'
           else (size - kernel) // stride + 1)
    rng = np.random.RandomState(size * 100 + c_out)
    return (rng.normal(size=(batch, size, size, c_in)).astype(np.float32),
            rng.normal(size=(kernel, kernel, c_in, c_out)).astype(np.float32),
            rng.normal(size=(batch, out, out, c_out)).astype(np.float32))


def _pads(size, kernel, stride, padding):
    if padding == 'VALID':
        return ((0, 0), (0, 0))
    _, before, after = conv_padding.output_size_and_padding(
        size, kernel, stride, 'SAME')
    return ((before, after), (before, after))


def _evaluate(tensors):
    with tf1.Session() as session:
        return session.run(tensors)


@pytest.mark.parametrize('size,c_in,c_out,kernel,stride,padding', SHAPES)
def test_rewrites_equal_tensorflow_kernels(size, c_in, c_out, kernel, stride,
                                           padding):
    x, w, dy = _arrays(size, c_in, c_out, kernel, stride, padding)
    pads = _pads(size, kernel, stride, padding)
    with tf.Graph().as_default():
        strides = [1, stride, stride, 1]
        stock_dx = tf1.nn.conv2d_backprop_input(x.shape, w, dy, strides,
                                                padding)
        stock_dw = tf1.nn.conv2d_backprop_filter(x, w.shape, dy, strides,
                                                 padding)
        dx = conv_gradients.input_gradient(tf.constant(dy), tf.constant(w),
                                           (size, size), stride, pads)
        dw = conv_gradients.filter_gradient(tf.constant(x), tf.constant(dy),
                                            (kernel, kernel), stride, pads)
        stock_dx, stock_dw, dx, dw = _evaluate([stock_dx, stock_dw, dx, dw])
    assert dx.shape == x.shape and dw.shape == w.shape
    np.testing.assert_allclose(dx, stock_dx, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dw, stock_dw, rtol=1e-5, atol=1e-4)


def _gradients(fast, x, w, stride, padding):
    graph = tf.Graph()
    with graph.as_default():
        # The batch size is unknown when the graph is built, as in training.
        images = tf1.placeholder(tf.float32, (None,) + x.shape[1:])
        kernel = tf.constant(w)
        with conv_gradients.fast_gradients(graph, fast):
            outputs = tf.nn.conv2d(images, kernel, stride, padding)
        loss = tf.reduce_sum(outputs * tf.sin(outputs))
        dx, dw = tf.gradients(loss, [images, kernel])
        op_types = {op.type for op in graph.get_operations()}
        with tf1.Session() as session:
            values = session.run([dx, dw], {images: x})
    return values, op_types


@pytest.mark.parametrize('size,c_in,c_out,kernel,stride,padding', SHAPES)
def test_override_gives_tensorflows_gradients(size, c_in, c_out, kernel,
                                              stride, padding):
    x, w, _ = _arrays(size, c_in, c_out, kernel, stride, padding, batch=2)
    (stock_dx, stock_dw), _ = _gradients(False, x, w, stride, padding)
    (dx, dw), _ = _gradients(True, x, w, stride, padding)
    np.testing.assert_allclose(dx, stock_dx, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dw, stock_dw, rtol=1e-5, atol=1e-4)


def test_override_replaces_the_slow_kernels_on_small_maps():
    x, w, _ = _arrays(2, 8, 8, 3, 1, 'SAME')
    _, stock_ops = _gradients(False, x, w, 1, 'SAME')
    _, fast_ops = _gradients(True, x, w, 1, 'SAME')
    assert {'Conv2DBackpropInput', 'Conv2DBackpropFilter'} <= stock_ops
    assert not {'Conv2DBackpropInput', 'Conv2DBackpropFilter'} & fast_ops


def test_unsupported_convs_fall_back_to_tensorflows_kernels():
    # Unequal strides are outside the rewrite (as are NCHW, dilation and
    # explicit padding, which TF's CPU kernels reject anyway).
    x, w, _ = _arrays(9, 3, 4, 3, 1, 'SAME')
    (stock_dx, stock_dw), _ = _gradients(False, x, w, [1, 1, 2, 1], 'SAME')
    (dx, dw), ops = _gradients(True, x, w, [1, 1, 2, 1], 'SAME')
    assert 'Conv2DBackpropInput' in ops
    np.testing.assert_allclose(dx, stock_dx, rtol=1e-6)
    np.testing.assert_allclose(dw, stock_dw, rtol=1e-6)


def test_speed_modules_import_each_other_without_a_cycle():
    # fast_conv's gradients serve conv_gradients, so conv_gradients imports
    # fast_conv; the padding arithmetic both need lives in conv_padding.
    # The modules of compute/, the fast_conv package counted as one.
    compute_dir = REPO_DIR / 'resnet_tf1' / 'compute'
    imports = {}
    for path in sorted(compute_dir.glob('*.py')) + sorted(
            compute_dir.glob('fast_conv/*.py')):
        name = 'fast_conv' if path.parent.name == 'fast_conv' else path.stem
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (
                    node.module or '').startswith('resnet_tf1.compute'):
                continue
            if node.module.startswith('resnet_tf1.compute.fast_conv'):
                targets = {'fast_conv'}
            else:
                targets = {alias.name for alias in node.names}
            imports.setdefault(name, set()).update(targets - {name})
        imports.setdefault(name, set())
    assert imports['conv_padding'] == set()
    assert 'conv_gradients' not in imports['fast_conv']

    def reaches(start, target, seen=()):
        return any(name == target or (name not in seen and reaches(
            name, target, seen + (name,))) for name in imports.get(start, ()))
    assert not [name for name in imports if reaches(name, name)]
