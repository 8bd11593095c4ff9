"""Mixed precision the TF1 way: float32 master weights, bfloat16 compute.

Inside `compute_precision('bf16')` every variable a layer asks for in
bfloat16 (slim layers ask in their input's dtype) is created float32 and
handed to the layer through a cast. So the checkpoint, the L2 penalty (slim
attaches its regularizer to the created variable), the gradient step and
the EMA all stay float32, the variable names are those of a float32 run,
and a bf16-trained checkpoint restores into the float32 evaluation graph.
slim's layers apply their regularizer to what the getter returns (the
cast), so inside the block the weights regularizers of the enclosing
arg_scope (the network family's, keyed on slim.conv2d and
slim.fully_connected) are wrapped to look through the cast to the float32
weights. The networks know nothing of this: compute/model_graph.py opens
this block between the family's arg_scope and the network.
The images are cast once at the network's input and the logits back to
float32 before the loss. bfloat16 keeps float32's exponent range, so no
loss scaling is needed (float16 would need it; it is not offered).
"""

import contextlib

import tensorflow as tf
import tf_slim as slim

tf1 = tf.compat.v1

_DTYPES = {'float32': tf.float32, 'bf16': tf.bfloat16}


def compute_dtype(precision):
    return _DTYPES[precision]


def _float32_master_getter(getter, name, *args, dtype=None, **kwargs):
    if dtype is not None and dtype.base_dtype == tf.bfloat16:
        variable = getter(name, *args, dtype=tf.float32, **kwargs)
        return tf.cast(variable, tf.bfloat16)
    return getter(name, *args, dtype=dtype, **kwargs)


@contextlib.contextmanager
def compute_precision(precision):
    """Variables created inside are float32 whatever dtype they are asked
    in, and the enclosing arg_scope's weight regularizers see them (for
    'bf16'); a no-op for 'float32'."""
    if precision == 'float32':
        yield
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(tf1.variable_scope(
            tf1.get_variable_scope(), custom_getter=_float32_master_getter))
        scope = slim.current_arg_scope()
        for layer in (slim.conv2d, slim.fully_connected):
            regularizer = scope.get(slim.arg_scope_func_key(layer), {}).get(
                'weights_regularizer')
            if regularizer is not None:
                stack.enter_context(slim.arg_scope(
                    [layer],
                    weights_regularizer=on_master_weights(regularizer)))
        yield


def master_weights(weights):
    """The float32 variable behind `weights` when it is this module's
    bfloat16 cast of one; `weights` itself otherwise."""
    op = weights.op
    if (op.type == 'Cast' and weights.dtype == tf.bfloat16
            and op.inputs[0].dtype == tf.float32):
        return op.inputs[0]
    return weights


def on_master_weights(regularizer):
    """`regularizer`, computed on the float32 master weights whatever
    precision the layer computes in."""
    return lambda weights: regularizer(master_weights(weights))
