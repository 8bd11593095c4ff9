"""Training curves as a picture, from runs' TensorBoard event files.

    python -m resnet_tf1 plot --model_dir MNIST_model [--out curves.png]

draws, against the step, the training loss and its cross-entropy part, the
learning rate, and the accuracies eval.py wrote under `eval_<split>[_raw]/`
(summaries.py's layout), into one PNG (default `<model_dir>/curves.png`).

    python -m resnet_tf1 plot --model_dir runs/plain18 --model_dir \
        runs/resnet18 ... --out compare.png

draws several runs in one figure (`compare`): the training cross-entropy
(smoothed) and the test accuracy (EMA weights) of each against the step,
each run labelled by the network its train_config.json names, and returns
a markdown table of where each run ended.
Needs matplotlib, an optional extra: `pip install -e ".[plot]"`.
"""

import collections
import io
import os
import re
import tempfile
import textwrap

import tensorflow as tf

from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import safe_io
from resnet_tf1.model_dir import summaries
from resnet_tf1.errors import ConfigError

# The pictures' sizes: inches * DPI pixels (width, height).
FIGURE_INCHES = (8, 9)
COMPARE_FIGURE_INCHES = (8, 7)
DPI = 100
# A title line's length in characters: about 10 per inch of width at
# matplotlib's default title size.
_TITLE_CHARACTERS = COMPARE_FIGURE_INCHES[0] * 10
# Training logs one batch's loss every --log_every steps, too noisy to
# tell runs apart: the comparison draws it faint as logged and, over it,
# smoothed as TensorBoard's slider does (an exponential moving average
# over the logged points with this weight, debiased at the start).
SMOOTHING = 0.9
# The table's training loss of a run: the mean of its last logged points.
TABLE_POINTS = 10

# One run of a comparison: its legend label, directory, training scalars
# and eval_test/ (EMA) scalars, as read_run reads them.
Run = collections.namedtuple('Run', ['label', 'model_dir', 'training',
                                     'test'])

_EVENT_PREFIX = 'events.out.tfevents'
_EVAL_PREFIX = 'eval_'


def plot(model_dir, out=None):
    """Writes the curves of the run in `model_dir` to `out` (a .png path,
    default model_dir/curves.png), replacing it atomically; returns `out`."""
    out = out or os.path.join(model_dir, 'curves.png')
    _check_out(out)
    # Before any reading: a missing extra is the first thing to know.
    _require_matplotlib()
    training, evals = read_run(model_dir)
    _render(FIGURE_INCHES, out, lambda fig: _draw(
        fig, os.path.basename(os.path.normpath(model_dir)), training, evals))
    return out


def compare(model_dirs, out):
    """Writes the figure of several runs (training cross-entropy and test
    accuracy against the step, one color per run) to `out`, a .png path,
    replacing it atomically; returns (out, the markdown table's lines:
    `comparison_table`)."""
    if not out:
        raise ConfigError('--out is required with several --model_dir (%d '
                          'given)' % len(model_dirs))
    _check_out(out)
    seen = set()
    for model_dir in model_dirs:
        # abspath: 'a', 'a/' and '$PWD/a' are one run.
        path = os.path.abspath(model_dir)
        if path in seen:
            raise ConfigError('--model_dir %s: given twice' % model_dir)
        seen.add(path)
    _require_matplotlib()
    runs = read_runs(model_dirs)
    _render(COMPARE_FIGURE_INCHES, out,
            lambda fig: _draw_comparison(fig, runs))
    return out, comparison_table(runs)


def read_runs(model_dirs):
    """[Run] of each directory, labelled by the network its
    train_config.json names (and, for a network named more than once, by
    as much of the directory's path as tells those runs apart)."""
    read = []
    for model_dir in model_dirs:
        training, evals = read_run(model_dir)
        name = run_record.load(model_dir).model.name
        read.append((name, model_dir, training, evals.get('eval_test', {})))
    names = [name for name, *_ in read]
    labels = list(names)
    for name in set(names):
        indices = [index for index, named in enumerate(names) if named == name]
        if len(indices) > 1:
            for index, suffix in zip(indices, distinct_suffixes(
                    [read[index][1] for index in indices])):
                labels[index] = '%s (%s)' % (name, suffix)
    return [Run(label, model_dir, training, test)
            for label, (_, model_dir, training, test) in zip(labels, read)]


