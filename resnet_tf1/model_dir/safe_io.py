"""Writes that never go through a planted link, and reads that never block.

A model directory is often shared (a team's runs directory, a GPU box
where the trainer runs as root): anyone who can write into it could plant
`train_config.json.tmp -> /etc/passwd` and have the next run overwrite the
target. So every file the project writes is written as a new temporary file
created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW, a random name) in the
target's directory and renamed into place, and a link found at a name the
project writes is refused in one line naming it, never followed, never
replaced.

TensorFlow's own writers (Saver, FileWriter) open files through TF's file
system, which follows links: `check_directory` looks at the names they
write before a directory is handed to them.

Files a user names for reading (an image, an events file, a checkpoint)
must be regular files: a FIFO would block `open()` forever.
"""

import errno
import os
import secrets
import stat

from resnet_tf1.errors import ConfigError

# Names the project (or TensorFlow on its behalf) writes in a model
# directory, by prefix: the Saver's `model.ckpt-N.*` and `model.ckpt-N_temp`
# staging, the `checkpoint` state file and its temporaries, event files,
# the run record, the lock, eval_<split>[_raw]/ directories.
MODEL_DIR_PREFIXES = ('model.ckpt', 'checkpoint', 'events.out.tfevents',
                      'train_config.json', 'train.lock', 'eval_')
# Its subdirectories train/ (training's scalars) and eval_<split>[_raw]/
# are checked too, every name in them: TensorFlow writes event files there.


class LinkError(ConfigError):
    """A planted symbolic link where the project would write."""


def link_error(path):
    try:
        target = os.readlink(path)
    except OSError:
        target = '?'
    return LinkError('%s is a symbolic link (to %s): refusing to write '
                     'through it; remove it' % (path, target))


def refuse_link(path):
    """Raises LinkError if `path` is a symbolic link (dangling or not)."""
    if os.path.islink(path):
        raise link_error(path)


def check_directory(directory, prefixes=MODEL_DIR_PREFIXES):
    """Refuses (LinkError, naming it) a link in `directory` whose name
    starts with one of `prefixes`, and (in a model directory) a linked
    train/ or eval_* directory or a link inside one: what TensorFlow's
    writers would follow. `directory` itself may be a
    link: the user named it."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConfigError('%s: cannot list it (%s)' % (
            directory, error.strerror)) from None
    for name in names:
        events = name == 'train' or name.startswith('eval_')
        if not (name.startswith(prefixes) or
                prefixes == MODEL_DIR_PREFIXES and events):
            continue
        path = os.path.join(directory, name)
        refuse_link(path)
        if events and prefixes == MODEL_DIR_PREFIXES and os.path.isdir(path):
            check_directory(path, prefixes=('',))


def _describe(error):
    if error.errno == errno.ENOSPC:
        return 'no space left on the device'
    return error.strerror or str(error)


def write_bytes(path, data, mode=0o644):
    """Writes `data` as the whole new content of `path`: a temporary file
    created exclusively beside it, flushed to disk, renamed into place.
    A link at `path` is refused; on any failure (a full disk) `path` keeps
    its old content and the error is one line naming `path`."""
    refuse_link(path)
    directory = os.path.dirname(path) or '.'
    temporary = os.path.join(directory, '.%s.%s.tmp' % (
        os.path.basename(path), secrets.token_hex(6)))
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT |
                             os.O_EXCL | os.O_NOFOLLOW, mode)
    except OSError as error:
        raise ConfigError('%s: cannot write it (%s)' % (
            path, _describe(error))) from None
    try:
        with os.fdopen(descriptor, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        refuse_link(path)
        os.replace(temporary, path)
    except OSError as error:
        _remove_quietly(temporary)
        raise ConfigError('%s: cannot write it (%s)' % (
            path, _describe(error))) from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def write_text(path, text):
    write_bytes(path, text.encode())


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def open_lock_file(path):
    """A read-write descriptor of the lock file `path`, created if needed,
    never through a link and never a FIFO or device."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW |
                             os.O_NONBLOCK, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise link_error(path) from None
        raise ConfigError('%s: cannot open it (%s)' % (
            path, _describe(error))) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ConfigError('%s: not a regular file; remove it' % path)
    return descriptor


def check_regular_file(path, what=None, error_class=ConfigError):
    """Raises `error_class` unless `path` (followed if a link: reading
    through a link the user named is what they asked) is a regular file:
    a FIFO or device would block or never end."""
    label = '%s %s' % (what, path) if what else path
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise error_class('%s: cannot read it (%s)' % (
            label, error.strerror or error)) from None
    if not stat.S_ISREG(mode):
        kind = ('a directory' if stat.S_ISDIR(mode) else
                'a FIFO' if stat.S_ISFIFO(mode) else
                'a device' if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
                'a socket' if stat.S_ISSOCK(mode) else 'not a file')
        raise error_class('%s: not a regular file (%s)' % (label, kind))
