"""The generic ResNet builder: networks described as data.

A network is a stem, a list of `Block`s (stages) and a head. Every ResNet of
the project, the article's ResNet-34 for MNIST, ResNet-18..152 and the CIFAR
ResNet-20..110, plain or residual, is one call of `resnet()` with a different
block list, stem and shortcut kind; `registry.py` names those calls.

Scope names read like paths and are stable (tests pin them), for example
`resnet34/block2/unit_1/conv1/weights`.
"""

import collections

import tensorflow as tf
import tf_slim as slim

from resnet_tf1.nets import layers
from resnet_tf1.nets import units

tf1 = tf.compat.v1

# One stage: `unit_fn` applied once per entry of `args`, each a
# (depth, stride) pair. The stride is on a stage's first unit, as in the paper
# (tf-slim's nets put it on the last; the article and torchvision on the
# first).
Block = collections.namedtuple('Block', ['scope', 'unit_fn', 'args'])

# depth -> (unit, units per stage) for the ImageNet-style ResNets (paper,
# table 1), whose stages are 64/128/256/512 wide.
IMAGENET_DEPTHS = {
    18: (units.basic, (2, 2, 2, 2)),
    34: (units.basic, (3, 4, 6, 3)),
    50: (units.bottleneck, (3, 4, 6, 3)),
    101: (units.bottleneck, (3, 4, 23, 3)),
    152: (units.bottleneck, (3, 8, 36, 3)),
}
IMAGENET_BASE_DEPTH = 64

# depth -> units per stage for the CIFAR ResNets (paper, section 4.2):
# 6n+2 layers, three stages of n basic units at 16/32/64.
CIFAR_DEPTHS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}
CIFAR_BASE_DEPTH = 16

STEMS = ('mnist', 'cifar', 'imagenet')


def stages(unit_fn, units_per_stage, base_depth):
    """Block list whose stage i has width base_depth * 2**i and whose stages
    after the first halve the resolution in their first unit."""
    blocks = []
    for index, count in enumerate(units_per_stage):
        depth = base_depth * 2 ** index
        first_stride = 1 if index == 0 else 2
        blocks.append(Block(
            'block%d' % (index + 1), unit_fn,
            [(depth, first_stride)] + [(depth, 1)] * (count - 1)))
    return blocks


def stem(images, kind, depth):
    """The layers before the first stage.

    'mnist'    the article's: 7x7/1 conv, then 2x2/2 max-pool (28x28 -> 14x14).
    'cifar'    the paper's CIFAR stem: one 3x3/1 conv.
    'imagenet' the paper's: 7x7/2 conv, then 3x3/2 max-pool (224 -> 56).
    """
    if kind == 'mnist':
        net = slim.conv2d(images, depth, [7, 7], stride=1, scope='conv1')
        return slim.max_pool2d(net, [2, 2], stride=2, scope='pool1')
    if kind == 'cifar':
        return slim.conv2d(images, depth, [3, 3], stride=1,
                           scope='conv1')
    if kind == 'imagenet':
        net = slim.conv2d(images, depth, [7, 7], stride=2, scope='conv1')
        return slim.max_pool2d(net, [3, 3], stride=2, scope='pool1')
    raise ValueError('unknown stem %r; valid stems: %s' %
                     (kind, ', '.join(STEMS)))


def resnet(images, blocks, num_classes, stem_kind='mnist', stem_depth=64,
           shortcut_kind='A', data_format='NHWC', scope='resnet'):
    """Builds stem -> blocks -> global average pool -> fully connected.

    Args:
        images: [N, H, W, C] float tensor (or NCHW per `data_format`).
        blocks: list of `Block`.
        num_classes: width of the logits.
        stem_kind: one of `STEMS`.
        stem_depth: output channels of the stem conv.
        shortcut_kind: one of `units.SHORTCUT_KINDS`, or None for a plain net.
        data_format: 'NHWC' or 'NCHW'; `images` must already be in it.
        scope: the network's variable scope.

    Returns:
        (logits [N, num_classes], end_points): end_points maps scope-path
        names ('resnet34/block1/unit_1', 'resnet34/pool', ...) to tensors.
    """
    end_points = collections.OrderedDict()
    with tf1.variable_scope(scope, values=[images]) as network_scope:
        base = network_scope.original_name_scope.rstrip('/')
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, layers.batch_norm],
                            data_format=data_format):
            net = stem(images, stem_kind, stem_depth)
            end_points[base + '/stem'] = net
            for block in blocks:
                with tf1.variable_scope(block.scope):
                    for index, (depth, stride) in enumerate(block.args):
                        net = block.unit_fn(
                            net, depth, stride, shortcut_kind=shortcut_kind,
                            data_format=data_format,
                            scope='unit_%d' % (index + 1))
                        end_points['%s/%s/unit_%d' % (
                            base, block.scope, index + 1)] = net
                end_points[base + '/' + block.scope] = net
        spatial_axes = [2, 3] if data_format == 'NCHW' else [1, 2]
        # A global mean rather than the article's fixed 2x2 pool: same result
        # on its 2x2 map, and any input size works.
        net = tf.reduce_mean(net, spatial_axes, name='pool')
        end_points[base + '/pool'] = net
        logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                      normalizer_fn=None, scope='logits')
        end_points[base + '/logits'] = logits
    return logits, end_points


def resnet_arg_scope(is_training=False, norm='none', weight_decay=1e-4,
                     batch_norm_decay=0.997, batch_norm_epsilon=1e-5):
    """Every layer default of the ResNets, in one place.

    Weights use He (fan-in, ReLU-gain) initialization, as in the paper, when
    batch norm follows every conv. Without it (the article's setting) they
    keep slim's Glorot default: nothing renormalizes a unit's output, so with
    He init each residual addition roughly doubles the variance and the
    article's ResNet-34 starts at a loss of 108 (measured on 100 MNIST
    images) instead of ln(10) = 2.3.

    Convolutions get batch norm before their activation when
    `norm == 'batch'` (and then no bias: the BN offset replaces it); with
    `norm == 'none'`, the article's setting, they keep a bias. L2 covers
    every conv and FC weight through the regularizer, so
    `tf.losses.get_regularization_loss()` collects it (the article only
    regularized the FC layer, and never defined the regularizer).
    """
    if norm not in ('none', 'batch'):
        raise ValueError("unknown norm %r; valid norms: none, batch" % norm)
    normalizer_fn = layers.batch_norm if norm == 'batch' else None
    with slim.arg_scope(
            [slim.conv2d, slim.fully_connected],
            weights_initializer=(slim.variance_scaling_initializer()
                                 if norm == 'batch'
                                 else slim.xavier_initializer()),
            weights_regularizer=slim.l2_regularizer(weight_decay),
            activation_fn=tf.nn.relu):
        with slim.arg_scope([slim.conv2d], normalizer_fn=normalizer_fn,
                            padding='SAME'):
            with slim.arg_scope([layers.batch_norm], is_training=is_training,
                                decay=batch_norm_decay,
                                epsilon=batch_norm_epsilon, scale=True):
                with slim.arg_scope([slim.max_pool2d],
                                    padding='SAME') as scope:
                    return scope
