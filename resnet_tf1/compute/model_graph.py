"""How a network is computed: the one place that installs the speed
machinery around the plain tf-slim networks of `nets/`.

Training, evaluation, export and bench all build their network through
`logits()`. The network code knows nothing of what is installed here, and
the variables (so the checkpoints) are the same whichever way a graph is
computed:

* the data format: inputs are fed NHWC, an NCHW network gets them
  transposed once;
* the precision (`precision.py`): bfloat16 compute on float32 master
  weights, the L2 penalty on the master weights;
* the Conv2D gradients (`conv_gradients.py`), through TF1's gradient
  override map, in training graphs only: an inference graph takes no
  gradients, so eval.py's graph and the exported model keep TensorFlow's
  own gradient (a model loaded elsewhere can be differentiated);
* the faster training convolutions (`fast_conv/`'s Winograd and
  dense forms on small maps, with their own gradients), in training
  graphs under `--conv_gradients fast` (`auto` on a CPU: `auto` is `tf`
  where the network's ops go to a GPU, read off a probe op);
* the faster inference convolutions (`fast_conv/`), for the
  inference graphs that ask (eval.py's, bench's), never in an export;
* XLA, when the config says so;
* in eval.py's and bench's inference graphs on a CPU, the batch computed
  as two independent halves (`inference_logits`).
"""

import contextlib

import tensorflow as tf
import tf_slim as slim

from resnet_tf1.errors import ConfigError
from resnet_tf1.nets import registry
from resnet_tf1.compute import towers
from resnet_tf1.compute import conv_gradients
from resnet_tf1.compute import fast_conv
from resnet_tf1.compute import precision

tf1 = tf.compat.v1


def to_data_format(images, data_format):
    """Inputs are always fed NHWC; NCHW networks transpose once here."""
    if data_format == 'NCHW':
        return tf.transpose(images, [0, 3, 1, 2])
    return images


@contextlib.contextmanager
def _xla(enabled):
    """Ops created inside, and their gradients, are compiled by XLA."""
    if not enabled:
        yield
        return
    with tf1.xla.experimental.jit_scope():
        yield


def logits(model, compute, images, is_training, weight_decay=0.0):
    """float32 logits of the network `model` on NHWC float32 `images`,
    computed the way `compute` says (see the module docstring).

    Args:
        model: a resolved config.ModelConfig: what network.
        compute: a config.ComputeConfig: its data format, precision, conv
            gradients (training graphs), inference convolutions (inference
            graphs: run `fast_conv.refresh_op()` after every restore when
            they are 'fast') and XLA.
        images: [N, H, W, C] float32.
        is_training: batch statistics and their updates (training), or the
            moving ones; also whether the conv-gradient override and the
            training convolutions (`training_convolutions`) are wanted.
        weight_decay: the L2 rate of the network's arg_scope.
    """
    inputs = tf.cast(to_data_format(images, compute.data_format),
                     precision.compute_dtype(compute.precision))
    graph = tf1.get_default_graph()
    convolutions = training_convolutions(compute, graph, is_training)
    fast_inference = (not is_training and
                      compute.inference_convolutions == 'fast')
    with slim.arg_scope(registry.arg_scope(model, is_training,
                                           weight_decay)), \
            precision.compute_precision(compute.precision), \
            conv_gradients.fast_gradients(
                graph, convolutions in ('fast', 'direct'),
                small_maps=convolutions == 'fast'), \
            fast_conv.training_formulations(convolutions == 'fast'), \
            fast_conv.inference_formulations(fast_inference), \
            _xla(compute.xla):
        try:
            network_logits, _ = registry.network_fn(
                model, compute.data_format)(inputs)
        except ValueError as error:
            if isinstance(error, ConfigError):
                raise
            # Flags valid one by one but not together (AlexNet's pools on
            # the ImageNet stem's small maps): the builder names the layer.
            raise ConfigError('cannot build %s with these flags: %s' % (
                model.name, ' '.join(str(error).split()))) from None
    return tf.cast(network_logits, tf.float32)


