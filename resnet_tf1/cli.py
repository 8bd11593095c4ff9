"""What train.py, eval.py and `python -m resnet_tf1` share: quiet start-up,
and turning the project's errors into one line and a non-zero exit.

The CLIs stay thin: flags -> a validated config -> one library call.
"""

import os
import sys
import warnings

# TensorFlow logs CUDA probing and CPU-feature notices at import; a CLI user
# wants its own output. Must be set before tensorflow is imported.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# tf-slim's layers call the deprecated Keras-1 `layer.apply` on every layer.
warnings.filterwarnings('ignore', message='`layer.apply` is deprecated')

from absl import flags  # noqa: E402

from resnet_tf1 import config as config_lib  # noqa: E402
from resnet_tf1 import data  # noqa: E402
from resnet_tf1 import training  # noqa: E402

# TensorFlow's Python logger: deprecation notices of the TF1 APIs this
# project uses on purpose, and MonitoredSession's progress chatter.
training.tf.get_logger().setLevel('ERROR')

# Errors that are the user's input, not the program's bugs: one line each.
USER_ERRORS = (config_lib.ConfigError, data.DataError,
               training.TrainingError)


def run(main_fn):
    """Calls main_fn(); a user error exits 1 with its one-line message."""
    try:
        return main_fn()
    except USER_ERRORS as error:
        sys.stderr.write('error: %s\n' % error)
        sys.exit(1)


def parse_flags(argv):
    """An absl `flags_parser` (`app.run(main, flags_parser=parse_flags)`)
    that reports a bad or unknown flag as one line and exits 1, where absl's
    own adds a FATAL banner and a help hint."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        sys.stderr.write('error: %s\n' % ' '.join(str(error).split()))
        sys.exit(1)
