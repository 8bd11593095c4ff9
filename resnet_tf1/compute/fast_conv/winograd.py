"""Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray): 3x3 stride-1
convs on maps one or two tiles cover, and their gradients, in the Winograd
domain."""


import numpy as np
import tensorflow as tf

from resnet_tf1.compute import conv_padding

tf1 = tf.compat.v1


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
