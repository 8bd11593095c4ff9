"""Training: the train graph (loss, L2, learning-rate decay, BN updates, EMA)
and the loop that feeds it and writes checkpoints.

The train op is ordered, BN moving-statistics updates -> gradient step ->
EMA update, through control dependencies. Unordered (as in the article and
in tf-slim's train script), the EMA may read a variable before or after the
step depending on thread timing, and two runs with one seed drift apart.
"""

import collections
import contextlib
import math
import signal
import threading
import time

import tensorflow as tf

from resnet_tf1 import checkpoints
from resnet_tf1 import config as config_lib
from resnet_tf1 import conv_gradients
from resnet_tf1 import data
from resnet_tf1 import nets
from resnet_tf1 import precision
from resnet_tf1 import summaries
from resnet_tf1 import towers

tf1 = tf.compat.v1

TrainGraph = collections.namedtuple('TrainGraph', [
    'graph', 'inputs', 'images', 'labels', 'logits', 'cross_entropy', 'loss',
    'learning_rate', 'accuracy', 'global_step', 'train_op', 'saver',
    'optimizer', 'grads_and_vars'])

TrainResult = collections.namedtuple('TrainResult', ['step', 'losses'])


class TrainingError(RuntimeError):
    """Training cannot go on (for example the loss is no longer finite)."""


def input_placeholders(model):
    """Images [None, size, size, channels] (NHWC; the batch size is not baked
    into the graph) and integer labels [None]."""
    images = tf1.placeholder(
        tf.float32, [None, model.image_size, model.image_size, model.channels],
        name='images')
    labels = tf1.placeholder(tf.int64, [None], name='labels')
    return images, labels


class FeedInputs:
    """The article's input path: placeholders, fed one batch per step from
    the Batcher in Python."""

    def __init__(self, model):
        self.images, self.labels = input_placeholders(model)
        self._batcher = None

    def start(self, session, batcher, first_step):
        del session, first_step
        self._batcher = batcher

    def feed_dict(self, step):
        images, labels = self._batcher.batch(step)
        return {self.images: images, self.labels: labels}


class StagedInputs:
    """A tf.data path: the whole split is copied into the graph once (at
    `start`), and a prefetching pipeline gathers each step's batch from it
    by the Batcher's indices, so batches are those of the feed path and
    nothing crosses feed_dict per step."""

    def __init__(self, model):
        shape = [model.image_size, model.image_size, model.channels]
        self._first_step = tf1.placeholder(tf.int64, [], name='first_step')
        self._all_images = tf1.placeholder(tf.float32, [None] + shape,
                                           name='staged_images')
        self._all_labels = tf1.placeholder(tf.int64, [None],
                                           name='staged_labels')
        self._batcher = None

        def batch_indices(step):
            return self._batcher.indices(int(step))

        # Endless, like the Batcher: the loop decides how many batches it
        # takes (a cluster worker may take more than the steps it has left).
        dataset = tf.data.Dataset.range(self._first_step, 2 ** 62).map(
            lambda step: tf.numpy_function(batch_indices, [step], tf.int64))
        dataset = dataset.map(lambda indices: (
            tf.gather(self._all_images, indices),
            tf.gather(self._all_labels, indices))).prefetch(1)
        self._iterator = tf1.data.make_initializable_iterator(dataset)
        self.images, self.labels = self._iterator.get_next()
        self.images.set_shape([None] + shape)
        self.labels.set_shape([None])

    def start(self, session, batcher, first_step):
        self._batcher = batcher
        session.run(self._iterator.initializer, {
            self._first_step: first_step, self._all_images: batcher.images,
            self._all_labels: batcher.labels})

    def feed_dict(self, step):
        del step
        return None


INPUT_PIPELINES = {'feed': FeedInputs, 'dataset': StagedInputs}


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


