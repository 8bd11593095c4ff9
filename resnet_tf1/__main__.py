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
            fast_conv.py's convolutions and with TF's
            (`--inference_convolutions`), alternating; `--eval_only` skips
            training, `--compare keras` adds Keras 3 `model.fit` on the same
            network (`--compare direct,tf`: those --conv_gradients paths,
            their steps alternating with the project's), `--layers` times
            every conv's forward formulations and gradients, `--profile`
            where one training step's time goes (speed/step_profile.py).
            See resnet_tf1/bench/bench.py.
  export    --model_dir D --export_dir E [--checkpoint_path P] [--noema]:
            SavedModel in E/<step>/ (TF Serving layout) + frozen_graph.pb,
            from the EMA weights. See resnet_tf1/evaluation/export.py.
  predict   --export_dir E IMAGE...: top-3 classes of each image file.
  plot      --model_dir D [--out F.png]: training loss, learning rate and
            eval.py's accuracies against the step, from D's TensorBoard
            event files (default --out: D/curves.png; needs matplotlib).
            --model_dir D1 --model_dir D2 ... --out F.png: the runs side
            by side (training cross-entropy, test accuracy), each labelled
            by its network, and a markdown table of where each ended.
            See resnet_tf1/tools/plot.py.
  signal    --model M [--base_depth D --norm none|batch --data_dir D
            --batch_size B --seed S]: at initialization, one batch of
            training images' root mean square after each stage and the
            cross-entropy gradient of every weight relative to the weight:
            why a network does (not) learn. See
            resnet_tf1/tools/init_signal.py.
  migrate-check [--format text|json] PATH...: the TF1 API uses in Python
            files (directories: recursively) that break or change meaning
            on the installed TensorFlow, `path:line: old -> new (section)`,
            and a summary; exit 1 when something breaks. See
            docs/MIGRATION.md and tf1_migrate/checker.py.

A command is a function of the parsed flags registered in `COMMANDS`; the
model flags are shared by every command, so a new command adds its entry
and its flag groups here (flag_groups.py defines them), and its library code
in its own module. Unset model flags take the network's defaults (see
resnet_tf1/nets/registry.py); bad flags are one line and exit 1.
"""

import dataclasses
import sys

from absl import app
from absl import flags

from resnet_tf1.cli import launch  # first: quiets TensorFlow before it loads
from resnet_tf1 import config
from resnet_tf1.cli import flag_groups
from resnet_tf1.errors import ConfigError
from resnet_tf1.evaluation import evaluate
from resnet_tf1.bench import bench
from resnet_tf1.bench import gemm
from resnet_tf1.bench import step_profile
from resnet_tf1.tools import model_summary

import data_set

flag_groups.define_model(shape=True)
flag_groups.define_performance()
flag_groups.define_verbose()

# bench, signal
flag_groups.define_batch_size(help_text='bench: images per training step; '
                             'signal: images measured.')
flag_groups.define_steps(bench.STEPS, 'bench: timed steps per measurement.')
flags.DEFINE_integer('eval_batch_size', data_set.EVAL_BATCH_SIZE,
                     'bench: images per evaluation batch.')
flags.DEFINE_integer('warmup', bench.WARMUP,
                     'bench: untimed steps before timing.')
flags.DEFINE_list('compare', [],
                  'bench: keras, to time Keras 3 too, and/or --conv_gradients '
                  'values to time those training paths too, alternating '
                  "with the project's.")
flags.DEFINE_boolean('peer', True,
                     "bench: also time the plain TF1 path (TF's own conv "
                     'gradients) and print the ratio.')
flags.DEFINE_boolean('layers', False,
                     "bench: time each conv's forward formulations and "
                     'gradients instead.')
flags.DEFINE_boolean('profile', False,
                     "bench: where one training step's time goes, per "
                     "stage and kind of op (TensorFlow's timeline), "
                     'instead.')
flags.DEFINE_boolean('layer_gradients', True,
                     'bench --layers: also time the gradients (at batch 500, '
                     "TF's take minutes).")
flags.DEFINE_boolean('eval_only', False,
                     'bench: time evaluation only, not training.')
flag_groups.define_inference_convolutions(both=True)

# export, predict, plot
flag_groups.define_model_dir(
    'export: the training directory; plot: a training directory, repeated '
    'to draw several runs in one figure.', multi=True)
flag_groups.define_checkpoint()
flags.DEFINE_string('export_dir', None,
                    'export: where version <step>/ goes; predict: an '
                    'export (its newest version) or one version directory.')
flags.DEFINE_string('out', None,
                    'plot: the PNG to write; default, for one --model_dir: '
                    '<model_dir>/curves.png.')

# signal
flag_groups.define_data_dir()
flags.DEFINE_integer('seed', 0, "signal: the graph's random seed.")

# migrate-check
flags.DEFINE_string('format', 'text', 'migrate-check: text | json.')

# `--help` lists the shared flags this command defined as its own.
flags.adopt_module_key_flags(flag_groups)

FLAGS = flags.FLAGS


def model_config_from_flags():
    return flag_groups.model_config().resolved()


def summary_command():
    model = model_config_from_flags()
    try:
        table = model_summary.summarize_model(model)
    except ValueError as error:
        # The flags are valid one by one but not together, e.g. images too
        # small for the stem; the builders say which layer cannot be built.
        raise ConfigError('cannot build %s with these flags: %s' % (
            model.name, ' '.join(str(error).split()))) from None
    print('\n'.join(model_summary.format_summary(table)))


def _compared_paths():
    """The --conv_gradients values --compare lists (besides keras)."""
    kinds = FLAGS.compare or []
    for kind in kinds:
        if kind != 'keras' and kind not in config.CONV_GRADIENTS:
            raise ConfigError(
                '--compare takes keras or a --conv_gradients value (%s), '
                'got %r' % ('|'.join(config.CONV_GRADIENTS), kind))
    return [kind for kind in kinds if kind != 'keras']


def bench_command():
    _compared_paths()
    for flag in ('steps', 'batch_size', 'eval_batch_size'):
        if getattr(FLAGS, flag) < 1:
            raise ConfigError('--%s must be at least 1, got %s' % (
                flag, getattr(FLAGS, flag)))
    if FLAGS.warmup < 0:
        raise ConfigError('--warmup must be at least 0, got %s' %
                                 FLAGS.warmup)
    if FLAGS.inference_convolutions == 'both':
        convolutions = bench.INFERENCE_CONVOLUTIONS
    elif FLAGS.inference_convolutions in bench.INFERENCE_CONVOLUTIONS:
        convolutions = (FLAGS.inference_convolutions,)
    else:
        raise ConfigError(
            '--inference_convolutions must be one of %s|both, got %r' % (
                '|'.join(bench.INFERENCE_CONVOLUTIONS),
                FLAGS.inference_convolutions))
    train_config = config.TrainConfig(
        model=model_config_from_flags(), batch_size=FLAGS.batch_size,
        seed=0, **flag_groups.performance_fields()).resolved()
    if FLAGS.layers:
        print('\n'.join(bench.format_layers(bench.time_layers(
            train_config, FLAGS.steps, gradients=FLAGS.layer_gradients))))
        return
    if FLAGS.profile:
        profile, untraced = bench.profile_training(
            train_config, FLAGS.steps, FLAGS.warmup)
        print('\n'.join(step_profile.format_profile(profile)))
        print('untraced step: %.0f ms (median of %d), images/s=%.1f' % (
            untraced * 1e3, FLAGS.steps, train_config.batch_size / untraced))
        return
    peak = gemm.gemm_peak()
    print('gemm_peak gflop/s=%.1f (numpy float32 4096x4096 matmul)' % peak)
    if not FLAGS.eval_only:
        _bench_training(train_config, peak)
    evaluations = bench.time_evaluations(
        train_config, FLAGS.eval_batch_size, convolutions, FLAGS.steps)
    for timing in evaluations:
        print(bench.format_timing(timing, peak))
    if len(evaluations) == 2:
        print('speedup eval_fast/eval_tf=%.2f' % (
            evaluations[1].seconds / evaluations[0].seconds))


def _bench_training(train_config, peak):
    """bench's training timings: the project's path and its peers, the
    TF1 graphs' steps alternating."""
    configs, labels = [train_config], ['project']
    for kind in _compared_paths():
        configs.append(dataclasses.replace(train_config,
                                           conv_gradients=kind))
        labels.append('conv_' + kind)
    if FLAGS.peer:
        configs.append(dataclasses.replace(
            train_config, conv_gradients='tf', precision='float32',
            xla=False, input_pipeline='feed'))
        labels.append('plain_tf1')
    project, *peers = bench.time_trainings(configs, labels, FLAGS.steps,
                                           FLAGS.warmup)
    # Measured again after: on a shared machine the peak drifts while the
    # steps run; their fractions are of the mean of both.
    peak_after = gemm.gemm_peak()
    print('gemm_peak after training gflop/s=%.1f (fractions below: of the '
          'mean, %.1f)' % (peak_after, (peak + peak_after) / 2))
    peak = (peak + peak_after) / 2
    print(bench.format_timing(project, peak), flush=True)
    if 'keras' in FLAGS.compare:
        peers.append(bench.time_keras(train_config, FLAGS.steps,
                                      FLAGS.warmup))
    for peer in peers:
        print(bench.format_timing(peer, peak), flush=True)
        print('speedup project/%s=%.2f' % (peer.label, peer.seconds /
                                           project.seconds))


