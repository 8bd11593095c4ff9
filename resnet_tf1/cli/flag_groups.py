"""Every command-line flag of train.py, eval.py and `python -m resnet_tf1`,
each defined once, in groups (official r1's `flags_core.define_*` style).

A CLI calls the groups it takes, then turns the parsed flags into the
library's configs with `model_config()` / `train_config()`; the library
never reads FLAGS. Default values are not written here: they are the
config dataclasses' field defaults (config.py), whose hyper-parameters
come from data_set.py, so a default is written once.

Renamed flags keep their old spelling for a while (`DEPRECATED`): the old
flag still works and prints one line saying what to write instead
(`apply_deprecated()`, run by `launch.parse_flags`).
"""

import dataclasses
import sys

from absl import flags

import data_set
from resnet_tf1 import config

FLAGS = flags.FLAGS

_MODEL = {field.name: field.default
          for field in dataclasses.fields(config.ModelConfig)}
_TRAIN = {field.name: field.default
          for field in dataclasses.fields(config.TrainConfig)}
_COMPUTE = {field.name: field.default
            for field in dataclasses.fields(config.ComputeConfig)}


def define_model(shape=False):
    """What network: the model flags of every command. With `shape`, also
    the input and output sizes (train.py and eval.py use MNIST's)."""
    flags.DEFINE_string('model', _MODEL['name'],
                        'Network name (see resnet_tf1/nets/registry.py).')
    flags.DEFINE_string('norm', None,
                        "none | batch; default: the network's own (none for "
                        'the ResNets and AlexNet, batch for DenseNet).')
    flags.DEFINE_string('shortcut', None,
                        'A (zero-pad) | B (projection) | C (always project), '
                        "for residual nets; default: the network's own (A).")
    flags.DEFINE_integer('base_depth', None,
                         'First-stage width (DenseNet: growth rate); '
                         "default: the network's own.")
    flags.DEFINE_string('stem', None,
                        "mnist | cifar | imagenet; default: the network's "
                        'own.')
    if shape:
        flags.DEFINE_integer('image_size', _MODEL['image_size'],
                             'Input height and width.')
        flags.DEFINE_integer('channels', _MODEL['channels'],
                             'Input channels.')
        flags.DEFINE_integer('num_classes', _MODEL['num_classes'],
                             'Width of the logits.')


def define_batch_size(default=_TRAIN['batch_size'],
                      help_text='Images per step.'):
    flags.DEFINE_integer('batch_size', default, help_text)


def define_eval_batch_size(default=data_set.EVAL_BATCH_SIZE,
                           old_spelling=False):
    """--eval_batch_size; with `old_spelling`, eval.py's former --batch_size
    too, which now means what it means everywhere else (a training batch)."""
    flags.DEFINE_integer('eval_batch_size', default,
                         'Images per evaluation batch (any size works; the '
                         'accuracy does not depend on it).')
    if old_spelling:
        flags.DEFINE_integer('batch_size', None,
                             'Deprecated: --eval_batch_size.')
        _DEPRECATED_DEFINED.add('batch_size')


def define_seed():
    """--seed, one meaning everywhere: the graph's random seed; default
    drawn (and printed or saved); a resumed run keeps its own."""
    flags.DEFINE_integer('seed', _TRAIN['seed'],
                         'Random seed (weights, data order); default: drawn '
                         'and reported (a resumed run keeps its own).')


def define_steps(default=_TRAIN['steps'],
                 help_text='Total training steps (a resumed run continues '
                           'to it).'):
    flags.DEFINE_integer('steps', default, help_text)


