"""`python -m resnet_tf1 summary`: the per-layer table of a network (output
shape, parameters, multiply-accumulates per image), counted from the built
graph; the last line is `params=<N> macs=<M>`."""

from absl import flags

from resnet_tf1.cli import flag_groups
from resnet_tf1.errors import ConfigError
from resnet_tf1.tools import model_summary

FLAGS = flags.FLAGS
TAKES_ARGUMENTS = False


def define_flags():
    flag_groups.define_model(shape=True)


def main(_):
    model = flag_groups.model_config().resolved()
    try:
        table = model_summary.summarize_model(model)
    except ValueError as error:
        # The flags are valid one by one but not together, e.g. images too
        # small for the stem; the builders say which layer cannot be built.
        raise ConfigError('cannot build %s with these flags: %s' % (
            model.name, ' '.join(str(error).split()))) from None
    print('\n'.join(model_summary.format_summary(table)))