def _one_model_dir(command):
    if len(FLAGS.model_dir) != 1:
        raise ConfigError('%s takes one --model_dir, got %d: %s' % (
            command, len(FLAGS.model_dir), ' '.join(FLAGS.model_dir)))
    return FLAGS.model_dir[0]


def export_command():
    from resnet_tf1.evaluation import export
    if not FLAGS.export_dir:
        raise ConfigError('--export_dir is required')
    checkpoint, train_config = evaluate.resolve_checkpoint(
        _one_model_dir('export'), FLAGS.checkpoint_path)
    print('exported %s' % export.export(checkpoint, train_config,
                                        FLAGS.export_dir,
                                        use_ema=FLAGS.ema))


def predict_command(paths):
    from resnet_tf1.evaluation import predict
    if not FLAGS.export_dir:
        raise ConfigError('--export_dir is required')
    if not paths:
        raise ConfigError('predict: give one or more image files')
    for prediction in predict.predict(FLAGS.export_dir, paths):
        print(predict.format_prediction(prediction))


def plot_command():
    from resnet_tf1.tools import plot  # imports matplotlib only when asked
    if len(FLAGS.model_dir) == 1:
        print('wrote %s' % plot.plot(FLAGS.model_dir[0], FLAGS.out))
        return
    out, table = plot.compare(FLAGS.model_dir, FLAGS.out)
    print('\n'.join(table))
    print('wrote %s' % out)


