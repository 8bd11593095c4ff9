"""`python -m resnet_tf1 signal --model M`: at initialization, one batch of
training images' root mean square after each stage and the cross-entropy
gradient of every weight relative to the weight: why a network does (not)
learn. See resnet_tf1/tools/init_signal.py."""

import random
import sys

from absl import flags

import data_set
from resnet_tf1.cli import flag_groups
from resnet_tf1.errors import ConfigError

FLAGS = flags.FLAGS
TAKES_ARGUMENTS = False


def define_flags():
    flag_groups.define_model(shape=True)
    flag_groups.define_data_dir()
    flag_groups.define_batch_size()
    flag_groups.define_seed()


def main(_):
    from resnet_tf1.data import mnist
    from resnet_tf1.tools import init_signal
    model = flag_groups.model_config().resolved()
    if model.image_size != data_set.IMAGE_SIZE or model.channels != 1:
        raise ConfigError('signal measures on MNIST: --image_size %d '
                          '--channels 1' % data_set.IMAGE_SIZE)
    if FLAGS.batch_size < 1:
        raise ConfigError('--batch_size must be at least 1, got %d' %
                          FLAGS.batch_size)
    seed = FLAGS.seed
    if seed is None:
        seed = random.SystemRandom().randrange(2 ** 31)
        # On stderr: stdout stays the table.
        sys.stderr.write('note: --seed not given; drew %d (--seed %d '
                         'repeats this)\n' % (seed, seed))
    train = mnist.load_mnist(FLAGS.data_dir).train
    signal = init_signal.measure(model, train.images[:FLAGS.batch_size],
                                 train.labels[:FLAGS.batch_size], seed)
    print('\n'.join(init_signal.format_signal(model.name, signal)))