def network_logits(train_config, images, is_training, weight_decay=0.0):
    """float32 logits of the config's network on NHWC float32 `images`,
    built the way the config says to compute it (data format, precision,
    conv gradients, XLA); the variables are the same whichever way."""
    model = train_config.model
    inputs = tf.cast(to_data_format(images, model.data_format),
                     precision.compute_dtype(train_config.precision))
    graph = tf1.get_default_graph()
    with conv_gradients.fast_gradients(
            graph, train_config.conv_gradients == 'fast'), \
            precision.compute_precision(train_config.precision), \
            _xla(train_config.xla):
        try:
            logits, _ = nets.build(model, inputs, is_training=is_training,
                                   weight_decay=weight_decay)
        except ValueError as error:
            if isinstance(error, config_lib.ConfigError):
                raise
            # Flags valid one by one but not together (AlexNet's pools on
            # the ImageNet stem's small maps): the builder names the layer.
            raise config_lib.ConfigError('cannot build %s with these flags: '
                                         '%s' % (model.name, ' '.join(
                                             str(error).split()))) from None
    return tf.cast(logits, tf.float32)


def session_config(train_config):
    """The Session's ConfigProto: thread pools as the config says, and the
    logical CPU devices of towers on a machine without GPUs."""
    return tf1.ConfigProto(
        intra_op_parallelism_threads=train_config.intra_op_threads,
        inter_op_parallelism_threads=train_config.inter_op_threads,
        device_count=towers.session_device_count(train_config.num_devices))


def make_optimizer(train_config, learning_rate):
    if train_config.optimizer == 'momentum':
        return tf1.train.MomentumOptimizer(learning_rate,
                                           train_config.momentum)
    return tf1.train.GradientDescentOptimizer(learning_rate)


def build_train_graph(train_config, sync_replicas=None, device_function=None):
    """Builds the whole training graph in a new tf.Graph.

    With `train_config.num_devices` > 1 the network is replicated in towers
    (towers.py). `sync_replicas` (distributed.py) wraps the optimizer for
    synchronous training across a cluster's workers: a callable
    (optimizer, ema) -> tf.compat.v1.train.SyncReplicasOptimizer, which
    then applies the averaged gradients and the EMA on the chief's behalf.
    Without it the train op is ordered as the module docstring says.
    `device_function` places every op (a cluster's replica_device_setter).
    """
    graph = tf.Graph()
    with graph.as_default(), tf1.device(device_function):
        tf1.set_random_seed(train_config.seed)
        inputs = INPUT_PIPELINES[train_config.input_pipeline](
            train_config.model)
        images, labels = inputs.images, inputs.labels

        def build_tower(images, labels):
            logits = network_logits(train_config, images, is_training=True,
                                    weight_decay=train_config.weight_decay)
            cross_entropy = tf.reduce_mean(
                tf1.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=labels, logits=logits), name='cross_entropy')
            # With towers the L2 term is in every tower's loss: their mean
            # is the whole batch's cross-entropy + L2.
            loss = tf.add(cross_entropy,
                          tf1.losses.get_regularization_loss(), name='loss')
            return logits, cross_entropy, loss

        # The networks first: ops made before them would shift the op seeds
        # their initializers derive from the graph seed.
        built = towers.build(build_tower, images, labels,
                             towers.tower_devices(train_config.num_devices))
        logits, cross_entropy, loss = towers.merged_outputs(built)
        global_step = tf1.train.get_or_create_global_step()
        learning_rate = tf1.train.exponential_decay(
            train_config.learning_rate, global_step,
            decay_steps=train_config.steps_per_epoch,
            decay_rate=train_config.learning_rate_decay, staircase=True,
            name='learning_rate')
        accuracy = tf.reduce_mean(tf.cast(
            tf.equal(tf.argmax(logits, 1), labels), tf.float32),
            name='batch_accuracy')
        optimizer = make_optimizer(train_config, learning_rate)
        grads_and_vars = towers.gradients(
            built, lambda loss: optimizer.compute_gradients(
                loss, colocate_gradients_with_ops=True))

        ema = tf1.train.ExponentialMovingAverage(
            train_config.ema_decay, num_updates=global_step)
        # Batch norm's moving-statistics updates, of tower 0 only (towers.py).
        bn_updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS,
                                        built[0].scope)
        if sync_replicas is not None:
            optimizer = sync_replicas(optimizer, ema)
            # Not a control dependency around apply_gradients: that would
            # also hang the chief's update loop, built inside it, on this
            # worker's fed batch.
            train_op = tf.group(
                optimizer.apply_gradients(grads_and_vars,
                                          global_step=global_step),
                *bn_updates, name='train_op')
        else:
            with tf.control_dependencies(bn_updates):
                gradient_step = optimizer.apply_gradients(
                    grads_and_vars, global_step=global_step)
            with tf.control_dependencies([gradient_step]):
                train_op = ema.apply(tf1.trainable_variables())
        # Relative paths in the `checkpoint` state file: a moved directory
        # still finds its checkpoints.
        saver = tf1.train.Saver(max_to_keep=5, save_relative_paths=True)
    return TrainGraph(graph, inputs, images, labels, logits, cross_entropy,
                      loss, learning_rate, accuracy, global_step, train_op,
                      saver, optimizer, grads_and_vars)


