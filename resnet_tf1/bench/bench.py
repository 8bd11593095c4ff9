"""Throughput benchmarks: steady-state training steps and evaluation, set
against a GEMM peak measured in the same process and against peers.

    python -m resnet_tf1 bench                   # this project vs plain TF1
    python -m resnet_tf1 bench --compare keras   # ... and Keras 3 model.fit
    python -m resnet_tf1 bench --compare direct  # ... and another path
    python -m resnet_tf1 bench --layers          # per-conv timings
    python -m resnet_tf1 bench --profile         # one step's timeline
    python -m resnet_tf1 bench --eval_only --eval_batch_size 100  # eval A/B

Every timing excludes warm-up steps (graph optimization, allocation) and
reports the median with the fastest and slowest step. FLOPs per training
step are 3 x the forward multiply-accumulates x 2 x the batch (forward,
input gradient and filter gradient each cost one forward pass), counted
from the built graph by `tools/model_summary.py`; an evaluation batch
counts 2 x the forward MACs x the batch, the conv's own count even where
fast_conv.py computes it with fewer multiplications (so its GFLOP/s can
pass the GEMM peak). Speeds are measured on synthetic images: a step's
cost does not depend on pixel values.
"""

import collections
import dataclasses
import functools
import statistics
import time

import numpy as np
import tensorflow as tf

from resnet_tf1.compute import model_graph
from resnet_tf1 import config
from resnet_tf1.data import inputs
from resnet_tf1.nets import registry
from resnet_tf1.compute import conv_gradients
from resnet_tf1.compute import conv_padding
from resnet_tf1.compute import fast_conv
from resnet_tf1.bench import step_profile
from resnet_tf1.tools import model_summary
from resnet_tf1.training import train_op

tf1 = tf.compat.v1

# Timed and untimed (warm-up) training steps of a measurement: bench's
# --steps and --warmup defaults.
STEPS = 10
WARMUP = 3

Timing = collections.namedtuple('Timing', [
    'label', 'batch_size', 'seconds', 'fastest', 'slowest', 'flops'])


def images_per_second(timing):
    return timing.batch_size / timing.seconds


def gflops(timing):
    return timing.flops / timing.seconds / 1e9


def _timing(label, batch_size, step_seconds, flops):
    return Timing(label, batch_size, statistics.median(step_seconds),
                  min(step_seconds), max(step_seconds), flops)


@functools.lru_cache(maxsize=None)
def forward_macs(model):
    """Per-image MACs of a (frozen, hashable) ModelConfig, counted once from
    its built graph: every timing of one bench run needs them."""
    return model_summary.summarize_model(model).macs


def training_flops(model, batch_size):
    return 3 * 2 * forward_macs(model) * batch_size


