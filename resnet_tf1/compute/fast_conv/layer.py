"""The layer: slim.conv2d's variables and arg_scope, computed in the
formulation the rule picks, with the rearranged kernels cached in local
variables; and the blocks that install it while a network is built."""

import contextlib
import inspect

import tensorflow as tf
import tf_slim as slim

from resnet_tf1.compute import conv_padding
from resnet_tf1.compute.fast_conv.dense import dense_conv
from resnet_tf1.compute.fast_conv.dense import dense_kernel
from resnet_tf1.compute.fast_conv.rule import inference_formulation
from resnet_tf1.compute.fast_conv.training import tap_training_conv
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_conv
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_kernel
from resnet_tf1.compute.fast_conv.training import toeplitz_training_conv
from resnet_tf1.compute.fast_conv.rule import training_formulation
from resnet_tf1.compute.fast_conv.winograd import winograd_conv
from resnet_tf1.compute.fast_conv.winograd import winograd_kernel
from resnet_tf1.compute.fast_conv.training import winograd_training_conv

tf1 = tf.compat.v1


CACHED_KERNELS = 'resnet_tf1_fast_conv_kernels'
# (weights name, kind) -> cached kernel, for the ones `cached_kernel` shares.
_SHARED_KERNELS = 'resnet_tf1_fast_conv_shared_kernels'


def cached_kernel(name, value, weights=None):
    """A local variable holding `value`, a rearrangement of the weights (a
    tensor, or a function building it); `refresh_op()` recomputes it. Given
    the `weights` variable it is computed from, there is one such variable
    per (weights, name) in a graph: the slices of an inference batch
    (model_graph.inference_logits) share it."""
    graph = tf1.get_default_graph()
    key = None if weights is None else (weights.op.name, name)
    for shared_key, variable in graph.get_collection(_SHARED_KERNELS):
        if shared_key == key:
            return variable
    variable = tf1.Variable(value() if callable(value) else value,
                            trainable=False, name=name,
                            collections=[tf1.GraphKeys.LOCAL_VARIABLES,
                                         CACHED_KERNELS])
    if key is not None:
        graph.add_to_collection(_SHARED_KERNELS, (key, variable))
    return variable


def refresh_op():
    """Recomputes every cached kernel of the default graph from its
    weights: run after each restore (or variable initialization)."""
    return tf1.variables_initializer(tf1.get_collection(CACHED_KERNELS),
                                     name='refresh_fast_conv_kernels')


# slim's conv2d as imported, whatever `inference_formulations` or
# `training_formulations` installs.
_SLIM_CONV2D = slim.conv2d
_SLIM_PARAMETERS = inspect.signature(_SLIM_CONV2D).parameters
_SLIM_DEFAULTS = {
    name: parameter.default for name, parameter in _SLIM_PARAMETERS.items()
    if parameter.default is not inspect.Parameter.empty}

# The blocks `conv2d` is built inside, outermost first: 'inference' and/or
# 'training'.
_BLOCKS = []


@contextlib.contextmanager
def _installed(block, enabled):
    """Inside (when `enabled`), the networks' `slim.conv2d` calls are
    `conv2d` below, in `block`'s formulations."""
    if not enabled:
        yield
        return
    _BLOCKS.append(block)
    slim.conv2d = conv2d
    try:
        yield
    finally:
        _BLOCKS.pop()
        if not _BLOCKS:
            slim.conv2d = _SLIM_CONV2D


def inference_formulations(enabled=True):
    """Inside, the networks' `slim.conv2d` calls are `conv2d` below: the
    faster formulations where `inference_formulation()` picks one, with
    kernels cached. For the code that builds inference graphs (see the module
    docstring); build the graph in one thread while inside, as TF1 graphs
    are."""
    return _installed('inference', enabled)


def training_formulations(enabled=True):
    """Inside, the networks' `slim.conv2d` calls are `conv2d` below: the
    faster formulations where `training_formulation()` picks one, their
    kernels rearranged every step and their gradients in the same form
    (`winograd_training_conv`, `toeplitz_training_conv`,
    `tap_training_conv`). For the code that
    builds training graphs (model_graph.logits); same variables as slim's.
    Inside `inference_formulations` too, the cached inference form
    wins."""
    return _installed('training', enabled)


