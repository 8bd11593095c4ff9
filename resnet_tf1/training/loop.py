"""The training loop: feeds the train op (train_op.py), logs, writes
TensorBoard scalars and checkpoints, and resumes from the newest one.

A step's batch is a pure function of (seed, step) (data/inputs.py), so a
resumed run continues the data order of the run it resumes.
"""

import collections
import math
import signal
import threading
import time

import tensorflow as tf

from resnet_tf1.model_dir import sanity
from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import lock
from resnet_tf1.model_dir import checkpoints
from resnet_tf1.compute import model_graph
from resnet_tf1.model_dir import summaries
from resnet_tf1.data import inputs
from resnet_tf1.errors import DataError
from resnet_tf1.errors import TrainingError
from resnet_tf1.training import train_op

tf1 = tf.compat.v1

TrainResult = collections.namedtuple('TrainResult', ['step', 'losses'])


def _format_duration(seconds):
    seconds = int(seconds)
    return '%dh%02dm%02ds' % (seconds // 3600, seconds // 60 % 60,
                              seconds % 60)


# A cross-entropy this many times that of guessing among the classes
# (ln(num_classes)) means the weights are diverging: no healthy step is
# that much worse than chance, and a diverging run's grows without bound
# within a few steps. Training stops there, before saving such weights.
DIVERGED_CROSS_ENTROPY = 10.0


def diverged_error(train_config, model_dir, step, what, name=None,
                   set_aside=False):
    """The TrainingError of a run that diverged at `step`: which checkpoint
    still holds it and what to change. With `set_aside`, the loss of `step`
    is that of the weights after step - 1, whose checkpoint, if saved, is
    set aside (checkpoints.set_aside): it would diverge again at once."""
    if set_aside:
        checkpoints.set_aside(model_dir, step - 1)
    newest = checkpoints.latest_checkpoint(model_dir)
    return TrainingError(
        '%s at step %d%s; stopping: the newest sane checkpoint is %s; resume '
        'from it with a lower --learning_rate (this run: %g)' % (
            what, step, ' on ' + name if name else '',
            newest or '(none yet) in %s' % model_dir,
            train_config.learning_rate))


class Progress:
    """What a training loop reports after each step: refuses a loss that is
    no longer finite or a cross-entropy that has blown up (see
    DIVERGED_CROSS_ENTROPY), keeps the losses, and at log steps writes a log
    line (prefixed with `name`, e.g. a cluster worker's) and, given a
    writer, the TensorBoard scalars."""

    def __init__(self, train_config, model_dir, first_step, log, writer=None,
                 name=None, keeps_checkpoints=True):
        self._config = train_config
        self._model_dir = model_dir
        self._log = log
        self._writer = writer
        self._name = name
        # Whether this loop saves the checkpoints (a cluster's chief does).
        self._keeps_checkpoints = keeps_checkpoints
        self._prefix = name + ': ' if name else ''
        self._started, self._started_step = time.time(), first_step
        self.losses = []

    @staticmethod
    def fetches(train_graph):
        """What `report` takes, in its order."""
        return [train_graph.loss, train_graph.cross_entropy,
                train_graph.learning_rate, train_graph.accuracy]

    def report(self, step, loss, cross_entropy, learning_rate, accuracy):
        if not math.isfinite(loss):
            raise diverged_error(self._config, self._model_dir, step,
                                 'loss is %s' % loss, self._name,
                                 self._keeps_checkpoints)
        bound = DIVERGED_CROSS_ENTROPY * math.log(
            self._config.model.num_classes)
        if cross_entropy > bound:
            raise diverged_error(
                self._config, self._model_dir, step,
                'the weights diverge: cross-entropy %.4g, over %g times '
                'that of guessing' % (cross_entropy, DIVERGED_CROSS_ENTROPY),
                self._name, self._keeps_checkpoints)
        self.losses.append((step, float(loss)))
        steps = self._config.steps
        if step % self._config.log_every and step < steps:
            return
        images_per_second = ((step - self._started_step) *
                             self._config.global_batch_size /
                             (time.time() - self._started))
        seconds_left = ((steps - step) * self._config.global_batch_size /
                        max(images_per_second, 1e-9))
        self._log('%sstep %d/%d epoch %.2f loss %.4f lr %.5f images/s %.1f '
                  'eta %s' % (
                      self._prefix, step, steps,
                      epochs(self._config, step), loss, learning_rate,
                      images_per_second, _format_duration(seconds_left)))
        if self._writer:
            self._writer.write(step, {
                summaries.LOSS: loss, summaries.CROSS_ENTROPY: cross_entropy,
                summaries.LEARNING_RATE: learning_rate,
                summaries.ACCURACY: accuracy,
                summaries.IMAGES_PER_SECOND: images_per_second})


class StopSignals:
    """Turns SIGINT (Ctrl-C) and SIGTERM into a request the training loop
    reads between steps (`requested`), so that it stops after a whole step
    and can save it; outside the main thread (where handlers cannot be
    set) nothing is requested."""

    def __init__(self):
        self.requested = None
        self._previous = {}

    def _handle(self, signum, frame):
        del frame
        self.requested = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def epochs(train_config, step):
    """How many passes over the training split `step` steps make."""
    return step * train_config.global_batch_size / train_config.train_examples


