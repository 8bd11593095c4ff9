"""Trains a network of the registry on MNIST, writing checkpoints.

    python train.py --steps 8000

Flags default to data_set.py. Re-running with the same --model_dir resumes
from its newest checkpoint; --steps is the total to reach.
"""

import os

from absl import app
from absl import flags

from resnet_tf1 import cli  # first: quiets TensorFlow before it loads
from resnet_tf1 import flags_core
from resnet_tf1.data import mnist
from resnet_tf1.errors import ConfigError
from resnet_tf1.scaling import distributed
from resnet_tf1.training import loop

flags_core.define_model()
flags_core.define_hyperparameters()
flags_core.define_checkpointing()
flags_core.define_performance()
flags_core.define_cluster()
flags_core.define_data_dir()
flags_core.define_model_dir()
flags_core.define_verbose()
# `--help` lists the shared flags this command defined as its own.
flags.adopt_module_key_flags(flags_core)

FLAGS = flags.FLAGS


def _check_step_timeout():
    if not FLAGS.step_timeout > 0:
        raise ConfigError('--step_timeout must be positive, got %s' %
                          FLAGS.step_timeout)


def main(argv):
    cli.refuse_arguments(argv)

    def log(line):
        print(line, flush=True)

    def run():
        train_config = flags_core.train_config()
        task = distributed.cluster_task(FLAGS.cluster, FLAGS.job_name,
                                        FLAGS.task_index, os.environ)
        if task and task.job_name == 'ps':
            distributed.run_parameter_server(task, train_config, log=log)
            return
        _check_step_timeout()
        data = mnist.load_mnist(FLAGS.data_dir)
        if task:
            result = distributed.train_worker(
                train_config, FLAGS.model_dir, data.train, task,
                step_timeout=FLAGS.step_timeout, log=log)
        else:
            result = loop.train(train_config, FLAGS.model_dir, data.train,
                                log=log)
        print('trained to step %d; checkpoints in %s' %
              (result.step, FLAGS.model_dir))

    cli.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
