"""Training convolutions: the forward pass and both gradients in one
formulation, reusing the forward pass' rearranged kernel and transformed
inputs."""


import tensorflow as tf

from resnet_tf1.compute import conv_padding
from resnet_tf1.compute.fast_conv.toeplitz import _toeplitz_output
from resnet_tf1.compute.fast_conv.winograd import _winograd_output
from resnet_tf1.compute.fast_conv.dense import dense_conv
from resnet_tf1.compute.fast_conv.dense import dense_filter_gradient
from resnet_tf1.compute.fast_conv.dense import dense_input_gradient
from resnet_tf1.compute.fast_conv.dense import dense_kernel
from resnet_tf1.compute.fast_conv.dense import tap_conv
from resnet_tf1.compute.fast_conv.dense import tap_input_gradient
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_filter_gradient
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_input
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_input_gradient
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_kernel
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_output_gradient
from resnet_tf1.compute.fast_conv.winograd import winograd_filter_gradient
from resnet_tf1.compute.fast_conv.winograd import winograd_input
from resnet_tf1.compute.fast_conv.winograd import winograd_input_gradient
from resnet_tf1.compute.fast_conv.winograd import winograd_kernel
from resnet_tf1.compute.fast_conv.winograd import winograd_output_gradient

tf1 = tf.compat.v1


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
