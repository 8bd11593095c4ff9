"""Evaluates a trained model's checkpoint (EMA weights by default).

    python eval.py

prints one line `step=<N> accuracy=<0.xxxx> examples=<M> weights=ema
loss=<x>` on stdout (loss: cross-entropy + L2, the training loss's formula),
after a start line (checkpoint, split, images, weights) and, on a long
evaluation, progress lines on stderr; `--split test` reads only the t10k
files. The network is rebuilt from the training config saved in
--model_dir.
`--all_checkpoints` prints one such line per checkpoint kept in --model_dir,
oldest first, and `--watch` one per checkpoint as training writes it; each
result also goes to TensorBoard's <model_dir>/eval_<split>[_raw].
"""

import sys

from absl import app
from absl import flags

from resnet_tf1.cli import launch  # first: quiets TensorFlow before it loads
from resnet_tf1.cli import flag_groups
from resnet_tf1.data import mnist
from resnet_tf1.errors import ConfigError
from resnet_tf1.evaluation import evaluate
from resnet_tf1.model_dir import run_record


flag_groups.define_model_dir('Where train.py wrote checkpoints.')
flag_groups.define_checkpoint()
flag_groups.define_data_dir()
flag_groups.define_eval_batch_size(old_spelling=True)
flag_groups.define_inference_convolutions()
flag_groups.define_data_format()
flag_groups.define_verbose()
flags.DEFINE_enum('split', 'test', ['test', 'validation'],
                  'Which split to evaluate.')
flags.DEFINE_bool('watch', False,
                  'Evaluate each new checkpoint as training writes it, until '
                  'the final step.')
flags.DEFINE_bool('all_checkpoints', False,
                  'Evaluate every checkpoint in --model_dir, oldest first '
                  '(the --keep_checkpoint_every milestones and the newest), '
                  'for the accuracy curve of a finished run.')
flags.DEFINE_float('watch_timeout', 3600,
                   'With --watch: give up after this many seconds without a '
                   'new checkpoint.')
# `--help` lists the shared flags this command defined as its own.
flags.adopt_module_key_flags(flag_groups)

FLAGS = flags.FLAGS


def note(line):
    """Start and progress lines go to stderr: stdout keeps the results
    alone, one line per checkpoint, for scripts."""
    sys.stderr.write('%s\n' % line)
    sys.stderr.flush()


def _evaluate_all():
    for flag in ('watch', 'checkpoint_path'):
        if FLAGS[flag].value:
            raise ConfigError('--all_checkpoints evaluates every checkpoint '
                              'of --model_dir; drop --%s' % flag)
    run_record.load(FLAGS.model_dir)  # fail now, not after loading data
    split = mnist.load_split(FLAGS.data_dir, FLAGS.split)
    evaluate.evaluate_all(
        FLAGS.model_dir, split, FLAGS.eval_batch_size, FLAGS.ema,
        report=lambda line: print(line, flush=True), split_name=FLAGS.split,
        compute=flag_groups.compute_config())


def main(argv):
    launch.refuse_arguments(argv)

    def run():
        if FLAGS.eval_batch_size < 1:
            raise ConfigError('--eval_batch_size must be at least 1, got '
                              '%d' % FLAGS.eval_batch_size)
        # How this evaluation computes, checked before any reading.
        compute = flag_groups.compute_config()
        if FLAGS.all_checkpoints:
            _evaluate_all()
            return
        if FLAGS.watch:
            if FLAGS.checkpoint_path:
                raise ConfigError(
                    '--watch follows --model_dir; drop --checkpoint_path')
            if not FLAGS.watch_timeout > 0:  # NaN included
                raise ConfigError('--watch_timeout must be a positive '
                                  'number of seconds, got %s' %
                                  FLAGS.watch_timeout)
            # Fail now, not after loading the data.
            run_record.load(FLAGS.model_dir)
            split = mnist.load_split(FLAGS.data_dir, FLAGS.split)
            evaluate.watch(FLAGS.model_dir, split, FLAGS.eval_batch_size,
                           FLAGS.ema, timeout=FLAGS.watch_timeout,
                           split_name=FLAGS.split, compute=compute)
            return
        checkpoint, train_config = evaluate.resolve_checkpoint(
            FLAGS.model_dir, FLAGS.checkpoint_path,
            log=lambda line: sys.stderr.write('note: %s\n' % line))
        split = mnist.load_split(FLAGS.data_dir, FLAGS.split)
        # Before the graph build, the slow part: what is being evaluated.
        note(evaluate.start_line(checkpoint, FLAGS.split,
                                 len(split.labels), FLAGS.ema))
        evaluator = evaluate.Evaluator(train_config, FLAGS.ema, compute)
        try:
            result = evaluator.evaluate(checkpoint, split,
                                        FLAGS.eval_batch_size,
                                        progress=note)
        finally:
            evaluator.close()
        # The result first: a model directory that cannot take the
        # summary (read-only) still gets it.
        print(evaluate.format_result(result), flush=True)
        evaluate.write_summary(result, FLAGS.split)

    launch.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=launch.parse_flags)
