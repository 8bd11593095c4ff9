"""A faster gradient for `Conv2D` on CPU, installed per graph.

TensorFlow's CPU kernels compute a convolution's forward pass near GEMM
speed on every map size of the article's ResNet-34, but its input gradient
(`Conv2DBackpropInput`) collapses on small maps, down to a few GFLOP/s on
the 2x2 maps of stage 4 (docs/migration/worked-example.md, section 5, has
the numbers).
The filter gradient is slower than the forward pass on small maps too.

Both gradients are themselves convolutions or matrix products, so this
module rewrites them as the ops TF runs fast:

* input gradient: a stride-1 VALID convolution of the output gradient,
  dilated by the stride and padded, with the kernel flipped in space and
  its in/out channels swapped (the "transposed convolution" written as a
  forward one);
* filter gradient, on 2x2 maps (and for bfloat16): im2col of the input
  (k*k strided slices, concatenated on channels) times the output
  gradient, one matmul.

Nothing about the network changes: the graph is the same `slim.conv2d`
graph, only the ops `tf.gradients` adds differ. `fast_gradients(graph)`
turns it on for the Conv2D ops created inside it, through the TF1 gradient
override map. The results equal TF's own gradients up to float32 summation
order (tests/test_conv_gradients.py).

With `small_maps` (the default; `--conv_gradients fast`), the convs of
fast_conv.py's small-map shape classes get its Winograd and tap-by-tap
gradients instead, and the 4x4 -> 2x2 stride-2 conv a tap-by-tap input
gradient. (In training graphs those convs are mostly fast_conv's own
training forms already, with their own gradients; these serve any Conv2D
left.) The ops of each gradient are under the name scopes
`input_gradient` and `filter_gradient`, for `bench --profile`.

Which formulation serves which shape is chosen from measured timings
(`use_conv_input_gradient`, `use_matmul_filter_gradient`); TF's own kernels
stay where they are faster (large maps at stride 2) and where the rewrite
does not apply (NCHW, dilation, explicit padding, unequal strides, shapes
unknown when the graph is built).
"""

import contextlib

import tensorflow as tf

from resnet_tf1.compute import conv_padding
from resnet_tf1.compute import fast_conv

tf1 = tf.compat.v1

GRADIENT_NAME = 'ResnetTf1FastConv2D'
# The same without the Winograd and dense forms (`small_maps=False`).
DIRECT_GRADIENT_NAME = 'ResnetTf1DirectConv2D'


def use_conv_input_gradient(input_pixels, kernel_pixels, stride):
    """Where the rewritten input gradient beats TF's kernel, from per-conv
    timings of ResNet-34 at batch 100 (`python -m resnet_tf1 bench
    --layers` prints them for any network; the numbers behind this rule
    are in docs/migration/worked-example.md, section 5): maps up to 14x14
    at stride 1 (TF's kernel is faster on the 28x28 stem), up to 7x7 for a
    strided 3x3 conv and 4x4 for a strided 1x1 projection."""
    if stride == 1:
        return input_pixels <= 14 * 14
    return input_pixels <= (7 * 7 if kernel_pixels > 1 else 4 * 4)


def use_matmul_filter_gradient(input_pixels, stride):
    """Where im2col + matmul beats TF's filter-gradient kernel: only on
    2x2 maps at stride 1; elsewhere TF's kernel is as fast or faster (same
    timings as above)."""
    return stride == 1 and input_pixels <= 2 * 2


def use_small_map_gradient(form, which):
    """Whether the `form` ('winograd' or 'dense', fast_conv.formulation's
    choice for the conv) computes the `which` ('input' or 'filter')
    gradient."""
    del form, which
    return True


def use_tap_input_gradient(output_size, stride):
    """Where fast_conv.tap_input_gradient (tap by tap, no padding
    multiplied) serves a strided conv: outputs of at most 2x2 pixels, the
    4x4 -> 2x2 stride-2 conv of ResNet-34 (as a dilated conv, its padded
    zeros are most of the work)."""
    return stride > 1 and output_size[0] * output_size[1] <= 4


