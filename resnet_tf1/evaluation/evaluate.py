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
from resnet_tf1.compute import model_graph
from resnet_tf1.model_dir import summaries
from resnet_tf1.data import inputs
from resnet_tf1.errors import CheckpointError
from resnet_tf1.errors import ConfigError
from resnet_tf1.compute import fast_conv

tf1 = tf.compat.v1

EvalResult = collections.namedtuple(
    'EvalResult', ['step', 'accuracy', 'examples', 'weights', 'checkpoint'])


def format_result(result):
    return 'step=%d accuracy=%.4f examples=%d weights=%s' % (
        result.step, result.accuracy, result.examples, result.weights)


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

    Its convolutions are fast_conv.py's faster formulations where that
    module's rule picks one (`inference_convolutions='fast'`; 'tf':
    TensorFlow's Conv2D everywhere); the variables, and so the checkpoints,
    are the same either way."""

    def __init__(self, train_config, use_ema=True,
                 inference_convolutions='fast'):
        model_graph.check_devices(train_config.model)
        self.train_config = train_config
        self.use_ema = use_ema
        self.graph = tf.Graph()
        with self.graph.as_default():
            model = train_config.model
            self.images, self.labels = inputs.placeholders(model)
            # The precision training computed in (bf16 runs keep float32
            # weights, so the same variables restore either way).
            logits = model_graph.inference_logits(
                train_config, self.images,
                fast_convolutions=inference_convolutions == 'fast')
            # The rearranged kernels fast_conv caches are computed from
            # the restored weights, after each restore.
            self.refresh_kernels = fast_conv.refresh_op()
            self.correct = tf.reduce_sum(tf.cast(
                tf.equal(tf.argmax(logits, 1), self.labels), tf.int64))
            self.global_step = tf1.train.get_or_create_global_step()
            self.var_list = variables_to_restore(train_config, use_ema)
            self.saver = tf1.train.Saver(self.var_list)
        self.session = tf1.Session(
            graph=self.graph, config=model_graph.session_config(train_config))

    def close(self):
        self.session.close()

    def evaluate(self, checkpoint, split, batch_size):
        """Accuracy of `checkpoint` on `split` (a data.mnist.Split)."""
        checkpoints.check_variables(
            checkpoint, self.var_list, 'the %s that %s describes' % (
                self.train_config.model.name, run_record.CONFIG_FILENAME))
        # Saver.restore takes its eager path unless the graph is the
        # default (checkpoints.restore makes it so).
        checkpoints.restore(self.session, self.saver, checkpoint)
        self.session.run(self.refresh_kernels)
        step = int(self.session.run(self.global_step))
        correct = 0
        for start in range(0, len(split.labels), batch_size):
            correct += self.session.run(self.correct, feed_dict={
                self.images: split.images[start:start + batch_size],
                self.labels: split.labels[start:start + batch_size]})
        examples = len(split.labels)
        return EvalResult(step, correct / examples, examples,
                          'ema' if self.use_ema else 'raw', checkpoint)


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
            writer.write(result.step, {'accuracy': result.accuracy})
    except (OSError, tf.errors.OpError) as error:
        warn('%s: cannot write the TensorBoard summary (%s)' % (
            directory, ' '.join(str(getattr(error, 'message', None) or
                                    error).split())[:200]))


def evaluate_all(model_dir, split, batch_size, use_ema=True, report=print,
                 split_name='test', inference_convolutions='fast'):
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
    evaluator = Evaluator(train_config, use_ema, inference_convolutions)
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


def _new_checkpoints(model_dir, timeout, poll_seconds=1.0):
    """Yields each newest checkpoint of `model_dir` (found as
    checkpoints.find_latest finds it, so a directory whose state file is
    lost is still followed) once, until `timeout` seconds pass without one.
    """
    last, waited_since = None, time.time()
    while True:
        checkpoint = checkpoints.latest_checkpoint(model_dir)
        if checkpoint and checkpoint != last:
            last = checkpoint
            yield checkpoint
            waited_since = time.time()
        elif timeout is not None and time.time() - waited_since > timeout:
            return
        else:
            time.sleep(poll_seconds)


def watch(model_dir, split, batch_size, use_ema=True, timeout=None,
          report=print, split_name='test', inference_convolutions='fast'):
    """The classic TF1 eval loop: evaluates each new checkpoint of
    `model_dir` as training writes it, until one at the run's final step
    (or `timeout` seconds without a new one). Returns the last EvalResult."""
    train_config = run_record.load(model_dir)
    evaluator = Evaluator(train_config, use_ema, inference_convolutions)
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
    return result
