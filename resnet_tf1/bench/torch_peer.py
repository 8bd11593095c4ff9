"""The PyTorch peer of docs/speed.md's comparison: the project's default
network (the article's ResNet-34 for 28x28x1 MNIST: 7x7/1 stem conv and
2x2/2 max-pool, basic units of two 3x3 convs in stages of 3, 4, 6 and 3
units at 64..512 channels, the stride on a stage's first unit, zero-padding
shortcuts (option A), no batch norm, convs with biases, global mean pool,
10-way FC) and its training step (softmax cross-entropy, L2 on every conv
and FC weight, plain SGD at the project's learning rate, then the EMA of
every trainable variable), timed on the same machine.

It is a yardstick, not a second implementation to train with, and PyTorch
is not a dependency of the project: run it with a Python that has torch
(a CPU build, in its own venv), from the repository's root:

    python -m resnet_tf1.bench.torch_peer --batch_size 100 --steps 10 \\
        --warmup 3 [--channels_last] [--compile] [--threads N]

Its lines read like `python -m resnet_tf1 bench`'s: images/s and the median
ms per step (fastest, slowest) after untimed warm-up steps, GFLOP/s and
the fraction of a GEMM peak measured before and after the steps.

This module imports neither TensorFlow nor the networks (they import it);
resnet_tf1/__init__.py and speed/__init__.py import nothing. So the
network is written here from `layer_spec()`, pure Python, and
tests/test_torch_peer.py checks that spec against the project's own graph
(every layer's scope, output shape, parameters and MACs, as
`python -m resnet_tf1 summary` counts them) and, where torch is installed,
the PyTorch model against the spec.
"""

import argparse
import collections
import statistics
import sys
import time

import numpy as np

import data_set
from resnet_tf1.bench.gemm import gemm_peak

# The default network (data_set.MODEL) as the registry builds it: the
# tables of nets/resnet.py (IMAGENET_DEPTHS[34], IMAGENET_BASE_DEPTH) and
# the registry's defaults for the ResNets (stem 'mnist', shortcut 'A', norm
# 'none'). The test compares the layers they give with the TF graph's.
MODEL = 'resnet34'
UNITS_PER_STAGE = (3, 4, 6, 3)
BASE_DEPTH = 64
STEM_KERNEL = 7
UNIT_KERNEL = 3
POOL = 2

INSTALL_HINT = (
    'the PyTorch peer needs torch, which is not a dependency of this '
    'project: install a CPU build in a venv of its own (python3 -m venv '
    'torchvenv && torchvenv/bin/pip install numpy torch --index-url '
    'https://download.pytorch.org/whl/cpu) and run it with that Python')

# One layer with parameters, as nets/resnet.py builds it. `pads` is
# (before, after) on each spatial axis, TensorFlow's 'SAME': after >=
# before, so a stride-2 conv of an even map pads on the bottom and right
# only, which a symmetric PyTorch padding would not.
Conv = collections.namedtuple('Conv', [
    'scope', 'input_size', 'in_channels', 'kernel_size', 'depth', 'stride',
    'output_size', 'pads', 'relu'])
Dense = collections.namedtuple('Dense', ['scope', 'in_width', 'width'])
Unit = collections.namedtuple('Unit', ['scope', 'conv1', 'conv2'])
Spec = collections.namedtuple('Spec', ['stem', 'pooled_size', 'units',
                                       'logits'])


