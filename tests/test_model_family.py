"""The model family of the source articles: exact parameter parity with the
reference implementations, counted from built graphs, every registered
network building and training on MNIST-sized inputs, the registry's
refusals, and the `python -m resnet_tf1 summary` tool.

Only the tiny networks are run; the ImageNet-sized ones are built, never
run (graph construction is cheap, 224x224 sessions are not).
"""

import collections
import functools
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from resnet_tf1 import config
from resnet_tf1 import errors
from resnet_tf1.nets import alexnet
from resnet_tf1.nets import densenet
from resnet_tf1.nets import registry
from resnet_tf1.nets import resnet
from resnet_tf1.nets import units
from resnet_tf1.tools import model_summary

from conftest import REPO_DIR

tf1 = tf.compat.v1

# torchvision's counts (convs without bias, BN gamma and beta, FC with bias)
# and its published GFLOPS, which are multiply-accumulates of the convs and
# FC layers per 224x224 image; AlexNet has no batch norm.
IMAGENET = {
    'resnet18': (11_689_512, 1.81, 'batch'),
    'resnet34': (21_797_672, 3.66, 'batch'),
    'resnet50': (25_557_032, 4.09, 'batch'),
    'resnet101': (44_549_160, 7.80, 'batch'),
    'resnet152': (60_192_808, 11.51, 'batch'),
    'densenet121': (7_978_856, 2.83, 'batch'),
    'alexnet': (61_100_840, 0.71, 'none'),
}

# The CIFAR ResNets with batch norm and option A, measured; the paper
# (table 6) rounds them to 0.27M, 0.46M, 0.66M, 0.85M and 1.7M.
CIFAR = {
    'cifar_resnet20': (269_722, 0.27),
    'cifar_resnet32': (464_154, 0.46),
    'cifar_resnet44': (658_586, 0.66),
    'cifar_resnet56': (853_018, 0.85),
    'cifar_resnet110': (1_727_962, 1.7),
}


def parameter_count(graph):
    return sum(int(np.prod(variable.shape.as_list()))
               for variable in graph.get_collection(
                   tf1.GraphKeys.TRAINABLE_VARIABLES))


def imagenet_config(name):
    takes_shortcut = 'shortcut' in registry.network(name).defaults
    return config.ModelConfig(
        name=name, num_classes=1000, norm=IMAGENET[name][2],
        shortcut='B' if takes_shortcut else None, stem='imagenet',
        image_size=224, channels=3).resolved()


@pytest.mark.parametrize('name', sorted(IMAGENET))
def test_imagenet_parameters_and_macs_match_torchvision(name):
    parameters, gmacs, _ = IMAGENET[name]
    graph, logits, _ = model_summary.build_inference_graph(
        imagenet_config(name))
    assert logits.shape.as_list() == [1, 1000]
    assert parameter_count(graph) == parameters
    table = model_summary.summarize(graph)
    assert table.parameters == parameters
    assert sum(row.parameters for row in table.rows) == parameters
    assert round(table.macs / 1e9, 2) == gmacs


@functools.lru_cache(maxsize=None)
def cifar_graph(name):
    """The CIFAR configuration of the paper: 32x32x3, batch norm, option A."""
    model = config.ModelConfig(name=name, norm='batch', shortcut='A',
                               image_size=32, channels=3).resolved()
    assert model.stem == 'cifar' and model.base_depth == 16
    graph, _, _ = model_summary.build_inference_graph(model)
    return graph


@pytest.mark.parametrize('name', sorted(CIFAR))
def test_cifar_parameters_match_the_paper(name):
    parameters, paper_millions = CIFAR[name]
    assert parameter_count(cifar_graph(name)) == parameters
    digits = 2 if paper_millions < 1 else 1
    assert round(parameters / 1e6, digits) == paper_millions


def count_without_biases_and_norm(build_fn):
    """Weights of whatever build_fn() builds, convs having neither bias nor
    batch norm: the articles' arithmetic counts weights only."""
    graph = tf.Graph()
    with graph.as_default():
        with slim.arg_scope([slim.conv2d], biases_initializer=None,
                            normalizer_fn=None):
            build_fn()
    return parameter_count(graph)


