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
* toeplitz (3x3 SAME stride 1 on 2x2 maps): along an axis of
  2 pixels the conv is a 2x2 Toeplitz product, 3 multiplications instead
  of 4 (Winograd's minimal F(2, 2)): 9 products of [N, C_in] x
  [C_in, C_out] instead of dense's 16, coefficients 0 and +-1 only.

Which formulation a conv gets is `formulation()` (in inference and
training graphs toeplitz where it says dense on 2x2 maps), a
rule written from timings measured per layer (`python -m resnet_tf1 bench
--layers` prints them); TensorFlow's own conv stays everywhere else, and
for anything but float32 NHWC, undilated, SAME/VALID convs.

All need the kernel rearranged (the dense matrix, the Winograd-domain or
Toeplitz kernel). Recomputed for every batch that would cost as much as
the rewrite saves, so they are cached in local variables
(`CACHED_KERNELS`, also in LOCAL_VARIABLES, never in checkpoints) that
`refresh_op()` recomputes from the weights: run it after every restore,
as TF1's local-init ops are.

Training (`training_formulations()`, `training_formulation()`): the weights
change every step, so the kernels are rearranged in the step, and the forms
pay off because both gradients take the same form and reuse the forward
pass' rearranged kernel and transformed inputs (`winograd_training_conv`;
`toeplitz_training_conv`, 9 products per pass where the dense form has
16; `tap_training_conv`, the dense form computed tap by tap over only the
(input, output) pixel pairs a tap joins, with no matrix built, for the
rest of the dense class). A training step costs three passes, so
Winograd serves maps up to 8x8 there (2x2 tiles), only up to 4x4 in
inference.

How it is installed: the networks call plain `slim.conv2d`, and the code
that builds a graph (compute.logits) wraps the network in
`inference_formulations()` (eval.py's graph, bench's) or
`training_formulations()` (training graphs, `--conv_gradients fast` or
`auto` on a CPU). Inside either block `tf_slim.conv2d` is this module's
`conv2d`, which carries slim.conv2d's arg_scope key, so the family's
arg_scope (keyed on slim.conv2d) applies to it unchanged. A conv whose
shape the rule picks creates the same variables slim would
(`<scope>/weights`, `<scope>/biases`, model variables with the arg_scope's
initializer and regularizer), applies the same normalizer and activation,
and computes the convolution the faster way; any other conv is slim's own.
Checkpoints restore either way. A graph-level switch (like conv_gradients'
gradient override) cannot do this: TF1 offers no hook to replace a forward
op, only its gradient.
"""

import contextlib
import inspect

import numpy as np
import tensorflow as tf
import tf_slim as slim

from resnet_tf1.speed import conv_padding

tf1 = tf.compat.v1

CACHED_KERNELS = 'resnet_tf1_fast_conv_kernels'
# (weights name, kind) -> cached kernel, for the ones `cached_kernel` shares.
_SHARED_KERNELS = 'resnet_tf1_fast_conv_shared_kernels'

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
    out_h, out_w = conv_padding.output_size(input_size, kernel_size, stride,
                                            padding)
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
    out_h, top, _ = conv_padding.output_size_and_padding(height, kernel_h,
                                                         stride, padding)
    out_w, left, _ = conv_padding.output_size_and_padding(width, kernel_w,
                                                          stride, padding)
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


def dense_input_gradient(grad, kernel, input_size, stride, padding,
                         matrix=None):
    """d(loss)/d(input) of a conv of small maps as one matmul with
    `dense_kernel`'s matrix (given, or computed from `kernel`), transposed:
    [N, OH*OW*C_out] x [OH*OW*C_out, H*W*C_in] (on 2x2 maps under a 3x3
    kernel, 4/9 of the direct form's multiplications: only taps that meet
    a pixel)."""
    height, width = input_size
    if matrix is None:
        matrix = dense_kernel(kernel, input_size, stride, padding)
    rows = tf.reshape(grad, [-1, matrix.shape[1]])
    return tf.reshape(tf.matmul(rows, matrix, transpose_b=True),
                      [-1, height, width, kernel.shape[2]])


def tap_pairs(input_size, kernel_size, stride, padding):
    """For each tap (ty, tx) of the kernel, in row-major order, the
    (input pixel, output pixel) pairs it joins, pixels numbered row-major:
    the conv's multiply-accumulates without the padding's."""
    (height, width), (kernel_h, kernel_w) = input_size, kernel_size
    out_h, top, _ = conv_padding.output_size_and_padding(height, kernel_h,
                                                         stride, padding)
    out_w, left, _ = conv_padding.output_size_and_padding(width, kernel_w,
                                                          stride, padding)
    pairs = []
    for tap_y in range(kernel_h):
        for tap_x in range(kernel_w):
            pairs.append([
                (y * width + x, oy * out_w + ox)
                for oy in range(out_h) for ox in range(out_w)
                for y, x in [(oy * stride + tap_y - top,
                              ox * stride + tap_x - left)]
                if 0 <= y < height and 0 <= x < width])
    return pairs


def _pixels_first(tensor):
    """NHWC -> [H*W, N, C]: one pixel's images and channels per row."""
    height, width, channels = tensor.shape[1:]
    return tf.transpose(tf.reshape(tensor, [-1, height * width, channels]),
                        [1, 0, 2])