def signal_command():
    from resnet_tf1.compute import model_graph
    from resnet_tf1.data import mnist
    from resnet_tf1.tools import init_signal
    model = model_config_from_flags()
    model_graph.check_devices(model)
    if model.image_size != data_set.IMAGE_SIZE or model.channels != 1:
        raise ConfigError('signal measures on MNIST: --image_size %d '
                          '--channels 1' % data_set.IMAGE_SIZE)
    if FLAGS.batch_size < 1:
        raise ConfigError('--batch_size must be at least 1, got %d' %
                          FLAGS.batch_size)
    train = mnist.load_mnist(FLAGS.data_dir).train
    signal = init_signal.measure(model, train.images[:FLAGS.batch_size],
                                 train.labels[:FLAGS.batch_size],
                                 FLAGS.seed)
    print('\n'.join(init_signal.format_signal(model.name, signal)))


def migrate_check_command(paths):
    from tf1_migrate import checker
    if FLAGS.format not in ('text', 'json'):
        raise ConfigError('--format must be text or json, got %r' %
                          FLAGS.format)
    if not paths:
        raise ConfigError('migrate-check: give one or more Python files or '
                          'directories')
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
    'signal': signal_command,
    'migrate-check': migrate_check_command,
}
TAKES_ARGUMENTS = ('predict', 'migrate-check')


def main(argv):
    def run():
        if len(argv) < 2 or argv[1] not in COMMANDS:
            raise ConfigError(
                '%s; usage: python -m resnet_tf1 COMMAND [flags], commands: '
                '%s' % ('no command' if len(argv) < 2 else
                        'unknown command %r' % argv[1],
                        ', '.join(sorted(COMMANDS))))
        if argv[1] in TAKES_ARGUMENTS:
            COMMANDS[argv[1]](argv[2:])
            return
        if len(argv) > 2:
            raise ConfigError('unexpected arguments: %s' %
                              ' '.join(argv[2:]))
        COMMANDS[argv[1]]()

    launch.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=launch.parse_flags)