def define_hyperparameters():
    """How to train: train.py's data_set.py values."""
    define_batch_size()
    define_steps()
    flags.DEFINE_float('learning_rate', _TRAIN['learning_rate'],
                       'Initial learning rate.')
    flags.DEFINE_float('learning_rate_decay', _TRAIN['learning_rate_decay'],
                       'Learning-rate factor applied once per epoch '
                       '(--learning_rate_schedule exponential).')
    flags.DEFINE_string('learning_rate_schedule',
                        _TRAIN['learning_rate_schedule'],
                        'exponential (times --learning_rate_decay once per '
                        'epoch) | cosine (half a cosine from --learning_rate '
                        'to 0 at --steps, per step).')
    flags.DEFINE_float('weight_decay', _TRAIN['weight_decay'],
                       'L2 rate on every conv and FC weight.')
    flags.DEFINE_float('ema_decay', _TRAIN['ema_decay'],
                       "Decay of the weights' exponential moving average.")
    define_seed()
    flags.DEFINE_string('optimizer', _TRAIN['optimizer'],
                        ' | '.join(config.OPTIMIZERS) + " (slim's "
                        'train_image_classifier choices; sgd is '
                        'gradient_descent).')
    flags.DEFINE_float('momentum', _TRAIN['momentum'],
                       'For --optimizer momentum.')
    flags.DEFINE_float('opt_epsilon', _TRAIN['opt_epsilon'],
                       'Epsilon of --optimizer adam, rmsprop, adadelta.')
    flags.DEFINE_float('adam_beta1', _TRAIN['adam_beta1'],
                       'For --optimizer adam: decay of the 1st moment.')
    flags.DEFINE_float('adam_beta2', _TRAIN['adam_beta2'],
                       'For --optimizer adam: decay of the 2nd moment.')
    flags.DEFINE_float('rmsprop_decay', _TRAIN['rmsprop_decay'],
                       'For --optimizer rmsprop: decay of the mean square.')
    flags.DEFINE_float('rmsprop_momentum', _TRAIN['rmsprop_momentum'],
                       'For --optimizer rmsprop.')
    flags.DEFINE_float('adadelta_rho', _TRAIN['adadelta_rho'],
                       'For --optimizer adadelta: decay rate.')
    flags.DEFINE_float('adagrad_initial_accumulator_value',
                       _TRAIN['adagrad_initial_accumulator_value'],
                       'For --optimizer adagrad.')
    flags.DEFINE_float('ftrl_learning_rate_power',
                       _TRAIN['ftrl_learning_rate_power'],
                       'For --optimizer ftrl.')
    flags.DEFINE_float('ftrl_initial_accumulator_value',
                       _TRAIN['ftrl_initial_accumulator_value'],
                       'For --optimizer ftrl.')
    flags.DEFINE_float('ftrl_l1', _TRAIN['ftrl_l1'],
                       'For --optimizer ftrl: L1 regularization strength.')
    flags.DEFINE_float('ftrl_l2', _TRAIN['ftrl_l2'],
                       'For --optimizer ftrl: L2 regularization strength.')
    flags.DEFINE_integer('random_shift', _TRAIN['random_shift'],
                         'Augmentation: move each training image by up to '
                         'this many pixels along each axis, either way, drawn '
                         'per image and step (zero fill); 0: none.')
    flags.DEFINE_float('random_rotation', _TRAIN['random_rotation'],
                       'Augmentation: turn each training image by up to '
                       'this many degrees either way, drawn per image and '
                       'step (bilinear, zero fill); 0: none.')
    flags.DEFINE_float('random_scale', _TRAIN['random_scale'],
                       'Augmentation: resize each training image about its '
                       'centre by a factor drawn in [1 - this, 1 + this] '
                       'per image and step; 0: none.')


def define_checkpointing():
    """How often training logs and saves."""
    flags.DEFINE_integer('save_every', _TRAIN['save_every'],
                         'Checkpoint every this many steps (and at the end).')
    flags.DEFINE_integer('keep_checkpoint_every',
                         _TRAIN['keep_checkpoint_every'],
                         'Keep the checkpoint of every multiple of this step '
                         'for good (beyond the 5 newest); 0: keep none.')
    flags.DEFINE_integer('log_every', _TRAIN['log_every'],
                         'Log a line every this many steps.')