def tap_conv(inputs, kernel, stride, padding):
    """A conv of NHWC `inputs` tap by tap over `tap_pairs` (no padding
    multiplied): per tap, the pixels it reads (stacked on the batch axis)
    times that tap's [C_in, C_out] slice of `kernel`, summed into the
    pixels it writes. On maps smaller than the kernel it has the dense
    form's multiplications without building its matrix."""
    kernel_h, kernel_w = kernel.shape[:2]
    height, width = inputs.shape[1:3]
    out_h, out_w = conv_padding.output_size((height, width),
                                            (kernel_h, kernel_w), stride,
                                            padding)
    return _tap_products(
        _pixels_first(inputs), kernel, tap_pairs(
            (height, width), (kernel_h, kernel_w), stride, padding),
        False, out_h, out_w)


def tap_input_gradient(grad, kernel, input_size, stride, padding):
    """d(loss)/d(input) of a conv, tap by tap (see `tap_conv`): the output
    gradient's pixels times each tap's slice transposed, summed into the
    input pixels."""
    kernel_h, kernel_w = kernel.shape[:2]
    return _tap_products(
        _pixels_first(grad), kernel, tap_pairs(
            input_size, (kernel_h, kernel_w), stride, padding),
        True, input_size[0], input_size[1])


def _tap_products(pixels, kernel, pairs, transpose, out_h, out_w):
    """Sum over `pairs` of pixels[source] x kernel[tap] into target
    pixels: (input, output) pairs forward, (output, input) when
    `transpose` (kernel slices transposed)."""
    kernel_h, kernel_w, channels_in, channels_out = kernel.shape
    channels = pixels.shape[2]
    # Unstacking the first axis shares the kernel's buffer; slicing
    # kernel[ty, tx] copied each tap (1 MB at 512x512) every step.
    taps = tf.unstack(tf.reshape(kernel, [kernel_h * kernel_w, channels_in,
                                          channels_out]))
    products, targets = [], []
    for weights, tap_pairs_ in zip(taps, pairs):
        if not tap_pairs_:
            continue
        sources, destinations = zip(*tap_pairs_)
        if transpose:
            sources, destinations = destinations, sources
        rows = tf.reshape(tf.gather(pixels, sources), [-1, channels])
        products.append(tf.reshape(
            tf.matmul(rows, weights, transpose_b=transpose),
            [len(sources), -1, weights.shape[0 if transpose else 1]]))
        targets.extend(destinations)
    summed = tf.math.unsorted_segment_sum(tf.concat(products, 0), targets,
                                          out_h * out_w)
    return _from_pixels_first(summed, out_h, out_w)


def _from_pixels_first(tensor, height, width):
    """[H*W, N, C] -> NHWC."""
    return tf.reshape(tf.transpose(tensor, [1, 0, 2]),
                      [-1, height, width, tensor.shape[2]])