def distinct_suffixes(paths):
    """Each path's shortest trailing part that no other path ends with:
    runs of one network in /tmp/.../a, /tmp/.../x/run and /tmp/.../y/run
    are 'a', 'x/run' and 'y/run' in the legend and title (full paths
    outgrew the fixed-size figure). Paths naming one directory twice are
    refused before this."""
    parts = [os.path.abspath(path).split(os.sep) for path in paths]

    def suffix(split, count):
        return os.sep.join(split[-count:])

    suffixes = []
    for index, split in enumerate(parts):
        others = parts[:index] + parts[index + 1:]
        count = next(count for count in range(1, len(split) + 1)
                     if all(suffix(split, count) != suffix(other, count)
                            for other in others))
        suffixes.append(suffix(split, count))
    return suffixes


def comparison_table(runs):
    """Markdown lines: per run, its last training step, its training loss
    and cross-entropy (the mean of the last TABLE_POINTS logged points)
    and its last test accuracy (EMA weights) with its step; then a line
    saying so."""
    lines = ['| network | steps | training loss | cross-entropy | '
             'test accuracy (EMA) |',
             '|---|---:|---:|---:|---:|']
    for run in runs:
        loss = run.training.get('loss')
        accuracy = run.test.get('accuracy')
        lines.append('| %s | %s | %s | %s | %s |' % (
            run.label, loss[0][-1] if loss else '-', _tail_mean(loss),
            _tail_mean(run.training.get('cross_entropy')),
            '%.4f (step %d)' % (accuracy[1][-1], accuracy[0][-1])
            if accuracy else '-'))
    lines.append('')
    lines.append('training loss (cross-entropy + L2) and cross-entropy: the '
                 'mean of the last %d logged batches; test accuracy: '
                 "eval.py's on the test split, EMA weights, at the last step "
                 'evaluated' % TABLE_POINTS)
    return lines


def _tail_mean(scalars):
    if not scalars:
        return '-'
    values = scalars[1][-TABLE_POINTS:]
    return '%.4f' % (sum(values) / len(values))


def smoothed(values, weight=SMOOTHING):
    """TensorBoard's smoothing: an exponential moving average of `values`,
    divided by the weight its first terms lack (so it starts at the first
    value instead of at 0)."""
    average, result = 0.0, []
    for count, value in enumerate(values, 1):
        average = weight * average + (1 - weight) * value
        result.append(average / (1 - weight ** count))
    return result


def _check_out(out):
    if not out.endswith('.png'):
        raise ConfigError('--out %s: must be a .png file' % out)


def _require_matplotlib():
    try:
        from matplotlib import figure  # noqa: F401
        from matplotlib.backends import backend_agg  # noqa: F401
    except ImportError:
        raise ConfigError(
            'plot needs matplotlib: pip install -e ".[plot]" (or pip install '
            'matplotlib)') from None


def _render(inches, out, draw):
    """Draws with `draw(figure)` on a figure of `inches` and writes it to
    `out` as a PNG of exactly inches * DPI pixels."""
    from matplotlib import figure
    from matplotlib.backends import backend_agg
    fig = figure.Figure(figsize=inches, dpi=DPI, layout='constrained')
    canvas = backend_agg.FigureCanvasAgg(fig)
    draw(fig)
    png = io.BytesIO()
    # print_png, not savefig: a user's matplotlibrc (savefig.dpi,
    # savefig.bbox) cannot change the size.
    canvas.print_png(png)
    _write_atomically(out, png.getvalue())


def _short_tags(scalars):
    """Tags by their last part ('loss/cross_entropy' -> 'cross_entropy'),
    the flat layout's names mapped to the grouped ones first, so runs of
    either layout (summaries.py) are drawn alike."""
    short = {}
    for tag, points in scalars.items():
        tag = summaries.LEGACY_TAGS.get(tag, tag)
        short[tag.rsplit('/', 1)[-1]] = points
    return short


