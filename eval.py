"""Evaluates a trained model's checkpoint (EMA weights by default).

    python eval.py

prints one line `step=<N> accuracy=<0.xxxx> examples=<M> weights=ema`. The
network is rebuilt from the training config saved in --model_dir.
"""

import sys

from absl import app
from absl import flags

from resnet_tf1 import cli
from resnet_tf1 import config
from resnet_tf1 import data
from resnet_tf1 import evaluation

import data_set

flags.DEFINE_string('model_dir', data_set.MODEL_DIR,
                    'Where train.py wrote checkpoints.')
flags.DEFINE_string('checkpoint_path', None,
                    'A specific checkpoint (e.g. MNIST_model/model.ckpt-300) '
                    'instead of the newest in --model_dir.')
flags.DEFINE_string('data_dir', data_set.DATA_DIR,
                    'MNIST .gz files; downloaded there if missing.')
flags.DEFINE_enum('split', 'test', ['test', 'validation'],
                  'Which split to evaluate.')
flags.DEFINE_integer('batch_size', data_set.EVAL_BATCH_SIZE,
                     'Images per evaluation batch (any size works).')
flags.DEFINE_bool('no_ema', False,
                  'Evaluate the raw weights instead of their moving average.')
flags.DEFINE_bool('watch', False,
                  'Evaluate each new checkpoint as training writes it, until '
                  'the final step.')
flags.DEFINE_bool('fast_convolutions', True,
                  'Compute the small-map convs with fewer multiplications '
                  '(resnet_tf1/fast_conv.py); --nofast_convolutions: '
                  'TensorFlow\'s Conv2D everywhere. Same predictions.')
flags.DEFINE_float('watch_timeout', 3600,
                   'With --watch: give up after this many seconds without a '
                   'new checkpoint.')

FLAGS = flags.FLAGS


def main(argv):
    cli.refuse_arguments(argv)

    def run():
        if FLAGS.batch_size < 1:
            raise config.ConfigError('--batch_size must be at least 1, got %d'
                                     % FLAGS.batch_size)
        use_ema = not FLAGS.no_ema
        if FLAGS.watch:
            if FLAGS.checkpoint_path:
                raise config.ConfigError(
                    '--watch follows --model_dir; drop --checkpoint_path')
            if not FLAGS.watch_timeout > 0:  # NaN included
                raise config.ConfigError('--watch_timeout must be a positive '
                                         'number of seconds, got %s' %
                                         FLAGS.watch_timeout)
            config.load(FLAGS.model_dir)  # fail now, not after loading data
            split = getattr(data.load_mnist(FLAGS.data_dir), FLAGS.split)
            evaluation.watch(FLAGS.model_dir, split, FLAGS.batch_size,
                             use_ema, timeout=FLAGS.watch_timeout,
                             split_name=FLAGS.split,
                             fast_convolutions=FLAGS.fast_convolutions)
            return
        checkpoint, train_config = evaluation.resolve_checkpoint(
            FLAGS.model_dir, FLAGS.checkpoint_path,
            log=lambda line: sys.stderr.write('note: %s\n' % line))
        split = getattr(data.load_mnist(FLAGS.data_dir), FLAGS.split)
        evaluator = evaluation.Evaluator(train_config, use_ema,
                                         FLAGS.fast_convolutions)
        try:
            result = evaluator.evaluate(checkpoint, split, FLAGS.batch_size)
        finally:
            evaluator.close()
        # The result first: a model directory that cannot take the
        # summary (read-only) still gets it.
        print(evaluation.format_result(result), flush=True)
        evaluation.write_summary(result, FLAGS.split)

    cli.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
