"""The article's ResNet-34 and the shortcut/unit machinery it is built of."""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from resnet_tf1 import config
from resnet_tf1 import errors
from resnet_tf1.nets import registry
from resnet_tf1.nets import resnet
from resnet_tf1.nets import units

tf1 = tf.compat.v1


def build(model, batch=None, is_training=False):
    graph = tf.Graph()
    with graph.as_default():
        images = tf1.placeholder(
            tf.float32, [batch, model.image_size, model.image_size,
                         model.channels])
        logits, end_points = registry.build(model, images, is_training)
    return graph, images, logits, end_points


@pytest.mark.parametrize('batch', [1, 7])
def test_resnet34_output_shapes_for_any_batch(batch):
    model = config.ModelConfig(base_depth=4).resolved()
    graph, images, logits, end_points = build(model)
    assert logits.shape.as_list() == [None, 10]   # batch not baked in
    shapes = {'resnet34/stem': [14, 14, 4], 'resnet34/block1': [14, 14, 4],
              'resnet34/block2': [7, 7, 8], 'resnet34/block3': [4, 4, 16],
              'resnet34/block4': [2, 2, 32], 'resnet34/pool': [32]}
    with tf1.Session(graph=graph) as session:
        session.run(tf1.variables_initializer(graph.get_collection(
            tf1.GraphKeys.GLOBAL_VARIABLES)))
        values = session.run({name: end_points[name] for name in shapes},
                             {images: np.zeros([batch, 28, 28, 1])})
        out = session.run(logits, {images: np.zeros([batch, 28, 28, 1])})
    assert out.shape == (batch, 10)
    for name, shape in shapes.items():
        assert list(values[name].shape) == [batch] + shape, name


def test_resnet34_end_points_and_variable_names():
    model = config.ModelConfig(base_depth=4).resolved()
    graph, _, _, end_points = build(model)
    unit_names = [name for name in end_points if '/unit_' in name]
    assert len(unit_names) == 3 + 4 + 6 + 3
    assert unit_names[0] == 'resnet34/block1/unit_1'
    assert unit_names[-1] == 'resnet34/block4/unit_3'
    assert list(end_points)[-1] == 'resnet34/logits'
    with graph.as_default():
        names = {v.op.name for v in tf1.trainable_variables()}
    assert {'resnet34/conv1/weights', 'resnet34/conv1/biases',
            'resnet34/block2/unit_1/conv1/weights',
            'resnet34/block4/unit_3/conv2/biases',
            'resnet34/logits/weights', 'resnet34/logits/biases'} <= names
    # Option A adds no parameters: no shortcut variables at all, and the
    # article's extra 1x1 "get_half" conv is gone.
    assert not any('shortcut' in name for name in names)


def analytic_resnet34_parameters(base, kernel=3, classes=10):
    """Conv weights + biases of the article's ResNet-34 (no BN), option A."""
    count = 7 * 7 * 1 * base + base                      # stem
    in_depth = base
    for stage, num_units in enumerate((3, 4, 6, 3)):
        depth = base * 2 ** stage
        for _ in range(num_units):
            count += kernel * kernel * in_depth * depth + depth
            count += kernel * kernel * depth * depth + depth
            in_depth = depth
    return count + in_depth * classes + classes          # FC


@pytest.mark.parametrize('base_depth', [4, 64])
def test_parameter_count_equals_analytic_count(base_depth):
    model = config.ModelConfig(base_depth=base_depth).resolved()
    graph, _, _, _ = build(model)
    with graph.as_default():
        count = sum(int(np.prod(v.shape)) for v in tf1.trainable_variables())
    assert count == analytic_resnet34_parameters(base_depth)
    if base_depth == 64:
        assert count == 21_102_090   # the article's network, as in README


def run_unit_with_zeroed_residual(x, depth, stride):
    """A basic option-A unit whose convs are all zero: its residual branch
    outputs 0, so the unit must return relu(shortcut(x))."""
    graph = tf.Graph()
    with graph.as_default():
        inputs = tf.constant(x)
        with slim.arg_scope(resnet.resnet_arg_scope()):
            with slim.arg_scope([slim.conv2d],
                                weights_initializer=tf1.zeros_initializer()):
                out = units.basic(inputs, depth, stride, shortcut_kind='A')
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            return session.run(out)


@pytest.mark.parametrize('in_depth,depth,stride', [
    (4, 4, 1),    # identity
    (4, 8, 2),    # even difference, halved resolution
    (3, 8, 2),    # odd difference: 5 zero channels appended
    (5, 6, 1),    # odd difference at stride 1
])
def test_zero_pad_shortcut_returns_relu_of_padded_subsampled_input(
        in_depth, depth, stride):
    x = np.random.RandomState(0).normal(size=(2, 7, 7, in_depth)).astype(
        np.float32)
    out = run_unit_with_zeroed_residual(x, depth, stride)
    subsampled = x[:, ::stride, ::stride, :]
    expected = np.concatenate(
        [subsampled, np.zeros(subsampled.shape[:3] + (depth - in_depth,),
                              np.float32)], axis=-1)
    np.testing.assert_array_equal(out, np.maximum(expected, 0))


def test_zero_pad_shortcut_refuses_to_narrow():
    with pytest.raises(ValueError, match='cannot zero-pad 8 channels down'):
        run_unit_with_zeroed_residual(np.zeros((1, 4, 4, 8), np.float32), 4, 1)


@pytest.mark.parametrize('kind,expect_projection', [
    ('A', False), ('B', True), ('C', True)])
def test_shortcut_kinds(kind, expect_projection):
    graph = tf.Graph()
    with graph.as_default():
        with slim.arg_scope(resnet.resnet_arg_scope()):
            units.basic(tf.zeros([1, 8, 8, 4]), 8, 2, shortcut_kind=kind,
                        scope='reshaping')
            units.basic(tf.zeros([1, 8, 8, 4]), 4, 1, shortcut_kind=kind,
                        scope='keeping')
        names = {v.op.name for v in tf1.trainable_variables()}
    assert ('reshaping/shortcut/weights' in names) == expect_projection
    assert ('keeping/shortcut/weights' in names) == (kind == 'C')


def test_identity_shortcut_refuses_a_shape_change():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match='identity shortcut cannot map'):
            units.shortcut(tf.zeros([1, 8, 8, 4]), 8, 2, 'identity')


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(errors.ConfigError, match='valid models: .*resnet34'):
        config.ModelConfig(name='resnet35').resolved()
    for kind in ('D', 'identity'):   # no registered net keeps its shape
        with pytest.raises(errors.ConfigError,
                           match=r'--shortcut must be one of A\|B\|C'):
            config.ModelConfig(shortcut=kind).resolved()
    with pytest.raises(errors.ConfigError, match='--norm must be one of'):
        config.ModelConfig(norm='layer').resolved()
