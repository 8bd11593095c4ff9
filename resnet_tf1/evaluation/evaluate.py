"""Evaluation: restore a checkpoint (its EMA weights by default) into the
inference graph and measure accuracy over a whole split, in batches.

What network to build comes from the training config saved beside the
checkpoints, never from repeated flags. The step comes from the restored
`global_step`, not from the checkpoint's file name.
"""

import collections
import os
import sys
import time

import tensorflow as tf

from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import checkpoints
from resnet_tf1 import config as config_lib
from resnet_tf1.compute import model_graph
from resnet_tf1.model_dir import lock
from resnet_tf1.model_dir import safe_io
from resnet_tf1.model_dir import summaries
from resnet_tf1.data import inputs
from resnet_tf1.errors import CheckpointError
from resnet_tf1.errors import ConfigError
from resnet_tf1.errors import TrainingError
from resnet_tf1.compute import fast_conv

tf1 = tf.compat.v1

# `loss` is the training loss's formula on the whole split: the mean
# cross-entropy plus the L2 term of the evaluated weights.
EvalResult = collections.namedtuple(
    'EvalResult', ['step', 'accuracy', 'examples', 'weights', 'checkpoint',
                   'loss', 'cross_entropy'], defaults=(None, None))

# eval.py's progress: a line at most this often on a long evaluation.
PROGRESS_SECONDS = 10.0


def format_result(result):
    line = 'step=%d accuracy=%.4f examples=%d weights=%s' % (
        result.step, result.accuracy, result.examples, result.weights)
    if result.loss is not None:
        line += ' loss=%.4f' % result.loss
    return line


def start_line(checkpoint, split_name, examples, use_ema):
    """What eval.py prints before its slow graph build."""
    return 'eval checkpoint=%s split=%s images=%d weights=%s' % (
        checkpoint, split_name, examples, 'ema' if use_ema else 'raw')


def variables_to_restore(train_config, use_ema):
    """Checkpoint name -> variable of the default graph's inference network:
    each trainable variable from its EMA shadow
    ("<name>/ExponentialMovingAverage"; training averaged exactly the
    trainable variables) when `use_ema`, else from itself; the others
    (global_step, BN moving statistics) from themselves."""
    if use_ema:
        return tf1.train.ExponentialMovingAverage(
            train_config.ema_decay).variables_to_restore(
                tf1.trainable_variables())
    return {variable.op.name: variable for variable in tf1.global_variables()}