def _dilate(tensor, stride, axis):
    """Inserts stride-1 zeros between the elements along `axis` (1 or 2 of
    an NHWC tensor), giving (n - 1) * stride + 1 elements."""
    if stride == 1:
        return tensor
    length = tensor.shape[axis]
    interleaved = tf.stack([tensor] + [tf.zeros_like(tensor)] * (stride - 1),
                           axis=axis + 1)
    shape = [-1, tensor.shape[1], tensor.shape[2], tensor.shape[3]]
    shape[axis] = length * stride
    dilated = tf.reshape(interleaved, shape)
    keep = (length - 1) * stride + 1
    return dilated[:, :keep] if axis == 1 else dilated[:, :, :keep]


def input_gradient(grad, kernel, input_size, stride, pads):
    """d(loss)/d(input) of an NHWC conv, as a forward conv.

    Args:
        grad: d(loss)/d(output), [N, OH, OW, C_out].
        kernel: [KH, KW, C_in, C_out].
        input_size: (H, W) of the conv's input.
        stride: the conv's stride (same on both axes).
        pads: ((top, bottom), (left, right)) the forward pass padded with.

    Along one axis, output o read inputs o*s + t - p for taps t < k, so input
    i received grad[o] * w[t] from every o, t with o*s + t - p = i. On the
    output gradient dilated by s, that is a correlation with the flipped
    kernel over a window starting k-1-p before i.
    """
    dilated = _dilate(_dilate(grad, stride, 1), stride, 2)
    paddings = [[0, 0]]
    for axis, size in ((0, input_size[0]), (1, input_size[1])):
        taps = kernel.shape[axis]
        before = pads[axis][0]
        covered = dilated.shape[axis + 1]
        paddings.append([taps - 1 - before,
                         size + taps - 1 - (taps - 1 - before) - covered])
    paddings.append([0, 0])
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    return tf.nn.conv2d(tf.pad(dilated, paddings), flipped, 1, 'VALID')


def filter_gradient(inputs, grad, kernel_size, stride, pads):
    """d(loss)/d(kernel) of an NHWC conv as one matmul: the input's k*k
    shifted (and strided) windows, stacked on channels, times the output
    gradient."""
    (top, bottom), (left, right) = pads
    padded = tf.pad(inputs, [[0, 0], [top, bottom], [left, right], [0, 0]])
    out_h, out_w = grad.shape[1], grad.shape[2]
    kernel_h, kernel_w = kernel_size
    windows = [padded[:, dy:dy + stride * (out_h - 1) + 1:stride,
                      dx:dx + stride * (out_w - 1) + 1:stride, :]
               for dy in range(kernel_h) for dx in range(kernel_w)]
    channels_in, channels_out = inputs.shape[3], grad.shape[3]
    columns = tf.reshape(tf.concat(windows, 3),
                         [-1, kernel_h * kernel_w * channels_in])
    product = tf.matmul(columns, tf.reshape(grad, [-1, channels_out]),
                        transpose_a=True)
    return tf.reshape(product, [kernel_h, kernel_w, channels_in, channels_out])


def _attr(op, name):
    value = op.get_attr(name)
    return value.decode() if isinstance(value, bytes) else value


def _stock_arguments(op):
    """The forward op's attributes, as TF's gradient kernels take them."""
    padding = _attr(op, 'padding')
    if padding == 'EXPLICIT':
        padding = list(zip(*[iter(_attr(op, 'explicit_paddings'))] * 2))
    return dict(strides=_attr(op, 'strides'), padding=padding,
                data_format=_attr(op, 'data_format'),
                dilations=_attr(op, 'dilations'))


def _stock_input_gradient(op, grad):
    inputs, kernel = op.inputs
    return tf1.nn.conv2d_backprop_input(tf.shape(inputs), kernel, grad,
                                        **_stock_arguments(op))


def _stock_filter_gradient(op, grad):
    inputs, kernel = op.inputs
    return tf1.nn.conv2d_backprop_filter(inputs, tf.shape(kernel), grad,
                                         **_stock_arguments(op))


def _rewrite_applies(op):
    inputs, kernel = op.inputs
    strides = _attr(op, 'strides')
    return (_attr(op, 'data_format') == 'NHWC'
            and _attr(op, 'padding') in ('SAME', 'VALID')
            and list(_attr(op, 'dilations')) == [1, 1, 1, 1]
            and strides[1] == strides[2]
            and inputs.shape[1:].is_fully_defined()
            and kernel.shape.is_fully_defined())