def read_run(model_dir):
    """(training, evals): training maps tag -> (steps, values) from
    model_dir/train/ (or, in runs written before that layout, model_dir's
    own event files); evals maps each eval_* subdirectory's name to its
    tags likewise. Tags are short: 'cross_entropy', 'learning_rate'."""
    try:
        names = sorted(os.listdir(model_dir))
    except OSError as error:
        raise ConfigError('--model_dir %s: %s' % (
            model_dir, error.strerror)) from None
    eval_names = [name for name in names if name.startswith(_EVAL_PREFIX) and
                  os.path.isdir(os.path.join(model_dir, name))]
    training = _short_tags(read_scalars(model_dir))
    if summaries.TRAIN_RUN in names:
        # A run resumed across the layout change has points in both; the
        # newer layout's win where both hold a step.
        for tag, (steps, values) in _short_tags(read_scalars(
                summaries.train_dir(model_dir))).items():
            points = dict(zip(*training.get(tag, ((), ()))))
            points.update(zip(steps, values))
            training[tag] = tuple(zip(*sorted(points.items())))
    evals = {name: _short_tags(read_scalars(os.path.join(model_dir, name)))
             for name in eval_names}
    if not training and not any(evals.values()):
        raise ConfigError(
            '--model_dir %s: no TensorBoard scalars (%s.* files) in it or '
            'its %s/ and %s* directories' % (model_dir, _EVENT_PREFIX,
                                             summaries.TRAIN_RUN,
                                             _EVAL_PREFIX))
    return training, {name: scalars for name, scalars in evals.items()
                      if scalars}


def read_scalars(directory):
    """tag -> (steps, values), by step, from the event files directly in
    `directory`. A step written twice keeps the newer value: a resumed run
    rewrites the steps after its checkpoint, and eval.py run twice on one
    checkpoint appends a second point."""
    events = []
    try:
        names = sorted(os.listdir(directory))
    except OSError as error:
        raise ConfigError('%s: %s' % (
            directory, error.strerror)) from None
    for name in names:
        if name.startswith(_EVENT_PREFIX):
            events.extend(_scalar_events(os.path.join(directory, name)))
    by_tag = {}
    for _, step, tag, value in sorted(events, key=lambda event: event[0]):
        by_tag.setdefault(tag, {})[step] = value
    return {tag: tuple(zip(*sorted(points.items())))
            for tag, points in by_tag.items()}


def _scalar_events(path):
    """[(wall_time, step, tag, value)] of the simple-value scalars in one
    event file."""
    scalars = []
    # A FIFO named like an event file would block the reader forever.
    safe_io.check_regular_file(path, 'event file')
    try:
        # tf.data, eagerly: summary_iterator is deprecated and says so.
        for record in tf.data.TFRecordDataset(path):
            event = _event(path, record.numpy())
            scalars.extend(
                (event.wall_time, event.step, value.tag, value.simple_value)
                for value in event.summary.value
                if value.HasField('simple_value'))
    except tf.errors.OpError as error:
        # A record cut short at the end is a writer still writing, or one
        # killed mid-write: what came before it stands (TensorBoard reads
        # it the same way). Damage anywhere else is refused.
        if not (isinstance(error, tf.errors.DataLossError) and
                'truncated record' in error.message):
            raise ConfigError('event file %s: %s' % (
                path, _op_message(error))) from None
    return scalars


def _event(path, record):
    """The Event proto of one record of event file `path`: a TFRecord file
    of something else is one line, not protobuf's DecodeError."""
    from google.protobuf import message
    try:
        return tf.compat.v1.Event.FromString(record)
    except message.DecodeError:
        raise ConfigError('event file %s: a record is not a TensorBoard '
                          'event (a TFRecord file of something else?)' %
                          path) from None


def _op_message(error):
    """The reason in an eager op's error, without the function and op
    names around it."""
    return ' '.join(re.sub(r'\{\{.*?\}\}|\[Op:.*', '',
                           error.message).split())


