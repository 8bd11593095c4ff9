"""Where a training step's time goes: TensorFlow's own per-op timeline of a
few steps, summed by network stage and by kind of work.

    python -m resnet_tf1 bench --profile     # the article's ResNet-34

Every op TensorFlow ran in a traced step (`RunOptions(trace_level=
FULL_TRACE)`, its `RunMetadata.step_stats`) is put in one stage (stem,
block1..N, head: global pool, fully connected and loss; updates: the
optimizer and EMA, by the variable they update when the name says it) and
one kind (`KINDS`). Times are op-seconds: an op's start to its end, summed
over ops, so with two cores running ops side by side the total is up to
twice the step's wall-clock time; the table's shares are of that total.
Tracing itself slows a step a little (it records every op), so the wall
time of a traced step is printed next to untraced steps' in `bench`.

How an op's kind is read from its name: gradient ops live under
`gradients/`, and the conv gradients this project rewrites are built under
the name scopes `input_gradient` and `filter_gradient` (conv_gradients.py,
fast_conv.py); TensorFlow's own are `Conv2DBackpropInput` and
`Conv2DBackpropFilter` ops. Forward convolutions are `Conv2D` ops (or the
`_FusedConv2D` Grappler makes of a conv, its bias and ReLU) or ops under
fast_conv.py's formulation scopes (`winograd`, `dense`, `toeplitz`); the
fully connected layer's MatMul counts as one.
"""

import collections
import re
import statistics
import time

import tensorflow as tf

tf1 = tf.compat.v1

KINDS = ('forward conv', 'input gradient', 'filter gradient',
         'other forward', 'other backward', 'l2', 'gradient step', 'ema',
         'feed', 'other')

# Grappler fuses a conv with its bias and ReLU (_FusedConv2D, named after
# the ReLU), the fully connected layer with its bias (_FusedMatMul).
_FORWARD_CONV_OPS = ('Conv2D', '_FusedConv2D', 'MatMul', '_FusedMatMul')
_STAGE = re.compile(r'(?:^|/)(block\d+)(?:/|$)')
# fast_conv.py's forward formulations build their ops under these scopes.
_FORMULATION = re.compile(r'/(winograd|dense|toeplitz)(?:_\d+)?/')


def stage_of(name):
    """'stem', 'blockN', 'head' or None (not a network op) from an op or
    variable name such as resnet34/block2/unit_1/conv1/Conv2D."""
    match = _STAGE.search(name)
    if match:
        return match.group(1)
    parts = name.split('/')
    for index, part in enumerate(parts[:-1]):
        if part in ('conv1', 'pool1') and index <= 1:
            return 'stem'
        if part in ('logits', 'pool') and index <= 1:
            return 'head'
    return None


def kind_of(name, op_type):
    """One of KINDS for an op of a train graph."""
    if 'Regularizer' in name or name.startswith(
            ('total_regularization_loss', 'gradients/total_regularization')):
        return 'l2'
    if name.startswith('ExponentialMovingAverage') or '/ExponentialMoving' \
            'Average' in name:
        return 'ema'
    if name.startswith(('GradientDescent', 'Momentum')):
        return 'gradient step'
    if name.startswith('gradients'):
        if '/input_gradient' in name or op_type == 'Conv2DBackpropInput':
            return 'input gradient'
        if '/filter_gradient' in name or op_type == 'Conv2DBackpropFilter':
            return 'filter gradient'
        return 'other backward'
    if op_type in ('_Arg', '_Recv', 'Placeholder') or name.startswith(
            ('_arg', 'images', 'labels')):
        return 'feed'
    if op_type in _FORWARD_CONV_OPS or _FORMULATION.search(name):
        return 'forward conv'
    if stage_of(name) is not None or name.startswith(
            ('SparseSoftmax', 'cross_entropy', 'loss')):
        return 'other forward'
    return 'other'


def _update_stage(name):
    """The stage of the variable an optimizer or EMA op updates, when its
    name says it (GradientDescent/update_resnet34/block1/...)."""
    return stage_of(name.split('update_', 1)[-1])


