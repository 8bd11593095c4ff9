"""Tools over the network registry and runs: `python -m resnet_tf1 COMMAND
[flags]`, where `python -m resnet_tf1 COMMAND --help` lists that command's
flags only.

    python -m resnet_tf1 summary --model resnet34
    python -m resnet_tf1 bench --steps 20
    python -m resnet_tf1 export --model_dir MNIST_model --export_dir exported
    python -m resnet_tf1 predict --export_dir exported digit.png
    python -m resnet_tf1 plot --model_dir MNIST_model
    python -m resnet_tf1 signal --model plain34
    python -m resnet_tf1 migrate-check path/to/tf1/code

Each command is a module of resnet_tf1/cli/ with `define_flags()`, which
defines only the flags it takes (the shared ones through flag_groups, so a
flag name means one thing with one default everywhere), and `main(args)`,
run once they are parsed. Bad flags are one line and exit 1.
"""

import importlib
import sys

from absl import app
from absl import flags

from resnet_tf1.cli import launch  # first: quiets TensorFlow before it loads
from resnet_tf1.cli import flag_groups
from resnet_tf1.errors import ConfigError

# Command name -> its module in resnet_tf1/cli/.
COMMANDS = {
    'summary': 'summary',
    'bench': 'bench',
    'export': 'export',
    'predict': 'predict',
    'plot': 'plot',
    'signal': 'signal',
    'migrate-check': 'migrate_check',
}


def _command(argv):
    """The module of the command argv names; one line when it names none."""
    if len(argv) < 2 or argv[1] not in COMMANDS:
        launch.run(lambda: _no_command(argv))
    return importlib.import_module('resnet_tf1.cli.' + COMMANDS[argv[1]])


def _no_command(argv):
    raise ConfigError(
        '%s; usage: python -m resnet_tf1 COMMAND [flags] (COMMAND --help '
        'lists its flags), commands: %s' % (
            'no command' if len(argv) < 2 else
            'unknown command %r' % argv[1], ', '.join(sorted(COMMANDS))))


def main():
    command = _command(sys.argv)
    name = '%s %s' % (sys.argv[0], sys.argv[1])
    arguments = sys.argv[2:]
    if getattr(command, 'OWN_PARSER', False):
        # Its exit status is the command's (migrate-check: 1 on findings).
        sys.exit(launch.run(lambda: command.main(arguments)) or 0)
    command.define_flags()
    flag_groups.define_verbose()
    # `--help` lists the shared flags this command defined as its own.
    flags.adopt_module_key_flags(flag_groups)
    flags.adopt_module_key_flags(command)

    def run_command(argv):
        def run():
            if len(argv) > 1 and not command.TAKES_ARGUMENTS:
                raise ConfigError('unexpected arguments: %s' %
                                  ' '.join(argv[1:]))
            command.main(argv[1:])
        launch.run(run)

    app.run(run_command, argv=[name] + arguments,
            flags_parser=launch.parse_flags)


if __name__ == '__main__':
    main()