def _draw(fig, title, training, evals):
    from matplotlib import ticker
    loss_axes, rate_axes, accuracy_axes = fig.subplots(3, 1, sharex=True)
    fig.suptitle('%s: training curves' % title)

    _lines(loss_axes, training, {'loss': 'loss (cross-entropy + L2)',
                                 'cross_entropy': 'cross-entropy'})
    loss_axes.set(title='Training loss (per logged batch)', ylabel='loss',
                  yscale='log')
    loss_axes.yaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))

    _lines(rate_axes, training, {'learning_rate': 'learning rate'})
    rate_axes.set(title='Learning rate', ylabel='learning rate')
    rate_axes.ticklabel_format(axis='y', useOffset=False)

    split_colors = {}
    for name, scalars in sorted(evals.items()):
        split = name[len(_EVAL_PREFIX):]
        raw = split.endswith('_raw')
        split = split[:-len('_raw')] if raw else split
        color = split_colors.setdefault(split, 'C%d' % len(split_colors))
        _lines(accuracy_axes, scalars, {
            'accuracy': '%s, %s weights' % (split, 'raw' if raw else 'EMA')},
            color=color, linestyle='--' if raw else '-', marker='o',
            markersize=3)
    accuracy_axes.set(title='Evaluation accuracy (eval.py)', xlabel='step',
                      ylabel='accuracy')
    if accuracy_axes.lines:
        # Spaces 0.9, 0.99, 0.999 evenly: where a run's accuracy ends up is
        # as readable as where it starts.
        accuracy_axes.set(yscale='logit', ylabel='accuracy (logit scale)')
    _finish(loss_axes, rate_axes, accuracy_axes)


def _draw_comparison(fig, runs):
    from matplotlib import ticker
    loss_axes, accuracy_axes = fig.subplots(2, 1, sharex=True)
    # Wrapped: with four or more runs the names outgrow the figure's width,
    # which is fixed (the PNG's size is part of the contract).
    fig.suptitle(textwrap.fill('%s: training and test' % ', '.join(
        run.label for run in runs), width=_TITLE_CHARACTERS))
    for index, run in enumerate(runs):
        color = 'C%d' % index
        if 'cross_entropy' in run.training:
            steps, values = run.training['cross_entropy']
            smooth = smoothed(values)
            loss_axes.plot(steps, values, color=color, alpha=0.2,
                           linewidth=0.7)
            loss_axes.plot(steps, smooth, color=color,
                           label='%s (step %d: %.4g)' % (
                               run.label, steps[-1], smooth[-1]))
        _lines(accuracy_axes, run.test, {'accuracy': run.label},
               color=color, marker='o', markersize=3)
    loss_axes.set(title='Training cross-entropy (faint: each logged batch; '
                        'solid: smoothed, EMA %g)' % SMOOTHING,
                  ylabel='cross-entropy', yscale='log')
    loss_axes.yaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
    accuracy_axes.set(title='Test accuracy, EMA weights (eval.py)',
                      xlabel='step', ylabel='accuracy')
    if accuracy_axes.lines:
        accuracy_axes.set(yscale='logit', ylabel='accuracy (logit scale)')
    _finish(loss_axes, accuracy_axes)


def _finish(*axes_list):
    """What every panel shares: integer steps, a grid, plain numbers, a
    legend, or a note that nothing was written."""
    from matplotlib import ticker
    axes_list[-1].xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    for axes in axes_list:
        axes.grid(True, which='both', alpha=0.3)
        # Plain numbers (0.3, 0.99), not 3x10^-1 or 1-10^-2.
        axes.yaxis.set_major_formatter(ticker.FuncFormatter(_plain))
        axes.yaxis.set_minor_formatter(ticker.NullFormatter())
        if axes.lines:
            axes.legend(loc='best', fontsize='small')
        else:
            axes.text(0.5, 0.5, 'not written (yet)', ha='center',
                      va='center', transform=axes.transAxes, color='grey')


def _plain(value, _):
    return '%.4g' % value


def _lines(axes, scalars, labels, **style):
    """One line per tag in `labels` that `scalars` holds, its legend entry
    ending with the last value."""
    for tag, label in labels.items():
        if tag in scalars:
            steps, values = scalars[tag]
            axes.plot(steps, values, label='%s (step %d: %.4g)' % (
                label, steps[-1], values[-1]), **style)


def _write_atomically(out, content):
    """`out` is either the whole new picture or left as it was. A link
    planted at `out` is refused (the temporary file is created exclusively
    and renamed over `out`, so none is ever written through)."""
    safe_io.refuse_link(out)
    temp_path = None
    try:
        with tempfile.NamedTemporaryFile(
                dir=os.path.dirname(out) or '.', prefix='.curves-',
                suffix='.png', delete=False) as temp:
            temp_path = temp.name
            temp.write(content)
        # NamedTemporaryFile makes it private (0600); a picture is not.
        os.chmod(temp_path, 0o644)
        os.replace(temp_path, out)
    except OSError as error:
        if temp_path and os.path.exists(temp_path):
            os.remove(temp_path)
        raise ConfigError('--out %s: %s' % (
            out, error.strerror)) from None
