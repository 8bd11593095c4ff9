"""`python -m resnet_tf1 export --model_dir D --export_dir E`: a SavedModel
in E/<step>/ (TF Serving's layout) and a frozen_graph.pb, from the EMA
weights (--noema: the raw ones). See resnet_tf1/evaluation/export.py."""

from absl import flags

from resnet_tf1.cli import flag_groups
from resnet_tf1.errors import ConfigError
from resnet_tf1.evaluation import evaluate

FLAGS = flags.FLAGS
TAKES_ARGUMENTS = False


def define_flags():
    flag_groups.define_model_dir('The training directory.', multi=True)
    flag_groups.define_checkpoint()
    flags.DEFINE_string('export_dir', None,
                        'Where version <step>/ goes.')


def main(_):
    from resnet_tf1.evaluation import export
    if not FLAGS.export_dir:
        raise ConfigError('--export_dir is required')
    if len(FLAGS.model_dir) != 1:
        # A repeated flag would otherwise silently export the last one.
        raise ConfigError('export takes one --model_dir, got %d: %s' % (
            len(FLAGS.model_dir), ' '.join(FLAGS.model_dir)))
    checkpoint, train_config = evaluate.resolve_checkpoint(
        FLAGS.model_dir[0], FLAGS.checkpoint_path)
    print('exported %s' % export.export(checkpoint, train_config,
                                        FLAGS.export_dir,
                                        use_ema=FLAGS.ema))
