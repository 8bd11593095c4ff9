"""DenseNet-BC (Huang et al., 2017): dense blocks joined by transitions.

Each layer of a dense block reads the concatenation of every earlier output
of its block and appends `growth_rate` (k) new channels to it:
BN-ReLU-1x1 conv to 4k channels (the "B", bottleneck), then BN-ReLU-3x3 conv
to k. A transition between two blocks halves the channels (compression 0.5,
the "C") with BN-ReLU-1x1 conv and halves the resolution with a 2x2/2
average pool. After the last block: BN-ReLU, global average pool, fully
connected.

Batch norm is always on. DenseNet is pre-activation: every conv of the body
reads a BN-ReLU of its input, and the concatenated features are only
normalized there, so BN is part of the architecture, not an option. The
registry refuses `--norm none` for it rather than build something else
under the same name.

The stem is a parameter and takes the kinds of `resnet.stem`, its conv
followed by BN-ReLU as in torchvision's ImageNet stem:

  'imagenet'  7x7/2 conv to 2k, 3x3/2 max-pool: 224 -> 56 (the paper's).
  'mnist'     7x7/1 conv to 2k, 2x2/2 max-pool: 28 -> 14 (the article's
              ResNet stem), so on MNIST the blocks run at 14, 7, 4 and 2.
  'cifar'     3x3/1 conv to 2k (the paper's CIFAR stem, plus a BN-ReLU).

Scope names read like paths: `densenet121/conv1`,
`densenet121/block1/layer_1/conv1`, `densenet121/transition1/conv`,
`densenet121/final_norm`, `densenet121/logits`.
"""

import collections

import tensorflow as tf
import tf_slim as slim

from resnet_tf1.nets import layers
from resnet_tf1.nets import resnet

tf1 = tf.compat.v1

# depth -> layers per dense block (paper, table 1). Each layer has two convs;
# with the stem conv, the three transitions and the FC: 121, 169, 201.
DEPTHS = {
    121: (6, 12, 24, 16),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
}
GROWTH_RATE = 32        # k of DenseNet-121/169/201
BOTTLENECK_FACTOR = 4   # a layer's 1x1 conv outputs 4k channels
COMPRESSION = 0.5       # a transition keeps half of the channels


def _channel_axis(data_format):
    return 1 if data_format == 'NCHW' else 3


@slim.add_arg_scope
def preact_conv(inputs, depth, kernel_size, data_format='NHWC', scope=None):
    """BN-ReLU-conv, the pre-activation layer DenseNet is made of.

    The BN lives inside the conv's scope (`<scope>/BatchNorm/gamma` beside
    `<scope>/weights`), where slim puts a conv's normalizer, so a layer's
    variables stay under one name whichever side of the conv its BN sits.
    """
    with tf1.variable_scope(scope, 'preact_conv', [inputs]) as layer_scope:
        net = layers.batch_norm(inputs, activation_fn=tf.nn.relu,
                                data_format=data_format)
        return slim.conv2d(net, depth, kernel_size, data_format=data_format,
                           scope=layer_scope)


def dense_layer(inputs, growth_rate, data_format='NHWC', scope=None):
    """Appends `growth_rate` channels to `inputs`: BN-ReLU-1x1 conv (4k),
    BN-ReLU-3x3 conv (k), concatenated after the input's channels."""
    with tf1.variable_scope(scope, 'dense_layer', [inputs]):
        net = preact_conv(inputs, BOTTLENECK_FACTOR * growth_rate, [1, 1],
                          data_format=data_format, scope='conv1')
        net = preact_conv(net, growth_rate, [3, 3], data_format=data_format,
                          scope='conv2')
        return tf.concat([inputs, net], _channel_axis(data_format))


def transition(inputs, data_format='NHWC', scope=None):
    """BN-ReLU-1x1 conv keeping COMPRESSION of the channels (rounded down,
    as torchvision), then a 2x2/2 average pool."""
    channels = inputs.shape[_channel_axis(data_format)]
    with tf1.variable_scope(scope, 'transition', [inputs]):
        net = preact_conv(inputs, int(channels * COMPRESSION), [1, 1],
                          data_format=data_format, scope='conv')
        # 'SAME' where torchvision floors: equal on even maps (all of them at
        # 224x224), and an odd map such as MNIST's 7x7 gives 4x4 instead of
        # losing its last row and column.
        return slim.avg_pool2d(net, [2, 2], stride=2, padding='SAME',
                               data_format=data_format, scope='pool')