def feature_map(height, channels):
    return tf1.placeholder(tf.float32, [None, height, height, channels])


def test_bottleneck_unit_against_two_3x3_convs():
    bottleneck = count_without_biases_and_norm(lambda: units.bottleneck(
        feature_map(56, 256), 64, shortcut_kind='identity'))
    two_convs = count_without_biases_and_norm(lambda: units.basic(
        feature_map(56, 256), 256, shortcut_kind='identity'))
    assert bottleneck == 1 * 1 * 256 * 64 + 3 * 3 * 64 * 64 + 64 * 256
    assert (bottleneck, two_convs) == (69_632, 1_179_648)
    assert round(two_convs / bottleneck, 2) == 16.94


def test_1x1_reduction_before_a_5x5_conv():
    direct = count_without_biases_and_norm(lambda: slim.conv2d(
        feature_map(100, 128), 32, [5, 5]))
    reduced = count_without_biases_and_norm(lambda: slim.conv2d(
        slim.conv2d(feature_map(100, 128), 32, [1, 1]), 32, [5, 5]))
    assert (direct, reduced) == (102_400, 29_696)


# Every registered network at a small width on a batch of two 28x28x1
# images: the number of end points, the top-level ones (not a unit or a
# dense layer), and the last feature map before the global pool.
TINY_WIDTH = 2
TINY_BATCH = 2


def resnet_names(base, blocks):
    return ['%s/stem' % base] + ['%s/block%d' % (base, index)
                                 for index in range(1, blocks + 1)] + [
        '%s/pool' % base, '%s/logits' % base]


END_POINTS = {
    # name: (count, top-level names, (end point, its shape))
    'resnet18': (15, resnet_names('resnet18', 4),
                 ('resnet18/block4', [2, 2, 16])),
    'resnet34': (23, resnet_names('resnet34', 4),
                 ('resnet34/block4', [2, 2, 16])),
    'resnet50': (23, resnet_names('resnet50', 4),
                 ('resnet50/block4', [2, 2, 64])),
    'resnet101': (40, resnet_names('resnet101', 4),
                  ('resnet101/block4', [2, 2, 64])),
    'resnet152': (57, resnet_names('resnet152', 4),
                  ('resnet152/block4', [2, 2, 64])),
    'plain18': (15, resnet_names('plain18', 4),
                ('plain18/block4', [2, 2, 16])),
    'plain34': (23, resnet_names('plain34', 4),
                ('plain34/block4', [2, 2, 16])),
    'densenet121': (69, ['densenet121/stem', 'densenet121/block1',
                         'densenet121/transition1', 'densenet121/block2',
                         'densenet121/transition2', 'densenet121/block3',
                         'densenet121/transition3', 'densenet121/block4',
                         'densenet121/final_norm', 'densenet121/pool',
                         'densenet121/logits'],
                    # 2k + 58 layers of k, halved by each transition:
                    # 4 + 12 = 16 -> 8 + 24 = 32 -> 16 + 48 = 64 -> 32 + 32.
                    ('densenet121/final_norm', [2, 2, 64])),
    'alexnet': (12, ['alexnet/conv1', 'alexnet/pool1', 'alexnet/conv2',
                     'alexnet/pool2', 'alexnet/conv3', 'alexnet/conv4',
                     'alexnet/conv5', 'alexnet/pool5', 'alexnet/avgpool',
                     'alexnet/fc6', 'alexnet/fc7', 'alexnet/logits'],
                ('alexnet/pool5', [2, 2, 8])),
}
for _depth, _units in ((20, 3), (32, 5), (44, 7), (56, 9), (110, 18)):
    for _kind in ('resnet', 'plain'):
        _name = 'cifar_%s%d' % (_kind, _depth)
        END_POINTS[_name] = (3 * _units + 6, resnet_names(_name, 3),
                             ('%s/block3' % _name, [7, 7, 8]))


def test_every_registered_network_is_pinned():
    assert sorted(END_POINTS) == sorted(registry.NETWORKS)
    assert set(alexnet.STEMS) == set(resnet.STEMS) == set(registry.STEMS)


def tiny_config(name, **fields):
    return config.ModelConfig(name=name, base_depth=TINY_WIDTH,
                              **fields).resolved()


