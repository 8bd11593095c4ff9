"""The few ops tf-slim can no longer provide on current TensorFlow, owned here.

`slim.batch_norm` is broken on every TensorFlow from 2.15 on: its default path
imports `tf_keras.legacy_tf_layers` (gone with Keras 3) and its fused path
touches `ops.Tensor` (removed). Patching TensorFlow's private modules would
break again on the next release, so this module re-implements the part of
slim's contract the networks rely on, on top of public `tf.compat.v1` ops:

* the same signature subset and variable names (`beta`, `gamma`,
    `moving_mean`, `moving_variance` under `<scope>/BatchNorm`), so checkpoints
    and `variables_to_restore()` look exactly like tf-slim's;
* moving-statistics updates placed in `tf.GraphKeys.UPDATE_OPS`, which the
    train op runs before the gradient step;
* decorated with `slim.add_arg_scope`, so it can be a `normalizer_fn` and take
    its defaults from `arg_scope`.

It also holds the two shape ops of the paper's parameter-free shortcut
(option A): spatial subsampling and channel zero-padding.
"""

import tensorflow as tf
import tf_slim as slim

tf1 = tf.compat.v1


@slim.add_arg_scope
def batch_norm(inputs, decay=0.999, center=True, scale=False, epsilon=0.001,
               activation_fn=None, is_training=True, data_format='NHWC',
               scope=None):
    """Fused batch normalization with tf-slim's variables and update contract.

    Training mode normalizes with the batch statistics and adds two
    moving-average updates to `UPDATE_OPS`; inference mode normalizes with
    the moving statistics. As in tf-slim's fused path, the moving variance
    tracks the unbiased (Bessel-corrected) batch variance that
    `fused_batch_norm` returns, while normalization uses the biased one.

    Args:
        inputs: a 4-D tensor, NHWC or NCHW as `data_format` says.
        decay: momentum of the moving averages.
        center: add a learned offset `beta`.
        scale: multiply by a learned `gamma` (slim's default is off; ReLU
            nets followed by a linear layer do not need it, the ResNet
            arg_scope turns it on).
        epsilon: added to the variance before the square root.
        activation_fn: applied to the output, or None.
        is_training: a Python bool: batch statistics and updates, or the
            moving ones.
        data_format: 'NHWC' or 'NCHW'.
        scope: variable scope name, default 'BatchNorm'.

    Returns:
        The normalized tensor, same shape and dtype as `inputs`.
    """
    if inputs.shape.rank != 4:
        raise ValueError('batch_norm expects a 4-D input, got shape %s' %
                         inputs.shape)
    channels = inputs.shape[1 if data_format == 'NCHW' else 3]
    with tf1.variable_scope(scope, 'BatchNorm', [inputs]):
        # Parameters and statistics stay float32 whatever the input dtype.
        param_dtype = tf.float32
        if center:
            beta = tf1.get_variable('beta', [channels], param_dtype,
                                    initializer=tf1.zeros_initializer())
        else:
            beta = tf.zeros([channels], param_dtype)
        if scale:
            gamma = tf1.get_variable('gamma', [channels], param_dtype,
                                     initializer=tf1.ones_initializer())
        else:
            gamma = tf.ones([channels], param_dtype)
        # Global but not trainable, and not in MOVING_AVERAGE_VARIABLES (as
        # in tf-slim): that collection lists what the weights' EMA averages,
        # and these are averages already.
        moving_mean = tf1.get_variable(
            'moving_mean', [channels], param_dtype,
            initializer=tf1.zeros_initializer(), trainable=False,
            collections=[tf1.GraphKeys.GLOBAL_VARIABLES])
        moving_variance = tf1.get_variable(
            'moving_variance', [channels], param_dtype,
            initializer=tf1.ones_initializer(), trainable=False,
            collections=[tf1.GraphKeys.GLOBAL_VARIABLES])
        if is_training:
            outputs, batch_mean, batch_variance = tf1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=epsilon,
                data_format=data_format, is_training=True)
            for variable, value in ((moving_mean, batch_mean),
                                    (moving_variance, batch_variance)):
                update = tf1.assign_sub(variable,
                                        (variable - value) * (1.0 - decay))
                tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS, update)
        else:
            outputs, _, _ = tf1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=moving_mean,
                variance=moving_variance, epsilon=epsilon,
                data_format=data_format, is_training=False)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return outputs


def subsample(inputs, stride, data_format='NHWC'):
    """Keeps every `stride`-th row and column, starting at the first.

    This is the identity branch of a strided unit: with 'SAME' padding a
    stride-s convolution of an HxW map gives ceil(H/s) x ceil(W/s), and so does
    this slice, for odd sizes too (7x7 -> 4x4).
    """
    if stride == 1:
        return inputs
    if data_format == 'NCHW':
        return inputs[:, :, ::stride, ::stride]
    return inputs[:, ::stride, ::stride, :]


def pad_channels(inputs, out_channels, data_format='NHWC'):
    """Zero-pads the channel axis up to `out_channels` (the paper's option A).

    The new channels are appended after the existing ones, so an odd
    difference needs no rounding; narrowing is an error, not a silent no-op.
    """
    channel_axis = 1 if data_format == 'NCHW' else 3
    in_channels = inputs.shape[channel_axis]
    extra = out_channels - in_channels
    if extra < 0:
        raise ValueError('cannot zero-pad %d channels down to %d' %
                                          (in_channels, out_channels))
    if extra == 0:
        return inputs
    paddings = [[0, 0]] * 4
    paddings[channel_axis] = [0, extra]
    return tf.pad(inputs, paddings)
