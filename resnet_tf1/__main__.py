"""Tools over the network registry: `python -m resnet_tf1 COMMAND [flags]`.

    python -m resnet_tf1 summary --model resnet34
    python -m resnet_tf1 summary --model densenet121 --image_size 224 \\
        --channels 3 --num_classes 1000 --stem imagenet

Commands:
  summary   per-layer table of a network (output shape, parameters,
            multiply-accumulates per image) counted from the built graph;
            the last line is `params=<N> macs=<M>`.
  bench     steady-state training images/s of this project's default path
            and of the plain TF1 path (TF's conv kernels), in one run, with
            the GEMM peak measured alongside, then evaluation images/s with
            fast_conv.py's convolutions and with TF's (`--eval_convolutions`),
            alternating; `--eval_only` skips training, `--compare keras` adds
            Keras 3 `model.fit` on the same network, `--layers` times every
            conv's forward formulations and gradients. See
            resnet_tf1/bench.py.
  export    --model_dir D --export_dir E [--checkpoint_path P] [--no_ema]:
            SavedModel in E/<step>/ (TF Serving layout) + frozen_graph.pb,
            from the EMA weights. See resnet_tf1/export.py.
  predict   --export_dir E IMAGE...: top-3 classes of each image file.
  plot      --model_dir D [--out F.png]: training loss, learning rate and
            eval.py's accuracies against the step, from D's TensorBoard
            event files (default --out: D/curves.png; needs matplotlib).
            See resnet_tf1/plot.py.
  migrate-check [--format text|json] PATH...: the TF1 API uses in Python
            files (directories: recursively) that break or change meaning
            on the installed TensorFlow, `path:line: old -> new (section)`,
            and a summary; exit 1 when something breaks. See
            docs/MIGRATION.md and resnet_tf1/migration/checker.py.

A command is a function of the parsed flags registered in `COMMANDS`; the
model flags below are shared by every command, so a new command (export,
predict, bench) adds its entry and any flags of its own here, and its
library code in its own module. Unset model flags take the network's
defaults (see resnet_tf1/nets.py); bad flags are one line and exit 1.
"""

import dataclasses
import logging
import sys

from absl import app
from absl import flags

from resnet_tf1 import cli  # first: quiets TensorFlow's start-up logs
from resnet_tf1 import bench
from resnet_tf1 import config
from resnet_tf1 import evaluation
from resnet_tf1 import summary

# One source for the defaults: the ModelConfig field defaults (train.py's
# 28x28x1, 10-class MNIST setting).
_MODEL_DEFAULTS = {field.name: field.default
                   for field in dataclasses.fields(config.ModelConfig)}
_TRAIN_DEFAULTS = {field.name: field.default
                   for field in dataclasses.fields(config.TrainConfig)}

flags.DEFINE_string('model', _MODEL_DEFAULTS['name'],
                    'Network name (see resnet_tf1/nets.py).')
flags.DEFINE_integer('image_size', _MODEL_DEFAULTS['image_size'],
                     'Input height and width.')
flags.DEFINE_integer('channels', _MODEL_DEFAULTS['channels'],
                     'Input channels.')
flags.DEFINE_integer('num_classes', _MODEL_DEFAULTS['num_classes'],
                     'Width of the logits.')
flags.DEFINE_string('norm', None,
                    "none | batch; default: the network's own.")
flags.DEFINE_string('shortcut', None,
                    'A (zero-pad) | B (projection) | C (always project), '
                    "for residual nets; default: the network's own.")
flags.DEFINE_integer('base_depth', None,
                     "First-stage width (DenseNet: growth rate); default: "
                     "the network's own.")
flags.DEFINE_string('stem', None,
                    "mnist | cifar | imagenet; default: the network's own.")
flags.DEFINE_string('data_format', _MODEL_DEFAULTS['data_format'],
                    'NHWC | NCHW.')

# bench
flags.DEFINE_integer('batch_size', 100, 'bench: images per training step.')
flags.DEFINE_integer('eval_batch_size', 500,
                     'bench: images per evaluation batch.')
flags.DEFINE_integer('steps', 10, 'bench: timed steps per measurement.')
flags.DEFINE_integer('warmup', 3, 'bench: untimed steps before timing.')
flags.DEFINE_string('compare', None, 'bench: keras, to time Keras 3 too.')
flags.DEFINE_boolean('peer', True,
                     'bench: also time the plain TF1 path (TF\'s own conv '
                     'gradients) and print the ratio.')
flags.DEFINE_boolean('layers', False,
                     'bench: time each conv\'s forward formulations and '
                     'gradients instead.')