def build_tiny(model, is_training=False):
    graph = tf.Graph()
    with graph.as_default():
        # Seeded: unseeded, the 110-layer CIFAR net without BN drew weights
        # that diverged at step 3 in about one run of many.
        tf1.set_random_seed(0)
        images = tf1.placeholder(tf.float32, [TINY_BATCH, 28, 28, 1])
        logits, end_points = registry.build(model, images, is_training)
    return graph, images, logits, end_points


TinyTrainGraph = collections.namedtuple('TinyTrainGraph', [
    'graph', 'images', 'labels', 'logits', 'end_points', 'loss', 'train_op'])


@functools.lru_cache(maxsize=None)
def tiny_train_graph(name):
    """The tiny network `name` in training mode with an SGD step (BN updates
    first, as in training.py), built once for the tests that share it."""
    graph, images, logits, end_points = build_tiny(tiny_config(name),
                                                   is_training=True)
    with graph.as_default():
        labels = tf1.placeholder(tf.int64, [TINY_BATCH])
        loss = tf1.losses.sparse_softmax_cross_entropy(labels, logits)
        with tf.control_dependencies(tf1.get_collection(
                tf1.GraphKeys.UPDATE_OPS)):
            train_op = tf1.train.GradientDescentOptimizer(0.01).minimize(loss)
    return TinyTrainGraph(graph, images, labels, logits, end_points, loss,
                          train_op)


def fast_session(graph):
    # Grappler's rewrites cost seconds on a deep graph run three times.
    session_config = tf1.ConfigProto()
    session_config.graph_options.rewrite_options.disable_meta_optimizer = True
    return tf1.Session(graph=graph, config=session_config)


@pytest.mark.parametrize('name', sorted(registry.NETWORKS))
def test_tiny_network_logits_and_end_points(name):
    count, top_level, (probe, probe_shape) = END_POINTS[name]
    tiny = tiny_train_graph(name)
    assert tiny.logits.shape.as_list() == [TINY_BATCH, 10]
    assert len(tiny.end_points) == count
    inner = ('/unit_', '/layer_')
    assert [key for key in tiny.end_points
            if not any(part in key for part in inner)] == top_level
    assert tiny.end_points[probe].shape.as_list() == [TINY_BATCH] + probe_shape
    assert tiny.end_points[name + '/logits'] is tiny.logits


@pytest.mark.parametrize('name', sorted(registry.NETWORKS))
def test_tiny_network_trains_on_mnist_without_nans(name, mnist_data):
    tiny = tiny_train_graph(name)
    with fast_session(tiny.graph) as session:
        session.run(tf1.global_variables_initializer())
        for step in range(3):
            batch = slice(step * TINY_BATCH, (step + 1) * TINY_BATCH)
            _, loss = session.run(
                [tiny.train_op, tiny.loss],
                {tiny.images: mnist_data.train.images[batch],
                 tiny.labels: mnist_data.train.labels[batch]})
            assert np.isfinite(loss), (name, step, loss)
        weights = session.run(tiny.graph.get_collection(
            tf1.GraphKeys.TRAINABLE_VARIABLES))
    assert all(np.all(np.isfinite(value)) for value in weights)


def shortcut_additions(graph, logits):
    """Addition ops of the forward pass inside residual units: the shortcut
    merges (the variables' initializers, also under the unit scopes, are
    not on the way to the logits)."""
    forward, pending = set(), [logits.op]
    while pending:
        op = pending.pop()
        if op not in forward:
            forward.add(op)
            pending.extend(tensor.op for tensor in op.inputs)
    return [op.name for op in forward
            if op.type in ('Add', 'AddV2') and '/unit_' in op.name]


@pytest.mark.parametrize('plain, residual, num_units', [
    ('plain18', 'resnet18', 8), ('cifar_plain20', 'cifar_resnet20', 9)])
def test_plain_networks_have_no_shortcut_additions(plain, residual,
                                                   num_units):
    plain_graph = tiny_train_graph(plain)
    residual_graph = tiny_train_graph(residual)
    assert shortcut_additions(plain_graph.graph, plain_graph.logits) == []
    assert len(shortcut_additions(residual_graph.graph,
                                  residual_graph.logits)) == num_units


