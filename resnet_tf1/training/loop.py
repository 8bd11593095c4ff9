"""The training loop: feeds the train op (train_op.py), logs, writes
TensorBoard scalars and checkpoints, and resumes from the newest one.

A step's batch is a pure function of (seed, step) (data/inputs.py), so a
resumed run continues the data order of the run it resumes.
"""

import collections
import math
import time

import tensorflow as tf

from resnet_tf1 import checkpoints
from resnet_tf1 import compute
from resnet_tf1 import summaries
from resnet_tf1.data import inputs
from resnet_tf1.errors import TrainingError
from resnet_tf1.training import train_op

tf1 = tf.compat.v1

TrainResult = collections.namedtuple('TrainResult', ['step', 'losses'])


def _format_duration(seconds):
    seconds = int(seconds)
    return '%dh%02dm%02ds' % (seconds // 3600, seconds // 60 % 60,
                              seconds % 60)


class Progress:
    """What a training loop reports after each step: refuses a loss that is
    no longer finite, keeps the losses, and at log steps writes a log line
    (prefixed with `name`, e.g. a cluster worker's) and, given a writer, the
    TensorBoard scalars."""

    def __init__(self, train_config, model_dir, first_step, log, writer=None,
                 name=None):
        self._config = train_config
        self._model_dir = model_dir
        self._log = log
        self._writer = writer
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
            raise TrainingError(
                'loss is %s at step %d%s; stopping, the last checkpoint in '
                '%s is kept' % (loss, step, self._prefix and ' on ' +
                                self._prefix[:-2], self._model_dir))
        self.losses.append((step, float(loss)))
        steps = self._config.steps
        if step % self._config.log_every and step < steps:
            return
        images_per_second = ((step - self._started_step) *
                             self._config.global_batch_size /
                             (time.time() - self._started))
        seconds_left = ((steps - step) * self._config.global_batch_size /
                        max(images_per_second, 1e-9))
        self._log('%sstep %d/%d loss %.4f lr %.5f images/s %.1f eta %s' % (
            self._prefix, step, steps, loss, learning_rate, images_per_second,
            _format_duration(seconds_left)))
        if self._writer:
            self._writer.write(step, dict(
                loss=loss, cross_entropy=cross_entropy,
                learning_rate=learning_rate, batch_accuracy=accuracy,
                images_per_second=images_per_second))


def train(train_config, model_dir, train_split, log=print):
    """Trains until `train_config.steps` (the total, resuming from the newest
    checkpoint in `model_dir` if there is one), saving every `save_every`
    steps and at the end.

    Args:
        train_config: a resolved config.TrainConfig. With no seed, a resumed
            run keeps the seed it was started with, a new run draws one;
            either way the seed used is in the saved config.
        model_dir: where checkpoints and the training config go.
        train_split: a data.mnist.Split of training images and labels.
        log: called with one formatted line per log step.

    Returns:
        TrainResult(final step, [(step, loss) for every step run]).
    """
    train_config = checkpoints.prepare_model_dir(model_dir, train_config)
    batcher = inputs.Batcher(train_split.images, train_split.labels,
                             train_config.batch_size, train_config.seed)
    train_graph = train_op.build_train_graph(train_config)
    with tf1.Session(graph=train_graph.graph,
                     config=compute.session_config(train_config)) as session, \
            summaries.ScalarWriter(model_dir, train_graph.graph) as writer:
        step = checkpoints.restore_or_initialize(
            session, train_graph.saver, model_dir,
            train_config.keep_checkpoint_every)
        if step:
            log('resuming from step %d in %s' % (step, model_dir))
        train_graph.inputs.start(session, batcher, step)
        progress = Progress(train_config, model_dir, step, log, writer)
        while step < train_config.steps:
            _, *values = session.run(
                [train_graph.train_op] + progress.fetches(train_graph),
                feed_dict=train_graph.inputs.feed_dict(step))
            # Counted here, not fetched: a fetched variable read is not
            # ordered with the train op that increments it.
            step += 1
            progress.report(step, *values)
            if (step % train_config.save_every == 0
                    or step == train_config.steps):
                checkpoints.save(session, train_graph.saver, model_dir, step,
                                 train_config.keep_checkpoint_every)
    return TrainResult(step, progress.losses)