def dense_filter_gradient(inputs, grad, kernel_size, stride, padding):
    """d(loss)/d(kernel) of an NHWC conv from the (input pixel, output
    pixel) pairs each tap really joins: per tap, the inputs of its pairs
    (stacked on the batch axis) times their output gradients, one matmul.
    Unlike conv_gradients.filter_gradient's im2col it skips the padding:
    on 2x2 maps under a 3x3 kernel, 16 pairs instead of 36."""
    height, width, channels_in = inputs.shape[1:]
    (top, _), (left, _) = conv_padding.paddings((height, width),
                                                kernel_size, stride, padding)
    out_h, out_w, channels_out = grad.shape[1:]
    kernel_h, kernel_w = kernel_size
    # [pixels, N, C]: one pixel's images and channels, gathered by index.
    input_pixels = tf.transpose(tf.reshape(
        inputs, [-1, height * width, channels_in]), [1, 0, 2])
    grad_pixels = tf.transpose(tf.reshape(
        grad, [-1, out_h * out_w, channels_out]), [1, 0, 2])
    taps = []
    for tap_y in range(kernel_h):
        for tap_x in range(kernel_w):
            pairs = [(y * width + x, oy * out_w + ox)
                     for oy in range(out_h) for ox in range(out_w)
                     for y, x in [(oy * stride + tap_y - top,
                                   ox * stride + tap_x - left)]
                     if 0 <= y < height and 0 <= x < width]
            if not pairs:
                taps.append(tf.zeros([channels_in, channels_out],
                                     inputs.dtype))
                continue
            rows, columns = zip(*pairs)
            taps.append(tf.matmul(
                tf.reshape(tf.gather(input_pixels, rows), [-1, channels_in]),
                tf.reshape(tf.gather(grad_pixels, columns),
                           [-1, channels_out]), transpose_a=True))
    return tf.reshape(tf.stack(taps),
                      [kernel_h, kernel_w, channels_in, channels_out])


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
        output, before, _ = conv_padding.output_size_and_padding(
            size, 3, 1, padding)
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


def _to_pixels(tensor):
    """NHWC [N, H, W, C] -> [H*W, N*C], so that a transform over pixels is
    one plain MatMul: with tf.einsum instead, a 7x7x128 conv at batch 100
    measured 16.8 ms, 13.1 ms this way."""
    height, width, channels = tensor.shape[1:]
    return tf.reshape(tf.transpose(tf.reshape(
        tensor, [-1, height * width, channels]), [1, 0, 2]),
        [height * width, -1])


def _from_pixels(matrix, height, width, channels):
    """[H*W, N*C] -> NHWC [N, H, W, C]."""
    return tf.reshape(tf.transpose(tf.reshape(
        matrix, [height * width, -1, channels]), [1, 0, 2]),
        [-1, height, width, channels])


def _per_position(left, right, transpose_a=False, transpose_b=False):
    """36 (one per Winograd-domain position) products left[u] x right[u].
    One MatMul each: TF runs these in parallel, measured faster than one
    BatchMatMul here (7 vs 13 ms for 36 x [100, 256] x [256, 256])."""
    return tf.stack([
        tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
        for a, b in zip(tf.unstack(left), tf.unstack(right))])


def winograd_input(inputs, padding):
    """The input transform of NHWC `inputs` for a 3x3 stride-1 conv:
    [36, T*N, C_in], rows (tile, image) of each Winograd-domain
    position."""
    height, width, channels_in = inputs.shape[1:]
    input_transform, _ = winograd_transforms((height, width), padding)
    return tf.reshape(tf.matmul(input_transform, _to_pixels(inputs)),
                      [WINDOW * WINDOW, -1, channels_in])


def winograd_conv(inputs, kernel, padding):
    """A 3x3 stride-1 conv of NHWC `inputs` with `winograd_kernel`'s
    `kernel`: input transform, 36 matrix products, output transform."""
    return _winograd_output(winograd_input(inputs, padding), kernel,
                            tuple(inputs.shape[1:3]), padding)