def define_performance():
    """How a step is computed: none of these changes what is trained, and
    checkpoints restore across them (train.py, bench)."""
    flags.DEFINE_string('conv_gradients', _COMPUTE['conv_gradients'],
                        'auto (fast on CPUs, tf on GPUs) | fast '
                        "(speed/conv_gradients.py's gradient rewrite plus "
                        "speed/fast_conv.py's Winograd/dense forms on small "
                        'maps, CPU-friendly) | direct (the gradient rewrite '
                        "only) | tf (TensorFlow's own kernels); same numbers "
                        'any way.')
    flags.DEFINE_string('input_pipeline', _COMPUTE['input_pipeline'],
                        'feed (feed_dict per step) | dataset (tf.data over '
                        'the split staged in memory once); same batches.')
    flags.DEFINE_string('precision', _COMPUTE['precision'],
                        'float32 | bf16 (bfloat16 compute, float32 weights).')
    flags.DEFINE_boolean('xla', _COMPUTE['xla'],
                         'Compile the network with XLA.')
    flags.DEFINE_integer('intra_op_threads', _COMPUTE['intra_op_threads'],
                         "TensorFlow's intra-op threads; 0: one per core.")
    flags.DEFINE_integer('inter_op_threads', _COMPUTE['inter_op_threads'],
                         "TensorFlow's inter-op threads; 0: its own choice.")
    define_data_format()
    flags.DEFINE_integer('num_devices', _COMPUTE['num_devices'],
                         'Towers: the batch is split over this many GPUs (or '
                         'logical CPU devices without them); see '
                         'compute/towers.py.')


def define_data_format():
    flags.DEFINE_string('data_format', _COMPUTE['data_format'],
                        'NHWC | NCHW: the layout the network computes in '
                        '(NCHW needs a GPU); checkpoints restore across it.')


def define_cluster():
    """Distributed training (training/distributed.py)."""
    flags.DEFINE_string('cluster', None,
                        'Distributed training: JSON {"ps": ["host:port", '
                        '...], "worker": [...]} (default: the TF_CONFIG '
                        'variable; neither: one process).')
    flags.DEFINE_string('job_name', None, 'With --cluster: ps | worker.')
    flags.DEFINE_integer('task_index', None,
                         'With --cluster: index in the job; worker 0 is the '
                         'chief.')
    flags.DEFINE_float('step_timeout', data_set.STEP_TIMEOUT,
                       'Cluster workers: seconds to wait for a global step '
                       'before computing another gradient.')
    flags.DEFINE_float('peer_timeout', 600,
                       'Cluster tasks: seconds to wait for a peer that does '
                       'not answer (a parameter server not started or '
                       'killed, a chief gone) before giving up.')


def define_data_dir():
    flags.DEFINE_string('data_dir', data_set.DATA_DIR,
                        'MNIST .gz files; downloaded there if missing.')


def define_model_dir(help_text='Checkpoints and the training config.',
                     multi=False):
    """--model_dir; with `multi`, repeatable (a list), so that a command
    taking several runs (plot) is not silently given the last one."""
    if multi:
        flags.DEFINE_multi_string('model_dir', [data_set.MODEL_DIR],
                                  help_text)
    else:
        flags.DEFINE_string('model_dir', data_set.MODEL_DIR, help_text)


def define_checkpoint():
    """Which checkpoint and which of its weights (eval.py, export)."""
    flags.DEFINE_string('checkpoint_path', None,
                        'A specific checkpoint (e.g. '
                        'MNIST_model/model.ckpt-300) instead of the newest '
                        'in --model_dir.')
    flags.DEFINE_boolean('ema', True,
                         "The weights' exponential moving average; --noema: "
                         'the raw weights.')
    flags.DEFINE_boolean('no_ema', None, 'Deprecated: --noema.')
    _DEPRECATED_DEFINED.add('no_ema')