def _slim_arguments(kwargs):
    """The keyword arguments slim.conv2d would run with here: its own
    defaults, under the current arg_scope's for it, under the call's."""
    scoped = slim.current_arg_scope().get(
        slim.arg_scope_func_key(_SLIM_CONV2D), {})
    return {**_SLIM_DEFAULTS, **scoped, **kwargs}


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def conv2d(inputs, num_outputs, kernel_size, *args, **kwargs):
    """`slim.conv2d(inputs, num_outputs, kernel_size, ...)`, computed by
    `inference_formulation()`'s choice (inference: outside
    `training_formulations`, or inside `inference_formulations`), or by
    `training_formulation()`'s (inside `training_formulations` only)."""
    cached = 'inference' in _BLOCKS or 'training' not in _BLOCKS
    rule = inference_formulation if cached else training_formulation
    # slim's positional arguments after kernel_size, by name.
    kwargs.update(zip(list(_SLIM_PARAMETERS)[3:], args))
    merged = _slim_arguments(kwargs)
    stride_h, stride_w = _pair(merged['stride'])
    kernel_size = _pair(kernel_size)
    choice = 'tf'
    # slim features the fast path does not reproduce go to slim.
    if (stride_h == stride_w and merged['reuse'] is None
            and merged['variables_collections'] is None
            and merged['outputs_collections'] is None
            and inputs.shape.rank == 4):
        choice = rule(
            tuple(inputs.shape[1:3]), kernel_size, stride_h,
            merged['padding'], inputs.dtype, merged['data_format'],
            merged['rate'])
    if choice == 'tf':
        return _SLIM_CONV2D(inputs, num_outputs, kernel_size, **kwargs)
    return _fast_conv2d(inputs, num_outputs, kernel_size, stride_h, choice,
                        merged, cached=cached)


# arg_scopes keyed on slim.conv2d (the families') apply to it.
conv2d._key_op = slim.arg_scope_func_key(_SLIM_CONV2D)


def _model_variable_getter(getter, name, shape=None, dtype=None,
                           initializer=None, regularizer=None, trainable=True,
                           collections=None, caching_device=None,
                           partitioner=None, use_resource=None, **_):
    """What slim.conv2d's variable scope does to every variable created in
    it, the normalizer's included: makes it a model variable (in
    MODEL_VARIABLES as well as GLOBAL_VARIABLES)."""
    return slim.model_variable(
        name, shape=shape, dtype=dtype, initializer=initializer,
        regularizer=regularizer, trainable=trainable, collections=collections,
        caching_device=caching_device, partitioner=partitioner,
        custom_getter=getter, use_resource=use_resource)


def _fast_conv2d(inputs, num_outputs, kernel_size, stride, choice, args,
                 cached=True):
    """slim.conv2d's variables, normalizer and activation around the
    `choice` formulation of the convolution: with its rearranged kernel
    `cached` (inference), or computed with its gradients (training)."""
    height, width, channels_in = inputs.shape[1:]
    padding = args['padding']
    dtype = inputs.dtype.base_dtype
    with tf1.variable_scope(args['scope'], 'Conv', [inputs],
                            custom_getter=_model_variable_getter):
        weights = tf1.get_variable(
            'weights', shape=list(kernel_size) + [channels_in, num_outputs],
            dtype=dtype, initializer=args['weights_initializer'],
            regularizer=args['weights_regularizer'],
            trainable=args['trainable'])
        if not cached:
            if choice == 'toeplitz':
                outputs = toeplitz_training_conv(inputs, weights)
            elif choice == 'dense':
                outputs = tap_training_conv(inputs, weights, stride,
                                            padding)
            else:
                outputs = winograd_training_conv(inputs, weights, padding)
        elif choice == 'dense':
            matrix = cached_kernel('dense_weights', lambda: dense_kernel(
                weights, (height, width), stride, padding), weights)
            out_h, out_w = conv_padding.output_size(
                (height, width), kernel_size, stride, padding)
            outputs = dense_conv(inputs, matrix, (out_h, out_w, num_outputs))
        elif choice == 'toeplitz':
            outputs = toeplitz_conv(inputs, cached_kernel(
                'toeplitz_weights', lambda: toeplitz_kernel(weights),
                weights))
        else:
            outputs = winograd_conv(inputs, cached_kernel(
                'winograd_weights', lambda: winograd_kernel(weights),
                weights), padding)
        normalizer_fn = args['normalizer_fn']
        # slim's rule: a normalizer replaces the biases.
        if not normalizer_fn and args['biases_initializer']:
            biases = tf1.get_variable(
                'biases', shape=[num_outputs], dtype=dtype,
                initializer=args['biases_initializer'],
                regularizer=args['biases_regularizer'],
                trainable=args['trainable'])
            outputs = tf.nn.bias_add(outputs, biases)
        if normalizer_fn is not None:
            outputs = normalizer_fn(outputs, **(args['normalizer_params']
                                                or {}))
        if args['activation_fn'] is not None:
            outputs = args['activation_fn'](outputs)
        return outputs