def _winograd_output(transformed, kernel, input_size, padding):
    """The 36 products of `winograd_input`'s `transformed` inputs with
    `winograd_kernel`'s `kernel`, output-transformed to NHWC."""
    _, output_transform = winograd_transforms(input_size, padding)
    out_h, out_w = conv_padding.output_size(input_size, (3, 3), 1, padding)
    products = tf.reshape(_per_position(transformed, kernel),
                          [output_transform.shape[1], -1])
    return _from_pixels(tf.matmul(output_transform, products), out_h, out_w,
                        kernel.shape[2])


def winograd_output_gradient(grad, input_size, padding):
    """The output transform transposed, applied to the output gradient
    `grad` of a 3x3 stride-1 conv of `input_size` maps: the gradient of
    its 36 products, [36, T*N, C_out]."""
    _, output_transform = winograd_transforms(input_size, padding)
    return tf.reshape(
        tf.matmul(output_transform, _to_pixels(grad), transpose_a=True),
        [WINDOW * WINDOW, -1, grad.shape[3]])


def winograd_input_gradient(grad, kernel, input_size, padding,
                            weights=None, grad_products=None):
    """d(loss)/d(inputs) [N, H, W, C_in] of a 3x3 stride-1 conv of
    `input_size` maps with the (spatial, [3, 3, C_in, C_out]) `kernel`,
    given its output gradient `grad`: the forward pass transposed,
    BT^T [(A grad AT) x (G g G^T)^T] B, 36 products [T*N, C_out] x
    [C_out, C_in]. `weights` (`winograd_kernel(kernel)`) and
    `grad_products` (`winograd_output_gradient`), when the caller has
    them, are not recomputed."""
    height, width = input_size
    channels_in = kernel.shape[2]
    input_transform, _ = winograd_transforms(input_size, padding)
    if grad_products is None:
        grad_products = winograd_output_gradient(grad, input_size, padding)
    if weights is None:
        weights = winograd_kernel(kernel)
    products = _per_position(grad_products, weights, transpose_b=True)
    products = tf.reshape(products, [input_transform.shape[0], -1])
    return _from_pixels(tf.matmul(input_transform, products,
                                  transpose_a=True), height, width,
                        channels_in)


def winograd_filter_gradient(inputs, grad, padding, transformed=None,
                             grad_products=None):
    """d(loss)/d(kernel) [3, 3, C_in, C_out] of a 3x3 stride-1 conv of NHWC
    `inputs` whose output gradient is `grad`, in the Winograd domain: the
    forward pass is AT [(G g G^T) * (BT d B)] A, so the kernel's gradient
    is G^T [(BT d B) * (A grad AT)] G, 36 products [C_in, T*N] x
    [T*N, C_out] (1/4 of the direct form's multiplications on a 4x4 map)
    and two constant transforms. `transformed` (`winograd_input(inputs)`)
    and `grad_products` (`winograd_output_gradient`), when the caller has
    them, are not recomputed."""
    height, width, channels_in = inputs.shape[1:]
    channels_out = grad.shape[3]
    if grad_products is None:
        grad_products = winograd_output_gradient(grad, (height, width),
                                                 padding)
    if transformed is None:
        transformed = winograd_input(inputs, padding)
    kernel_grad = _per_position(transformed, grad_products,
                                transpose_a=True)
    transform = np.kron(WINOGRAD_G, WINOGRAD_G).astype(np.float32)  # [36, 9]
    taps = tf.matmul(transform, tf.reshape(
        kernel_grad, [WINDOW * WINDOW, channels_in * channels_out]),
        transpose_a=True)
    return tf.reshape(taps, [3, 3, channels_in, channels_out])


# ----------------------------------------------------- 2x2 maps, SAME 3x3

# Along an axis of 2 pixels, a SAME 3-tap correlation is the Toeplitz
# product [y0, y1] = [[g1, g2], [g0, g1]] [x0, x1]: 3 multiplications
# (Winograd's minimal F(2, 2)) instead of 4: m = (g1 (x0 + x1),
# (g2 - g1) x1, (g0 - g1) x0), y0 = m0 + m1, y1 = m0 + m2. Only
# coefficients 0 and +-1: no float32 error beyond summation order.
TOEPLITZ_BT = np.array([[1, 1], [0, 1], [1, 0]], np.float64)
TOEPLITZ_G = np.array([[0, 1, 0], [0, -1, 1], [1, -1, 0]], np.float64)
TOEPLITZ_AT = np.array([[1, 1, 0], [1, 0, 1]], np.float64)


