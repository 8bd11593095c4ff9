"""What train.py, eval.py and `python -m resnet_tf1` share: quiet start-up,
and turning the project's errors into one line and a non-zero exit.

The CLIs stay thin: flags -> a validated config -> one library call.
"""

import errno
import os
import re
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
    """Calls main_fn(); a user error exits 1 with its one-line message, and
    so do what the machine refuses (memory, disk space) and Ctrl-C (130)
    outside the training loop, which handles its own (training.StopSignals).
    """
    try:
        return main_fn()
    except USER_ERRORS as error:
        _fail('%s' % error)
    except KeyboardInterrupt:
        _fail('interrupted (Ctrl-C)', 130)
    except (MemoryError, training.tf.errors.ResourceExhaustedError) as error:
        # TensorFlow's message is pages of graph trace around one line.
        detail = re.search(r'OOM when allocating tensor with shape\[[^\]]*\]',
                           str(error))
        _fail('out of memory%s; use a smaller --base_depth or --batch_size' %
              (' (%s)' % detail.group(0) if detail else ''))
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        _fail('%s: no space left on the device' % error.filename)


def _fail(message, status=1):
    sys.stderr.write('error: %s\n' % ' '.join(message.split()))
    sys.exit(status)


def refuse_arguments(argv):
    """absl hands a script's positional arguments to main(); these scripts
    take none: one line, not absl's usage text."""
    if len(argv) > 1:
        _fail('unexpected argument %s (flags are --name=value; see --help)'
              % ' '.join(argv[1:]))


def parse_flags(argv):
    """An absl `flags_parser` (`app.run(main, flags_parser=parse_flags)`)
    that reports a bad or unknown flag as one line and exits 1, where absl's
    own adds a FATAL banner and a help hint."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        sys.stderr.write('error: %s\n' % ' '.join(str(error).split()))
        sys.exit(1)
