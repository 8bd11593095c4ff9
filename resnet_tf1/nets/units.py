"""Residual units and the one shortcut function they share.

A unit maps `inputs` to `relu(residual(inputs) + shortcut(inputs))`, the
paper's building block (He et al., 2015, fig. 2 and 5). Units take their
layer defaults (initializer, L2, normalizer, is_training) from the arg_scope
of `resnet.resnet_arg_scope`; nothing here repeats them.

Shortcut kinds (the paper's section 3.3 options):

  'identity'  identity only; a unit that changes shape is an error.
  'A'         identity, subsampled by the stride and zero-padded to the new
              width when the shape changes: no parameters (the article's
              choice, done right).
  'B'         identity when the shape is kept, 1x1 projection when it changes.
  'C'         a 1x1 projection on every unit.
  None        no shortcut at all: the "plain" networks of the paper.
"""

import tensorflow as tf
import tf_slim as slim

from resnet_tf1.nets import layers

tf1 = tf.compat.v1

SHORTCUT_KINDS = ('identity', 'A', 'B', 'C')


def channels_of(inputs, data_format='NHWC'):
    return inputs.shape[1 if data_format == 'NCHW' else 3]


def shortcut(inputs, depth, stride, kind, data_format='NHWC',
             scope='shortcut'):
    """The shortcut branch of a unit whose residual branch outputs `depth`
    channels at `stride`; see the module docstring for the kinds."""
    if kind not in SHORTCUT_KINDS:
        raise ValueError('unknown shortcut kind %r; valid kinds: %s' %
                         (kind, ', '.join(SHORTCUT_KINDS)))
    reshaping = stride != 1 or channels_of(inputs, data_format) != depth
    if kind == 'C' or (kind == 'B' and reshaping):
        # The projection is a conv like any other: it gets the arg_scope's
        # normalizer (conv + BN, as in the reference implementations).
        return slim.conv2d(inputs, depth, [1, 1], stride=stride,
                           activation_fn=None, scope=scope)
    if kind == 'identity' and reshaping:
        raise ValueError(
            'identity shortcut cannot map %s to %d channels at stride %d; '
            'use shortcut A, B or C' % (inputs.shape, depth, stride))
    return layers.pad_channels(layers.subsample(inputs, stride, data_format),
                               depth, data_format)


def _merge(residual, inputs, depth, stride, shortcut_kind, data_format):
    """relu(F(x) + shortcut(x)), or relu(F(x)) for a plain unit."""
    if shortcut_kind is not None:
        residual += shortcut(inputs, depth, stride, shortcut_kind,
                             data_format)
    return tf.nn.relu(residual)


@slim.add_arg_scope
def basic(inputs, depth, stride=1, shortcut_kind='A', kernel_size=3,
          data_format='NHWC', scope=None):
    """Two kxk convs (ResNet-18/34 and the CIFAR nets); the stride is on the
    first, as in the paper. Output width: `depth`."""
    with tf1.variable_scope(scope, 'basic', [inputs]):
        residual = slim.conv2d(inputs, depth, kernel_size,
                               stride=stride, scope='conv1')
        residual = slim.conv2d(residual, depth, kernel_size,
                               activation_fn=None, scope='conv2')
        return _merge(residual, inputs, depth, stride, shortcut_kind,
                      data_format)


basic.expansion = 1


@slim.add_arg_scope
def bottleneck(inputs, depth, stride=1, shortcut_kind='B', kernel_size=3,
               data_format='NHWC', scope=None):
    """1x1 reduce to `depth`, kxk at `stride`, 1x1 expand to 4*`depth`
    (ResNet-50/101/152). The stride sits on the kxk conv as in the
    torchvision and TF-official models ("ResNet v1.5"); the parameter count
    is the same wherever it sits."""
    out_depth = depth * bottleneck.expansion
    with tf1.variable_scope(scope, 'bottleneck', [inputs]):
        residual = slim.conv2d(inputs, depth, [1, 1], scope='conv1')
        residual = slim.conv2d(residual, depth, kernel_size,
                               stride=stride, scope='conv2')
        residual = slim.conv2d(residual, out_depth, [1, 1],
                               activation_fn=None, scope='conv3')
        return _merge(residual, inputs, out_depth, stride, shortcut_kind,
                      data_format)


bottleneck.expansion = 4