def toeplitz_kernel(kernel):
    """The 9 kernel combinations of `toeplitz_conv` for each
    (c_in, c_out): [9, C_in, C_out]."""
    transform = np.kron(TOEPLITZ_G, TOEPLITZ_G).astype(np.float32)
    channels_in, channels_out = kernel.shape[2], kernel.shape[3]
    return tf.reshape(
        tf.matmul(transform, tf.reshape(kernel, [9, -1])),
        [9, channels_in, channels_out])


def toeplitz_input(inputs):
    """The input transform of NHWC 2x2 `inputs`: [9, N, C_in], the
    multiplications' input combinations."""
    return tf.reshape(
        tf.matmul(np.kron(TOEPLITZ_BT, TOEPLITZ_BT).astype(np.float32),
                  _to_pixels(inputs)), [9, -1, inputs.shape[3]])


def _toeplitz_output(transformed, kernel):
    """The 9 products of `toeplitz_input`'s `transformed` inputs with
    `toeplitz_kernel`'s `kernel`, output-transformed to NHWC 2x2."""
    products = tf.reshape(_per_position(transformed, kernel), [9, -1])
    return _from_pixels(
        tf.matmul(np.kron(TOEPLITZ_AT, TOEPLITZ_AT).astype(np.float32),
                  products), 2, 2, kernel.shape[2])


def toeplitz_conv(inputs, kernel):
    """A 3x3 stride-1 SAME conv of NHWC 2x2 `inputs` with
    `toeplitz_kernel`'s `kernel`: 9 products [N, C_in] x [C_in, C_out]
    instead of the dense form's 16."""
    return _toeplitz_output(toeplitz_input(inputs), kernel)


def toeplitz_output_gradient(grad):
    """The output transform transposed, applied to the output gradient
    `grad` [N, 2, 2, C_out] of `toeplitz_conv`: the gradient of its 9
    products, [9, N, C_out]."""
    return tf.reshape(
        tf.matmul(np.kron(TOEPLITZ_AT, TOEPLITZ_AT).astype(np.float32),
                  _to_pixels(grad), transpose_a=True),
        [9, -1, grad.shape[3]])


def toeplitz_input_gradient(grad_products, kernel):
    """d(loss)/d(inputs) [N, 2, 2, C_in] of `toeplitz_conv` with
    `toeplitz_kernel`'s `kernel`, given `toeplitz_output_gradient`'s
    `grad_products`: the forward pass transposed, 9 products
    [N, C_out] x [C_out, C_in] and the input transform transposed."""
    products = tf.reshape(
        _per_position(grad_products, kernel, transpose_b=True), [9, -1])
    return _from_pixels(
        tf.matmul(np.kron(TOEPLITZ_BT, TOEPLITZ_BT).astype(np.float32),
                  products, transpose_a=True), 2, 2, kernel.shape[1])


def toeplitz_filter_gradient(transformed, grad_products):
    """d(loss)/d(kernel) [3, 3, C_in, C_out] of `toeplitz_conv`, given
    `toeplitz_input`'s `transformed` inputs and
    `toeplitz_output_gradient`'s `grad_products`: 9 products
    [C_in, N] x [N, C_out] in the transformed domain, then
    `toeplitz_kernel`'s 9 -> 3x3 taps map transposed."""
    channels_in, channels_out = transformed.shape[2], grad_products.shape[2]
    kernel_grad = _per_position(transformed, grad_products,
                                transpose_a=True)
    transform = np.kron(TOEPLITZ_G, TOEPLITZ_G).astype(np.float32)
    taps = tf.matmul(transform, tf.reshape(
        kernel_grad, [9, channels_in * channels_out]), transpose_a=True)
    return tf.reshape(taps, [3, 3, channels_in, channels_out])


# ------------------------------------------------------------ training

