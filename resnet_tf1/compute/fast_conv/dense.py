"""The dense form: a conv over maps smaller than its kernel as one matrix
product (or tap by tap, over only the pixel pairs a tap joins), and its
gradients."""


import tensorflow as tf

from resnet_tf1.compute import conv_padding

tf1 = tf.compat.v1


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
