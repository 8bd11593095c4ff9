"""The model directory: checkpoints and the training config beside them.

Checkpoints are plain `tf.train.Saver` files (`model.ckpt-<step>.index` and
`.data-*`, listed by the `checkpoint` state file), readable by
`tf.train.load_checkpoint` and `inspect_checkpoint`. The config file says
what network they hold, so a directory is never restored into another model.
"""

import dataclasses
import os
import random

import tensorflow as tf

from resnet_tf1 import config as config_lib
from resnet_tf1.errors import CheckpointError
from resnet_tf1.errors import ConfigError

tf1 = tf.compat.v1

CHECKPOINT_BASENAME = 'model.ckpt'


def latest_checkpoint(model_dir):
    """Path prefix of the newest checkpoint in `model_dir`, or None."""
    return tf1.train.latest_checkpoint(model_dir)


def _model_mismatch(saved, wanted):
    """Names the model fields on which two ModelConfigs differ."""
    return ', '.join(
        '%s=%s (this run: %s)' % (field.name, getattr(saved, field.name),
                                  getattr(wanted, field.name))
        for field in dataclasses.fields(saved)
        if getattr(saved, field.name) != getattr(wanted, field.name))


def prepare_model_dir(model_dir, train_config):
    """Makes `model_dir` ready for training with `train_config` and returns
    the config to train with (its seed resolved).

    A directory that already holds checkpoints must hold the same network:
    anything else is refused, never partially restored. Resuming without a
    seed keeps the seed the run started with, so the data order continues.
    """
    try:
        os.makedirs(model_dir, exist_ok=True)
    except OSError as error:
        raise ConfigError('--model_dir %s: cannot create it (%s)'
                                     % (model_dir, error.strerror)) from None
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise ConfigError('--model_dir %s: not writable' %
                                     model_dir)
    if latest_checkpoint(model_dir):
        saved = config_lib.load(model_dir)
        mismatch = _model_mismatch(saved.model, train_config.model)
        if mismatch:
            raise ConfigError(
                '--model_dir %s holds checkpoints of another model: %s' %
                (model_dir, mismatch))
        if train_config.seed is None:
            train_config = dataclasses.replace(train_config, seed=saved.seed)
    if train_config.seed is None:
        train_config = dataclasses.replace(
            train_config, seed=random.SystemRandom().randrange(2 ** 31))
    config_lib.save(train_config, model_dir)
    return train_config


def restore_or_initialize(session, saver, model_dir, keep_every=0):
    """Restores the newest checkpoint of `model_dir` or initializes every
    variable; returns the global step. `keep_every` as for `save`."""
    checkpoint = latest_checkpoint(model_dir)
    if checkpoint:
        check_variables(checkpoint, {
            variable.op.name: variable
            for variable in session.graph.get_collection(
                tf1.GraphKeys.GLOBAL_VARIABLES)},
            'the variables of the network being trained')
        saver.restore(session, checkpoint)
        _continue_rotation(saver, model_dir, keep_every)
    else:
        session.run(tf1.global_variables_initializer())
    return int(session.run(tf1.train.get_global_step(session.graph)))


def save(session, saver, model_dir, step, keep_every=0):
    """Saves a checkpoint of `step`. With `keep_every`, one whose step is a
    multiple of it is kept for good: taken out of the Saver's rotation of
    the `max_to_keep` newest (as `keep_checkpoint_every_n_hours` does by
    time), so the milestones of a long run survive for its curves."""
    path = saver.save(session, os.path.join(model_dir, CHECKPOINT_BASENAME),
                      global_step=step)
    if keep_every and step % keep_every == 0:
        _set_rotation(saver, [rotated for rotated in saver.last_checkpoints
                              if rotated != path])
    return path


def _continue_rotation(saver, model_dir, keep_every):
    """Hands a new Saver the rotation of the run it resumes: the checkpoints
    the `checkpoint` state file lists, less the milestones (the newest one
    is still listed when the run stopped right after it). A Saver starts
    with an empty list, so without this a resumed run would never delete
    the checkpoints written before it."""
    state = tf1.train.get_checkpoint_state(model_dir)
    if state:
        _set_rotation(saver, [
            path for path in state.all_model_checkpoint_paths
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
