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
        raise config_lib.ConfigError('--model_dir %s: cannot create it (%s)'
                                     % (model_dir, error.strerror)) from None
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise config_lib.ConfigError('--model_dir %s: not writable' %
                                     model_dir)
    if latest_checkpoint(model_dir):
        saved = config_lib.load(model_dir)
        mismatch = _model_mismatch(saved.model, train_config.model)
        if mismatch:
            raise config_lib.ConfigError(
                '--model_dir %s holds checkpoints of another model: %s' %
                (model_dir, mismatch))
        if train_config.seed is None:
            train_config = dataclasses.replace(train_config, seed=saved.seed)
    if train_config.seed is None:
        train_config = dataclasses.replace(
            train_config, seed=random.SystemRandom().randrange(2 ** 31))
    config_lib.save(train_config, model_dir)
    return train_config


def restore_or_initialize(session, saver, model_dir):
    """Restores the newest checkpoint of `model_dir` or initializes every
    variable; returns the global step."""
    checkpoint = latest_checkpoint(model_dir)
    if checkpoint:
        check_variables(checkpoint, {
            variable.op.name: variable
            for variable in session.graph.get_collection(
                tf1.GraphKeys.GLOBAL_VARIABLES)},
            'the variables of the network being trained')
        saver.restore(session, checkpoint)
    else:
        session.run(tf1.global_variables_initializer())
    return int(session.run(tf1.train.get_global_step(session.graph)))


def save(session, saver, model_dir, step):
    return saver.save(session, os.path.join(model_dir, CHECKPOINT_BASENAME),
                      global_step=step)


def check_variables(checkpoint, variables, description):
    """Raises ConfigError unless `checkpoint` holds every entry of
    `variables` (checkpoint name -> variable) with the same shape.

    tf.train.Saver does not check shapes on restore: a resource variable
    takes a tensor of another shape and the error, if any, comes later from
    some op. So a checkpoint is checked against the graph before restoring.
    """
    try:
        saved = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.OpError, ValueError) as error:
        raise config_lib.ConfigError('%s: cannot read the checkpoint (%s)' % (
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
        raise config_lib.ConfigError('%s: does not hold %s (%s)' % (
            checkpoint, description, problem))