def _conv2d_gradient(op, grad, small_maps):
    if not _rewrite_applies(op):
        return [_stock_input_gradient(op, grad),
                _stock_filter_gradient(op, grad)]
    inputs, kernel = op.inputs
    stride = _attr(op, 'strides')[1]
    padding = _attr(op, 'padding')
    input_size = (inputs.shape[1], inputs.shape[2])
    kernel_size = tuple(kernel.shape[:2])
    pads = conv_padding.paddings(input_size, kernel_size, stride, padding)
    grad.set_shape(op.outputs[0].shape)
    input_pixels = input_size[0] * input_size[1]
    # The shape classes fast_conv.py computes with fewer multiplications
    # (float32 only): their gradients have the same forms.
    form = (fast_conv.formulation(input_size, kernel_size, stride, padding,
                                  inputs.dtype) if small_maps else 'tf')
    # TF's bfloat16 gradient kernels run at 3-5 GFLOP/s on every shape here
    # (no bf16 arithmetic on this CPU: Eigen fallbacks), its bf16 forward
    # conv and matmul at 80-140: rewrite them all.
    rewrite_all = inputs.dtype == tf.bfloat16
    # Named so that a step's timeline (step_profile.py) tells them apart.
    with tf.name_scope('input_gradient'):
        if form == 'winograd' and use_small_map_gradient(form, 'input'):
            input_grad = fast_conv.winograd_input_gradient(
                grad, kernel, input_size, padding)
        elif (form == 'dense' and use_small_map_gradient(form, 'input')
              or small_maps and inputs.dtype == tf.float32
              and use_tap_input_gradient(op.outputs[0].shape[1:3],
                                         stride)):
            input_grad = fast_conv.tap_input_gradient(
                grad, kernel, input_size, stride, padding)
        elif rewrite_all or use_conv_input_gradient(
                input_pixels, kernel_size[0] * kernel_size[1], stride):
            input_grad = input_gradient(grad, kernel, input_size, stride,
                                        pads)
        else:
            input_grad = _stock_input_gradient(op, grad)
    with tf.name_scope('filter_gradient'):
        if form == 'winograd' and use_small_map_gradient(form, 'filter'):
            kernel_grad = fast_conv.winograd_filter_gradient(inputs, grad,
                                                             padding)
        elif form == 'dense' and use_small_map_gradient(form, 'filter'):
            kernel_grad = fast_conv.dense_filter_gradient(
                inputs, grad, kernel_size, stride, padding)
        elif rewrite_all or use_matmul_filter_gradient(input_pixels, stride):
            kernel_grad = filter_gradient(inputs, grad, kernel_size, stride,
                                          pads)
        else:
            kernel_grad = _stock_filter_gradient(op, grad)
    return [input_grad, kernel_grad]


@tf.RegisterGradient(GRADIENT_NAME)
def _fast_gradient(op, grad):
    return _conv2d_gradient(op, grad, small_maps=True)


@tf.RegisterGradient(DIRECT_GRADIENT_NAME)
def _direct_gradient(op, grad):
    return _conv2d_gradient(op, grad, small_maps=False)


def on_gpu(device, gpus=None):
    """Whether ops placed on `device` (a device string, '' for none) run
    on a GPU: a GPU device, or no device type on a machine with `gpus` GPUs
    (default: this machine's), where TensorFlow's placer prefers them."""
    spec = tf.DeviceSpec.from_string(device or '')
    if spec.device_type:
        return spec.device_type.upper() == 'GPU'
    if gpus is None:
        gpus = len(tf.config.list_physical_devices('GPU'))
    return gpus > 0


def resolve(mode, device, gpus=None):
    """config.CONV_GRADIENTS' `mode` for ops placed on `device`: 'auto' is
    'fast' on a CPU, 'tf' on a GPU (the CPU formulations are written for
    CPU kernels; cuDNN's gradients have no slow cases to route around)."""
    if mode != 'auto':
        return mode
    return 'tf' if on_gpu(device, gpus) else 'fast'


def current_device(graph):
    """The device the ops built next in `graph` get from the enclosing
    device scopes and functions ('' for none), read off a probe op."""
    with graph.as_default():
        return tf.no_op(name='device_probe').device


@contextlib.contextmanager
def fast_gradients(graph, enabled=True, small_maps=True):
    """Conv2D ops created inside get this module's gradient (when
    `enabled`; otherwise TF's own), with the Winograd and dense forms on
    small maps when `small_maps`."""
    if not enabled:
        yield
        return
    with graph.gradient_override_map({
            'Conv2D': GRADIENT_NAME if small_maps else DIRECT_GRADIENT_NAME}):
        yield
