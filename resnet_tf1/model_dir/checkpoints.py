"""The model directory: checkpoints and the training config beside them.

Checkpoints are plain `tf.train.Saver` files (`model.ckpt-<step>.index` and
`.data-*`, listed by the `checkpoint` state file), readable by
`tf.train.load_checkpoint` and `inspect_checkpoint`. The config file says
what network they hold, so a directory is never restored into another model.

Nothing written is lost: the newest checkpoint is found from the files
themselves when the state file does not lead to it (deleted, corrupt,
naming a deleted checkpoint, or the absolute paths of a moved directory),
one trainer at a time holds a directory (`exclusive`), and the config is
rewritten only once a run is accepted (`record_config`).
"""

import os
import re
import stat

import tensorflow as tf

from resnet_tf1.errors import CheckpointError
from resnet_tf1.errors import ConfigError
from resnet_tf1.model_dir import safe_io

tf1 = tf.compat.v1

CHECKPOINT_BASENAME = 'model.ckpt'
STATE_FILENAME = 'checkpoint'
_INDEX = re.compile(r'^%s-(\d+)\.index$' % re.escape(CHECKPOINT_BASENAME))
_DATA = re.compile(r'\.data-(\d{5})-of-(\d{5})$')


def _complete_checkpoints(model_dir):
    """[(step, prefix)], oldest first, of the checkpoints whose index and
    every data shard are present (the Saver renames the data files into
    place before the index, so an index means the data was complete)."""
    try:
        names = set(os.listdir(model_dir))
    except OSError:
        return []
    found = []
    for name in names:
        match = _INDEX.match(name)
        if not match:
            continue
        prefix = name[:-len('.index')]
        shards = [_DATA.search(other) for other in names
                  if other.startswith(prefix + '.data-')]
        shards = [shard for shard in shards if shard]
        if shards and len(shards) == int(shards[0].group(2)) and all(
                _regular(os.path.join(model_dir, other)) for other in
                [name] + [shard.string for shard in shards]):
            found.append((int(match.group(1)),
                          os.path.join(model_dir, prefix)))
    return sorted(found)


def _regular(path):
    """Whether `path` is a regular file: a FIFO named like a checkpoint
    file would block its reader forever."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _readable(prefix):
    """Whether every tensor of checkpoint `prefix` reads back (a data file
    that is truncated or overwritten fails here)."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError):
        # IndexError: the reader's "Read less bytes than requested".
        return False
    return True


def _state(model_dir):
    """The `checkpoint` state file's proto, or None when it is missing or
    unreadable (TensorFlow returns None for some damage, raises for
    other)."""
    try:
        return tf1.train.get_checkpoint_state(model_dir)
    except (tf.errors.OpError, ValueError):
        return None


def find_latest(model_dir):
    """(newest checkpoint prefix in `model_dir` or None, a one-line note
    or None). The note says why the state file was not followed: then the
    newest complete and readable checkpoint on disk is used. Raises
    CheckpointError if the directory holds checkpoint files none of which is
    usable, so that training never starts again from step 0 over them."""
    complete = _complete_checkpoints(model_dir)
    state = _state(model_dir)
    listed = state and os.path.basename(state.model_checkpoint_path)
    if complete and listed == os.path.basename(complete[-1][1]) and (
            os.path.dirname(state.model_checkpoint_path) ==
            os.path.dirname(complete[-1][1])):
        return complete[-1][1], None
    state_path = os.path.join(model_dir, STATE_FILENAME)
    if not complete:
        # Index and data files; not a save's `.tempstate` files, which a
        # kill during the first save leaves.
        stray = sorted(name for name in _listdir(model_dir)
                       if name.startswith(CHECKPOINT_BASENAME + '-') and
                       (_INDEX.match(name) or _DATA.search(name)))
        if stray:
            raise CheckpointError(
                '--model_dir %s holds checkpoint files (%s) but no complete '
                'checkpoint; move them away or use another --model_dir' %
                (model_dir, ', '.join(stray[:3])))
        return None, None
    if state is None:
        reason = '%s is missing or unreadable' % state_path
    elif os.path.dirname(state.model_checkpoint_path) != os.path.dirname(
            complete[-1][1]) and listed == os.path.basename(
                complete[-1][1]):
        reason = '%s lists %s (the directory was moved?)' % (
            state_path, state.model_checkpoint_path)
    elif not os.path.exists(os.path.join(model_dir, listed + '.index')):
        reason = '%s names %s, which is gone' % (state_path, listed)
    elif not any(prefix.endswith(os.sep + listed) or prefix == listed
                 for _, prefix in complete):
        # Its index is there but a data file is not (deleted, or a save
        # cut short).
        reason = '%s names %s, whose data files are missing' % (
            state_path, listed)
    else:
        reason = '%s names %s, an older one' % (state_path, listed)
    for _, prefix in reversed(complete):
        if _readable(prefix):
            return prefix, '%s; using %s, the newest complete checkpoint' % (
                reason, os.path.basename(prefix))
    raise CheckpointError(
        '--model_dir %s: %s and none of its checkpoints (%s) reads back; '
        'move them away or use another --model_dir' % (
            model_dir, reason, ', '.join(os.path.basename(prefix)
                                         for _, prefix in complete[-3:])))


