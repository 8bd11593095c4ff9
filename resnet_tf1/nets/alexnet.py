"""AlexNet (Krizhevsky et al., 2012) in its common single-tower form.

The two-GPU original split most layers into two towers and normalized with
LRN; the form every framework ships (torchvision's, from Krizhevsky's "One
weird trick", 2014) is one tower without LRN:

  conv1 11x11/4, 64  -> 3x3/2 max-pool
  conv2 5x5, 192     -> 3x3/2 max-pool
  conv3 3x3, 384; conv4 3x3, 256; conv5 3x3, 256 -> 3x3/2 max-pool
  average pool to a fixed grid (6x6 at 224x224)
  fc6 4096 -> dropout -> fc7 4096 -> dropout -> logits

ReLU after every conv and hidden FC layer, biases everywhere, overlapping
(3x3, stride 2) pools without padding. On 224x224x3 with 1000 classes it has
torchvision's 61,100,840 parameters. Dropout (keep 0.5) is only in the
training graph (`is_training` comes from `alexnet_arg_scope`).

Widths scale with `base_depth` (64 for AlexNet): the convs are 1, 3, 6, 4, 4
and the hidden FC layers 64 times it, so `base_depth=8` is a small AlexNet
of the same shape. `--norm batch` (an addition, not AlexNet's) puts batch
norm after every conv in place of its bias; the FC layers are unchanged.

The stem is a parameter, so that small inputs do not collapse under the
three stride-2 pools (see `STEMS`).
"""

import collections

import numpy as np
import tensorflow as tf
import tf_slim as slim

from resnet_tf1.nets import layers

tf1 = tf.compat.v1

# How conv1 and the final pooled grid fit an input size. conv1 is zero-padded
# by `padding` on every side, then applied without padding, as torchvision
# does; `pooled_size` is the side of the grid fc6 reads, chosen equal to what
# the three pools leave of the stem's nominal input, so the average pool is
# the identity there (other input sizes are averaged onto that grid).
Stem = collections.namedtuple('Stem', ['kernel_size', 'stride', 'padding',
                                       'pooled_size'])
STEMS = {
    # 224 -> conv1 55 -> 27 -> 13 -> 6: torchvision's.
    'imagenet': Stem(kernel_size=11, stride=4, padding=2, pooled_size=6),
    # 28 -> conv1 28 -> 13 -> 6 -> 2: a stride-4 11x11 conv would leave 6x6
    # before the first pool and nothing after the third.
    'mnist': Stem(kernel_size=5, stride=1, padding=2, pooled_size=2),
    # 32 -> conv1 32 -> 15 -> 7 -> 3.
    'cifar': Stem(kernel_size=3, stride=1, padding=1, pooled_size=3),
}

BASE_DEPTH = 64
# Output channels of conv1..conv5 and of fc6/fc7, in units of base_depth:
# 64, 192, 384, 256, 256 and 4096 at base_depth 64.
CONV_WIDTHS = (1, 3, 6, 4, 4)
FC_WIDTH = 64
POOL_SIZE = 3
POOL_STRIDE = 2


def _spatial_axes(data_format):
    return (2, 3) if data_format == 'NCHW' else (1, 2)


def _max_pool(inputs, data_format, scope):
    """The overlapping 3x3/2 pool, unpadded; refuses a map smaller than its
    window with a message instead of TensorFlow's negative-dimension one."""
    height, width = (inputs.shape[axis] for axis in _spatial_axes(data_format))
    if height < POOL_SIZE or width < POOL_SIZE:
        raise ValueError(
            'alexnet: %s gets a %dx%d map, smaller than its %dx%d window; '
            'use larger images or a stem with less downsampling' %
            (scope, height, width, POOL_SIZE, POOL_SIZE))
    return slim.max_pool2d(inputs, [POOL_SIZE, POOL_SIZE], stride=POOL_STRIDE,
                           padding='VALID', data_format=data_format,
                           scope=scope)


