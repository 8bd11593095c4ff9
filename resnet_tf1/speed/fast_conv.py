"""Faster forward convolutions for inference, chosen by shape.

TensorFlow's CPU `Conv2D` already runs the article's ResNet-34 forward pass
near this machine's GEMM peak, so evaluation gets faster only by doing fewer
multiplications. Two reformulations, exact in real arithmetic, do on the
small maps of the last two stages (58% of the network's MACs):

* dense (maps smaller than the kernel, e.g. 3x3 SAME on 2x2): with zero
  padding only 4 of a 3x3 kernel's 9 taps ever meet a pixel, so the conv is
  one matrix product [N, H*W*C_in] x [H*W*C_in, OH*OW*C_out] whose matrix
  holds the kernel's taps that touch real pixels: 16/36 of the MACs.
* winograd (3x3 stride 1 where one F(4x4, 3x3) tile covers the output,
  i.e. maps up to 4x4): Lavin & Gray's minimal filtering algorithm, 36
  products of [N, C_in] x [C_in, C_out] instead of 16 x 9: 1/4 of the MACs.
  The input and output transforms are constant matrices (padding included)
  applied as one matmul each. In float32 its results differ from TF's by a
  few 1e-6 of the output's range (coefficients from 1/24 to 8); dense's
  only by summation order.

Which formulation a conv gets is `formulation()`, a rule written from
timings measured per layer (`python -m resnet_tf1 bench --layers` prints
them); TensorFlow's own conv stays everywhere else, and for anything but
float32 NHWC, undilated, SAME/VALID convs.

Both need the kernel rearranged (the dense matrix, the Winograd-domain
kernel). Recomputed for every batch that would cost as much as the rewrite
saves, so they are cached in local variables (`CACHED_KERNELS`, also in
LOCAL_VARIABLES, never in checkpoints) that `refresh_op()` recomputes from
the weights: run it after every restore, as TF1's local-init ops are. That
is also why the rewrite is for inference only: in training the weights
change every step.

How it is installed: the networks call plain `slim.conv2d`, and the code
that builds an inference graph (compute.logits, for eval.py's graph)
wraps the network in `inference_formulations()`. Inside that block
`tf_slim.conv2d` is this module's `conv2d`, which carries slim.conv2d's
arg_scope key, so the family's arg_scope (keyed on slim.conv2d) applies to
it unchanged. A conv whose shape the rule picks creates the same variables
slim would (`<scope>/weights`, `<scope>/biases`, model variables with the
arg_scope's initializer and regularizer), applies the same normalizer and
activation, and computes the convolution the faster way; any other conv is
slim's own. Checkpoints restore either way. A graph-level switch (like
conv_gradients' gradient override) cannot do this: TF1 offers no hook to
replace a forward op, only its gradient.
"""

import contextlib
import inspect

import numpy as np
import tensorflow as tf
import tf_slim as slim

from resnet_tf1.speed import conv_gradients

tf1 = tf.compat.v1

_output_size_and_padding = conv_gradients.output_size_and_padding

CACHED_KERNELS = 'resnet_tf1_fast_conv_kernels'

# F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
# Networks", 2015, section 4.2; interpolation points 0, +-1, +-2, inf):
# output tile = AT [(G g) * (BT d)] for a 6-sample input d and 3-tap
# kernel g, along each axis.
WINOGRAD_BT = np.array([[4, 0, -5, 0, 1, 0],
                        [0, -4, -4, 1, 1, 0],
                        [0, 4, -4, -1, 1, 0],
                        [0, -2, -1, 2, 1, 0],
                        [0, 2, -1, -2, 1, 0],
                        [0, 4, 0, -5, 0, 1]], np.float64)
WINOGRAD_G = np.array([[1 / 4, 0, 0],
                       [-1 / 6, -1 / 6, -1 / 6],
                       [-1 / 6, 1 / 6, -1 / 6],
                       [1 / 24, 1 / 12, 1 / 6],
                       [1 / 24, -1 / 12, 1 / 6],
                       [0, 0, 1]], np.float64)