def test_alexnet_dropout_only_when_training():
    # Width 8 so that some ReLUs are alive and dropout shows in the logits.
    model = config.ModelConfig(name='alexnet', base_depth=8).resolved()
    feed = np.random.RandomState(0).uniform(size=[TINY_BATCH, 28, 28, 1])
    for is_training in (False, True):
        graph, images, logits, _ = build_tiny(model, is_training)
        random_ops = [op for op in graph.get_operations()
                      if op.type == 'RandomUniform' and 'dropout' in op.name]
        # One mask per dropout, fc6 and fc7, in the training graph only.
        assert len(random_ops) == (2 if is_training else 0)
        with fast_session(graph) as session:
            session.run(tf1.global_variables_initializer())
            first, second = (session.run(logits, {images: feed})
                             for _ in range(2))
        assert np.array_equal(first, second) != is_training


def test_alexnet_batch_norm_replaces_conv_biases():
    graph, _, _, _ = build_tiny(tiny_config('alexnet', norm='batch'))
    names = {variable.op.name for variable in
             graph.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES)}
    assert 'alexnet/conv1/BatchNorm/gamma' in names
    assert 'alexnet/conv1/biases' not in names
    assert 'alexnet/fc6/biases' in names


def test_alexnet_refuses_a_map_smaller_than_its_pool():
    with pytest.raises(ValueError, match='pool2 gets a 2x2 map'):
        build_tiny(tiny_config('alexnet', stem='imagenet'))


def test_densenet_layer_widths_and_names():
    tiny = tiny_train_graph('densenet121')
    end_points = tiny.end_points
    # 2k = 4 stem channels, each layer adds k = 2; transitions halve.
    assert end_points['densenet121/block1/layer_1'].shape[-1] == 6
    assert end_points['densenet121/block1'].shape[-1] == 4 + 6 * 2
    assert end_points['densenet121/transition1'].shape[-1] == 8
    names = {variable.op.name for variable in
             tiny.graph.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES)}
    assert {'densenet121/conv1/weights',
            'densenet121/conv1/BatchNorm/gamma',
            'densenet121/block1/layer_1/conv1/BatchNorm/beta',
            'densenet121/block1/layer_1/conv1/weights',
            'densenet121/block4/layer_16/conv2/weights',
            'densenet121/transition3/conv/weights',
            'densenet121/final_norm/gamma',
            'densenet121/logits/biases'} <= names
    # Pre-activation convs are bare: the BN before them replaces the bias.
    assert not any(name.endswith('/biases') and 'logits' not in name
                   for name in names)


@pytest.mark.parametrize('family', ['densenet', 'alexnet'])
def test_nchw_builds_the_same_network(family):
    def build(data_format):
        graph = tf.Graph()
        with graph.as_default():
            images = tf1.placeholder(tf.float32, [TINY_BATCH, 28, 28, 1])
            if data_format == 'NCHW':
                images = tf.transpose(images, [0, 3, 1, 2])
            if family == 'densenet':
                # Two short blocks: the concatenations, the transition and
                # the BNs all see the channel axis.
                with slim.arg_scope(densenet.densenet_arg_scope()):
                    logits, end_points = densenet.densenet(
                        images, (2, 2), 10, growth_rate=2, stem_kind='mnist',
                        data_format=data_format)
                last = end_points['densenet/block2']
            else:
                with slim.arg_scope(alexnet.alexnet_arg_scope(norm='batch')):
                    logits, end_points = alexnet.alexnet(
                        images, 10, base_depth=2, stem_kind='mnist',
                        data_format=data_format)
                last = end_points['alexnet/pool5']
        return parameter_count(graph), logits.shape.as_list(), last.shape

    nhwc, nchw = build('NHWC'), build('NCHW')
    assert nhwc[:2] == nchw[:2]
    height, width, channels = nhwc[2].as_list()[1:]
    assert nchw[2].as_list()[1:] == [channels, height, width]