def winograd_training_conv(inputs, kernel, padding):
    """`winograd_conv` of NHWC `inputs` with the spatial `kernel`
    [3, 3, C_in, C_out], its Winograd-domain kernel computed for this step,
    and gradients in the Winograd domain too (`winograd_input_gradient`,
    `winograd_filter_gradient`) reusing the forward pass' transformed
    kernel and inputs."""
    input_size = tuple(inputs.shape[1:3])

    @tf.custom_gradient
    def conv(inputs, kernel):
        with tf.name_scope('winograd'):
            weights = winograd_kernel(kernel)
            transformed = winograd_input(inputs, padding)
            outputs = _winograd_output(transformed, weights, input_size,
                                       padding)

        def grad(output_grad):
            output_grad.set_shape(outputs.shape)
            grad_products = winograd_output_gradient(output_grad,
                                                     input_size, padding)
            # Named so that a step's timeline (step_profile.py) tells them
            # apart.
            with tf.name_scope('input_gradient'):
                input_grad = winograd_input_gradient(
                    output_grad, kernel, input_size, padding,
                    weights=weights, grad_products=grad_products)
            with tf.name_scope('filter_gradient'):
                kernel_grad = winograd_filter_gradient(
                    inputs, output_grad, padding, transformed=transformed,
                    grad_products=grad_products)
            return input_grad, kernel_grad

        return outputs, grad

    return conv(inputs, tf.convert_to_tensor(kernel))


def toeplitz_training_conv(inputs, kernel):
    """`toeplitz_conv` of NHWC 2x2 `inputs` (3x3 stride-1 SAME) with the
    spatial `kernel` [3, 3, C_in, C_out], its Toeplitz kernel computed for
    this step, and both gradients in the same form
    (`toeplitz_input_gradient`, `toeplitz_filter_gradient`: 9 products
    each instead of the tap form's 16) reusing the forward pass'
    transformed kernel and inputs. On 2x2x512 at batch 100 measured
    1.3-1.4x the tap form (`training_formulation`), short of 16/9: its
    products are smaller (the filter gradient's inner dimension is the
    batch)."""

    @tf.custom_gradient
    def conv(inputs, kernel):
        with tf.name_scope('toeplitz'):
            weights = toeplitz_kernel(kernel)
            transformed = toeplitz_input(inputs)
            outputs = _toeplitz_output(transformed, weights)

        def grad(output_grad):
            output_grad.set_shape(outputs.shape)
            grad_products = toeplitz_output_gradient(output_grad)
            with tf.name_scope('input_gradient'):
                input_grad = toeplitz_input_gradient(grad_products, weights)
            with tf.name_scope('filter_gradient'):
                kernel_grad = toeplitz_filter_gradient(transformed,
                                                       grad_products)
            return input_grad, kernel_grad

        return outputs, grad

    return conv(inputs, tf.convert_to_tensor(kernel))


def tap_training_conv(inputs, kernel, stride, padding):
    """`tap_conv` of NHWC `inputs` with the spatial `kernel`, its gradients
    tap by tap too (`tap_input_gradient`, `dense_filter_gradient`): the
    dense form's multiplications, no matrix built."""
    input_size = tuple(inputs.shape[1:3])
    kernel_size = tuple(kernel.shape[:2])

    @tf.custom_gradient
    def conv(inputs, kernel):
        with tf.name_scope('dense'):
            outputs = tap_conv(inputs, kernel, stride, padding)

        def grad(output_grad):
            output_grad.set_shape(outputs.shape)
            with tf.name_scope('input_gradient'):
                input_grad = tap_input_gradient(output_grad, kernel,
                                                input_size, stride, padding)
            with tf.name_scope('filter_gradient'):
                kernel_grad = dense_filter_gradient(
                    inputs, output_grad, kernel_size, stride, padding)
            return input_grad, kernel_grad

        return outputs, grad

    return conv(inputs, tf.convert_to_tensor(kernel))


