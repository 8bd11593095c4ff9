"""--optimizer: slim's train_image_classifier choices, each trained a few
steps, and resumed bit for bit (its slots are in the checkpoint)."""

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1 import config
from resnet_tf1 import errors
from resnet_tf1.model_dir import checkpoints
from resnet_tf1.training import loop

from conftest import tiny_train_config

# A slot or accumulator variable each optimizer must checkpoint.
SLOT_NAMES = {
    'momentum': 'Momentum',
    'adam': 'beta1_power',
    'rmsprop': 'RMSProp_1',
    'adagrad': 'Adagrad',
    'adadelta': 'Adadelta_1',
    'ftrl': 'Ftrl_1',
}


def quiet(_):
    pass


def checkpoint_tensors(model_dir):
    reader = tf.train.load_checkpoint(checkpoints.latest_checkpoint(model_dir))
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()}


@pytest.fixture(scope='module')
def sgd_losses(mnist_data, tmp_path_factory):
    train_config = tiny_train_config(steps=4, learning_rate=0.01)
    return loop.train(train_config, str(tmp_path_factory.mktemp('sgd')),
                      mnist_data.train, log=quiet).losses


@pytest.mark.parametrize('optimizer', sorted(SLOT_NAMES))
def test_optimizer_trains_and_resumes_bit_for_bit(mnist_data, tmp_path,
                                                  sgd_losses, optimizer):
    def train(model_dir, steps):
        train_config = tiny_train_config(steps=steps, learning_rate=0.01,
                                         optimizer=optimizer)
        return loop.train(train_config, str(tmp_path / model_dir),
                          mnist_data.train, log=quiet)

    whole = train('whole', 4)
    losses = [loss for _, loss in whole.losses]
    assert all(np.isfinite(losses))
    # Same seed, data and first loss; the updates differ from SGD's.
    assert losses[0] == sgd_losses[0][1]
    assert losses[1:] != [loss for _, loss in sgd_losses[1:]]
    train('resumed', 2)
    resumed = train('resumed', 4)
    assert resumed.losses == whole.losses[2:]
    a = checkpoint_tensors(str(tmp_path / 'whole'))
    b = checkpoint_tensors(str(tmp_path / 'resumed'))
    assert a.keys() == b.keys()
    assert any(SLOT_NAMES[optimizer] in name for name in a), sorted(a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_sgd_is_gradient_descent():
    assert tiny_train_config(optimizer='sgd').optimizer == 'gradient_descent'


@pytest.mark.parametrize('field,value', [
    ('optimizer', 'lbfgs'), ('adam_beta1', 1.0), ('adam_beta2', -0.1),
    ('rmsprop_decay', float('nan')), ('opt_epsilon', 0.0),
    ('adadelta_rho', 1.5), ('adagrad_initial_accumulator_value', 0.0),
    ('ftrl_learning_rate_power', 0.5), ('ftrl_l1', -1.0)])
def test_bad_optimizer_settings_name_the_flag(field, value):
    with pytest.raises(errors.ConfigError, match='--%s' % field):
        tiny_train_config(**{field: value})


def test_every_choice_is_tested():
    assert set(config.OPTIMIZERS) == set(SLOT_NAMES) | {'gradient_descent'}