def _listdir(directory):
    try:
        return os.listdir(directory)
    except OSError:
        return []


def all_checkpoints(model_dir):
    """The prefixes, oldest first, of every complete checkpoint in
    `model_dir`: the milestones kept for good (`keep_every`) and the
    rotation's newest, whatever the state file lists."""
    return [prefix for _, prefix in _complete_checkpoints(model_dir)]


def latest_checkpoint(model_dir):
    """Path prefix of the newest checkpoint in `model_dir`, or None (see
    `find_latest`)."""
    return find_latest(model_dir)[0]


def checkpoint_prefix(path):
    """The prefix a checkpoint file name stands for: `model.ckpt-N.index`
    and `model.ckpt-N.data-00000-of-00001` are `model.ckpt-N`."""
    if path.endswith('.index'):
        return path[:-len('.index')]
    match = re.search(r'\.data-\d{5}-of-\d{5}$', path)
    return path[:match.start()] if match else path


def checkpoint_step(checkpoint):
    """The global step a checkpoint holds."""
    try:
        return int(tf.train.load_checkpoint(checkpoint).get_tensor(
            'global_step'))
    except (tf.errors.OpError, ValueError, IndexError) as error:
        raise _damaged(checkpoint, error) from None


class CheckpointGone(CheckpointError):
    """A checkpoint whose files were removed while it was being read: a
    running trainer's rotation (max_to_keep) deleted it. Nothing is wrong
    with the directory; a newer checkpoint is there to read."""


def is_gone(checkpoint):
    """Whether `checkpoint` was removed: its index is no longer there.
    A rotation (tf.train.Saver's remove_checkpoint) deletes the index
    first, so an index beside a missing data file is damage, not a
    rotation."""
    return not os.path.exists(checkpoint + '.index')


def _damaged(checkpoint, error):
    """The one-line error of a checkpoint whose data does not read back:
    CheckpointGone if its files were removed meanwhile (never advise
    deleting what a rotation already deleted)."""
    if is_gone(checkpoint):
        return CheckpointGone(
            '%s: removed while being read (a running trainer rotated it '
            'out?); read a newer checkpoint' % checkpoint)
    return CheckpointError(
        '%s: cannot read its data file (%s); it is missing or damaged: '
        'delete this checkpoint (its .index and .data files) to use an '
        'older one' % (checkpoint, _first_line(
            getattr(error, 'message', None) or error)))


def _first_line(error):
    return ' '.join(str(error).strip().splitlines()[:1])[:200]


