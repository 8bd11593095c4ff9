"""Ops a TF1 codebase needs and TensorFlow 2.21 with tf-slim 1.1.0 no longer
gives, written on public `tf.compat.v1` ops: import them
(`from tf1_migrate.compat_ops import batch_norm` once this project is
installed) or copy this file into your code; it needs only TensorFlow
(tf-slim is optional).

`batch_norm` replaces `slim.batch_norm` / `tf.contrib.layers.batch_norm`,
which cannot build a graph on TF 2.15 and later: its default path imports
Keras 2's `legacy_tf_layers`, its fused path touches the removed
`ops.Tensor`. It keeps the contract TF1 code relies on:

* slim's variable names under `<scope>/BatchNorm` (`beta`, `gamma`,
  `moving_mean`, `moving_variance`), so TF1 checkpoints restore unchanged
  and `slim.get_variables_to_restore()` sees the same list;
* the moving-statistics updates in `tf.GraphKeys.UPDATE_OPS` (or, with
  `updates_collections=None`, run before the output is computed);
* slim's numbers on its default (fused) path: normalization by the batch
  variance, the moving variance tracking the Bessel-corrected one;
* `@slim.add_arg_scope` when tf-slim is importable, so it works as a
  `normalizer_fn` and takes defaults from `slim.arg_scope`.
"""

import tensorflow as tf

try:
    import tf_slim
    _add_arg_scope = tf_slim.add_arg_scope
except ImportError:  # copied into code that does not use tf-slim
    def _add_arg_scope(function):
        return function

tf1 = tf.compat.v1


@_add_arg_scope
def batch_norm(inputs, decay=0.999, center=True, scale=False, epsilon=0.001,
               activation_fn=None, param_initializers=None,
               updates_collections=tf1.GraphKeys.UPDATE_OPS,
               is_training=True, reuse=None, variables_collections=None,
               outputs_collections=None, trainable=True, fused=None,
               data_format='NHWC', scope=None):
    """Batch normalization with tf-slim's variables, numbers and updates.

    Args:
        inputs: a tensor of rank 2 (`[N, C]`) or more, channels last; or
            rank 4 `[N, C, H, W]` with data_format 'NCHW'.
        decay: momentum of the moving averages.
        center: add a learned offset `beta`.
        scale: multiply by a learned `gamma` (off by default, as in slim).
        epsilon: added to the variance before the square root.
        activation_fn: applied to the output, or None.
        param_initializers: optional dict from 'beta', 'gamma',
            'moving_mean', 'moving_variance' to initializers.
        updates_collections: where the two update ops go; None runs them
            before the output (slim's in-place updates).
        is_training: a Python bool or a scalar bool tensor: batch statistics
            and updates, or the moving statistics.
        reuse: reuse the variables of `scope`.
        variables_collections: a list of collections, or a dict from the
            variable names above to lists, added to each variable's.
        outputs_collections: collections the output is added to.
        trainable: whether beta and gamma are trainable.
        fused: accepted for slim's signature; the numbers are those of
            slim's fused path either way.
        data_format: 'NHWC' (channels last, any rank) or 'NCHW' (rank 4).
        scope: variable scope, default 'BatchNorm'.

    Returns:
        The normalized tensor, same shape and dtype as `inputs`.
    """
    del fused  # one implementation, slim's fused numbers
    inputs = tf.convert_to_tensor(inputs)
    rank = inputs.shape.rank
    if rank is None or rank < 2:
        raise ValueError('batch_norm needs an input of known rank >= 2, '
                         'got shape %s' % inputs.shape)
    if data_format not in ('NHWC', 'NCHW'):
        raise ValueError("data_format must be 'NHWC' or 'NCHW', got %r" %
                         data_format)
    if data_format == 'NCHW' and rank != 4:
        raise ValueError("data_format 'NCHW' needs a rank-4 input, got "
                         "shape %s" % inputs.shape)
    channel_axis = 1 if data_format == 'NCHW' else rank - 1
    channels = inputs.shape[channel_axis]
    if channels is None:
        raise ValueError('batch_norm needs a known channel dimension, got '
                         'shape %s' % inputs.shape)
    axes = [axis for axis in range(rank) if axis != channel_axis]
    initializers = param_initializers or {}
    with tf1.variable_scope(scope, 'BatchNorm', [inputs], reuse=reuse):
        def variable(name, default, is_trainable):
            collections = [tf1.GraphKeys.GLOBAL_VARIABLES,
                           tf1.GraphKeys.MODEL_VARIABLES]
            if isinstance(variables_collections, dict):
                collections += list(variables_collections.get(name, []))
            elif variables_collections:
                collections += list(variables_collections)
            if is_trainable:
                collections.append(tf1.GraphKeys.TRAINABLE_VARIABLES)
            # Parameters stay float32 whatever the input dtype, as slim's.
            return tf1.get_variable(
                name, [channels], tf.float32,
                initializer=initializers.get(name, default),
                trainable=is_trainable, collections=collections)

        beta = (variable('beta', tf1.zeros_initializer(), trainable)
                if center else None)
        gamma = (variable('gamma', tf1.ones_initializer(), trainable)
                 if scale else None)
        moving_mean = variable('moving_mean', tf1.zeros_initializer(),
                               False)
        moving_variance = variable('moving_variance', tf1.ones_initializer(),
                                   False)
        outputs = _normalize(inputs, axes, channel_axis, beta, gamma,
                             moving_mean, moving_variance, decay, epsilon,
                             is_training, updates_collections)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        if outputs_collections:
            for collection in outputs_collections:
                tf1.add_to_collection(collection, outputs)
        return outputs