Profile = collections.namedtuple('Profile', [
    'op_seconds', 'wall_seconds', 'steps'])


def _op_stage(name, graph):
    stage = stage_of(name.replace('gradients/', '', 1))
    if stage is None:
        stage = _update_stage(name)
    if stage is None and graph is not None:
        # EMA ops are numbered (AssignMovingAvg_17): their inputs name the
        # variable.
        try:
            op = graph.get_operation_by_name(name.split(':')[0])
        except (KeyError, ValueError):
            op = None
        if op is not None:
            for tensor in op.inputs:
                stage = stage_of(tensor.op.name)
                if stage:
                    break
    return stage or '-'


def summarize_step_stats(step_stats_list, graph=None):
    """{(stage, kind): op-seconds per step} averaged over the traced steps'
    `step_stats`."""
    totals = collections.Counter()
    for step_stats in step_stats_list:
        for device in step_stats.dev_stats:
            for node in device.node_stats:
                name = node.node_name
                if name in ('_SOURCE', '_SINK'):
                    continue
                op_type = node.timeline_label.split('(')[0].split(' = ')[-1]
                op_type = op_type.strip() or name
                seconds = (node.op_end_rel_micros
                           - node.op_start_rel_micros) / 1e6
                totals[(_op_stage(name, graph), kind_of(name, op_type))] += (
                    seconds)
    steps = max(len(step_stats_list), 1)
    return {key: value / steps for key, value in totals.items()}


def profile_steps(session, fetches, feed_dicts):
    """Runs `fetches` once per feed dict with a full trace; a Profile of
    the op-seconds per (stage, kind) and the median wall seconds."""
    options = tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE)
    stats, walls = [], []
    for feed_dict in feed_dicts:
        metadata = tf1.RunMetadata()
        started = time.perf_counter()
        session.run(fetches, feed_dict, options=options,
                    run_metadata=metadata)
        walls.append(time.perf_counter() - started)
        stats.append(metadata.step_stats)
    return Profile(summarize_step_stats(stats, session.graph),
                   statistics.median(walls), len(walls))


def _stage_order(stage):
    if stage == 'stem':
        return (0, 0)
    if stage.startswith('block'):
        return (1, int(stage[5:]))
    return (2, ('head', '-').index(stage) if stage in ('head', '-') else 9)


def format_profile(profile):
    """A table of ms per step, stages down, kinds across, with totals and
    each column's share of all op time."""
    times = profile.op_seconds
    stages = sorted({stage for stage, _ in times}, key=_stage_order)
    kinds = [kind for kind in KINDS
             if any(kind == key[1] for key in times)]
    total = sum(times.values()) or 1.0
    width = max(len(kind) for kind in kinds + ['total'])
    header = '%-8s' % 'ms' + ''.join(' %*s' % (width, kind)
                                    for kind in kinds) + ' %*s' % (width,
                                                                   'total')
    lines = ['profile: op-milliseconds per step, averaged over %d traced '
             'steps (ops on two cores overlap: the total exceeds the wall '
             'time, %.0f ms a traced step)' % (profile.steps,
                                               profile.wall_seconds * 1e3),
             header]
    for stage in stages:
        row = [times.get((stage, kind), 0.0) for kind in kinds]
        lines.append('%-8s' % ('unstaged' if stage == '-' else stage) +
                     ''.join(' %*.0f' % (width, 1e3 * value)
                             for value in row) +
                     ' %*.0f' % (width, 1e3 * sum(row)))
    column_totals = [sum(value for (_, kind), value in times.items()
                         if kind == column) for column in kinds]
    lines.append('%-8s' % 'total' + ''.join(
        ' %*.0f' % (width, 1e3 * value) for value in column_totals) +
        ' %*.0f' % (width, 1e3 * total))
    lines.append('%-8s' % 'share' + ''.join(
        ' %*s' % (width, '%.1f%%' % (100 * value / total))
        for value in column_totals) + ' %*s' % (width, '100%'))
    return lines
