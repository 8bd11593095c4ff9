"""The run record: train_config.json beside the checkpoints, the rules a
resumed run must keep, and the history of what resumed runs changed.

The record says what network a directory's checkpoints hold, so a
directory is never restored into another model, and evaluation rebuilds the
network from it instead of asking for the flags again.
"""

import dataclasses
import json
import os
import random

from resnet_tf1.config import HISTORY_KEY
from resnet_tf1.config import TrainConfig
from resnet_tf1.errors import ConfigError
from resnet_tf1.model_dir.checkpoints import checkpoint_step
from resnet_tf1.model_dir.checkpoints import find_latest
from resnet_tf1.model_dir import safe_io

CONFIG_FILENAME = 'train_config.json'
# Fields a resumed run may not change: they fix the data order (seed, batch
# size) or the optimizer's state; changing them would record a run that
# never happened. The other hyper-parameters may change, and
# train_config.json keeps a history of the changes (record_config).
_FIXED_ON_RESUME = ('seed', 'batch_size', 'optimizer')




def save(train_config, model_dir, history=()):
    """Writes the config beside the checkpoints, atomically, with the
    `history` of its resumptions if any."""
    fields = dataclasses.asdict(train_config)
    if history:
        fields[HISTORY_KEY] = list(history)
    # A new file created exclusively and renamed into place: never
    # written through a planted link (safe_io).
    safe_io.write_text(os.path.join(model_dir, CONFIG_FILENAME),
                       json.dumps(fields, indent=2, sort_keys=True) + '\n')


def load_history(model_dir):
    """The history list of `model_dir`'s config (empty if none)."""
    path = os.path.join(model_dir, CONFIG_FILENAME)
    try:
        with open(path) as stream:
            history = json.load(stream).get(HISTORY_KEY, [])
    except (OSError, ValueError, AttributeError):
        return []
    return history if isinstance(history, list) else []


def load(model_dir):
    """Reads the config training saved in `model_dir`."""
    path = os.path.join(model_dir, CONFIG_FILENAME)
    try:
        with open(path) as stream:
            text = stream.read()
    except OSError as error:
        raise ConfigError('%s: cannot read the training config (%s)' %
                          (path, error.strerror or error)) from None
    train_config = TrainConfig.from_json(text, source=path)
    try:
        return train_config.resolved()
    except (TypeError, AttributeError) as error:
        # A value of the wrong type ("batch_size": "8"): the checks compare
        # it and fail before they can name it.
        raise ConfigError('%s: not a valid training config (a value has the '
                          'wrong type: %s)' % (path, error)) from None



def _model_mismatch(saved, wanted):
    """Names the model fields on which two ModelConfigs differ."""
    return ', '.join(
        '%s=%s (this run: %s)' % (field.name, getattr(saved, field.name),
                                  getattr(wanted, field.name))
        for field in dataclasses.fields(saved)
        if getattr(saved, field.name) != getattr(wanted, field.name))


def prepare_model_dir(model_dir, train_config, log=None):
    """Checks that `model_dir` (held by `exclusive`) may be trained with
    `train_config` and returns the config to train with (its seed
    resolved). Writes nothing: `record_config` does, once the run is
    accepted.

    A directory that already holds checkpoints must hold the same network,
    and the run must go on with its seed, batch size and optimizer:
    anything else is refused, never partially restored. Resuming without a
    seed keeps the seed the run started with, so the data order continues.
    A --steps below the step reached is refused. `log` gets a line when
    the newest checkpoint is found from the files, not the state file.
    """
    checkpoint, note = find_latest(model_dir)
    if note and log:
        log(note)
    if checkpoint:
        saved = load(model_dir)
        mismatch = _model_mismatch(saved.model, train_config.model)
        if mismatch:
            raise ConfigError(
                '--model_dir %s holds checkpoints of another model: %s' %
                (model_dir, mismatch))
        if train_config.seed is None:
            train_config = dataclasses.replace(train_config, seed=saved.seed)
        for field in _FIXED_ON_RESUME:
            if getattr(train_config, field) != getattr(saved, field):
                raise ConfigError(
                    '--%s %s: the run in %s was trained with --%s %s; resume '
                    'it with that, or start another --model_dir' % (
                        field, getattr(train_config, field), model_dir,
                        field, getattr(saved, field)))
        step = checkpoint_step(checkpoint)
        if train_config.steps < step:
            raise ConfigError(
                '--steps %d: the run in %s is already at step %d (%s); give '
                '--steps %d or more to go on' % (
                    train_config.steps, model_dir, step,
                    os.path.basename(checkpoint), step))
    if train_config.seed is None:
        # No checkpoint, but a record (a run that diverged before its
        # first sane checkpoint, or was stopped before it): its seed stays
        # unless --seed says otherwise.
        recorded = _recorded_seed(model_dir)
        train_config = dataclasses.replace(
            train_config, seed=recorded if recorded is not None else
            random.SystemRandom().randrange(2 ** 31))
    return train_config


def _recorded_seed(model_dir):
    """The seed train_config.json records, or None (no file, or one that
    does not read)."""
    try:
        return load(model_dir).seed
    except ConfigError:
        return None


def _flat_fields(train_config):
    """The fields a resumed run may change, by name: the hyper-parameters,
    and the compute fields as 'compute.<name>' (a compute change is
    recorded as such). The model cannot change on resume."""
    fields = dataclasses.asdict(train_config)
    del fields['model']
    compute = fields.pop('compute')
    fields.update(('compute.' + name, value)
                  for name, value in compute.items())
    return fields


def record_config(model_dir, train_config, step):
    """Writes `train_config` as the directory's config once its run is
    accepted (restored or initialized at `step`). A resumed run that
    changed hyper-parameters appends {"step", "changed": {field: [before,
    after]}} to the file's "history", so the file says what each part of
    the run used."""
    history = []
    if step:
        saved = load(model_dir)
        history = load_history(model_dir)
        before, after = _flat_fields(saved), _flat_fields(train_config)
        changed = {field: [before[field], after[field]]
                   for field in sorted(after)
                   if before[field] != after[field]}
        if changed:
            history.append({'step': step, 'changed': changed})
    save(train_config, model_dir, history)