def define_inference_convolutions(both=False):
    """How inference graphs compute their convolutions: eval.py's graph,
    or (`both`) bench's two graphs, timed alternately."""
    flags.DEFINE_string('inference_convolutions',
                        'both' if both else config.INFERENCE_CONVOLUTIONS[0],
                        "fast (speed/fast_conv.py's formulations: the "
                        'small-map convs with fewer multiplications, same '
                        "predictions) | tf (TensorFlow's Conv2D "
                        'everywhere)%s.' % (' | both (alternating)'
                                            if both else ''))
    # The old spellings: eval.py's switch, bench's three-way choice.
    if both:
        flags.DEFINE_string('eval_convolutions', None,
                            'Deprecated: --inference_convolutions.')
        _DEPRECATED_DEFINED.add('eval_convolutions')
    else:
        flags.DEFINE_boolean('fast_convolutions', None,
                             'Deprecated: --inference_convolutions fast|tf.')
        _DEPRECATED_DEFINED.add('fast_convolutions')


def define_verbose():
    flags.DEFINE_boolean('verbose', False,
                         "Also show TensorFlow's own start-up and log lines "
                         '(read before TensorFlow loads; see cli/launch.py).')


def _no_ema(value):
    return 'ema', not value, '--noema' if value else '--ema'


def _fast_convolutions(value):
    choice = 'fast' if value else 'tf'
    return ('inference_convolutions', choice,
            '--inference_convolutions ' + choice)


def _eval_convolutions(value):
    return ('inference_convolutions', value,
            '--inference_convolutions ' + value)


def _eval_batch_size(value):
    return 'eval_batch_size', value, '--eval_batch_size %s' % value


# Old flag -> value -> (its flag now, the value, what to write instead).
DEPRECATED = {
    'no_ema': _no_ema,
    'fast_convolutions': _fast_convolutions,
    'eval_convolutions': _eval_convolutions,
    'batch_size': _eval_batch_size,
}
# The old spellings this command defined: a name can be deprecated in one
# command (eval.py's --batch_size) and current in another (train.py's).
_DEPRECATED_DEFINED = set()


def apply_deprecated(flag_values=FLAGS, stderr=sys.stderr):
    """Moves the value of each deprecated flag given on the command line to
    the flag that replaced it, with one line saying what to write."""
    for old, convert in DEPRECATED.items():
        if (old not in _DEPRECATED_DEFINED or old not in flag_values
                or not flag_values[old].present):
            continue
        value = flag_values[old].value
        new, new_value, replacement = convert(value)
        setattr(flag_values, new, new_value)
        if isinstance(value, bool):
            typed = '--%s%s' % ('' if value else 'no', old)
        else:
            typed = '--%s %s' % (old, value)
        stderr.write('warning: %s is deprecated; use %s\n' % (typed,
                                                               replacement))


def _fields(config_class, exclude=()):
    """The fields of `config_class` that have a flag of the same name
    (defined by the groups this CLI called), from the parsed flags."""
    return {field.name: FLAGS[field.name].value
            for field in dataclasses.fields(config_class)
            if field.name not in exclude and field.name in FLAGS}


def model_config():
    """The ModelConfig the model flags say (not yet resolved); the input
    and output sizes keep their defaults unless `define_model(shape=True)`
    defined flags for them."""
    return config.ModelConfig(name=FLAGS.model,
                              **_fields(config.ModelConfig, ('name',)))


def compute_config(**overrides):
    """The ComputeConfig of the flags this command defined (the others keep
    their defaults), validated."""
    fields = _fields(config.ComputeConfig)
    fields.update(overrides)
    return config.ComputeConfig(**fields).validate()


def train_config():
    """train.py's TrainConfig, resolved (validated, network defaults): every
    field from the flag of its name."""
    return config.TrainConfig(
        model=model_config(), compute=compute_config(),
        **_fields(config.TrainConfig, ('model', 'compute'))).resolved()