def synthetic_batch(model, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((batch_size, model.image_size, model.image_size,
                         model.channels), dtype=np.float32)
    labels = rng.integers(0, model.num_classes, batch_size)
    return images, labels


def _run_steps(session, fetches, feed_dict, steps, warmup):
    for _ in range(warmup):
        session.run(fetches, feed_dict)
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        session.run(fetches, feed_dict)
        seconds.append(time.perf_counter() - started)
    return seconds


def time_trainings(train_configs, labels, steps=STEPS, warmup=WARMUP):
    """Steady-state seconds per training step of each config's train op
    (the same graph train.py runs, through its input path), on batches of
    a synthetic training set of ten batches: one Timing per config. The
    graphs are built side by side and their timed steps alternate, so a
    machine whose speed drifts (shared, throttled) affects each alike."""
    runs = []
    try:
        for train_config in train_configs:
            train_graph = train_op.build_train_graph(train_config)
            images, labels_ = synthetic_batch(train_config.model,
                                              10 * train_config.batch_size)
            batcher = inputs.Batcher(images, labels_, train_config.batch_size,
                                   seed=0)
            session = tf1.Session(
                graph=train_graph.graph,
                config=model_graph.session_config(train_config.compute))
            runs.append((session, train_graph))
            with train_graph.graph.as_default():
                session.run(tf1.global_variables_initializer())
            train_graph.inputs.start(session, batcher, 0)
        seconds = [[] for _ in runs]
        for step in range(warmup + steps):
            for times, (session, train_graph) in zip(seconds, runs):
                started = time.perf_counter()
                # The feed path's batch assembly is part of its step.
                session.run(train_graph.train_op,
                            train_graph.inputs.feed_dict(step))
                times.append(time.perf_counter() - started)
    finally:
        for session, _ in runs:
            session.close()
    return [_timing(label, train_config.batch_size, times[warmup:],
                    training_flops(train_config.model,
                                   train_config.batch_size))
            for label, train_config, times in zip(labels, train_configs,
                                                  seconds)]


def time_training(train_config, steps=STEPS, warmup=WARMUP,
                  label='project'):
    """`time_trainings` of one config."""
    return time_trainings([train_config], [label], steps, warmup)[0]


def profile_training(train_config, steps=3, warmup=3):
    """step_profile.Profile of `steps` traced training steps of
    `train_config`'s train op after `warmup` untraced ones, and the median
    seconds of as many untraced steps (run alternately with the traced
    ones)."""
    train_graph = train_op.build_train_graph(train_config)
    images, labels = synthetic_batch(train_config.model,
                                     10 * train_config.batch_size)
    batcher = inputs.Batcher(images, labels, train_config.batch_size, seed=0)
    config = model_graph.session_config(train_config.compute)
    with tf1.Session(graph=train_graph.graph, config=config) as session:
        session.run(tf1.global_variables_initializer())
        train_graph.inputs.start(session, batcher, 0)
        step = 0
        for step in range(warmup):
            session.run(train_graph.train_op,
                        train_graph.inputs.feed_dict(step))
        traced, untraced = [], []
        for index in range(steps):
            step = warmup + 2 * index
            profile = step_profile.profile_steps(
                session, train_graph.train_op,
                [train_graph.inputs.feed_dict(step)])
            traced.append(profile)
            untraced.extend(_run_steps(session, train_graph.train_op,
                                       train_graph.inputs.feed_dict(step + 1),
                                       1, 0))
    op_seconds = collections.Counter()
    for profile in traced:
        for key, value in profile.op_seconds.items():
            op_seconds[key] += value / len(traced)
    return (step_profile.Profile(dict(op_seconds), statistics.median(
        profile.wall_seconds for profile in traced), len(traced)),
        statistics.median(untraced))


# Evaluation's convolutions (--inference_convolutions): fast_conv.py's
# formulations where its rule picks one ('fast', what eval.py runs), or
# TensorFlow's Conv2D everywhere.
INFERENCE_CONVOLUTIONS = config.INFERENCE_CONVOLUTIONS


def _inference_graph(train_config, convolutions):
    """(session, images placeholder, predictions) of the graph eval.py runs,
    variables initialized and fast_conv's kernels computed from them."""
    graph = tf.Graph()
    with graph.as_default():
        images, _ = inputs.placeholders(train_config.model)
        compute = dataclasses.replace(train_config.compute,
                                      inference_convolutions=convolutions)
        logits = model_graph.inference_logits(train_config.model, compute,
                                              images)
        predictions = tf.argmax(logits, 1)
        session = tf1.Session(config=model_graph.session_config(compute))
        session.run(tf1.global_variables_initializer())
        session.run(fast_conv.refresh_op())
    return session, images, predictions


def time_evaluations(train_config, batch_size,
                     convolutions=INFERENCE_CONVOLUTIONS,
                     steps=STEPS, warmup=2):
    """Steady-state seconds per inference batch (the graph eval.py runs),
    one Timing per entry of `convolutions` (see INFERENCE_CONVOLUTIONS). The
    graphs are built side by side and their timed batches alternate, so
    a machine whose speed drifts (shared, throttled) affects each alike."""
    graphs = [_inference_graph(train_config, kind) for kind in convolutions]
    batch, _ = synthetic_batch(train_config.model, batch_size)
    seconds = [[] for _ in graphs]
    try:
        for session, images, predictions in graphs:
            _run_steps(session, predictions, {images: batch}, 0, warmup)
        for _ in range(steps):
            for times, (session, images, predictions) in zip(seconds,
                                                             graphs):
                times.extend(_run_steps(session, predictions,
                                        {images: batch}, 1, 0))
    finally:
        for session, _, _ in graphs:
            session.close()
    flops = 2 * forward_macs(train_config.model) * batch_size
    return [_timing('eval_' + kind, batch_size, times, flops)
            for kind, times in zip(convolutions, seconds)]


def time_evaluation(train_config, batch_size, steps=STEPS, warmup=2,
                    convolutions='fast'):
    """`time_evaluations` of one graph."""
    return time_evaluations(train_config, batch_size, (convolutions,), steps,
                            warmup)[0]


def time_keras(train_config, steps=STEPS, warmup=WARMUP, label='keras'):
    """Seconds per step of Keras 3 `model.fit` on the same network (see
    keras_peer.py), with Keras' own defaults for compilation."""
    from resnet_tf1.bench import keras_peer  # imports Keras only when asked
    return _timing(label, train_config.batch_size,
                   keras_peer.fit_step_seconds(train_config, steps, warmup),
                   training_flops(train_config.model,
                                  train_config.batch_size))


LayerTiming = collections.namedtuple('LayerTiming', [
    'name', 'input_shape', 'kernel_shape', 'stride', 'formulation',
    'forward', 'dense_forward', 'winograd_forward', 'toeplitz_forward',
    'stock_input_gradient', 'fast_input_gradient',
    'stock_filter_gradient', 'fast_filter_gradient',
    'small_map_input_gradient', 'small_map_filter_gradient'])


# time_layers' candidates, in LayerTiming's order of timings.
_LAYER_COLUMNS = ('tf', 'dense', 'winograd', 'toeplitz', 'stock_dx',
                  'fast_dx',
                  'stock_dw', 'fast_dw', 'form_dx', 'form_dw')


def _forward_candidates(inputs, kernel, stride, padding):
    """formulation -> forward output of the ones that apply to this conv
    (fast_conv.py's, with their kernels cached as in inference), whether or
    not fast_conv's rule picks them. Dense is left out where its matrix
    would have over 4x the conv's MACs."""
    height, width = inputs.shape[1:3]
    kernel_h, kernel_w = kernel.shape[:2]
    candidates = {'tf': tf.nn.conv2d(inputs, kernel, stride, padding)}
    if height * width <= 4 * kernel_h * kernel_w:
        matrix = fast_conv.cached_kernel('dense', fast_conv.dense_kernel(
            kernel, (height, width), stride, padding))
        candidates['dense'] = fast_conv.dense_conv(
            inputs, matrix, candidates['tf'].shape[1:])
    if stride == 1 and (kernel_h, kernel_w) == (3, 3):
        candidates['winograd'] = fast_conv.winograd_conv(
            inputs, fast_conv.cached_kernel(
                'winograd', fast_conv.winograd_kernel(kernel)), padding)
    if (fast_conv.inference_formulation((height, width), (kernel_h, kernel_w),
                                        stride, padding) == 'toeplitz'):
        candidates['toeplitz'] = fast_conv.toeplitz_conv(
            inputs, fast_conv.cached_kernel(
                'toeplitz', fast_conv.toeplitz_kernel(kernel)))
    return candidates


def _small_map_gradients(inputs, kernel, grad, stride, padding):
    """form_dx, form_dw: the gradients of the form training computes this
    conv with (fast_conv.training_formulation: Winograd, Toeplitz, or
    dense tap by tap), if any."""
    input_size = tuple(inputs.shape[1:3])
    form = fast_conv.training_formulation(input_size, kernel.shape[:2],
                                          stride, padding)
    if form == 'winograd':
        return dict(
            form_dx=fast_conv.winograd_input_gradient(grad, kernel,
                                                      input_size, padding),
            form_dw=fast_conv.winograd_filter_gradient(inputs, grad,
                                                       padding))
    if form == 'toeplitz':
        grad_products = fast_conv.toeplitz_output_gradient(grad)
        return dict(
            form_dx=fast_conv.toeplitz_input_gradient(
                grad_products, fast_conv.toeplitz_kernel(kernel)),
            form_dw=fast_conv.toeplitz_filter_gradient(
                fast_conv.toeplitz_input(inputs), grad_products))
    if form == 'dense':
        return dict(
            form_dx=fast_conv.tap_input_gradient(
                grad, kernel, input_size, stride, padding),
            form_dw=fast_conv.dense_filter_gradient(
                inputs, grad, kernel.shape[:2], stride, padding))
    return {}


def time_layers(train_config, steps=5, warmup=1, gradients=True):
    """For each conv of the network: seconds of its forward pass (TF's
    Conv2D and each fast_conv.py formulation that applies; `formulation`
    is the one evaluation uses) and, when `gradients`, of TF's and
    conv_gradients.py's input and filter gradients, and of the Winograd or
    tap-by-tap gradients where training computes the conv in that form
    (fast_conv.training_formulation), at the training batch size. Timings
    of one conv alternate between the candidates; None where one does not
    apply."""
    model = train_config.model
    batch_size = train_config.batch_size
    graph = tf.Graph()
    with graph.as_default():
        images, _ = inputs.placeholders(model)
        registry.build(model, images, is_training=True)
        convs = [op for op in graph.get_operations() if op.type == 'Conv2D']
        shapes = [(op.name, op.inputs[0].shape[1:].as_list(),
                   op.inputs[1].shape.as_list(), op.get_attr('strides')[1],
                   op.get_attr('padding').decode(),
                   op.outputs[0].shape[1:].as_list()) for op in convs]
    rows = []
    rng = np.random.default_rng(0)
    for name, in_shape, kernel_shape, stride, padding, out_shape in shapes:
        graph = tf.Graph()
        with graph.as_default():
            # Variables, not constants: Grappler would fold a convolution
            # of constants away and time nothing.
            conv_input, kernel, grad = (
                tf1.Variable(rng.random(shape, dtype=np.float32))
                for shape in ([batch_size] + in_shape, kernel_shape,
                              [batch_size] + out_shape))
            strides = [1, stride, stride, 1]
            pads = conv_padding.paddings(in_shape[:2], kernel_shape[:2],
                                         stride, padding)
            candidates = _forward_candidates(conv_input, kernel, stride,
                                             padding)
            if gradients:
                candidates.update(
                    stock_dx=tf1.nn.conv2d_backprop_input(
                        [batch_size] + in_shape, kernel, grad, strides,
                        padding),
                    fast_dx=conv_gradients.input_gradient(
                        grad, kernel, in_shape[:2], stride, pads),
                    stock_dw=tf1.nn.conv2d_backprop_filter(
                        conv_input, kernel_shape, grad, strides, padding),
                    fast_dw=conv_gradients.filter_gradient(
                        conv_input, grad, kernel_shape[:2], stride, pads))
                candidates.update(_small_map_gradients(
                    conv_input, kernel, grad, stride, padding))
            # Reduced to a scalar so that fetching does not time a copy.
            fetches = {key: tf.reduce_sum(tensor)
                       for key, tensor in candidates.items()}
            config = model_graph.session_config(train_config.compute)
            with tf1.Session(config=config) as session:
                session.run(tf1.global_variables_initializer())
                session.run(fast_conv.refresh_op())
                seconds = {key: [] for key in fetches}
                for key, fetch in fetches.items():
                    _run_steps(session, fetch, None, 0, warmup)
                for _ in range(steps):
                    for key, fetch in fetches.items():
                        seconds[key].extend(
                            _run_steps(session, fetch, None, 1, 0))
        medians = [statistics.median(seconds[key]) if key in seconds
                   else None for key in _LAYER_COLUMNS]
        rows.append(LayerTiming(
            name, in_shape, kernel_shape, stride,
            fast_conv.inference_formulation(in_shape[:2], kernel_shape[:2],
                                            stride, padding),
            *medians))
    return rows


def format_timing(timing, peak):
    return ('%-10s batch=%d images/s=%.1f ms/step=%.0f (fastest %.0f, '
            'slowest %.0f) gflop/s=%.1f peak_fraction=%.2f' % (
                timing.label, timing.batch_size, images_per_second(timing),
                timing.seconds * 1e3, timing.fastest * 1e3,
                timing.slowest * 1e3, gflops(timing), gflops(timing) / peak))


def format_layers(rows):
    """One line per conv, ms per batch; '-' where a column does not apply
    (or gradients were not timed). `uses` is evaluation's formulation."""
    lines = ['%-40s %-14s %-14s %2s %8s' % (
        'conv (ms per batch)', 'input', 'kernel', 's', 'uses') + ''.join(
            ' %8s' % column for column in (
                'tf', 'dense', 'winograd', 'toeplitz', 'dx tf', 'dx fast',
                'dw tf', 'dw fast', 'dx form', 'dw form'))]
    for row in rows:
        lines.append('%-40s %-14s %-14s %2d %8s' % (
            row.name, 'x'.join(map(str, row.input_shape)),
            'x'.join(map(str, row.kernel_shape)), row.stride,
            row.formulation) + ''.join(
                ' %8s' % ('-' if value is None else '%.1f' % (1e3 * value))
                for value in row[5:]))
    return lines
