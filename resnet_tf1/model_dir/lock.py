"""One trainer at a time in a model directory: an advisory lock on
`train.lock`."""

import contextlib
import errno
import fcntl
import os

from resnet_tf1.errors import ConfigError

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
    path = os.path.join(model_dir, LOCK_FILENAME)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise ConfigError('%s: cannot open it (%s)' % (
            path, error.strerror)) from None
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
        os.ftruncate(descriptor, 0)
        os.write(descriptor, b'%d\n' % os.getpid())
        yield
    except BaseException:
        if created and sorted(os.listdir(model_dir)) == [LOCK_FILENAME]:
            os.remove(path)
            os.rmdir(model_dir)
        raise
    finally:
        os.close(descriptor)
