"""One trainer at a time in a model directory: an advisory lock on
`train.lock`."""

import contextlib
import errno
import fcntl
import os

from resnet_tf1.errors import ConfigError
from resnet_tf1.model_dir import safe_io

LOCK_FILENAME = 'train.lock'


@contextlib.contextmanager
def exclusive(model_dir):
    """Creates `model_dir` if needed and holds it for one trainer: a second
    one is refused in one line.

    An advisory `fcntl.flock` on `model_dir/train.lock`: the kernel drops it
    when the process ends however it ends (kill -9 included), so a stale
    lock never blocks, with no PID file whose process might be gone or its
    number reused. The file itself stays (removing it would race with a
    trainer that has just opened it). A directory this call created is
    removed again if the run fails before writing anything else there.
    """
    created = not os.path.isdir(model_dir)
    try:
        os.makedirs(model_dir, exist_ok=True)
    except OSError as error:
        raise ConfigError('--model_dir %s: cannot create it (%s)' % (
            model_dir, error.strerror)) from None
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise ConfigError('--model_dir %s: not writable' % model_dir)
    # A planted link where this run or TensorFlow would write: refused
    # before anything is written (safe_io).
    safe_io.check_directory(model_dir)
    path = os.path.join(model_dir, LOCK_FILENAME)
    descriptor = safe_io.open_lock_file(path)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.read(descriptor, 64).decode(errors='replace').strip()
        os.close(descriptor)
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise ConfigError('%s: cannot lock it (%s)' % (
                path, error.strerror)) from None
        raise ConfigError(
            '--model_dir %s: another trainer%s is using it (%s is locked); '
            'wait for it to end or use another --model_dir' % (
                model_dir, ' (pid %s)' % holder if holder else '', path))
    try:
        try:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, b'%d\n' % os.getpid())
        except OSError as error:
            raise ConfigError('%s: cannot write it (%s)' % (
                path, error.strerror)) from None
        yield
    except BaseException:
        if created and sorted(os.listdir(model_dir)) == [LOCK_FILENAME]:
            os.remove(path)
            os.rmdir(model_dir)
        raise
    finally:
        os.close(descriptor)


def is_held(model_dir):
    """Whether a trainer holds `model_dir` now (its lock is taken). Opens
    the lock file read-only, without following a link, and writes
    nothing."""
    path = os.path.join(model_dir, LOCK_FILENAME)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW |
                             os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)
    return False
