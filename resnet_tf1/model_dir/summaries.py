"""TensorBoard scalars, written as TF1 event files.

The layout Keras' TensorBoard callback and Estimator users know: one run
directory per kind of measurement, the same tags in each, so
`tensorboard --logdir <model_dir>` draws training and evaluation of one
quantity on one chart:

    <model_dir>/train/            run "train": at every log step
    <model_dir>/eval_<split>/     run "eval_test", "eval_validation":
    <model_dir>/eval_<split>_raw/   at every evaluated checkpoint (EMA
                                  weights, or --noema's raw ones)

    accuracy                 train: the logged batch's; eval: the split's
    loss                     cross-entropy + L2 (train: the batch's; eval:
                             the split's mean, L2 of the evaluated weights)
    loss/cross_entropy       its cross-entropy part
    optimizer/learning_rate  train only
    speed/images_per_second  train only

TensorBoard groups tags by what precedes their first '/', sorts the groups
and opens the first two: `accuracy` and `loss`. Runs before this layout
wrote the training tags flat (`batch_accuracy`, `cross_entropy`, ...) in
<model_dir> itself; `LEGACY_TAGS` names them for readers (tools/plot.py).
Values are computed in Python and written as `Summary` protos: no summary
ops in the graph, nothing extra in a step.
"""

import itertools
import os
import threading

import tensorflow as tf

from resnet_tf1.errors import ConfigError
from resnet_tf1.model_dir import safe_io

tf1 = tf.compat.v1

# FileWriter names its file events.out.tfevents.<seconds>.<host> and
# truncates one of that name: a second writer in the same second (eval.py
# --watch on a small model, checkpoints evaluated back to back) would erase
# the first one's points. The pid and a per-process count keep names apart.
_writer_numbers = itertools.count()


# What a failed write of TensorFlow's event writer raises: the errno's
# message in a RuntimeError (ENOSPC) or IndexError (EFBIG), an OpError, an
# OSError for the directory.
_WRITE_ERRORS = (tf.errors.OpError, OSError, RuntimeError, IndexError)


def _quiet_writer_threads():
    """FileWriter writes from a thread whose error (a full disk) is
    printed as a traceback by the thread and raised again by the next
    flush() in the caller, which reports it in one line (ScalarWriter):
    the thread's copy is left out."""
    if getattr(threading.excepthook, 'quiets_event_writers', False):
        return
    previous = threading.excepthook

    def hook(args):
        if type(args.thread).__name__ != '_EventLoggerThread':
            previous(args)

    hook.quiets_event_writers = True
    threading.excepthook = hook


TRAIN_RUN = 'train'
ACCURACY = 'accuracy'
LOSS = 'loss'
CROSS_ENTROPY = 'loss/cross_entropy'
LEARNING_RATE = 'optimizer/learning_rate'
IMAGES_PER_SECOND = 'speed/images_per_second'
# The tags of the flat layout (training events in <model_dir> itself).
LEGACY_TAGS = {'batch_accuracy': ACCURACY, 'cross_entropy': CROSS_ENTROPY,
               'learning_rate': LEARNING_RATE,
               'images_per_second': IMAGES_PER_SECOND}


def train_dir(model_dir):
    return os.path.join(model_dir, TRAIN_RUN)


def eval_dir(model_dir, split_name, use_ema=True):
    return os.path.join(model_dir, 'eval_%s%s' % (
        split_name, '' if use_ema else '_raw'))


class ScalarWriter:
    """Appends scalar summaries to an event file in `directory`."""

    def __init__(self, directory, graph=None):
        # FileWriter writes through TensorFlow's file system, which follows
        # links: a linked eval_test/ or a planted events file is refused.
        safe_io.refuse_link(directory)
        safe_io.check_directory(directory)
        _quiet_writer_threads()
        self._directory = directory
        # FileWriter refuses to be made in eager mode, which is what the
        # process is in outside a graph context (evaluation's writer).
        try:
            with (graph or tf.Graph()).as_default():
                self._writer = tf1.summary.FileWriter(
                    directory, graph=graph, filename_suffix='.%d.%06d' % (
                        os.getpid(), next(_writer_numbers)))
        except _WRITE_ERRORS as error:
            raise self._error(error) from None

    def _error(self, error):
        """A failed write (a full disk) as one line naming the file."""
        detail = ' '.join(str(getattr(error, 'strerror', None) or getattr(
            error, 'message', None) or error).split())
        for cause, words in (('No space left', 'no space left on the '
                              'device'), ('File too large', 'File too large')):
            if cause in detail:
                detail = words
        return ConfigError('%s: cannot write the TensorBoard events (%s)' % (
            self._directory, detail[-200:]))

    def write(self, step, values):
        """`values` maps tag -> number, all at `step`."""
        summary = tf1.Summary(value=[
            tf1.Summary.Value(tag=tag, simple_value=float(value))
            for tag, value in sorted(values.items())])
        try:
            self._writer.add_summary(summary, step)
            self._writer.flush()
        except _WRITE_ERRORS as error:
            raise self._error(error) from None

    def close(self):
        try:
            self._writer.close()
        except _WRITE_ERRORS as error:
            raise self._error(error) from None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def read_scalars(directory):
    """tag -> [(step, value)] from every event file in `directory`, in the
    order written (for tests and tools)."""
    scalars = {}
    for name in sorted(os.listdir(directory)):
        if not name.startswith('events.out.tfevents'):
            continue
        for event in tf1.train.summary_iterator(os.path.join(directory, name)):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(
                    (event.step, value.simple_value))
    return scalars
