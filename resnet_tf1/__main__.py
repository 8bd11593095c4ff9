"""Tools over the network registry: `python -m resnet_tf1 COMMAND [flags]`.

    python -m resnet_tf1 summary --model resnet34
    python -m resnet_tf1 summary --model densenet121 --image_size 224 \\
        --channels 3 --num_classes 1000 --stem imagenet

Commands:
  summary   per-layer table of a network (output shape, parameters,
            multiply-accumulates per image) counted from the built graph;
            the last line is `params=<N> macs=<M>`.

A command is a function of the parsed flags registered in `COMMANDS`; the
model flags below are shared by every command, so a new command (export,
predict, bench) adds its entry and any flags of its own here, and its
library code in its own module. Unset model flags take the network's
defaults (see resnet_tf1/nets.py); bad flags are one line and exit 1.
"""

import dataclasses
import logging

from absl import app
from absl import flags

from resnet_tf1 import cli  # first: quiets TensorFlow's start-up logs
from resnet_tf1 import config
from resnet_tf1 import summary

# One source for the defaults: the ModelConfig field defaults (train.py's
# 28x28x1, 10-class MNIST setting).
_MODEL_DEFAULTS = {field.name: field.default
                   for field in dataclasses.fields(config.ModelConfig)}

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


# command name -> the function that runs it once the flags are parsed.
COMMANDS = {
    'summary': summary_command,
}


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
        if len(argv) > 2:
            raise config.ConfigError('unexpected arguments: %s' %
                                     ' '.join(argv[2:]))
        COMMANDS[argv[1]]()

    cli.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