def _normalize(inputs, axes, channel_axis, beta, gamma, moving_mean,
               moving_variance, decay, epsilon, is_training,
               updates_collections):
    """The output, after adding (or running) the moving-average updates."""
    shape = [1] * inputs.shape.rank
    shape[channel_axis] = -1
    x = tf.cast(inputs, tf.float32)
    batch_mean, batch_variance = tf.nn.moments(x, axes)
    count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), tf.float32)
    # The moving variance tracks the unbiased batch variance, as
    # fused_batch_norm returns it (slim's default path).
    unbiased = batch_variance * count / tf.maximum(count - 1.0, 1.0)
    training = _is_true(is_training)
    if training is False:
        mean, variance, updates = moving_mean, moving_variance, []
    else:
        keep = 1.0 - decay
        if training is None:  # a tensor: update only when it is true
            keep = tf.where(is_training, keep, 0.0)
            mean = tf1.cond(is_training, lambda: batch_mean,
                            lambda: tf.identity(moving_mean))
            variance = tf1.cond(is_training, lambda: batch_variance,
                                lambda: tf.identity(moving_variance))
        else:
            mean, variance = batch_mean, batch_variance
        updates = [
            tf1.assign_sub(moving_mean, (moving_mean - batch_mean) * keep),
            tf1.assign_sub(moving_variance,
                           (moving_variance - unbiased) * keep)]
    if updates and updates_collections is None:
        with tf.control_dependencies(updates):
            mean, variance = tf.identity(mean), tf.identity(variance)
    else:
        for update in updates:
            tf1.add_to_collections(updates_collections, update)
    outputs = tf.nn.batch_normalization(
        x, tf.reshape(mean, shape), tf.reshape(variance, shape),
        None if beta is None else tf.reshape(beta, shape),
        None if gamma is None else tf.reshape(gamma, shape), epsilon)
    return tf.cast(outputs, inputs.dtype)


def _is_true(flag):
    """True or False for a Python bool (or constant tensor), else None."""
    if isinstance(flag, bool):
        return flag
    value = tf.get_static_value(flag)
    return None if value is None else bool(value)
