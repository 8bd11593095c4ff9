"""What train.py, eval.py and `python -m resnet_tf1` share at run time: a
quiet start-up, flag parsing, and the project's errors as one line and a
non-zero exit.

Import this module first, before anything that imports TensorFlow: the
C++ runtime reads its log level once, when it is loaded, which is before
any flag is parsed. So `--verbose` is read from the command line here.

The CLIs stay thin: flags -> a validated config -> one library call.
"""

import errno
import os
import re
import signal
import sys
import warnings

# Where the start-up's Ctrl-C line goes: stderr, or its saved copy while
# stderr points at /dev/null (_import_tensorflow_quietly).
_stderr_fd = 2


def _interrupted_while_starting(signum, frame):
    """Ctrl-C while the modules load (TensorFlow's import takes seconds):
    one line, not a KeyboardInterrupt traceback through importlib. Nothing
    is written yet, so the process ends at once."""
    del signum, frame
    try:
        os.write(_stderr_fd, b'error: interrupted (Ctrl-C)\n')
    finally:
        os._exit(130)


# Until run() or parse_flags(): then Ctrl-C is KeyboardInterrupt again,
# which run() reports (and the training loop handles its own).
signal.signal(signal.SIGINT, _interrupted_while_starting)


def _started():
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)

VERBOSE = any(arg in ('--verbose', '--verbose=true', '--verbose=1')
              for arg in sys.argv[1:])
# tf-slim's layers call the deprecated Keras-1 `layer.apply` on every layer.
warnings.filterwarnings('ignore', message='`layer.apply` is deprecated')


def _import_tensorflow_quietly():
    """Imports TensorFlow with the C++ runtime's start-up lines kept out.

    Loading TensorFlow prints its CUDA probing ("Could not find cuda
    drivers", twice: once per library that probes) and CPU-feature notices
    through absl's C++ logging before that is initialized, which
    TF_CPP_MIN_LOG_LEVEL does not filter; so file descriptor 2 points at
    /dev/null for the import. TF_CPP_MIN_LOG_LEVEL=3 (unless the user set
    it) keeps the runtime's later notices ("failed call to cuInit") out.
    """
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to protect
        import tensorflow  # noqa: F401
        return
    global _stderr_fd
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    _stderr_fd = saved
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        _stderr_fd = 2
        os.close(saved)
        os.close(devnull)


if not VERBOSE:
    _import_tensorflow_quietly()

from absl import flags  # noqa: E402
import tensorflow as tf  # noqa: E402

from resnet_tf1 import errors  # noqa: E402
from resnet_tf1.cli import flag_groups  # noqa: E402

if not VERBOSE:
    # TensorFlow's Python logger: deprecation notices of the TF1 APIs this
    # project uses on purpose, slim's "Scale of 0 disables regularizer",
    # MonitoredSession's progress chatter.
    tf.get_logger().setLevel('ERROR')


def run(main_fn):
    """Calls main_fn(); a user error exits 1 with its one-line message, and
    so do what the machine refuses (memory, disk space) and Ctrl-C (130)
    outside the training loop, which handles its own (loop.StopSignals).
    """
    _started()
    try:
        return main_fn()
    except errors.UserError as error:
        _fail('%s' % error)
    except KeyboardInterrupt:
        _fail('interrupted (Ctrl-C)', 130)
    except (MemoryError, tf.errors.ResourceExhaustedError) as error:
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
    own adds a FATAL banner and a help hint; then moves deprecated flags'
    values to their new names (flag_groups.apply_deprecated)."""
    _started()
    try:
        remaining = flags.FLAGS(argv)
    except flags.Error as error:
        sys.stderr.write('error: %s\n' % ' '.join(str(error).split()))
        sys.exit(1)
    flag_groups.apply_deprecated()
    return remaining