class Evaluator:
    """The inference graph of one trained model, built once and restored
    from any number of its checkpoints.

    `train_config` is the run's record: what network, which weight decay
    (for the loss). How the graph is computed is evaluation's own
    `compute`, not the run's: a run trained NCHW on a GPU, or in bfloat16,
    is evaluated as `compute` says (float32 NHWC by default). Its
    convolutions are fast_conv's faster formulations where that rule picks
    one (compute.inference_convolutions 'fast'; 'tf': TensorFlow's Conv2D
    everywhere); the variables, and so the checkpoints, are the same either
    way."""

    def __init__(self, train_config, use_ema=True,
                 compute=config_lib.ComputeConfig()):
        model_graph.check_devices(compute)
        self.train_config = train_config
        self.use_ema = use_ema
        self.graph = tf.Graph()
        with self.graph.as_default():
            model = train_config.model
            self.images, self.labels = inputs.placeholders(model)
            logits = model_graph.inference_logits(
                model, compute, self.images,
                weight_decay=train_config.weight_decay)
            # The rearranged kernels fast_conv caches are computed from
            # the restored weights, after each restore.
            self.refresh_kernels = fast_conv.refresh_op()
            self.logits = logits
            self.correct = tf.reduce_sum(tf.cast(
                tf.equal(tf.argmax(logits, 1), self.labels), tf.int64))
            # Summed in float64 over the batches, divided once.
            self.cross_entropy_sum = tf.reduce_sum(tf.cast(
                tf1.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=self.labels, logits=logits), tf.float64))
            self.l2 = tf1.losses.get_regularization_loss()
            self.global_step = tf1.train.get_or_create_global_step()
            self.var_list = variables_to_restore(train_config, use_ema)
            self.saver = tf1.train.Saver(self.var_list)
        self.session = tf1.Session(
            graph=self.graph, config=model_graph.session_config(compute))

    def close(self):
        self.session.close()

    def _restore(self, checkpoint):
        checkpoints.check_variables(
            checkpoint, self.var_list, 'the %s that %s describes' % (
                self.train_config.model.name, run_record.CONFIG_FILENAME))
        # Saver.restore takes its eager path unless the graph is the
        # default (checkpoints.restore makes it so).
        checkpoints.restore(self.session, self.saver, checkpoint)

    def evaluate(self, checkpoint, split, batch_size, progress=None,
                 progress_seconds=PROGRESS_SECONDS):
        """Accuracy and loss of `checkpoint` on `split` (a
        data.mnist.Split); `progress` gets a line at most every
        `progress_seconds` while the batches run. If a
        running trainer's rotation deletes it while it is read, the newest
        complete checkpoint of its directory is read instead
        (checkpoints.read_newest); the result names the one evaluated."""
        checkpoint = checkpoints.read_newest(checkpoint, self._restore)
        self.session.run(self.refresh_kernels)
        step, l2 = self.session.run([self.global_step, self.l2])
        correct, cross_entropy = 0, 0.0
        examples = len(split.labels)
        started = last_report = time.time()
        for start in range(0, examples, batch_size):
            batch_correct, batch_cross_entropy = self.session.run(
                [self.correct, self.cross_entropy_sum], feed_dict={
                    self.images: split.images[start:start + batch_size],
                    self.labels: split.labels[start:start + batch_size]})
            correct += batch_correct
            cross_entropy += batch_cross_entropy
            done = min(start + batch_size, examples)
            if progress and done < examples and (
                    time.time() - last_report >= progress_seconds):
                last_report = time.time()
                progress('eval step %d: %d/%d images, accuracy so far %.4f '
                         '(%.0f s)' % (step, done, examples, correct / done,
                                       last_report - started))
        cross_entropy /= examples
        return EvalResult(int(step), correct / examples, examples,
                          'ema' if self.use_ema else 'raw', checkpoint,
                          cross_entropy + float(l2), cross_entropy)


def resolve_checkpoint(model_dir=None, checkpoint_path=None, log=None):
    """The checkpoint to evaluate and the config of its run.

    `checkpoint_path` (a prefix such as model_dir/model.ckpt-300, or one of
    its files) wins over `model_dir`'s newest checkpoint; the config is
    read from the directory that holds the checkpoint. `log` gets a line
    when the newest checkpoint is found from the files, not the state file
    (checkpoints.find_latest).
    """
    if checkpoint_path:
        checkpoint_path = checkpoints.checkpoint_prefix(checkpoint_path)
        if not tf1.train.checkpoint_exists(checkpoint_path):
            raise CheckpointError(
                '--checkpoint_path %s: no such checkpoint' % checkpoint_path)
        # A FIFO or device in its place would block the reader forever.
        directory = os.path.dirname(checkpoint_path) or '.'
        for name in sorted(os.listdir(directory)):
            if name.startswith(os.path.basename(checkpoint_path) + '.'):
                safe_io.check_regular_file(
                    os.path.join(directory, name), '--checkpoint_path',
                    CheckpointError)
        return checkpoint_path, run_record.load(
            os.path.dirname(checkpoint_path) or '.')
    if not os.path.isdir(model_dir):
        raise ConfigError('--model_dir %s: no such directory' % model_dir)
    checkpoint, note = checkpoints.find_latest(model_dir)
    if not checkpoint:
        raise CheckpointError('--model_dir %s: holds no checkpoint' %
                              model_dir)
    if note and log:
        log(note)
    return checkpoint, run_record.load(model_dir)


def _warn(line):
    sys.stderr.write('warning: %s\n' % line)


def write_summary(result, split_name, checkpoint_dir=None, warn=_warn):
    """Appends `result`'s accuracy at its step to TensorBoard's
    <checkpoint dir>/eval_<split>[_raw]. A directory that cannot be
    written (a read-only model directory) is one `warn` line: the result
    stands without its summary."""
    directory = summaries.eval_dir(
        checkpoint_dir or os.path.dirname(result.checkpoint) or '.',
        split_name, result.weights == 'ema')
    try:
        with summaries.ScalarWriter(directory) as writer:
            values = {summaries.ACCURACY: result.accuracy}
            if result.loss is not None:
                values.update({summaries.LOSS: result.loss,
                               summaries.CROSS_ENTROPY: result.cross_entropy})
            writer.write(result.step, values)
    except safe_io.LinkError:
        raise  # a planted link: refused, not a warning
    except (OSError, tf.errors.OpError, ConfigError) as error:
        warn('%s: cannot write the TensorBoard summary (%s)' % (
            directory, ' '.join(str(getattr(error, 'message', None) or
                                    error).split())[:200]))