def restore_or_initialize(session, saver, model_dir, keep_every=0,
                          checkpoint=None):
    """Restores `checkpoint` (default: the newest of `model_dir`) or, when
    there is none, initializes every variable; returns the global step.
    `keep_every` as for `save`."""
    checkpoint = checkpoint or latest_checkpoint(model_dir)
    if checkpoint:
        check_variables(checkpoint, {
            variable.op.name: variable
            for variable in session.graph.get_collection(
                tf1.GraphKeys.GLOBAL_VARIABLES)},
            'the variables of the network being trained')
        restore(session, saver, checkpoint)
        _continue_rotation(saver, model_dir, keep_every)
    else:
        session.run(tf1.global_variables_initializer())
    return int(session.run(tf1.train.get_global_step(session.graph)))


def restore(session, saver, checkpoint):
    """`saver.restore`, with a damaged checkpoint (a data file missing,
    truncated or overwritten) reported as one line about the files, not
    as Saver's guess about renamed variables. Call after check_variables,
    which has read the index."""
    try:
        with session.graph.as_default():
            saver.restore(session, checkpoint)
    except tf.errors.OpError as error:
        cause = error
        while cause.__cause__ is not None or cause.__context__ is not None:
            cause = cause.__cause__ or cause.__context__
        raise _damaged(checkpoint, cause) from None


def save(session, saver, model_dir, step, keep_every=0):
    """Saves a checkpoint of `step`. With `keep_every`, one whose step is a
    multiple of it is kept for good: taken out of the Saver's rotation of
    the `max_to_keep` newest (as `keep_checkpoint_every_n_hours` does by
    time), so the milestones of a long run survive for its curves. A
    failed write (a full disk) is one line naming the checkpoint that
    still holds the run."""
    # The Saver writes through TensorFlow's file system, which follows
    # links: a planted one is refused before each save.
    safe_io.check_directory(model_dir)
    try:
        path = saver.save(session, os.path.join(model_dir,
                                                CHECKPOINT_BASENAME),
                          global_step=step)
    except (tf.errors.OpError, OSError) as error:
        # TensorFlow's message starts "Graph execution error:" and ends
        # with the cause (e.g. "No space left on device").
        lines = [line.strip() for line in str(
            getattr(error, 'message', None) or getattr(
                error, 'strerror', None) or error).splitlines()
            if line.strip()]
        # The OS's reason, not the graph node ("[[{{node save/SaveV2}}]]")
        # that ends the message.
        cause = next((line for line in lines if any(
            reason in line for reason in (
                'No space left', 'File too large', 'Read-only',
                'Permission denied', 'Disk quota'))), None) or next(
            (line for line in reversed(lines)
             if not line.startswith('[[')), '')
        raise ConfigError(
            '--model_dir %s: cannot write the checkpoint of step %d (%s); '
            'the run is in %s' % (
                model_dir, step, cause[:200],
                latest_checkpoint(model_dir) or
                '(no checkpoint yet)')) from None
    if keep_every and step % keep_every == 0:
        _set_rotation(saver, [rotated for rotated in saver.last_checkpoints
                              if rotated != path])
    return path


DIVERGED_SUFFIX = '.diverged'


def set_aside(model_dir, step):
    """Renames the files of checkpoint `step`, if there is one, with the
    suffix `.diverged` (nothing is deleted), and lists only the others in
    the state file: its weights gave a diverged loss, so resuming must not
    start from it. Returns whether there was one."""
    prefix = '%s-%d.' % (CHECKPOINT_BASENAME, step)
    names = [name for name in _listdir(model_dir)
             if name.startswith(prefix) and not name.endswith(
                 DIVERGED_SUFFIX)]
    for name in names:
        path = os.path.join(model_dir, name)
        os.replace(path, path + DIVERGED_SUFFIX)
    remaining = [path for _, path in _complete_checkpoints(model_dir)]
    state = _state(model_dir)
    if names and remaining and state:
        kept = [os.path.join(model_dir, os.path.basename(path))
                for path in state.all_model_checkpoint_paths]
        write_state(model_dir, os.path.basename(remaining[-1]),
                    [os.path.basename(path) for path in kept
                     if path in remaining] or
                    [os.path.basename(remaining[-1])])
    return bool(names)