WINOGRAD_AT = np.array([[1, 1, 1, 1, 1, 0],
                        [0, 1, -1, 2, -2, 0],
                        [0, 1, 1, 4, 4, 0],
                        [0, 1, -1, 8, -8, 1]], np.float64)
TILE = 4        # output samples per tile and axis
WINDOW = 6      # input samples per tile and axis (TILE + 3 - 1)


def formulation(input_size, kernel_size, stride, padding='SAME',
                dtype=tf.float32, data_format='NHWC', rate=1):
    """'dense', 'winograd' or 'tf' (TensorFlow's Conv2D) for a conv of
    `input_size` (H, W) maps.

    The rule follows per-conv timings (`python -m resnet_tf1 bench --layers
    --nolayer_gradients`; the numbers behind it are in README.md's
    "Evaluation speed"): dense on maps smaller than the kernel, Winograd
    on 3x3 stride-1 convs whose output one tile covers, TF's conv
    elsewhere (on 7x7 maps Winograd wins at batch 100 and loses at 500,
    and the batch is unknown when the graph is built).
    """
    (height, width), (kernel_h, kernel_w) = input_size, kernel_size
    if (dtype != tf.float32 or data_format not in (None, 'NHWC')
            or rate != 1 or padding not in ('SAME', 'VALID')
            or height is None or width is None):
        return 'tf'
    out_h, _, _ = _output_size_and_padding(height, kernel_h, stride, padding)
    out_w, _, _ = _output_size_and_padding(width, kernel_w, stride, padding)
    if out_h < 1 or out_w < 1:
        return 'tf'
    # Dense multiplies every input pixel with every output pixel, the conv
    # every output pixel with every tap: H*W / (KH*KW) of the conv's MACs.
    # Used where that is at most 1/2 (2x2 under 3x3: 4/9; 4x4 at stride
    # 2, 16/9, measured 2.5x slower).
    if 2 * height * width <= kernel_h * kernel_w:
        return 'dense'
    if (stride == 1 and (kernel_h, kernel_w) == (3, 3)
            and out_h <= TILE and out_w <= TILE):
        return 'winograd'
    return 'tf'


# ----------------------------------------------------------------- dense

def dense_kernel(kernel, input_size, stride, padding):
    """The conv of `input_size` maps as a matrix [H*W*C_in, OH*OW*C_out]:
    rows (y, x, c_in) like a flattened NHWC image, columns (oy, ox, c_out).
    Output (oy, ox) meets input (y, x) through tap
    (y - oy*stride + pad_top, x - ox*stride + pad_left), zero outside the
    kernel."""
    (height, width), (kernel_h, kernel_w) = input_size, kernel.shape[:2]
    channels_in, channels_out = kernel.shape[2], kernel.shape[3]
    out_h, top, _ = _output_size_and_padding(height, kernel_h, stride, padding)
    out_w, left, _ = _output_size_and_padding(width, kernel_w, stride, padding)
    # Tap rows top - oy*stride ... + height - 1 for every oy: pad the kernel
    # with zero taps where that leaves it.
    before_h = max(0, (out_h - 1) * stride - top)
    after_h = max(0, top + height - kernel_h)
    before_w = max(0, (out_w - 1) * stride - left)
    after_w = max(0, left + width - kernel_w)
    if before_h or after_h or before_w or after_w:
        kernel = tf.pad(kernel, [[before_h, after_h], [before_w, after_w],
                                 [0, 0], [0, 0]])
    columns = []
    for oy in range(out_h):
        for ox in range(out_w):
            y0 = top - oy * stride + before_h
            x0 = left - ox * stride + before_w
            columns.append(tf.reshape(
                kernel[y0:y0 + height, x0:x0 + width],
                [height * width * channels_in, channels_out]))
    return tf.concat(columns, 1)