def evaluate_all(model_dir, split, batch_size, use_ema=True, report=print,
                 split_name='test', compute=config_lib.ComputeConfig()):
    """Evaluates every complete checkpoint of `model_dir`, oldest first
    (the milestones `--keep_checkpoint_every` kept and the newest ones),
    reporting each result and writing it to its TensorBoard summary, as
    eval.py does for one: the accuracy curve of a finished run. Returns
    the EvalResults."""
    if not os.path.isdir(model_dir):
        raise ConfigError('--model_dir %s: no such directory' % model_dir)
    train_config = run_record.load(model_dir)
    prefixes = checkpoints.all_checkpoints(model_dir)
    if not prefixes:
        raise CheckpointError('--model_dir %s: holds no checkpoint' %
                              model_dir)
    evaluator = Evaluator(train_config, use_ema, compute)
    results = []
    try:
        for prefix in prefixes:
            result = evaluator.evaluate(prefix, split, batch_size)
            report(format_result(result))
            write_summary(result, split_name, model_dir)
            results.append(result)
    finally:
        evaluator.close()
    return results


# With --watch: seconds a model directory may stay without a trainer (its
# lock free) and without a new checkpoint before the watch reports the
# trainer stopped; a resumed trainer takes the lock within seconds.
STOPPED_TRAINER_SECONDS = 60.0


def _new_checkpoints(model_dir, timeout, poll_seconds=1.0):
    """Yields each newest checkpoint of `model_dir` (found as
    checkpoints.find_latest finds it, so a directory whose state file is
    lost is still followed) once, until `timeout` seconds pass without one,
    or STOPPED_TRAINER_SECONDS (or `timeout`, if shorter) pass without one
    while no trainer holds the directory (lock.is_held)."""
    last, waited_since, free_since = None, time.time(), None
    stopped_after = min(STOPPED_TRAINER_SECONDS, timeout or float('inf'))
    while True:
        checkpoint = checkpoints.latest_checkpoint(model_dir)
        now = time.time()
        if checkpoint and checkpoint != last:
            last = checkpoint
            yield checkpoint
            waited_since = time.time()
            continue
        if lock.is_held(model_dir):
            free_since = None
        elif free_since is None:
            free_since = now
        if timeout is not None and now - waited_since > timeout:
            return
        if (free_since is not None and
                now - max(free_since, waited_since) > stopped_after):
            return
        time.sleep(poll_seconds)


def watch(model_dir, split, batch_size, use_ema=True, timeout=None,
          report=print, split_name='test',
          compute=config_lib.ComputeConfig()):
    """The classic TF1 eval loop: evaluates each new checkpoint of
    `model_dir` as training writes it, until one at the run's final step
    (or `timeout` seconds without a new one). Returns the last EvalResult."""
    train_config = run_record.load(model_dir)
    evaluator = Evaluator(train_config, use_ema, compute)
    result = None
    try:
        for checkpoint in _new_checkpoints(model_dir, timeout):
            result = evaluator.evaluate(checkpoint, split, batch_size)
            report(format_result(result))
            write_summary(result, split_name, model_dir)
            # The config is re-read: a resumed run may have raised --steps.
            if result.step >= run_record.load(model_dir).steps:
                break
    finally:
        evaluator.close()
    if result is None:
        raise CheckpointError(
            '--model_dir %s: no checkpoint appeared within %s s' %
            (model_dir, timeout))
    steps = run_record.load(model_dir).steps
    if result.step < steps:
        # Not the end of the run: a dead trainer must not look finished.
        raise TrainingError(
            '--model_dir %s: %s; the last step seen is %d of --steps %d '
            '(%s)' % (
                model_dir, 'a trainer holds it but wrote no new checkpoint '
                'within %g s' % timeout if lock.is_held(model_dir) else
                'the trainer stopped (%s is free) and no new checkpoint '
                'came' % lock.LOCK_FILENAME, result.step, steps,
                os.path.basename(result.checkpoint)))
    return result
