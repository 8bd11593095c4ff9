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
    flags.DEFINE_string('data_format', _MODEL['data_format'], 'NHWC | NCHW.')
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
                       'Learning-rate factor applied once per epoch.')
    flags.DEFINE_float('weight_decay', _TRAIN['weight_decay'],
                       'L2 rate on every conv and FC weight.')
    flags.DEFINE_float('ema_decay', _TRAIN['ema_decay'],
                       "Decay of the weights' exponential moving average.")
    flags.DEFINE_integer('seed', _TRAIN['seed'],
                         'Seed for weights and data order; default: drawn '
                         '(and saved) for a new run, kept for a resumed one.')
    flags.DEFINE_string('optimizer', _TRAIN['optimizer'],
                        'gradient_descent | momentum.')
    flags.DEFINE_float('momentum', _TRAIN['momentum'],
                       'For --optimizer momentum.')
    flags.DEFINE_integer('random_shift', _TRAIN['random_shift'],
                         'Augmentation: move each training image by up to '
                         'this many pixels along each axis, either way, drawn '
                         'per image and step (zero fill); 0: none.')


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
    flags.DEFINE_string('conv_gradients', _TRAIN['conv_gradients'],
                        'auto (fast on CPUs, tf on GPUs) | fast '
                        "(speed/conv_gradients.py's gradient rewrite plus "
                        "speed/fast_conv.py's Winograd/dense forms on small "
                        'maps, CPU-friendly) | direct (the gradient rewrite '
                        "only) | tf (TensorFlow's own kernels); same numbers "
                        'any way.')
    flags.DEFINE_string('input_pipeline', _TRAIN['input_pipeline'],
                        'feed (feed_dict per step) | dataset (tf.data over '
                        'the split staged in memory once); same batches.')
    flags.DEFINE_string('precision', _TRAIN['precision'],
                        'float32 | bf16 (bfloat16 compute, float32 weights).')
    flags.DEFINE_boolean('xla', _TRAIN['xla'],
                         'Compile the network with XLA.')
    flags.DEFINE_integer('intra_op_threads', _TRAIN['intra_op_threads'],
                         "TensorFlow's intra-op threads; 0: one per core.")
    flags.DEFINE_integer('inter_op_threads', _TRAIN['inter_op_threads'],
                         "TensorFlow's inter-op threads; 0: its own choice.")
    flags.DEFINE_integer('num_devices', _TRAIN['num_devices'],
                         'Towers: the batch is split over this many GPUs (or '
                         'logical CPU devices without them); see '
                         'compute/towers.py.')


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
    else:
        flags.DEFINE_boolean('fast_convolutions', None,
                             'Deprecated: --inference_convolutions fast|tf.')


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


# Old flag -> value -> (its flag now, the value, what to write instead).
DEPRECATED = {
    'no_ema': _no_ema,
    'fast_convolutions': _fast_convolutions,
    'eval_convolutions': _eval_convolutions,
}


def apply_deprecated(flag_values=FLAGS, stderr=sys.stderr):
    """Moves the value of each deprecated flag given on the command line to
    the flag that replaced it, with one line saying what to write."""
    for old, convert in DEPRECATED.items():
        if old not in flag_values or not flag_values[old].present:
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


# The TrainConfig fields of `define_performance()`'s flags.
PERFORMANCE_FIELDS = ('conv_gradients', 'input_pipeline', 'precision', 'xla',
                      'intra_op_threads', 'inter_op_threads', 'num_devices')


def performance_fields():
    return {name: FLAGS[name].value for name in PERFORMANCE_FIELDS}


def train_config():
    """train.py's TrainConfig, resolved (validated, network defaults): every
    field from the flag of its name."""
    return config.TrainConfig(
        model=model_config(),
        **_fields(config.TrainConfig, ('model',))).resolved()