def start_line(train_config, model_dir, data_source=None, seed_note=''):
    """The line a run prints first, before its graph is built: what is
    trained, on what, for how long, and the seed (drawn ones included, so
    a run can be repeated from its log)."""
    model = train_config.model
    return ('train %s (base_depth %s, norm %s) seed=%d%s data=%s '
            'model_dir=%s steps=%d epochs=%.2f batch_size=%d '
            'optimizer=%s learning_rate=%g' % (
                model.name, model.base_depth, model.norm,
                train_config.seed, seed_note, data_source or '(given)',
                model_dir, train_config.steps,
                epochs(train_config, train_config.steps),
                train_config.global_batch_size, train_config.optimizer,
                train_config.learning_rate))


def parameter_count(graph):
    with graph.as_default():
        return sum(variable.shape.num_elements()
                   for variable in tf1.trainable_variables())


def check_split(train_config, train_split):
    if len(train_split.labels) < train_config.batch_size:
        raise DataError(
            'the training split holds %d images (after the validation '
            'images), fewer than --batch_size %d' % (
                len(train_split.labels), train_config.batch_size))


def save_if_sane(session, train_graph, train_config, model_dir, step,
                 name=None):
    """Saves the checkpoint of `step` unless its weights are not sane
    (sanity.weights_problem): then raises the divergence error, the
    newest checkpoint still being the last sane one."""
    problem = sanity.weights_problem(session, train_graph.graph)
    if problem:
        raise diverged_error(train_config, model_dir, step,
                             'the weights diverge: %s' % problem, name)
    checkpoints.save(session, train_graph.saver, model_dir, step,
                     train_config.keep_checkpoint_every)


def train(train_config, model_dir, train_split, log=print,
          data_source=None):
    """Trains until `train_config.steps` (the total, resuming from the newest
    checkpoint in `model_dir` if there is one), saving every `save_every`
    steps and at the end.

    Args:
        train_config: a resolved config.TrainConfig. With no seed, a resumed
            run keeps the seed it was started with, a new run draws one;
            either way the seed used is in the saved config.
        model_dir: where checkpoints and the training config go.
        train_split: a data.mnist.Split of training images and labels.
        log: called with the start line, the built graph's line, and one
            formatted line per log step.
        data_source: where `train_split` was read from, for the start line.

    Returns:
        TrainResult(final step, [(step, loss) for every step run]).

    The directory is held for this run only (lock.exclusive), and
    its config is rewritten only once the checkpoint restored. SIGINT or
    SIGTERM stops after the current step, saving it: a TrainingError names
    the checkpoint. A step whose weights are not sane is never saved.
    """
    model_graph.check_devices(train_config.compute)
    check_split(train_config, train_split)
    with lock.exclusive(model_dir):
        seed_note = ''
        if train_config.seed is None:
            seed_note = (" (the resumed run's)" if
                         checkpoints.latest_checkpoint(model_dir)
                         else ' (drawn)')
        train_config = run_record.prepare_model_dir(model_dir, train_config,
                                                     log)
        log(start_line(train_config, model_dir, data_source, seed_note))
        return _train(train_config, model_dir, train_split, log)


def _train(train_config, model_dir, train_split, log):
    batcher = inputs.Batcher(train_split.images, train_split.labels,
                             train_config.batch_size, train_config.seed,
                             train_config.random_shift,
                             train_config.random_rotation,
                             train_config.random_scale)
    started = time.time()
    train_graph = train_op.build_train_graph(train_config)
    log('graph built in %.1f s: %s parameters' % (
        time.time() - started,
        '{:,}'.format(parameter_count(train_graph.graph))))
    session_config = model_graph.session_config(train_config.compute)
    with tf1.Session(graph=train_graph.graph,
                     config=session_config) as session, \
            StopSignals() as stop:
        step = checkpoints.restore_or_initialize(
            session, train_graph.saver, model_dir,
            train_config.keep_checkpoint_every)
        run_record.record_config(model_dir, train_config, step)
        if step:
            log('resuming from step %d in %s' % (step, model_dir))
        train_graph.inputs.start(session, batcher, step)
        with summaries.ScalarWriter(summaries.train_dir(model_dir),
                                    train_graph.graph) as writer:
            progress = Progress(train_config, model_dir, step, log, writer)
            saved_step = step
            while step < train_config.steps:
                if stop.requested:
                    if step > saved_step:
                        save_if_sane(session, train_graph, train_config,
                                     model_dir, step)
                    raise TrainingError(
                        '%s: stopped at step %d; the run is in %s' % (
                            stop.requested, step,
                            checkpoints.latest_checkpoint(model_dir) or
                            '(no checkpoint: nothing trained)'))
                _, *values = session.run(
                    [train_graph.train_op] + progress.fetches(train_graph),
                    feed_dict=train_graph.inputs.feed_dict(step))
                # Counted here, not fetched: a fetched variable read is not
                # ordered with the train op that increments it.
                step += 1
                progress.report(step, *values)
                if (step % train_config.save_every == 0 or
                        step == train_config.steps):
                    save_if_sane(session, train_graph, train_config,
                                 model_dir, step)
                    saved_step = step
    return TrainResult(step, progress.losses)