def _format_duration(seconds):
    seconds = int(seconds)
    return '%dh%02dm%02ds' % (seconds // 3600, seconds // 60 % 60, seconds % 60)


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
        self._log('%sstep %d/%d loss %.4f lr %.5f images/s %.1f eta %s' % (
            self._prefix, step, steps, loss, learning_rate, images_per_second,
            _format_duration(seconds_left)))
        if self._writer:
            self._writer.write(step, dict(
                loss=loss, cross_entropy=cross_entropy,
                learning_rate=learning_rate, batch_accuracy=accuracy,
                images_per_second=images_per_second))


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


def check_devices(model):
    """Refuses, before anything is written, a data format this machine
    cannot run: TensorFlow's CPU kernels take NHWC only."""
    if model.data_format == 'NCHW' and not tf.config.list_physical_devices(
            'GPU'):
        raise config_lib.ConfigError(
            '--data_format NCHW needs a GPU (TensorFlow\'s CPU convolutions '
            'take NHWC only); use --data_format NHWC')


def check_split(train_config, train_split):
    if len(train_split.labels) < train_config.batch_size:
        raise data.DataError(
            'the training split holds %d images (after the validation '
            'images), fewer than --batch_size %d' % (
                len(train_split.labels), train_config.batch_size))


def save_if_sane(session, train_graph, train_config, model_dir, step,
                 name=None):
    """Saves the checkpoint of `step` unless its weights are not sane
    (checkpoints.weights_problem): then raises the divergence error, the
    newest checkpoint still being the last sane one."""
    problem = checkpoints.weights_problem(session, train_graph.graph)
    if problem:
        raise diverged_error(train_config, model_dir, step,
                             'the weights diverge: %s' % problem, name)
    checkpoints.save(session, train_graph.saver, model_dir, step,
                     train_config.keep_checkpoint_every)


def train(train_config, model_dir, train_split, log=print):
    """Trains until `train_config.steps` (the total, resuming from the newest
    checkpoint in `model_dir` if there is one), saving every `save_every`
    steps and at the end.

    Args:
        train_config: a resolved config.TrainConfig. With no seed, a resumed
            run keeps the seed it was started with, a new run draws one;
            either way the seed used is in the saved config.
        model_dir: where checkpoints and the training config go.
        train_split: a data.Split of training images and labels.
        log: called with one formatted line per log step.

    Returns:
        TrainResult(final step, [(step, loss) for every step run]).

    The directory is held for this run only (checkpoints.exclusive), and
    its config is rewritten only once the checkpoint restored. SIGINT or
    SIGTERM stops after the current step, saving it: a TrainingError names
    the checkpoint. A step whose weights are not sane is never saved.
    """
    check_devices(train_config.model)
    check_split(train_config, train_split)
    with checkpoints.exclusive(model_dir):
        train_config = checkpoints.prepare_model_dir(model_dir, train_config,
                                                     log)
        return _train(train_config, model_dir, train_split, log)


def _train(train_config, model_dir, train_split, log):
    batcher = data.Batcher(train_split.images, train_split.labels,
                           train_config.batch_size, train_config.seed)
    train_graph = build_train_graph(train_config)
    with tf1.Session(graph=train_graph.graph,
                     config=session_config(train_config)) as session, \
            StopSignals() as stop:
        step = checkpoints.restore_or_initialize(
            session, train_graph.saver, model_dir,
            train_config.keep_checkpoint_every)
        checkpoints.record_config(model_dir, train_config, step)
        if step:
            log('resuming from step %d in %s' % (step, model_dir))
        train_graph.inputs.start(session, batcher, step)
        with summaries.ScalarWriter(model_dir, train_graph.graph) as writer:
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