flags.DEFINE_boolean('layer_gradients', True,
                     'bench --layers: also time the gradients (at batch 500, '
                     'TF\'s take minutes).')
flags.DEFINE_boolean('eval_only', False,
                     'bench: time evaluation only, not training.')
flags.DEFINE_string('eval_convolutions', 'both',
                    'bench: fast | tf | both: evaluation with fast_conv.py\'s '
                    'formulations (what eval.py runs), TF\'s Conv2D, or both '
                    'alternating.')
flags.DEFINE_string('conv_gradients', _TRAIN_DEFAULTS['conv_gradients'],
                    "bench: fast | tf, for the project's path.")
flags.DEFINE_string('input_pipeline', _TRAIN_DEFAULTS['input_pipeline'],
                    'bench: feed | dataset (see train.py --helpfull).')
flags.DEFINE_string('precision', _TRAIN_DEFAULTS['precision'],
                    'bench: float32 | bf16.')
flags.DEFINE_boolean('xla', _TRAIN_DEFAULTS['xla'],
                     'bench: compile with XLA.')
flags.DEFINE_integer('intra_op_threads', _TRAIN_DEFAULTS['intra_op_threads'],
                     "bench: 0 = TensorFlow's choice.")
flags.DEFINE_integer('inter_op_threads', _TRAIN_DEFAULTS['inter_op_threads'],
                     "bench: 0 = TensorFlow's choice.")
flags.DEFINE_integer('num_devices', _TRAIN_DEFAULTS['num_devices'],
                     'bench: towers (logical CPU devices without GPUs).')

# export, predict, plot
flags.DEFINE_string('model_dir', None,
                    'export, plot: the training directory.')
flags.DEFINE_string('checkpoint_path', None,
                    'export: a checkpoint prefix; default: the newest.')
flags.DEFINE_string('export_dir', None,
                    'export: where version <step>/ goes; predict: an '
                    'export (its newest version) or one version directory.')
flags.DEFINE_boolean('no_ema', False, 'export: the raw weights instead.')

flags.DEFINE_string('out', None,
                    'plot: the PNG to write; default: <model_dir>/curves.png.')

# migrate-check
flags.DEFINE_string('format', 'text', 'migrate-check: text | json.')

FLAGS = flags.FLAGS


def model_config_from_flags():
    return config.ModelConfig(
        name=FLAGS.model, num_classes=FLAGS.num_classes, norm=FLAGS.norm,
        shortcut=FLAGS.shortcut, base_depth=FLAGS.base_depth, stem=FLAGS.stem,
        image_size=FLAGS.image_size, channels=FLAGS.channels,
        data_format=FLAGS.data_format).resolved()


def summary_command():
    model = model_config_from_flags()
    try:
        model_summary = summary.summarize_model(model)
    except ValueError as error:
        # The flags are valid one by one but not together, e.g. images too
        # small for the stem; the builders say which layer cannot be built.
        raise config.ConfigError('cannot build %s with these flags: %s' % (
            model.name, ' '.join(str(error).split()))) from None
    print('\n'.join(summary.format_summary(model_summary)))


def bench_command():
    if FLAGS.compare not in (None, 'keras'):
        raise config.ConfigError('--compare must be keras, got %r' %
                                 FLAGS.compare)
    for flag in ('steps', 'batch_size', 'eval_batch_size'):
        if getattr(FLAGS, flag) < 1:
            raise config.ConfigError('--%s must be at least 1, got %s' % (
                flag, getattr(FLAGS, flag)))
    if FLAGS.warmup < 0:
        raise config.ConfigError('--warmup must be at least 0, got %s' %
                                 FLAGS.warmup)
    if FLAGS.eval_convolutions == 'both':
        eval_convolutions = bench.EVAL_CONVOLUTIONS
    elif FLAGS.eval_convolutions in bench.EVAL_CONVOLUTIONS:
        eval_convolutions = (FLAGS.eval_convolutions,)
    else:
        raise config.ConfigError(
            '--eval_convolutions must be one of %s|both, got %r' % (
                '|'.join(bench.EVAL_CONVOLUTIONS), FLAGS.eval_convolutions))
    train_config = config.TrainConfig(
        model=model_config_from_flags(), batch_size=FLAGS.batch_size,
        seed=0, conv_gradients=FLAGS.conv_gradients,
        precision=FLAGS.precision,
        input_pipeline=FLAGS.input_pipeline, xla=FLAGS.xla,
        intra_op_threads=FLAGS.intra_op_threads,
        inter_op_threads=FLAGS.inter_op_threads,
        num_devices=FLAGS.num_devices).resolved()
    if FLAGS.layers:
        print('\n'.join(bench.format_layers(bench.time_layers(
            train_config, FLAGS.steps, gradients=FLAGS.layer_gradients))))
        return
    peak = bench.gemm_peak()
    print('gemm_peak gflop/s=%.1f (numpy float32 4096x4096 matmul)' % peak)
    if not FLAGS.eval_only:
        _bench_training(train_config, peak)
    evaluations = bench.time_evaluations(
        train_config, FLAGS.eval_batch_size, eval_convolutions, FLAGS.steps)
    for timing in evaluations:
        print(bench.format_timing(timing, peak))
    if len(evaluations) == 2:
        print('speedup eval_fast/eval_tf=%.2f' % (
            evaluations[1].seconds / evaluations[0].seconds))


