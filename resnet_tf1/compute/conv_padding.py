"""TensorFlow's 'SAME'/'VALID' padding arithmetic, one copy for the speed
modules: fast_conv.py's formulations and conv_gradients.py's gradients
both need the output size and the padding a conv gets, and neither
imports the other for it.
"""


def output_size_and_padding(size, kernel, stride, padding):
    """(output size, padding before, padding after) along one axis of a
    'SAME' or 'VALID' convolution, as TensorFlow computes them ('SAME' puts
    the odd pixel after)."""
    if padding == 'VALID':
        return (size - kernel) // stride + 1, 0, 0
    output = -(-size // stride)
    total = max((output - 1) * stride + kernel - size, 0)
    return output, total // 2, total - total // 2


def paddings(input_size, kernel_size, stride, padding):
    """((top, bottom), (left, right)) of a 'SAME' or 'VALID' conv."""
    return tuple(output_size_and_padding(size, kernel, stride, padding)[1:]
                 for size, kernel in zip(input_size, kernel_size))


def output_size(input_size, kernel_size, stride, padding):
    """(OH, OW) of a 'SAME' or 'VALID' conv of `input_size` (H, W) maps."""
    return tuple(output_size_and_padding(size, kernel, stride, padding)[0]
                 for size, kernel in zip(input_size, kernel_size))
