"""Validated configurations: what a network is, and how it is trained.

The CLIs turn flags into these; the library takes nothing else. Field names
are the flag names, so a validation error names the flag at fault. Training
writes its `TrainConfig` as JSON beside the checkpoints
(model_dir/run_record.py), and evaluation rebuilds the network from it
instead of asking for the flags again.

Default values: the hyper-parameters' come from data_set.py, the one place
they are written; the flags (cli/flag_groups.py) take theirs from these fields.
"""

import dataclasses
import json
import typing
from typing import Optional

import data_set
from resnet_tf1.errors import ConfigError
from resnet_tf1.nets import registry
from resnet_tf1.nets import units

# train_config.json's list of the changes resumed runs made
# (model_dir/run_record.py); not a TrainConfig field.
HISTORY_KEY = 'history'
NORMS = ('none', 'batch')
# slim's train_image_classifier.py choices (training/train_op.py's
# make_optimizer); 'sgd' is read as 'gradient_descent' (OPTIMIZER_ALIASES).
OPTIMIZERS = ('gradient_descent', 'momentum', 'adam', 'rmsprop', 'adagrad',
              'adadelta', 'ftrl')
OPTIMIZER_ALIASES = {'sgd': 'gradient_descent'}
# 'exponential': the article's, the rate times --learning_rate_decay once
# per epoch (staircase); 'cosine': half a cosine from the rate down to 0 at
# --steps, per step (training/train_op.py's learning_rate).
LEARNING_RATE_SCHEDULES = ('exponential', 'cosine')
# How training computes convolutions (speed/conv_gradients.py,
# speed/fast_conv.py): 'fast': conv_gradients.py's rewrite of the Conv2D
# gradients, and on small maps fast_conv.py's Winograd and dense forms for
# the forward pass and both gradients; 'direct': the gradient rewrite
# alone; 'tf': TensorFlow's own kernels, the plain TF1 path; 'auto' (the
# default): 'fast' on CPUs, 'tf' where the network's ops go to a GPU
# (cuDNN's kernels are better).
CONV_GRADIENTS = ('auto', 'fast', 'direct', 'tf')
# How inference graphs compute their convolutions (eval.py's
# --inference_convolutions): 'fast', speed/fast_conv.py's formulations
# where its rule picks one; 'tf', TensorFlow's Conv2D everywhere.
INFERENCE_CONVOLUTIONS = ('fast', 'tf')
# 'bf16': bfloat16 compute, float32 master weights (speed/precision.py).
PRECISIONS = ('float32', 'bf16')
# 'feed': a feed_dict per step (the article's); 'dataset': tf.data over the
# split staged in memory once (data/inputs.py's StagedInputs). Same batches.
INPUT_PIPELINES = ('feed', 'dataset')
DATA_FORMATS = ('NHWC', 'NCHW')
# Every registered ResNet changes shape between stages, which a pure
# 'identity' shortcut cannot do: that kind is for single units only.
NETWORK_SHORTCUTS = tuple(kind for kind in units.SHORTCUT_KINDS
                          if kind != 'identity')


