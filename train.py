"""Trains a network of the registry on MNIST, writing checkpoints.

    python train.py --steps 8000

Flags default to data_set.py. Re-running with the same --model_dir resumes
from its newest checkpoint; --steps is the total to reach.
"""

import dataclasses
import os

from absl import app
from absl import flags

from resnet_tf1 import cli
from resnet_tf1 import config
from resnet_tf1 import data
from resnet_tf1 import distributed
from resnet_tf1 import training

import data_set

# How a step is computed is not a hyper-parameter of data_set.py: those
# flags default to the TrainConfig's own field defaults.
_STEP = {field.name: field.default
         for field in dataclasses.fields(config.TrainConfig)}

flags.DEFINE_string('model', data_set.MODEL, 'Network name (see nets.py).')
flags.DEFINE_string('norm', None,
                    "none | batch; default: the network's own (none for the "
                    "ResNets and AlexNet, batch for DenseNet).")
flags.DEFINE_string('shortcut', None,
                    'A (zero-pad) | B (projection) | C (always project), '
                    "for residual nets; default: the network's own (A).")
flags.DEFINE_integer('base_depth', None,
                     "First-stage width; default: the network's own.")
flags.DEFINE_string('stem', None,
                    "mnist | cifar | imagenet; default: the network's own.")
flags.DEFINE_string('data_format', 'NHWC', 'NHWC | NCHW.')
flags.DEFINE_integer('batch_size', data_set.BATCH_SIZE, 'Images per step.')
flags.DEFINE_float('learning_rate', data_set.LEARNING_RATE_BASE,
                   'Initial learning rate.')
flags.DEFINE_float('learning_rate_decay', data_set.LEARNING_RATE_DECAY,
                   'Learning-rate factor applied once per epoch.')
flags.DEFINE_float('weight_decay', data_set.REGULARIZATION_RATE,
                   'L2 rate on every conv and FC weight.')
flags.DEFINE_float('ema_decay', data_set.MOVING_AVERAGE_DECAY,
                   'Decay of the weights\' exponential moving average.')
flags.DEFINE_integer('steps', data_set.TRAINING_STEPS,
                     'Total training steps (a resumed run continues to it).')
flags.DEFINE_integer('seed', None,
                     'Seed for weights and data order; default: drawn (and '
                     'saved) for a new run, kept for a resumed one.')
flags.DEFINE_string('optimizer', data_set.OPTIMIZER,
                    'gradient_descent | momentum.')
flags.DEFINE_float('momentum', data_set.MOMENTUM, 'For --optimizer momentum.')
flags.DEFINE_integer('save_every', data_set.SAVE_EVERY,
                     'Checkpoint every this many steps (and at the end).')
flags.DEFINE_integer('keep_checkpoint_every', data_set.KEEP_CHECKPOINT_EVERY,
                     'Keep the checkpoint of every multiple of this step for '
                     'good (beyond the 5 newest); 0: keep none.')
flags.DEFINE_integer('log_every', data_set.LOG_EVERY,
                     'Log a line every this many steps.')
flags.DEFINE_string('conv_gradients', _STEP['conv_gradients'],
                    'fast (conv_gradients.py rewrite, CPU-friendly) | tf '
                    "(TensorFlow's own kernels); same numbers either way.")
flags.DEFINE_string('input_pipeline', _STEP['input_pipeline'],
                    'feed (feed_dict per step) | dataset (tf.data over the '
                    'split staged in memory once); same batches.')
flags.DEFINE_string('precision', _STEP['precision'],
                    'float32 | bf16 (bfloat16 compute, float32 weights).')
flags.DEFINE_boolean('xla', _STEP['xla'], 'Compile the network with XLA.')
flags.DEFINE_integer('intra_op_threads', _STEP['intra_op_threads'],
                     "TensorFlow's intra-op threads; 0: one per core.")
flags.DEFINE_integer('inter_op_threads', _STEP['inter_op_threads'],
                     "TensorFlow's inter-op threads; 0: its own choice.")
flags.DEFINE_integer('num_devices', _STEP['num_devices'],
                     'Towers: the batch is split over this many GPUs (or '
                     'logical CPU devices without them); see towers.py.')
flags.DEFINE_string('cluster', None,
                    'Distributed training: JSON {"ps": ["host:port", ...], '
                    '"worker": [...]} (default: the TF_CONFIG variable; '
                    'neither: one process). See distributed.py.')
flags.DEFINE_string('job_name', None, 'With --cluster: ps | worker.')
flags.DEFINE_integer('task_index', None,
                     'With --cluster: index in the job; worker 0 is the chief.')
flags.DEFINE_float('step_timeout', 60.0,
                   'Cluster workers: seconds to wait for a global step before '
                   'computing another gradient (see distributed.py).')
flags.DEFINE_string('data_dir', data_set.DATA_DIR,
                    'MNIST .gz files; downloaded there if missing.')
flags.DEFINE_string('model_dir', data_set.MODEL_DIR,
                    'Checkpoints and the training config.')

FLAGS = flags.FLAGS


def train_config_from_flags():
    model = config.ModelConfig(
        name=FLAGS.model, num_classes=data_set.NUM_LABELS, norm=FLAGS.norm,
        shortcut=FLAGS.shortcut, base_depth=FLAGS.base_depth,
        stem=FLAGS.stem,
        image_size=data_set.IMAGE_SIZE, channels=data_set.IMAGE_CHANNELS,
        data_format=FLAGS.data_format)
    return config.TrainConfig(
        model=model, batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        learning_rate_decay=FLAGS.learning_rate_decay,
        weight_decay=FLAGS.weight_decay, ema_decay=FLAGS.ema_decay,
        steps=FLAGS.steps, seed=FLAGS.seed, optimizer=FLAGS.optimizer,
        momentum=FLAGS.momentum, save_every=FLAGS.save_every,
        keep_checkpoint_every=FLAGS.keep_checkpoint_every,
        log_every=FLAGS.log_every,
        conv_gradients=FLAGS.conv_gradients, precision=FLAGS.precision,
        input_pipeline=FLAGS.input_pipeline,
        xla=FLAGS.xla, intra_op_threads=FLAGS.intra_op_threads,
        inter_op_threads=FLAGS.inter_op_threads,
        num_devices=FLAGS.num_devices).resolved()


def _check_step_timeout():
    if not FLAGS.step_timeout > 0:
        raise config.ConfigError('--step_timeout must be positive, got %s' %
                                 FLAGS.step_timeout)


def main(argv):
    cli.refuse_arguments(argv)

    def log(line):
        print(line, flush=True)

    def run():
        train_config = train_config_from_flags()
        task = distributed.cluster_task(FLAGS.cluster, FLAGS.job_name,
                                        FLAGS.task_index, os.environ)
        if task and task.job_name == 'ps':
            distributed.run_parameter_server(task, train_config, log=log)
            return
        _check_step_timeout()
        mnist = data.load_mnist(FLAGS.data_dir)
        if task:
            result = distributed.train_worker(
                train_config, FLAGS.model_dir, mnist.train, task,
                step_timeout=FLAGS.step_timeout, log=log)
        else:
            result = training.train(train_config, FLAGS.model_dir,
                                    mnist.train, log=log)
        print('trained to step %d; checkpoints in %s' %
              (result.step, FLAGS.model_dir))

    cli.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