def _bench_training(train_config, peak):
    """bench's training timings: the project's path and its peers."""
    project = bench.time_training(train_config, FLAGS.steps, FLAGS.warmup)
    print(bench.format_timing(project, peak), flush=True)
    peers = []
    if FLAGS.peer:
        peers.append(bench.time_training(
            dataclasses.replace(train_config, conv_gradients='tf',
                                precision='float32', xla=False,
                                input_pipeline='feed'),
            FLAGS.steps, FLAGS.warmup, label='plain_tf1'))
    if FLAGS.compare == 'keras':
        peers.append(bench.time_keras(train_config, FLAGS.steps,
                                      FLAGS.warmup))
    for peer in peers:
        print(bench.format_timing(peer, peak), flush=True)
        print('speedup project/%s=%.2f' % (peer.label, peer.seconds /
                                           project.seconds))


def export_command():
    from resnet_tf1 import export
    if not FLAGS.export_dir:
        raise config.ConfigError('--export_dir is required')
    if not (FLAGS.model_dir or FLAGS.checkpoint_path):
        raise config.ConfigError('--model_dir or --checkpoint_path is '
                                 'required')
    checkpoint, train_config = evaluation.resolve_checkpoint(
        FLAGS.model_dir, FLAGS.checkpoint_path)
    print('exported %s' % export.export(checkpoint, train_config,
                                        FLAGS.export_dir,
                                        use_ema=not FLAGS.no_ema))


def predict_command(paths):
    from resnet_tf1 import predict
    if not FLAGS.export_dir:
        raise config.ConfigError('--export_dir is required')
    if not paths:
        raise config.ConfigError('predict: give one or more image files')
    for prediction in predict.predict(FLAGS.export_dir, paths):
        print(predict.format_prediction(prediction))


def plot_command():
    from resnet_tf1 import plot
    if not FLAGS.model_dir:
        raise config.ConfigError('--model_dir is required')
    print('wrote %s' % plot.plot(FLAGS.model_dir, FLAGS.out))


def migrate_check_command(paths):
    from resnet_tf1.migration import checker
    if FLAGS.format not in ('text', 'json'):
        raise config.ConfigError('--format must be text or json, got %r' %
                                 FLAGS.format)
    if not paths:
        raise config.ConfigError('migrate-check: give one or more Python '
                                 'files or directories')
    report = checker.check(paths)
    print(report.json() if FLAGS.format == 'json' else report.text())
    if report.failed:
        sys.exit(1)


# command name -> the function that runs it once the flags are parsed;
# the commands in TAKES_ARGUMENTS get the remaining arguments.
COMMANDS = {
    'summary': summary_command,
    'bench': bench_command,
    'export': export_command,
    'predict': predict_command,
    'plot': plot_command,
    'migrate-check': migrate_check_command,
}
TAKES_ARGUMENTS = ('predict', 'migrate-check')


def main(argv):
    # TensorFlow's INFO lines (slim's "Scale of 0 disables regularizer" for
    # the unregularized graphs built here) are not the tools' output.
    logging.getLogger('tensorflow').setLevel(logging.WARNING)

    def run():
        if len(argv) < 2 or argv[1] not in COMMANDS:
            raise config.ConfigError(
                '%s; usage: python -m resnet_tf1 COMMAND [flags], commands: '
                '%s' % ('no command' if len(argv) < 2 else
                        'unknown command %r' % argv[1],
                        ', '.join(sorted(COMMANDS))))
        if argv[1] in TAKES_ARGUMENTS:
            COMMANDS[argv[1]](argv[2:])
            return
        if len(argv) > 2:
            raise config.ConfigError('unexpected arguments: %s' %
                                     ' '.join(argv[2:]))
        COMMANDS[argv[1]]()

    cli.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