def _require(condition, message, *args):
    if not condition:
        raise ConfigError(message % args)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """What network to build. `norm`, `shortcut`, `base_depth` and `stem`
    left as None take the network's own defaults (see `registry.NETWORKS`); one
    that does not apply to the network (`shortcut` for AlexNet) stays None,
    and setting it is an error."""
    name: str = data_set.MODEL
    num_classes: int = data_set.NUM_LABELS
    norm: Optional[str] = None
    shortcut: Optional[str] = None
    base_depth: Optional[int] = None
    stem: Optional[str] = None
    image_size: int = data_set.IMAGE_SIZE
    channels: int = data_set.IMAGE_CHANNELS

    def resolved(self):
        """Validates, and returns a copy with the network's defaults filled."""
        try:
            network = registry.network(self.name)
        except ValueError as error:
            raise ConfigError('--model: %s' % error) from None
        for field in registry.NETWORK_FIELDS:
            _require(getattr(self, field) is None or field in network.defaults,
                     '--%s does not apply to %s; it takes %s', field,
                     self.name, ', '.join('--' + name
                                          for name in network.defaults))
        filled = dataclasses.replace(self, **{
            key: value for key, value in network.defaults.items()
            if getattr(self, key) is None})
        for field, reason in network.fixed.items():
            _require(getattr(filled, field) == network.defaults[field],
                     '--%s %s: %s takes --%s %s only (%s)', field,
                     getattr(filled, field), self.name, field,
                     network.defaults[field], reason)
        filled.validate()
        return filled

    def validate(self):
        """Checks the values; None is valid for the fields that a network
        may not take (registry.NETWORK_FIELDS)."""
        _require(self.num_classes >= 2,
                 '--num_classes must be at least 2, got %s', self.num_classes)
        _require(self.norm is None or self.norm in NORMS,
                 '--norm must be one of %s, got %r', '|'.join(NORMS),
                 self.norm)
        _require(self.shortcut is None or self.shortcut in NETWORK_SHORTCUTS,
                 '--shortcut must be one of %s, got %r',
                 '|'.join(NETWORK_SHORTCUTS), self.shortcut)
        _require(self.base_depth is None or self.base_depth >= 1,
                 '--base_depth must be at least 1, got %s', self.base_depth)
        _require(self.stem is None or self.stem in registry.STEMS,
                 '--stem must be one of %s, got %r', '|'.join(registry.STEMS),
                 self.stem)
        _require(self.image_size >= 1,
                 '--image_size must be at least 1, got %s', self.image_size)
        _require(self.channels >= 1,
                 '--channels must be at least 1, got %s', self.channels)


