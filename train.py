"""Trains a network of the registry on MNIST, writing checkpoints.

    python train.py --steps 8000

Flags default to data_set.py. Re-running with the same --model_dir resumes
from its newest checkpoint; --steps is the total to reach.
"""

import os

from absl import app
from absl import flags

from resnet_tf1.cli import launch  # first: quiets TensorFlow before it loads
from resnet_tf1.cli import flag_groups
from resnet_tf1.data import mnist
from resnet_tf1.errors import ConfigError
from resnet_tf1.training import distributed
from resnet_tf1.training import loop

flag_groups.define_model()
flag_groups.define_hyperparameters()
flag_groups.define_checkpointing()
flag_groups.define_performance()
flag_groups.define_cluster()
flag_groups.define_data_dir()
flag_groups.define_model_dir()
flag_groups.define_verbose()
# `--help` lists the shared flags this command defined as its own.
flags.adopt_module_key_flags(flag_groups)

FLAGS = flags.FLAGS


def _check_step_timeout():
    for flag in ('step_timeout', 'peer_timeout'):
        if not FLAGS[flag].value > 0:  # NaN included
            raise ConfigError('--%s must be positive, got %s' % (
                flag, FLAGS[flag].value))


def main(argv):
    launch.refuse_arguments(argv)

    def log(line):
        print(line, flush=True)

    def run():
        train_config = flag_groups.train_config()
        task = distributed.cluster_task(FLAGS.cluster, FLAGS.job_name,
                                        FLAGS.task_index, os.environ)
        _check_step_timeout()
        if task and task.job_name == 'ps':
            distributed.run_parameter_server(
                task, train_config, log=log, peer_timeout=FLAGS.peer_timeout)
            return
        data = mnist.load_mnist(FLAGS.data_dir)
        if task:
            result = distributed.train_worker(
                train_config, FLAGS.model_dir, data.train, task,
                step_timeout=FLAGS.step_timeout, log=log,
                peer_timeout=FLAGS.peer_timeout)
        else:
            result = loop.train(train_config, FLAGS.model_dir, data.train,
                                log=log, data_source='%s (%d images)' % (
                                    FLAGS.data_dir, len(data.train.labels)))
        print('trained to step %d; checkpoints in %s' %
              (result.step, FLAGS.model_dir))

    launch.run(run)


if __name__ == '__main__':
    app.run(main, flags_parser=launch.parse_flags)