def _bin_weights(in_size, out_size):
    """[out_size, in_size] matrix averaging the bins of torchvision's
    adaptive average pool: bin i covers [floor(i*n/m), ceil((i+1)*n/m))."""
    weights = np.zeros([out_size, in_size], np.float32)
    for index in range(out_size):
        start = (index * in_size) // out_size
        end = -((-(index + 1) * in_size) // out_size)
        weights[index, start:end] = 1.0 / (end - start)
    return weights


def adaptive_avg_pool(inputs, size, data_format='NHWC', scope='avgpool'):
    """Averages a static HxW map onto a size x size grid, as torchvision's
    AdaptiveAvgPool2d; the identity when the map already is that size."""
    height, width = (inputs.shape[axis] for axis in _spatial_axes(data_format))
    if height is None or width is None:
        raise ValueError('alexnet needs a static spatial size, got %s' %
                         inputs.shape)
    if (height, width) == (size, size):
        return inputs
    with tf1.name_scope(scope):
        rows = tf.constant(_bin_weights(height, size), name='rows')
        columns = tf.constant(_bin_weights(width, size), name='columns')
        equation = ('ih,nchw,jw->ncij' if data_format == 'NCHW'
                    else 'ih,nhwc,jw->nijc')
        return tf.einsum(equation, rows, inputs, columns)


def alexnet(images, num_classes, base_depth=BASE_DEPTH, stem_kind='imagenet',
            data_format='NHWC', scope='alexnet'):
    """Builds AlexNet's five convs, three pools and three FC layers.

    Args:
        images: [N, H, W, C] float tensor (or NCHW per `data_format`) with a
            static H and W.
        num_classes: width of the logits.
        base_depth: conv1's width; every other width scales with it.
        stem_kind: a key of `STEMS`.
        data_format: 'NHWC' or 'NCHW'; `images` must already be in it.
        scope: the network's variable scope.

    Returns:
        (logits [N, num_classes], end_points): end_points maps
        'alexnet/conv1', 'alexnet/pool1', ..., 'alexnet/avgpool',
        'alexnet/fc6', 'alexnet/fc7', 'alexnet/logits' to tensors.
    """
    if stem_kind not in STEMS:
        raise ValueError('unknown stem %r; valid stems: %s' %
                         (stem_kind, ', '.join(sorted(STEMS))))
    stem = STEMS[stem_kind]
    widths = [base_depth * multiple for multiple in CONV_WIDTHS]
    end_points = collections.OrderedDict()
    with tf1.variable_scope(scope, values=[images]) as network_scope:
        base = network_scope.original_name_scope.rstrip('/')

        def add(name, tensor):
            end_points['%s/%s' % (base, name)] = tensor
            return tensor

        # conv2..conv5 keep their size ('SAME', slim's default), as
        # torchvision's padding of k // 2 does.
        with slim.arg_scope([slim.conv2d, layers.batch_norm],
                            data_format=data_format):
            paddings = [[0, 0]] * 4
            for axis in _spatial_axes(data_format):
                paddings[axis] = [stem.padding, stem.padding]
            net = slim.conv2d(tf.pad(images, paddings), widths[0],
                              stem.kernel_size, stride=stem.stride,
                              padding='VALID', scope='conv1')
            net = add('conv1', net)
            net = add('pool1', _max_pool(net, data_format, 'pool1'))
            net = add('conv2', slim.conv2d(net, widths[1], [5, 5],
                                           scope='conv2'))
            net = add('pool2', _max_pool(net, data_format, 'pool2'))
            for index in (3, 4, 5):
                net = add('conv%d' % index, slim.conv2d(
                    net, widths[index - 1], [3, 3], scope='conv%d' % index))
            net = add('pool5', _max_pool(net, data_format, 'pool5'))
        net = add('avgpool', adaptive_avg_pool(net, stem.pooled_size,
                                               data_format))
        # A reshape, not slim.flatten: that one is a deprecated
        # tf.compat.v1.layers call that warns on every build.
        net = tf.reshape(net, [-1, int(np.prod(net.shape[1:]))],
                         name='flatten')
        for name in ('fc6', 'fc7'):
            net = slim.fully_connected(net, FC_WIDTH * base_depth, scope=name)
            net = add(name, slim.dropout(net, scope='dropout' + name[2:]))
        logits = add('logits', slim.fully_connected(
            net, num_classes, activation_fn=None, scope='logits'))
    return logits, end_points


def alexnet_arg_scope(is_training=False, norm='none', weight_decay=5e-4,
                      keep_prob=0.5, batch_norm_decay=0.997,
                      batch_norm_epsilon=1e-5):
    """Every layer default of AlexNet, in one place.

    ReLU after every conv and FC layer (the logits turn it off), weights with
    He (fan-in, ReLU-gain) initialization: a plain 8-layer net, so the
    variance that He keeps constant through ReLUs does not pile up as in a
    residual sum. Convs and FC layers have biases; with `norm == 'batch'`
    the convs get batch norm instead of their bias. Dropout keeps
    `keep_prob` of the FC activations, and only when `is_training`. L2
    covers every conv and FC weight.
    """
    if norm not in ('none', 'batch'):
        raise ValueError("unknown norm %r; valid norms: none, batch" % norm)
    with slim.arg_scope(
            [slim.conv2d, slim.fully_connected],
            weights_initializer=slim.variance_scaling_initializer(),
            weights_regularizer=slim.l2_regularizer(weight_decay),
            activation_fn=tf.nn.relu):
        with slim.arg_scope(
                [slim.conv2d],
                normalizer_fn=layers.batch_norm if norm == 'batch' else None):
            with slim.arg_scope([layers.batch_norm], is_training=is_training,
                                decay=batch_norm_decay,
                                epsilon=batch_norm_epsilon, scale=True):
                with slim.arg_scope([slim.dropout], is_training=is_training,
                                    keep_prob=keep_prob) as scope:
                    return scope
