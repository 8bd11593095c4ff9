"""3x3 SAME stride-1 convs on 2x2 maps as 2x2 Toeplitz products (Winograd's
F(2, 2) along each axis): 9 products instead of the dense form's 16."""


import numpy as np
import tensorflow as tf

from resnet_tf1.compute.fast_conv.winograd import _from_pixels
from resnet_tf1.compute.fast_conv.winograd import _per_position
from resnet_tf1.compute.fast_conv.winograd import _to_pixels

tf1 = tf.compat.v1


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
