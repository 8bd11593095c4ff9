"""Which formulation a conv gets, by its shape: the rule written from
per-layer timings (`python -m resnet_tf1 bench --layers`)."""


import tensorflow as tf

from resnet_tf1.compute import conv_padding
from resnet_tf1.compute.fast_conv.winograd import TILE

tf1 = tf.compat.v1


def formulation(input_size, kernel_size, stride, padding='SAME',
                dtype=tf.float32, data_format='NHWC', rate=1):
    """'dense', 'winograd' or 'tf' (TensorFlow's Conv2D) for a conv of
    `input_size` (H, W) maps.

    The rule follows per-conv timings (`python -m resnet_tf1 bench --layers
    --nolayer_gradients`; the numbers behind it are in docs/speed.md's
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


def inference_formulation(input_size, kernel_size, stride, padding='SAME',
                          dtype=tf.float32, data_format='NHWC', rate=1):
    """The formulation of a conv of an inference graph: `formulation()`'s,
    with 'toeplitz' (`toeplitz_conv`, 9 products instead of 16) for its
    dense 2x2 SAME 3x3 stride-1 convs (stage 4 of ResNet-34): measured
    2.2-2.4x faster than dense at batch 500 (docs/speed.md, "Evaluation
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
