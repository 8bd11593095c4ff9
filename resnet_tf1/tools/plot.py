"""Training curves as a picture, from a run's TensorBoard event files.

    python -m resnet_tf1 plot --model_dir MNIST_model [--out curves.png]

draws, against the step, the training loss and its cross-entropy part, the
learning rate, and the accuracies eval.py wrote under `eval_<split>[_raw]/`
(summaries.py's layout), into one PNG (default `<model_dir>/curves.png`).
Needs matplotlib, an optional extra: `pip install -e ".[plot]"`.
"""

import io
import os
import re
import tempfile

import tensorflow as tf

from resnet_tf1.errors import ConfigError

# The picture's size: FIGURE_INCHES * DPI pixels (width, height).
FIGURE_INCHES = (8, 9)
DPI = 100

_EVENT_PREFIX = 'events.out.tfevents'
_EVAL_PREFIX = 'eval_'


def plot(model_dir, out=None):
    """Writes the curves of the run in `model_dir` to `out` (a .png path,
    default model_dir/curves.png), replacing it atomically; returns `out`."""
    out = out or os.path.join(model_dir, 'curves.png')
    if not out.endswith('.png'):
        raise ConfigError('--out %s: must be a .png file' % out)
    # Before any reading: a missing extra is the first thing to know.
    try:
        from matplotlib import figure
        from matplotlib.backends import backend_agg
    except ImportError:
        raise ConfigError(
            'plot needs matplotlib: pip install -e ".[plot]" (or pip install '
            'matplotlib)') from None
    training, evals = read_run(model_dir)
    fig = figure.Figure(figsize=FIGURE_INCHES, dpi=DPI, layout='constrained')
    canvas = backend_agg.FigureCanvasAgg(fig)
    _draw(fig, os.path.basename(os.path.normpath(model_dir)), training, evals)
    png = io.BytesIO()
    # print_png, not savefig: a user's matplotlibrc (savefig.dpi,
    # savefig.bbox) cannot change the size.
    canvas.print_png(png)
    _write_atomically(out, png.getvalue())
    return out


def read_run(model_dir):
    """(training, evals): training maps tag -> (steps, values) from
    model_dir's own event files; evals maps each eval_* subdirectory's name
    to its tags likewise."""
    try:
        names = sorted(os.listdir(model_dir))
    except OSError as error:
        raise ConfigError('--model_dir %s: %s' % (
            model_dir, error.strerror)) from None
    eval_names = [name for name in names if name.startswith(_EVAL_PREFIX) and
                  os.path.isdir(os.path.join(model_dir, name))]
    training = read_scalars(model_dir)
    evals = {name: read_scalars(os.path.join(model_dir, name))
             for name in eval_names}
    if not training and not any(evals.values()):
        raise ConfigError(
            '--model_dir %s: no TensorBoard scalars (%s.* files) in it or '
            'its %s* directories' % (model_dir, _EVENT_PREFIX, _EVAL_PREFIX))
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
    try:
        # tf.data, eagerly: summary_iterator is deprecated and says so.
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
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
    accuracy_axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    for axes in (loss_axes, rate_axes, accuracy_axes):
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
    """`out` is either the whole new picture or left as it was."""
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