def densenet(images, layers_per_block, num_classes, growth_rate=GROWTH_RATE,
             stem_kind='imagenet', data_format='NHWC', scope='densenet'):
    """Builds stem -> dense blocks and transitions -> BN-ReLU -> global
    average pool -> fully connected.

    Args:
        images: [N, H, W, C] float tensor (or NCHW per `data_format`).
        layers_per_block: layers of each dense block, e.g. DEPTHS[121].
        num_classes: width of the logits.
        growth_rate: k; the stem outputs 2k channels.
        stem_kind: one of `resnet.STEMS` (see the module docstring).
        data_format: 'NHWC' or 'NCHW'; `images` must already be in it.
        scope: the network's variable scope.

    Returns:
        (logits [N, num_classes], end_points): end_points maps scope-path
        names ('densenet121/stem', 'densenet121/block1/layer_1',
        'densenet121/transition1', 'densenet121/block1', ...,
        'densenet121/final_norm', 'densenet121/pool', 'densenet121/logits')
        to tensors.
    """
    end_points = collections.OrderedDict()
    with tf1.variable_scope(scope, values=[images]) as network_scope:
        base = network_scope.original_name_scope.rstrip('/')
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, layers.batch_norm],
                            data_format=data_format):
            # The only post-activation conv: conv-BN-ReLU, as torchvision's.
            with slim.arg_scope([slim.conv2d], normalizer_fn=layers.batch_norm,
                                activation_fn=tf.nn.relu):
                net = resnet.stem(images, stem_kind, 2 * growth_rate)
            end_points[base + '/stem'] = net
            for index, num_layers in enumerate(layers_per_block):
                if index > 0:
                    net = transition(net, data_format,
                                     scope='transition%d' % index)
                    end_points['%s/transition%d' % (base, index)] = net
                block_scope = 'block%d' % (index + 1)
                with tf1.variable_scope(block_scope):
                    for layer in range(num_layers):
                        net = dense_layer(net, growth_rate, data_format,
                                          scope='layer_%d' % (layer + 1))
                        end_points['%s/%s/layer_%d' % (
                            base, block_scope, layer + 1)] = net
                end_points[base + '/' + block_scope] = net
            # The last block's concatenation has not been normalized yet.
            net = layers.batch_norm(net, activation_fn=tf.nn.relu,
                                    scope='final_norm')
            end_points[base + '/final_norm'] = net
        spatial_axes = [2, 3] if data_format == 'NCHW' else [1, 2]
        net = tf.reduce_mean(net, spatial_axes, name='pool')
        end_points[base + '/pool'] = net
        logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                      scope='logits')
        end_points[base + '/logits'] = logits
    return logits, end_points


def densenet_arg_scope(is_training=False, norm='batch', weight_decay=1e-4,
                       batch_norm_decay=0.9, batch_norm_epsilon=1e-5):
    """Every layer default of DenseNet, in one place.

    Convs are bare (no bias, no normalizer, no activation): the BN-ReLU
    before each of them is part of the architecture (`preact_conv`), and the
    BN offset replaces the bias, as in torchvision's count of 7,978,856
    parameters for DenseNet-121. Conv weights use He (fan-in) initialization,
    as torchvision's; the FC layer keeps its bias and Glorot's initializer,
    so the logits start small. The BN momentum is torchvision's 0.1 (decay
    0.9): short MNIST runs evaluate with moving statistics that have caught
    up. L2 covers every conv and FC weight.

    `norm` is accepted so that every family's arg_scope has one signature;
    only 'batch' is valid (see the module docstring).
    """
    if norm != 'batch':
        raise ValueError('DenseNet is pre-activation (BN-ReLU-conv) and '
                         'always uses batch norm; got norm %r' % norm)
    regularizer = slim.l2_regularizer(weight_decay)
    with slim.arg_scope(
            [slim.conv2d],
            weights_initializer=slim.variance_scaling_initializer(),
            weights_regularizer=regularizer, biases_initializer=None,
            normalizer_fn=None, activation_fn=None, padding='SAME'):
        with slim.arg_scope([slim.fully_connected],
                            weights_initializer=slim.xavier_initializer(),
                            weights_regularizer=regularizer):
            with slim.arg_scope([layers.batch_norm], is_training=is_training,
                                decay=batch_norm_decay,
                                epsilon=batch_norm_epsilon, scale=True):
                with slim.arg_scope([slim.max_pool2d, slim.avg_pool2d],
                                    padding='SAME') as scope:
                    return scope
