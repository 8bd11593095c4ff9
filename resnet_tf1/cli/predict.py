"""`python -m resnet_tf1 predict --export_dir E IMAGE...`: the top-3
classes of each image file, from an export. See
resnet_tf1/evaluation/predict.py."""

from absl import flags

from resnet_tf1.errors import ConfigError

FLAGS = flags.FLAGS
TAKES_ARGUMENTS = True


def define_flags():
    flags.DEFINE_string('export_dir', None,
                        'An export (its newest version) or one version '
                        'directory.')


def main(paths):
    from resnet_tf1.evaluation import predict
    if not FLAGS.export_dir:
        raise ConfigError('--export_dir is required')
    if not paths:
        raise ConfigError('predict: give one or more image files')
    for prediction in predict.predict(FLAGS.export_dir, paths):
        print(predict.format_prediction(prediction))
