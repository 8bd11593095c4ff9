"""The errors that are the user's input, not the program's bugs.

Each carries a one-line message naming the flag, file, checkpoint or
address at fault; `launch.run` prints it as `error: <message>` and exits 1.
This module imports nothing, so any module can raise these without
pulling in the networks or TensorFlow.
"""


class UserError(Exception):
    """Base class: a one-line message (newlines are folded into spaces,
    so a message quoting a file or an OS error still fits one log line)."""

    def __init__(self, message):
        super().__init__(' '.join(str(message).splitlines()))


class ConfigError(UserError, ValueError):
    """A bad flag, flag combination or training config file."""


class DataError(UserError):
    """A data file is missing, unreadable or malformed; the message starts
    with the path at fault, so a log says which file to delete."""


class CheckpointError(UserError):
    """A checkpoint or model directory cannot be used: missing, unreadable,
    or holding another network's variables."""


class ImageError(UserError):
    """An image file given to predict cannot be read or decoded."""


class ClusterError(UserError):
    """A cluster task cannot start, e.g. its address is taken."""


class TrainingError(UserError, RuntimeError):
    """Training cannot go on (for example the loss is no longer finite)."""