@dataclasses.dataclass(frozen=True)
class ComputeConfig:
    """How a graph is computed, never what: none of these fields changes
    the variables, so checkpoints restore across them, a resumed run may
    change them (train_config.json's history says when), and evaluation
    and export use their own, not the run's (an NCHW run trained on a GPU
    is evaluated NHWC on a CPU)."""
    # Training convolutions (CONV_GRADIENTS) and inference convolutions
    # (INFERENCE_CONVOLUTIONS, for eval.py's and bench's graphs).
    conv_gradients: str = 'auto'
    inference_convolutions: str = 'fast'
    input_pipeline: str = 'feed'
    precision: str = 'float32'
    xla: bool = False
    # The layout the network computes in; inputs are fed NHWC either way.
    data_format: str = 'NHWC'
    # TensorFlow's thread pools; 0 lets TensorFlow choose (one intra-op
    # thread per core).
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    # Towers in this process (compute/towers.py); a batch is split among
    # them.
    num_devices: int = 1

    def validate(self):
        for field, choices in (('conv_gradients', CONV_GRADIENTS),
                               ('inference_convolutions',
                                INFERENCE_CONVOLUTIONS),
                               ('input_pipeline', INPUT_PIPELINES),
                               ('precision', PRECISIONS),
                               ('data_format', DATA_FORMATS)):
            _require(getattr(self, field) in choices,
                     '--%s must be one of %s, got %r', field,
                     '|'.join(choices), getattr(self, field))
        for field in ('intra_op_threads', 'inter_op_threads'):
            _require(getattr(self, field) >= 0,
                     '--%s must be at least 0, got %s', field,
                     getattr(self, field))
        _require(self.num_devices >= 1,
                 '--num_devices must be at least 1, got %s', self.num_devices)
        return self


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train (defaults: data_set.py's hyper-parameters)."""
    model: ModelConfig = ModelConfig()
    batch_size: int = data_set.BATCH_SIZE
    learning_rate: float = data_set.LEARNING_RATE_BASE
    learning_rate_decay: float = data_set.LEARNING_RATE_DECAY
    learning_rate_schedule: str = data_set.LEARNING_RATE_SCHEDULE
    weight_decay: float = data_set.REGULARIZATION_RATE
    ema_decay: float = data_set.MOVING_AVERAGE_DECAY
    steps: int = data_set.TRAINING_STEPS
    seed: Optional[int] = None
    optimizer: str = data_set.OPTIMIZER
    momentum: float = data_set.MOMENTUM
    # The other optimizers' hyper-parameters, slim's flag names; each is
    # read by its optimizer only (train_op.make_optimizer).
    opt_epsilon: float = data_set.OPT_EPSILON
    adam_beta1: float = data_set.ADAM_BETA1
    adam_beta2: float = data_set.ADAM_BETA2
    rmsprop_decay: float = data_set.RMSPROP_DECAY
    rmsprop_momentum: float = data_set.RMSPROP_MOMENTUM
    adadelta_rho: float = data_set.ADADELTA_RHO
    adagrad_initial_accumulator_value: float = (
        data_set.ADAGRAD_INITIAL_ACCUMULATOR_VALUE)
    ftrl_learning_rate_power: float = data_set.FTRL_LEARNING_RATE_POWER
    ftrl_initial_accumulator_value: float = (
        data_set.FTRL_INITIAL_ACCUMULATOR_VALUE)
    ftrl_l1: float = data_set.FTRL_L1
    ftrl_l2: float = data_set.FTRL_L2
    # Augmentation: each training image moved by up to this many pixels
    # down/up and right/left (data/inputs.py); 0 trains on MNIST as given.
    random_shift: int = data_set.RANDOM_SHIFT
    # Augmentation: each training image turned by up to this many degrees
    # either way and resized by a factor in [1 - random_scale, 1 +
    # random_scale] about its centre (data/inputs.py's warp_images).
    random_rotation: float = data_set.RANDOM_ROTATION
    random_scale: float = data_set.RANDOM_SCALE
    save_every: int = data_set.SAVE_EVERY
    # A checkpoint at every multiple of this step is kept for good, outside
    # the rotation of the 5 newest (0: none), for curves of a long run.
    keep_checkpoint_every: int = data_set.KEEP_CHECKPOINT_EVERY
    log_every: int = data_set.LOG_EVERY
    # Examples per epoch, for the one-decay-per-epoch schedule: the size of
    # MNIST's training split (55,000 after the 5,000 validation images).
    train_examples: int = data_set.TRAIN_EXAMPLES
    # How the step is computed; none of it changes what is trained.
    compute: ComputeConfig = ComputeConfig()
    # Workers of a synchronous cluster (training/distributed.py), each taking
    # a batch of `batch_size` per step: one global step consumes
    # batch_size * num_workers examples. Set from the cluster, not a flag.
    num_workers: int = 1

    def validate(self):
        _require(self.batch_size >= 1,
                 '--batch_size must be at least 1, got %s', self.batch_size)
        _require(self.batch_size <= self.train_examples,
                 '--batch_size %s is larger than the %s training examples',
                 self.batch_size, self.train_examples)
        _require(0 < self.learning_rate <= 10,
                 '--learning_rate must be in (0, 10], got %s',
                 self.learning_rate)
        _require(0 < self.learning_rate_decay <= 1,
                 '--learning_rate_decay must be in (0, 1], got %s',
                 self.learning_rate_decay)
        _require(self.learning_rate_schedule in LEARNING_RATE_SCHEDULES,
                 '--learning_rate_schedule must be one of %s, got %r',
                 '|'.join(LEARNING_RATE_SCHEDULES),
                 self.learning_rate_schedule)
        _require(0 <= self.weight_decay < 1,
                 '--weight_decay must be in [0, 1), got %s', self.weight_decay)
        _require(0 <= self.ema_decay < 1,
                 '--ema_decay must be in [0, 1), got %s', self.ema_decay)
        _require(self.steps >= 1, '--steps must be at least 1, got %s',
                 self.steps)
        # The global step is an int64 variable: a larger total would be
        # saved and then overflow (issue 28).
        _require(self.steps <= 2 ** 62, '--steps must be at most 2**62, '
                 'got %s', self.steps)
        _require(self.seed is None or 0 <= self.seed < 2 ** 31,
                 '--seed must be in [0, 2**31), got %s', self.seed)
        _require(self.optimizer in OPTIMIZERS,
                 '--optimizer must be one of %s, got %r',
                 '|'.join(OPTIMIZERS), self.optimizer)
        _require(0 <= self.momentum < 1,
                 '--momentum must be in [0, 1), got %s', self.momentum)
        for field in ('adam_beta1', 'adam_beta2', 'rmsprop_decay',
                      'rmsprop_momentum', 'adadelta_rho'):
            _require(0 <= getattr(self, field) < 1,
                     '--%s must be in [0, 1), got %s', field,
                     getattr(self, field))
        _require(self.opt_epsilon > 0,
                 '--opt_epsilon must be positive, got %s', self.opt_epsilon)
        for field in ('adagrad_initial_accumulator_value',
                      'ftrl_initial_accumulator_value'):
            _require(getattr(self, field) > 0,
                     '--%s must be positive, got %s', field,
                     getattr(self, field))
        _require(self.ftrl_learning_rate_power <= 0,
                 '--ftrl_learning_rate_power must be at most 0, got %s',
                 self.ftrl_learning_rate_power)
        for field in ('ftrl_l1', 'ftrl_l2'):
            _require(getattr(self, field) >= 0,
                     '--%s must be at least 0, got %s', field,
                     getattr(self, field))
        _require(0 <= self.random_shift < self.model.image_size,
                 '--random_shift must be in [0, %s) (the image size), got %s',
                 self.model.image_size, self.random_shift)
        # Small turns only: MNIST's digits are written upright.
        _require(0 <= self.random_rotation <= 45,
                 '--random_rotation must be in [0, 45] (degrees), got %s',
                 self.random_rotation)
        _require(0 <= self.random_scale < 1,
                 '--random_scale must be in [0, 1), got %s',
                 self.random_scale)
        _require(self.save_every >= 1,
                 '--save_every must be at least 1, got %s', self.save_every)
        _require(self.keep_checkpoint_every >= 0,
                 '--keep_checkpoint_every must be at least 0, got %s',
                 self.keep_checkpoint_every)
        _require(self.log_every >= 1,
                 '--log_every must be at least 1, got %s', self.log_every)
        self.compute.validate()
        _require(self.batch_size % self.compute.num_devices == 0,
                 '--batch_size %s does not split evenly over --num_devices %s',
                 self.batch_size, self.compute.num_devices)
        _require(self.num_workers >= 1,
                 'num_workers must be at least 1, got %s', self.num_workers)
        _require(self.train_examples >= 1,
                 'train_examples must be at least 1, got %s',
                 self.train_examples)

    def resolved(self):
        """Validates, and fills the model's defaults."""
        filled = dataclasses.replace(
            self, model=self.model.resolved(),
            optimizer=OPTIMIZER_ALIASES.get(self.optimizer, self.optimizer))
        filled.validate()
        return filled

    @property
    def global_batch_size(self):
        """Examples one global step consumes, over every worker."""
        return self.batch_size * self.num_workers

    @property
    def steps_per_epoch(self):
        return max(1, self.train_examples // self.global_batch_size)

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text, source='config'):
        """Parses `text` (read from `source`, named in errors)."""
        try:
            fields = json.loads(text)
            fields.pop(HISTORY_KEY, None)
            model_fields = dict(fields.pop('model'))
            compute_fields = dict(fields.pop('compute', {}))
            # Files written before ComputeConfig kept its fields flat, and
            # the data format in the model.
            for name in COMPUTE_FIELDS:
                if name in fields:
                    compute_fields.setdefault(name, fields.pop(name))
            if 'data_format' in model_fields:
                compute_fields.setdefault('data_format',
                                          model_fields.pop('data_format'))
            model = ModelConfig(**model_fields)
            compute = ComputeConfig(**compute_fields)
            train_config = cls(model=model, compute=compute, **fields)
            problem = (_type_problem(model) or _type_problem(compute) or
                       _type_problem(train_config))
            if problem:
                raise TypeError(problem)
            return train_config
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ConfigError('%s: not a valid training config (%s)' %
                              (source, error)) from None


COMPUTE_FIELDS = tuple(field.name
                       for field in dataclasses.fields(ComputeConfig))


def _type_problem(instance):
    """Names the first field of a config dataclass whose value is not of
    its declared type (JSON's ints pass as floats), or None."""
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        allowed = typing.get_args(field.type) or (field.type,)
        if float in allowed:
            allowed += (int,)
        if (not isinstance(value, allowed) or
                (isinstance(value, bool) and bool not in allowed)):
            return '%s is %r, not %s' % (field.name, value, ' or '.join(
                kind.__name__ for kind in allowed))
    return None