def dense_training_conv(inputs, kernel, stride, padding):
    """`dense_conv` of NHWC `inputs` with the spatial `kernel`, its dense
    matrix computed for this step, and gradients in the same form
    (`dense_input_gradient` with that matrix, `dense_filter_gradient`)."""
    height, width = inputs.shape[1:3]
    kernel_h, kernel_w = kernel.shape[:2]
    out_h, out_w = conv_padding.output_size((height, width),
                                            (kernel_h, kernel_w), stride,
                                            padding)

    @tf.custom_gradient
    def conv(inputs, kernel):
        with tf.name_scope('dense'):
            matrix = dense_kernel(kernel, (height, width), stride, padding)
            outputs = dense_conv(inputs, matrix,
                                 (out_h, out_w, kernel.shape[3]))

        def grad(output_grad):
            output_grad.set_shape(outputs.shape)
            with tf.name_scope('input_gradient'):
                input_grad = dense_input_gradient(
                    output_grad, kernel, (height, width), stride, padding,
                    matrix=matrix)
            with tf.name_scope('filter_gradient'):
                kernel_grad = dense_filter_gradient(
                    inputs, output_grad, (kernel_h, kernel_w), stride,
                    padding)
            return input_grad, kernel_grad

        return outputs, grad

    return conv(inputs, tf.convert_to_tensor(kernel))


# ------------------------------------------------------------ the layer

def cached_kernel(name, value, weights=None):
    """A local variable holding `value`, a rearrangement of the weights (a
    tensor, or a function building it); `refresh_op()` recomputes it. Given
    the `weights` variable it is computed from, there is one such variable
    per (weights, name) in a graph: the slices of an inference batch
    (compute.inference_logits) share it."""
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


def inference_formulation(input_size, kernel_size, stride, padding='SAME',
                          dtype=tf.float32, data_format='NHWC', rate=1):
    """The formulation of a conv of an inference graph: `formulation()`'s,
    with 'toeplitz' (`toeplitz_conv`, 9 products instead of 16) for its
    dense 2x2 SAME 3x3 stride-1 convs (stage 4 of ResNet-34): measured
    2.2-2.4x faster than dense at batch 500 (README.md, "Evaluation
    speed")."""
    choice = formulation(input_size, kernel_size, stride, padding, dtype,
                         data_format, rate)
    if (choice == 'dense' and tuple(input_size) == (2, 2)
            and tuple(kernel_size) == (3, 3) and stride == 1
            and padding == 'SAME'):
        return 'toeplitz'
    return choice


def training_formulation(input_size, kernel_size, stride, padding='SAME',
                         dtype=tf.float32, data_format='NHWC', rate=1):
    """'toeplitz' (`toeplitz_training_conv`), 'dense' (computed tap by
    tap: `tap_training_conv`), 'winograd' (`winograd_training_conv`) or
    'tf' for a conv of a training graph, forward pass and both gradients.

    `inference_formulation()`'s rule (toeplitz on 2x2 maps under a SAME
    3x3 stride-1 kernel, the rest of the dense class tap by tap), and
    Winograd up to 2x2 tiles (maps up to 8x8) rather than one: a training
    step costs the forward pass and both gradients, all three in the
    Winograd domain, and with two tiles per axis the dense transforms stay
    small. Measured at batch 100 (forward + both gradients of one conv,
    ms, alternating with TF's forward and conv_gradients' direct
    gradients, on a busy machine): 7x7x128 182 -> 116, 4x4x256 270 ->
    155, 2x2x512 204 -> 58 (dense tap by tap; with the dense matrix built
    every step, 193); 2x2x512 tap by tap against toeplitz, alternating
    (load 6-10 on 2 cores): 108 -> 81 and 168 -> 122 (1.33x, 1.38x).
    Not on 14x14 maps: 16 tiles make the transforms cost as much as the
    conv.
    """
    choice = inference_formulation(input_size, kernel_size, stride, padding,
                                   dtype, data_format, rate)
    if choice != 'tf' or input_size[0] is None or input_size[1] is None:
        return choice
    out_h, out_w = conv_padding.output_size(input_size, kernel_size, stride,
                                            padding)
    if (dtype == tf.float32 and data_format in (None, 'NHWC') and rate == 1
            and padding in ('SAME', 'VALID') and stride == 1
            and tuple(kernel_size) == (3, 3)
            and 0 < out_h <= 2 * TILE and 0 < out_w <= 2 * TILE):
        return 'winograd'
    return 'tf'


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
    builds training graphs (compute.logits); same variables as slim's.
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