def dense_conv(inputs, matrix, output_shape):
    """inputs [N, H, W, C_in] times `dense_kernel`'s matrix, as
    [N, OH, OW, C_out]."""
    rows = tf.reshape(inputs, [-1, matrix.shape[0]])
    return tf.reshape(tf.matmul(rows, matrix), [-1] + list(output_shape))


# -------------------------------------------------------------- winograd

def _winograd_axis(size, output, pad_before):
    """One axis' input transform [tiles*6, size] (padding: samples outside
    the map are zero, so their columns are dropped) and output transform
    [output, tiles*6] (the last tile cropped)."""
    tiles = -(-output // TILE)
    input_transform = np.zeros((tiles * WINDOW, size))
    output_transform = np.zeros((output, tiles * WINDOW))
    for tile in range(tiles):
        for sample in range(WINDOW):
            pixel = tile * TILE + sample - pad_before
            if 0 <= pixel < size:
                input_transform[tile * WINDOW:(tile + 1) * WINDOW, pixel] = (
                    WINOGRAD_BT[:, sample])
    for pixel in range(output):
        tile, offset = divmod(pixel, TILE)
        output_transform[pixel, tile * WINDOW:(tile + 1) * WINDOW] = (
            WINOGRAD_AT[offset])
    return input_transform, output_transform, tiles


def winograd_transforms(input_size, padding):
    """(input transform [36*T, H*W], output transform [OH*OW, 36*T]) of a
    3x3 stride-1 conv over T = tiles_h * tiles_w F(4x4, 3x3) tiles, as
    float32 matrices on flattened maps. Transform rows (and output
    transform columns) are ordered (u, v, tile_y, tile_x), (u, v) the 6x6
    Winograd-domain position, so the products group by position."""
    axes = []
    for size in input_size:
        output, before, _ = _output_size_and_padding(size, 3, 1, padding)
        axes.append(_winograd_axis(size, output, before))
    (in_h, out_h, tiles_h), (in_w, out_w, tiles_w) = axes
    positions = WINDOW * WINDOW * tiles_h * tiles_w
    height, width = input_size
    # kron gives rows (tile_y, u, tile_x, v); reorder: (u, v, tile_y, tile_x).
    input_transform = np.kron(in_h, in_w).reshape(
        tiles_h, WINDOW, tiles_w, WINDOW, height * width).transpose(
            1, 3, 0, 2, 4).reshape(positions, height * width)
    output_transform = np.kron(out_h, out_w).reshape(
        out_h.shape[0] * out_w.shape[0], tiles_h, WINDOW, tiles_w,
        WINDOW).transpose(0, 2, 4, 1, 3).reshape(-1, positions)
    return (input_transform.astype(np.float32),
            output_transform.astype(np.float32))


def winograd_kernel(kernel):
    """G g G^T of each (c_in, c_out) 3x3 kernel: [36, C_in, C_out]."""
    transform = np.kron(WINOGRAD_G, WINOGRAD_G).astype(np.float32)  # [36, 9]
    channels_in, channels_out = kernel.shape[2], kernel.shape[3]
    taps = tf.reshape(kernel, [9, channels_in * channels_out])
    return tf.reshape(tf.matmul(transform, taps),
                      [WINDOW * WINDOW, channels_in, channels_out])


def winograd_conv(inputs, kernel, padding):
    """A 3x3 stride-1 conv of NHWC `inputs` with `winograd_kernel`'s
    `kernel`: input transform, 36 matrix products, output transform."""
    height, width, channels_in = inputs.shape[1:]
    channels_out = kernel.shape[2]
    input_transform, output_transform = winograd_transforms(
        (height, width), padding)
    out_h, _, _ = _output_size_and_padding(height, 3, 1, padding)
    out_w, _, _ = _output_size_and_padding(width, 3, 1, padding)
    positions = WINDOW * WINDOW
    # [N, H*W, C_in] -> [H*W, N*C_in], so that each transform is one plain
    # MatMul: with tf.einsum instead, a 7x7x128 conv at batch 100 measured
    # 16.8 ms, 13.1 ms this way.
    pixels = tf.reshape(tf.transpose(tf.reshape(
        inputs, [-1, height * width, channels_in]), [1, 0, 2]),
        [height * width, -1])
    # [36*T, N*C_in] -> per position: [T*N, C_in].
    transformed = tf.reshape(tf.matmul(input_transform, pixels),
                             [positions, -1, channels_in])
    # One MatMul per position: TF runs these in parallel, measured faster
    # than one BatchMatMul here (7 vs 13 ms for 36 x [100, 256] x [256, 256]).
    products = tf.stack([
        tf.matmul(rows, weights) for rows, weights in
        zip(tf.unstack(transformed), tf.unstack(kernel))])
    products = tf.reshape(products, [output_transform.shape[1], -1])
    outputs = tf.reshape(tf.matmul(output_transform, products),
                         [out_h * out_w, -1, channels_out])
    return tf.reshape(tf.transpose(outputs, [1, 0, 2]),
                      [-1, out_h, out_w, channels_out])


# ------------------------------------------------------------ the layer

def cached_kernel(name, value):
    """A local variable holding `value`, a rearrangement of the weights;
    `refresh_op()` recomputes it."""
    return tf1.Variable(value, trainable=False, name=name,
                        collections=[tf1.GraphKeys.LOCAL_VARIABLES,
                                     CACHED_KERNELS])


def refresh_op():
    """Recomputes every cached kernel of the default graph from its
    weights: run after each restore (or variable initialization)."""
    return tf1.variables_initializer(tf1.get_collection(CACHED_KERNELS),
                                     name='refresh_fast_conv_kernels')


# slim's conv2d as imported, whatever `inference_formulations` installs.
_SLIM_CONV2D = slim.conv2d
_SLIM_PARAMETERS = inspect.signature(_SLIM_CONV2D).parameters
_SLIM_DEFAULTS = {
    name: parameter.default for name, parameter in _SLIM_PARAMETERS.items()
    if parameter.default is not inspect.Parameter.empty}


@contextlib.contextmanager
def inference_formulations(enabled=True):
    """Inside, the networks' `slim.conv2d` calls are `conv2d` below: the
    faster formulations where `formulation()` picks one. For the code that
    builds inference graphs (see the module docstring); build the graph in
    one thread while inside, as TF1 graphs are."""
    if not enabled or slim.conv2d is conv2d:
        yield
        return
    slim.conv2d = conv2d
    try:
        yield
    finally:
        slim.conv2d = _SLIM_CONV2D


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
    `formulation()`'s choice."""
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
        choice = formulation(
            tuple(inputs.shape[1:3]), kernel_size, stride_h,
            merged['padding'], inputs.dtype, merged['data_format'],
            merged['rate'])
    if choice == 'tf':
        return _SLIM_CONV2D(inputs, num_outputs, kernel_size, **kwargs)
    return _fast_conv2d(inputs, num_outputs, kernel_size, stride_h, choice,
                        merged)


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


def _fast_conv2d(inputs, num_outputs, kernel_size, stride, choice, args):
    """slim.conv2d's variables, normalizer and activation around the
    `choice` formulation of the convolution."""
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
        if choice == 'dense':
            matrix = cached_kernel('dense_weights', dense_kernel(
                weights, (height, width), stride, padding))
            out_h, _, _ = _output_size_and_padding(
                height, kernel_size[0], stride, padding)
            out_w, _, _ = _output_size_and_padding(
                width, kernel_size[1], stride, padding)
            outputs = dense_conv(inputs, matrix, (out_h, out_w, num_outputs))
        else:
            outputs = winograd_conv(inputs, cached_kernel(
                'winograd_weights', winograd_kernel(weights)), padding)
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
