"""`python -m resnet_tf1 bench`: steady-state training images/s of this
project's default path and of the plain TF1 path (TF's conv kernels), in
one run, with the GEMM peak measured alongside, then evaluation images/s
with the fast convolutions and with TF's (`--inference_convolutions`),
alternating. `--eval_only` skips training, `--compare keras` adds Keras 3
`model.fit` on the same network (`--compare direct,tf`: those
--conv_gradients paths, their steps alternating with the project's),
`--layers` times every conv's forward formulations and gradients,
`--profile` where one training step's time goes. See
resnet_tf1/bench/bench.py."""

import dataclasses

from absl import flags

import data_set
from resnet_tf1 import config
from resnet_tf1.bench import bench
from resnet_tf1.bench import gemm
from resnet_tf1.bench import step_profile
from resnet_tf1.cli import flag_groups
from resnet_tf1.errors import ConfigError

FLAGS = flags.FLAGS
TAKES_ARGUMENTS = False


def define_flags():
    flag_groups.define_model(shape=True)
    flag_groups.define_performance()
    flag_groups.define_batch_size()
    flag_groups.define_eval_batch_size(data_set.EVAL_BATCH_SIZE)
    flags.DEFINE_integer('steps', bench.STEPS,
                         'Timed steps per measurement.')
    flags.DEFINE_integer('warmup', bench.WARMUP,
                         'Untimed steps before timing.')
    flags.DEFINE_list('compare', [],
                      'keras, to time Keras 3 too, and/or --conv_gradients '
                      'values to time those training paths too, alternating '
                      "with the project's.")
    flags.DEFINE_boolean('peer', True,
                         "Also time the plain TF1 path (TF's own conv "
                         'gradients) and print the ratio.')
    flags.DEFINE_boolean('layers', False,
                         "Time each conv's forward formulations and "
                         'gradients instead.')
    flags.DEFINE_boolean('profile', False,
                         "Where one training step's time goes, per stage "
                         "and kind of op (TensorFlow's timeline), instead.")
    flags.DEFINE_boolean('layer_gradients', True,
                         'With --layers: also time the gradients (at batch '
                         "500, TF's take minutes).")
    flags.DEFINE_boolean('eval_only', False,
                         'Time evaluation only, not training.')
    flag_groups.define_inference_convolutions(both=True)


def _compared_paths():
    """The --conv_gradients values --compare lists (besides keras)."""
    kinds = FLAGS.compare or []
    for kind in kinds:
        if kind != 'keras' and kind not in config.CONV_GRADIENTS:
            raise ConfigError(
                '--compare takes keras or a --conv_gradients value (%s), '
                'got %r' % ('|'.join(config.CONV_GRADIENTS), kind))
    return [kind for kind in kinds if kind != 'keras']


def main(_):
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
    # bench times each --inference_convolutions itself ('both': in turn).
    train_config = config.TrainConfig(
        model=flag_groups.model_config().resolved(),
        compute=flag_groups.compute_config(inference_convolutions='fast'),
        batch_size=FLAGS.batch_size, seed=0).resolved()
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
    def with_compute(**fields):
        return dataclasses.replace(train_config, compute=dataclasses.replace(
            train_config.compute, **fields))

    for kind in _compared_paths():
        configs.append(with_compute(conv_gradients=kind))
        labels.append('conv_' + kind)
    if FLAGS.peer:
        configs.append(with_compute(conv_gradients='tf', precision='float32',
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