@pytest.mark.parametrize('fields, message', [
    (dict(name='alexnet', shortcut='C'),
     '--shortcut does not apply to alexnet; it takes --norm, --base_depth, '
     '--stem'),
    (dict(name='densenet121', shortcut='B'),
     '--shortcut does not apply to densenet121'),
    (dict(name='plain34', shortcut='A'),
     '--shortcut does not apply to plain34'),
    (dict(name='densenet121', norm='none'),
     '--norm none: densenet121 takes --norm batch only'),
    (dict(name='resnet34', stem='huge'), '--stem must be one of'),
    (dict(name='resnet35'), 'valid models: alexnet, cifar_plain110'),
])
def test_registry_refuses_what_a_network_does_not_take(fields, message):
    with pytest.raises(errors.ConfigError) as raised:
        config.ModelConfig(**fields).resolved()
    assert message in str(raised.value)
    assert '\n' not in str(raised.value)


def test_registry_defaults_fill_only_what_applies():
    alexnet_model = config.ModelConfig(name='alexnet').resolved()
    assert (alexnet_model.norm, alexnet_model.shortcut,
            alexnet_model.base_depth, alexnet_model.stem) == (
                'none', None, 64, 'mnist')
    densenet_model = config.ModelConfig(name='densenet121').resolved()
    assert (densenet_model.norm, densenet_model.shortcut,
            densenet_model.base_depth) == ('batch', None, 32)
    resnet_model = config.ModelConfig().resolved()
    assert (resnet_model.norm, resnet_model.shortcut) == ('none', 'A')
    # Network functions take the keyword arguments build() passes, and
    # refuse a shortcut they do not have rather than drop it.
    for name in ('alexnet', 'densenet121', 'plain18'):
        with tf.Graph().as_default():
            with pytest.raises(ValueError, match='no shortcut connections'):
                registry.network(name).fn(
                    tf.zeros([1, 28, 28, 1]), num_classes=10, base_depth=2,
                    stem_kind='mnist', shortcut_kind='B', data_format='NHWC')


# TensorFlow's C++ start-up logging (CUDA probing, absl's pre-init notice)
# goes to stderr before Python can silence it; it is not the tool's output.
TF_LOG_LINE = re.compile(r'^([IWEF]\d{4} |WARNING: All log messages before)')


def run_summary(*args):
    process = subprocess.run(
        [sys.executable, '-m', 'resnet_tf1', 'summary'] + list(args),
        capture_output=True, text=True, cwd=REPO_DIR, timeout=300)
    own_stderr = [line for line in process.stderr.splitlines()
                  if not TF_LOG_LINE.match(line)]
    return process, own_stderr


def test_summary_cli_counts_from_the_built_graph():
    process, own_stderr = run_summary(
        '--model', 'cifar_resnet20', '--image_size', '32', '--channels', '3',
        '--norm', 'batch', '--shortcut', 'A')
    assert process.returncode == 0, process.stderr
    assert own_stderr == []
    lines = process.stdout.strip().splitlines()
    last = re.match(r'^params=(\d+) macs=(\d+)$', lines[-1])
    assert last, lines[-1]
    # The same counts from the same configuration built here.
    graph = cifar_graph('cifar_resnet20')
    table = model_summary.summarize(graph)
    assert int(last.group(1)) == parameter_count(graph) == 269_722
    assert int(last.group(2)) == table.macs
    assert lines[0].split() == ['layer', 'output', 'params', 'MACs']
    rows = lines[1:-1]
    assert len(rows) == len(table.rows) == 1 + 18 + 1  # stem, convs, FC
    assert rows[0].split() == ['cifar_resnet20/conv1', '32x32x16', '464',
                               '{:,}'.format(table.rows[0].macs)]
    # 3x3x3 -> 16 at 32x32: 1024 positions x 27 MACs x 16 channels.
    assert table.rows[0].macs == 32 * 32 * 27 * 16
    assert rows[-1].split()[:3] == ['cifar_resnet20/logits', '10', '650']


def test_summary_cli_bad_model_is_one_line():
    process, own_stderr = run_summary('--model', 'resnet35')
    assert process.returncode != 0
    assert 'Traceback' not in process.stderr
    assert own_stderr == [
        'error: --model: unknown model %r; valid models: %s' % (
            'resnet35', ', '.join(sorted(registry.NETWORKS)))]
    assert process.stdout == ''