def write_state(model_dir, newest, rotation):
    """Writes the `checkpoint` state file naming `newest` and listing
    `rotation` (base names): paths relative to the model directory, as the
    Saver writes them. (tf.train.update_checkpoint_state makes a relative
    name relative to the working directory first: under a relative
    --model_dir it wrote "../../main/model.ckpt-2".) Written exclusively
    and renamed into place (safe_io)."""
    names = [os.path.basename(name) for name in rotation]
    if os.path.basename(newest) not in names:
        names.append(os.path.basename(newest))
    safe_io.write_text(
        os.path.join(model_dir, STATE_FILENAME),
        'model_checkpoint_path: "%s"\n' % os.path.basename(newest) +
        ''.join('all_model_checkpoint_paths: "%s"\n' % name
                for name in names))


def _continue_rotation(saver, model_dir, keep_every):
    """Hands a new Saver the rotation of the run it resumes: the checkpoints
    the `checkpoint` state file lists, less the milestones (the newest one
    is still listed when the run stopped right after it). A Saver starts
    with an empty list, so without this a resumed run would never delete
    the checkpoints written before it."""
    state = _state(model_dir)
    # By base name: a moved directory's state file holds old absolute
    # paths. Without a usable state file, every complete checkpoint on
    # disk is in the rotation.
    paths = ([os.path.join(model_dir, os.path.basename(path))
              for path in state.all_model_checkpoint_paths] if state else
             [prefix for _, prefix in _complete_checkpoints(model_dir)])
    _set_rotation(saver, [
        path for path in paths
        if not (keep_every and
                int(path.rsplit('-', 1)[1]) % keep_every == 0)])


def _set_rotation(saver, paths):
    """The checkpoints `saver` deletes, oldest first, once it holds more
    than `max_to_keep` (its own `recover_last_checkpoints` logs a
    deprecation notice per call)."""
    saver.set_last_checkpoints_with_time([
        (path, os.path.getmtime(path + '.index')) for path in paths
        if os.path.exists(path + '.index')])


def check_variables(checkpoint, variables, description):
    """Raises CheckpointError unless `checkpoint` holds every entry of
    `variables` (checkpoint name -> variable) with the same shape.

    tf.train.Saver does not check shapes on restore: a resource variable
    takes a tensor of another shape and the error, if any, comes later from
    some op. So a checkpoint is checked against the graph before restoring.
    """
    try:
        saved = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.OpError, ValueError) as error:
        if is_gone(checkpoint):
            raise _damaged(checkpoint, error) from None
        raise CheckpointError('%s: cannot read the checkpoint (%s)' % (
            checkpoint, str(error).strip().splitlines()[0][:200])) from None
    for name, variable in sorted(variables.items()):
        wanted = variable.shape.as_list()
        if name not in saved:
            problem = '%s is missing' % name
        elif saved[name] != wanted:
            problem = '%s is %s, the graph wants %s' % (name, saved[name],
                                                        wanted)
        else:
            continue
        raise CheckpointError('%s: does not hold %s (%s)' % (
            checkpoint, description, problem))


# How many times a reader moves on to the newest checkpoint when a
# rotation deletes the one it reads: a trainer saving every step on a fast
# machine can win a few races in a row, never many.
READ_ATTEMPTS = 10


def read_newest(checkpoint, read):
    """Calls `read(checkpoint)` and returns the checkpoint read. When a
    running trainer's rotation deleted it meanwhile (CheckpointGone), reads
    the newest complete checkpoint of the same directory instead, up to
    READ_ATTEMPTS times: eval and export coexist with a trainer that saves
    every step."""
    directory = os.path.dirname(checkpoint) or '.'
    for attempt in range(READ_ATTEMPTS):
        try:
            read(checkpoint)
            return checkpoint
        except CheckpointGone:
            newest = [prefix for _, prefix in
                      _complete_checkpoints(directory)]
            if not newest or attempt == READ_ATTEMPTS - 1:
                raise
            checkpoint = newest[-1]
    return checkpoint