def same_padding(size, kernel_size, stride):
    """(output size, (pad before, pad after)) of TensorFlow's 'SAME'."""
    output_size = -(-size // stride)
    total = max((output_size - 1) * stride + kernel_size - size, 0)
    return output_size, (total // 2, total - total // 2)


def _conv(scope, size, in_channels, kernel_size, depth, stride, relu=True):
    output_size, pads = same_padding(size, kernel_size, stride)
    return Conv(scope, size, in_channels, kernel_size, depth, stride,
                output_size, pads, relu)


def layer_spec(units_per_stage=UNITS_PER_STAGE, base_depth=BASE_DEPTH,
               image_size=data_set.IMAGE_SIZE,
               channels=data_set.IMAGE_CHANNELS,
               num_classes=data_set.NUM_LABELS, scope=MODEL):
    """The `Spec` of the network: its stem conv, the map size after the
    stem's max-pool, one `Unit` per residual unit in order, and the FC."""
    stem = _conv(scope + '/conv1', image_size, channels, STEM_KERNEL,
                 base_depth, 1)
    size, _ = same_padding(stem.output_size, POOL, POOL)
    pooled_size = size
    units, in_channels = [], base_depth
    for stage, count in enumerate(units_per_stage):
        depth = base_depth * 2 ** stage
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            unit_scope = '%s/block%d/unit_%d' % (scope, stage + 1,
                                                 index + 1)
            conv1 = _conv(unit_scope + '/conv1', size, in_channels,
                          UNIT_KERNEL, depth, stride)
            conv2 = _conv(unit_scope + '/conv2', conv1.output_size, depth,
                          UNIT_KERNEL, depth, 1, relu=False)
            units.append(Unit(unit_scope, conv1, conv2))
            size, in_channels = conv2.output_size, depth
    return Spec(stem, pooled_size, units,
                Dense(scope + '/logits', in_channels, num_classes))


def layers_of(spec):
    """Every layer with parameters (`Conv` or `Dense`), in order."""
    convs = [spec.stem]
    for unit in spec.units:
        convs += [unit.conv1, unit.conv2]
    return convs + [spec.logits]


def summary_rows(spec):
    """(scope, output shape 'HxWxC', parameters, MACs per image) of every
    layer, as tools/model_summary.py reports them for the TF graph."""
    rows = []
    for layer in layers_of(spec):
        if isinstance(layer, Conv):
            outputs = layer.output_size ** 2 * layer.depth
            rows.append((
                layer.scope, '%dx%dx%d' % (layer.output_size,
                                           layer.output_size, layer.depth),
                (layer.kernel_size ** 2 * layer.in_channels + 1) *
                layer.depth,
                outputs * layer.kernel_size ** 2 * layer.in_channels))
        else:
            rows.append((layer.scope, '%d' % layer.width,
                         (layer.in_width + 1) * layer.width,
                         layer.in_width * layer.width))
    return rows


def parameters_and_macs(spec):
    rows = summary_rows(spec)
    return sum(row[2] for row in rows), sum(row[3] for row in rows)


def build_model(spec):
    """The torch.nn.Module of `spec`: images [N, C, H, W] -> logits. Its
    parameter names mirror the TF variables' ('block1.unit_1.conv1.weight'
    for 'resnet34/block1/unit_1/conv1/weights')."""
    import torch
    from torch import nn
    from torch.nn import functional

    class ConvLayer(nn.Conv2d):
        """A conv with TF's 'SAME' padding: symmetric pads in the conv,
        an asymmetric one (a stride-2 conv of an even map) as its own
        pad."""

        def __init__(self, conv):
            before, after = conv.pads
            super().__init__(conv.in_channels, conv.depth,
                             conv.kernel_size, conv.stride,
                             padding=before if before == after else 0)
            self.extra_pad = (None if before == after
                              else (before, after) * 2)
            self.relu = conv.relu
            # The project's initializers (Glorot, zero biases): the same
            # start, so the same first losses' magnitude.
            nn.init.xavier_uniform_(self.weight)
            nn.init.zeros_(self.bias)

        def forward(self, x):
            if self.extra_pad is not None:
                x = functional.pad(x, self.extra_pad)
            x = super().forward(x)
            return functional.relu(x) if self.relu else x

    class BasicUnit(nn.Module):
        """relu(conv2(conv1(x)) + shortcut(x)); the shortcut subsamples by
        the stride and zero-pads the new channels (option A)."""

        def __init__(self, unit):
            super().__init__()
            self.conv1 = ConvLayer(unit.conv1)
            self.conv2 = ConvLayer(unit.conv2)
            self.stride = unit.conv1.stride
            self.extra_channels = unit.conv2.depth - unit.conv1.in_channels

        def forward(self, x):
            residual = self.conv2(self.conv1(x))
            shortcut = x[:, :, ::self.stride, ::self.stride]
            if self.extra_channels:
                shortcut = functional.pad(
                    shortcut, (0, 0, 0, 0, 0, self.extra_channels))
            return functional.relu(residual + shortcut)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ConvLayer(spec.stem)
            blocks = collections.OrderedDict()
            for unit in spec.units:
                block, unit_name = unit.scope.split('/')[-2:]
                blocks.setdefault(block, nn.ModuleDict())[unit_name] = (
                    BasicUnit(unit))
            self.blocks = nn.ModuleDict(blocks)
            self.logits = nn.Linear(spec.logits.in_width, spec.logits.width)
            nn.init.xavier_uniform_(self.logits.weight)
            nn.init.zeros_(self.logits.bias)

        def forward(self, images):
            # ceil_mode: TF's 'SAME' pool of an odd map (a last, partial
            # window), the same as the floor on even ones (28 -> 14).
            x = functional.max_pool2d(self.conv1(images), POOL, POOL,
                                      ceil_mode=True)
            for block in self.blocks.values():
                for unit in block.values():
                    x = unit(x)
            # The global mean: the article's 2x2 pool on its 2x2 map.
            return self.logits(torch.mean(x, (2, 3)))

    return ResNet()


def module_of(model, scope):
    """The submodule of `model` for a spec layer's scope
    ('resnet34/block2/unit_1/conv1' -> model.blocks.block2.unit_1.conv1)."""
    names = scope.split('/')[1:]
    if names[0].startswith('block'):
        names = ['blocks'] + names
    module = model
    for name in names:
        module = getattr(module, name)
    return module


class TrainingStep:
    """The project's train op in PyTorch: loss = softmax cross-entropy +
    `weight_decay` x sum(w^2) / 2 over the conv and FC weights (TF's
    l2_regularizer; here as SGD's weight_decay, the same gradient: the
    step needs no more of the L2 term, in TF's graph either), plain SGD at
    `learning_rate` decayed by `decay` once per `steps_per_epoch`
    (staircase), then the EMA of every parameter with TF's
    ExponentialMovingAverage(decay=ema_decay, num_updates=global_step):
    min(ema_decay, (1 + step) / (10 + step)), step counted after the
    update, as the project's ordered train op reads it."""

    def __init__(self, model, learning_rate=data_set.LEARNING_RATE_BASE,
                 decay=data_set.LEARNING_RATE_DECAY,
                 steps_per_epoch=None,
                 weight_decay=data_set.REGULARIZATION_RATE,
                 ema_decay=data_set.MOVING_AVERAGE_DECAY,
                 batch_size=data_set.BATCH_SIZE, train_model=None):
        import torch
        self.torch = torch
        self.model = model
        # The module that computes the step: `model` or its compiled form.
        self.train_model = model if train_model is None else train_model
        self.learning_rate = learning_rate
        self.decay = decay
        self.steps_per_epoch = steps_per_epoch or max(
            1, data_set.TRAIN_EXAMPLES // batch_size)
        self.ema_decay = ema_decay
        weights = [p for name, p in model.named_parameters()
                   if name.endswith('weight')]
        biases = [p for name, p in model.named_parameters()
                  if not name.endswith('weight')]
        # foreach: one kernel per update over all tensors, as the EMA's.
        self.optimizer = torch.optim.SGD(
            [dict(params=weights, weight_decay=weight_decay),
             dict(params=biases, weight_decay=0.0)],
            lr=learning_rate, foreach=True)
        self.parameters = list(model.parameters())
        with torch.no_grad():
            self.averages = [p.detach().clone() for p in self.parameters]
        self.global_step = 0

    def current_learning_rate(self):
        return self.learning_rate * self.decay ** (
            self.global_step // self.steps_per_epoch)

    def __call__(self, images, labels):
        """One step; returns the cross-entropy (a tensor: reading it
        would wait, the step is synchronous on CPU anyway)."""
        torch = self.torch
        for group in self.optimizer.param_groups:
            group['lr'] = self.current_learning_rate()
        self.optimizer.zero_grad(set_to_none=True)
        cross_entropy = torch.nn.functional.cross_entropy(
            self.train_model(images), labels)
        cross_entropy.backward()
        self.optimizer.step()
        self.global_step += 1
        decay = min(self.ema_decay,
                    (1.0 + self.global_step) / (10.0 + self.global_step))
        with torch.no_grad():
            torch._foreach_lerp_(self.averages, self.parameters, 1 - decay)
        return cross_entropy.detach()


def label_of(channels_last, compiled):
    return 'torch' + ('_cl' if channels_last else '') + (
        '_compile' if compiled else '')


def time_training(batch_size, steps, warmup, channels_last=False,
                  compiled=False, seed=0):
    """Seconds of each of `steps` timed training steps after `warmup`
    untimed ones, on a synthetic set of ten batches drawn as bench's
    (a step's cost does not depend on pixel values)."""
    import torch
    torch.manual_seed(seed)
    spec = layer_spec()
    model = build_model(spec)
    memory_format = (torch.channels_last if channels_last
                     else torch.contiguous_format)
    model = model.to(memory_format=memory_format)
    train_model = torch.compile(model) if compiled else model
    step = TrainingStep(model, batch_size=batch_size,
                        train_model=train_model)
    rng = np.random.default_rng(seed)
    images = rng.random((10 * batch_size, data_set.IMAGE_SIZE,
                         data_set.IMAGE_SIZE, data_set.IMAGE_CHANNELS),
                        dtype=np.float32)
    labels = rng.integers(0, data_set.NUM_LABELS, 10 * batch_size)
    batches = [
        (torch.from_numpy(images[i:i + batch_size]).permute(0, 3, 1, 2)
         .contiguous(memory_format=memory_format),
         torch.from_numpy(labels[i:i + batch_size]))
        for i in range(0, 10 * batch_size, batch_size)]
    seconds = []
    for index in range(warmup + steps):
        batch_images, batch_labels = batches[index % len(batches)]
        started = time.perf_counter()
        loss = step(batch_images, batch_labels)
        float(loss)
        seconds.append(time.perf_counter() - started)
    return seconds[warmup:]


def format_timing(label, batch_size, seconds, flops, peak):
    """bench.format_timing's line for a list of step seconds."""
    median = statistics.median(seconds)
    gflops = flops / median / 1e9
    return ('%-10s batch=%d images/s=%.1f ms/step=%.0f (fastest %.0f, '
            'slowest %.0f) gflop/s=%.1f peak_fraction=%.2f' % (
                label, batch_size, batch_size / median, median * 1e3,
                min(seconds) * 1e3, max(seconds) * 1e3, gflops,
                gflops / peak))


class _Parser(argparse.ArgumentParser):
    """argparse (absl is not in a torch venv), its errors as one line."""

    def error(self, message):
        sys.exit('error: %s' % message)


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            'must be a positive integer, got %r' % text)
    return value


def _non_negative(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            'must be a non-negative integer, got %r' % text)
    return value


def main(argv=None):
    parser = _Parser(
        prog='python -m resnet_tf1.bench.torch_peer',
        description='Training speed of the project\'s default network in '
                    'PyTorch (CPU), as `python -m resnet_tf1 bench` reports '
                    'the project\'s.')
    parser.add_argument('--batch_size', type=_positive,
                        default=data_set.BATCH_SIZE)
    parser.add_argument('--steps', type=_positive, default=10,
                        help='timed steps (default 10, as bench)')
    parser.add_argument('--warmup', type=_non_negative, default=3,
                        help='untimed steps first (default 3, as bench)')
    parser.add_argument('--channels_last', action='store_true',
                        help='NHWC memory format for the model and images')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the model (the warm-up steps '
                             'include the compilation)')
    parser.add_argument('--threads', type=_positive, default=None,
                        help='torch.set_num_threads (default: torch\'s)')
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        sys.exit('error: %s' % INSTALL_HINT)
    if args.threads:
        torch.set_num_threads(args.threads)
    parameters, macs = parameters_and_macs(layer_spec())
    print('torch %s threads=%d channels_last=%s compile=%s params=%d '
          'macs=%d' % (torch.__version__, torch.get_num_threads(),
                       args.channels_last, args.compile, parameters, macs))
    peak = gemm_peak()
    print('gemm_peak gflop/s=%.1f (numpy float32 4096x4096 matmul)' % peak)
    seconds = time_training(args.batch_size, args.steps, args.warmup,
                            args.channels_last, args.compile)
    peak_after = gemm_peak()
    print('gemm_peak after training gflop/s=%.1f (fractions below: of the '
          'mean, %.1f)' % (peak_after, (peak + peak_after) / 2))
    print(format_timing(label_of(args.channels_last, args.compile),
                        args.batch_size, seconds,
                        3 * 2 * macs * args.batch_size,
                        (peak + peak_after) / 2), flush=True)


if __name__ == '__main__':
    main()