# An inference batch on a CPU is computed as this many slices side by side:
# TensorFlow's inter-op pool then overlaps one slice's memory-bound ops
# (the stem's 28x28x64 maps, pools, transposes, the Winograd transforms)
# with the other's matrix products. eval.py's graph, ResNet-34 at batch
# 500 on 2 cores, slices alternating in one process (medians of 6 and 8
# batches): 364.5 and 389.0 images/s in one slice, 412.5 and 423.4 in 2;
# 4 and 5 slices 379.8 and 386.3. Each image's logits do not depend on
# the others', so slicing changes them only by float32 rounding (the
# products' blocking depends on the batch: 7e-7 apart at batch 7).
INFERENCE_SLICES = 2


def inference_logits(model, compute, images, slices=INFERENCE_SLICES,
                     weight_decay=0.0):
    """`logits` of an inference graph (eval.py's, bench's) for `images`
    [N, H, W, C] of any N, in `slices` slices on a CPU (see above) and
    whole on a GPU, where one large batch keeps the device busy.
    `weight_decay` puts the L2 terms in the regularization losses, for an
    evaluation loss that is the training loss's formula."""
    if slices == 1 or on_gpu(tf1.get_default_graph()):
        return logits(model, compute, images, is_training=False,
                      weight_decay=weight_decay)
    size = tf.shape(images)[0]
    # A batch smaller than `slices` would leave a slice empty, and oneDNN's
    # fused convolutions on AVX-512 CPUs reject an empty batch ('input
    # depth must be evenly divisible by filter depth: 1 vs 8', TF 2.21):
    # such a batch gets zero images appended, whose logits are dropped.
    # A batch of `slices` or more is not touched.
    padding = tf.maximum(slices - size, 0)
    images = tf.pad(images, [[0, padding], [0, 0], [0, 0], [0, 0]])
    ends = [(size + padding) * index // slices
            for index in range(slices + 1)]
    outputs = []
    for index in range(slices):
        # The same variables for every slice: the first creates them.
        with tf1.variable_scope(tf1.get_variable_scope(),
                                reuse=True if index else None):
            outputs.append(logits(
                model, compute, images[ends[index]:ends[index + 1]],
                is_training=False, weight_decay=weight_decay))
    return tf.concat(outputs, 0)[:size]


def on_gpu(graph):
    """Whether the ops built next in `graph` run on a GPU."""
    return conv_gradients.on_gpu(conv_gradients.current_device(graph))


def training_convolutions(compute, graph, is_training):
    """How the network built next in `graph` computes its convolutions:
    the config's --conv_gradients (config.CONV_GRADIENTS) resolved, 'auto'
    by where the ops go (a GPU: TensorFlow's kernels). Only a training
    graph has conv gradients or training formulations: an inference graph
    (eval, export) gets 'tf', and no probe op."""
    if not is_training:
        return 'tf'
    device = (conv_gradients.current_device(graph)
              if compute.conv_gradients == 'auto' else '')
    return conv_gradients.resolve(compute.conv_gradients, device)


def check_devices(compute):
    """Refuses, before anything is written, a data format this machine
    cannot run: TensorFlow's CPU kernels take NHWC only."""
    if compute.data_format == 'NCHW' and not tf.config.list_physical_devices(
            'GPU'):
        raise ConfigError(
            '--data_format NCHW needs a GPU (TensorFlow\'s CPU convolutions '
            'take NHWC only); use --data_format NHWC')


def session_config(compute):
    """The Session's ConfigProto: thread pools as the config says, and the
    logical CPU devices of towers on a machine without GPUs."""
    return tf1.ConfigProto(
        intra_op_parallelism_threads=compute.intra_op_threads,
        inter_op_parallelism_threads=compute.inter_op_threads,
        device_count=towers.session_device_count(compute.num_devices))
