"""Data-parallel towers on logical CPU devices: N towers train what one
device trains on the same batch."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1.model_dir import run_record
from resnet_tf1.compute import model_graph
from resnet_tf1 import errors
from resnet_tf1.data import mnist
from resnet_tf1.evaluation import evaluate
from resnet_tf1.training import loop
from resnet_tf1.training import train_op

from conftest import tiny_train_config
from conftest import with_compute

tf1 = tf.compat.v1


def quiet(_):
    pass


def one_step(train_config, checkpoint, images, labels, run_train_op=False):
    """Restores `checkpoint` into the train graph of `train_config` and
    returns loss, cross-entropy, {variable name: gradient} on the batch (and,
    with run_train_op, every global variable after one train step)."""
    train_graph = train_op.build_train_graph(train_config)
    gradients = {variable.op.name: gradient
                 for gradient, variable in train_graph.grads_and_vars}
    config = model_graph.session_config(train_config.compute)
    with tf1.Session(graph=train_graph.graph, config=config) as session:
        train_graph.saver.restore(session, checkpoint)
        feed = {train_graph.images: images, train_graph.labels: labels}
        loss, cross_entropy, gradient_values = session.run(
            [train_graph.loss, train_graph.cross_entropy, gradients], feed)
        after = None
        if run_train_op:
            session.run(train_graph.train_op, feed)
            after = {variable.op.name: value for variable, value in zip(
                train_graph.graph.get_collection('variables'),
                session.run(train_graph.graph.get_collection('variables')))}
    return loss, cross_entropy, gradient_values, after


@pytest.fixture(scope='module')
def initial_checkpoint(tmp_path_factory):
    """Initial weights of the tiny config, shared by every tower count."""
    path = str(tmp_path_factory.mktemp('init') / 'model.ckpt')
    train_graph = train_op.build_train_graph(tiny_train_config())
    with tf1.Session(graph=train_graph.graph) as session:
        session.run(tf1.global_variables_initializer())
        train_graph.saver.save(session, path)
    return path


@pytest.mark.parametrize('num_devices', [2, 4])
def test_towers_give_the_loss_and_gradients_of_one_device(
        mnist_data, initial_checkpoint, num_devices):
    images, labels = mnist_data.train.images[:8], mnist_data.train.labels[:8]
    single = one_step(tiny_train_config(), initial_checkpoint, images, labels)
    towers = one_step(tiny_train_config(num_devices=num_devices),
                      initial_checkpoint, images, labels)
    np.testing.assert_allclose(towers[0], single[0], rtol=1e-6)
    np.testing.assert_allclose(towers[1], single[1], rtol=1e-6)
    assert sorted(towers[2]) == sorted(single[2])
    for name, gradient in single[2].items():
        scale = np.abs(gradient).max()
        assert scale > 0, name  # every weight gets a gradient
        # Float32 sums in another order: oneDNN's AVX-512 kernels, whose
        # blocking depends on the batch, put a bias gradient 1.1e-5 of its
        # scale off; a wrong gradient is off by the order of the scale.
        np.testing.assert_allclose(towers[2][name], gradient, rtol=0,
                                   atol=1e-4 * scale, err_msg=name)


def test_towers_share_one_set_of_variables_on_the_parameter_device():
    single = train_op.build_train_graph(tiny_train_config())
    towers = train_op.build_train_graph(tiny_train_config(num_devices=2))

    def names(graph, collection):
        return sorted(variable.op.name
                      for variable in graph.get_collection(collection))

    for collection in ('variables', 'trainable_variables'):
        assert names(towers.graph, collection) == names(single.graph,
                                                        collection)
    # One L2 term per weight, not one per tower.
    assert (len(towers.graph.get_collection('regularization_losses')) ==
            len(single.graph.get_collection('regularization_losses')))
    for variable in towers.graph.get_collection('trainable_variables'):
        assert variable.device.endswith('CPU:0'), variable.device
    convs = {op.name.split('/')[0]: op.device
             for op in towers.graph.get_operations() if op.type == 'Conv2D'}
    assert convs['tower_0'].endswith('CPU:0')
    assert convs['tower_1'].endswith('CPU:1')


def test_batch_norm_statistics_come_from_the_first_tower(mnist_data, tmp_path):
    """Each tower normalizes its own slice; the moving statistics move once
    per step, from tower 0's slice: what one device gives on that slice."""
    images, labels = mnist_data.train.images[:8], mnist_data.train.labels[:8]
    checkpoint = str(tmp_path / 'model.ckpt')
    batch_norm = tiny_train_config(norm='batch')
    train_graph = train_op.build_train_graph(batch_norm)
    with tf1.Session(graph=train_graph.graph) as session:
        session.run(tf1.global_variables_initializer())
        train_graph.saver.save(session, checkpoint)
    towers = one_step(with_compute(batch_norm, num_devices=2),
                      checkpoint, images, labels, run_train_op=True)[3]
    first_half = one_step(batch_norm, checkpoint, images[:4], labels[:4],
                          run_train_op=True)[3]
    moving = [name for name in towers if name.endswith('moving_mean') or
              name.endswith('moving_variance')]
    assert moving
    for name in moving:
        np.testing.assert_allclose(towers[name], first_half[name], rtol=1e-5,
                                   atol=1e-6, err_msg=name)


def test_two_towers_train_repeatably_and_evaluate_as_one_network(
        mnist_data, tmp_path):
    fixed = mnist.Split(mnist_data.train.images[:8],
                        mnist_data.train.labels[:8])
    train_config = tiny_train_config(num_devices=2, steps=30,
                                     learning_rate=0.1, base_depth=8)
    first = loop.train(train_config, str(tmp_path / 'a'), fixed,
                       log=quiet)
    losses = [loss for _, loss in first.losses]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses
    again = loop.train(dataclasses.replace(train_config, steps=3),
                       str(tmp_path / 'b'), fixed, log=quiet)
    assert again.losses == first.losses[:3]
    # The checkpoint holds a single network: the evaluator (one device)
    # restores it.
    evaluator = evaluate.Evaluator(run_record.load(str(tmp_path / 'a')))
    try:
        result = evaluator.evaluate(
            tf1.train.latest_checkpoint(str(tmp_path / 'a')), fixed,
            batch_size=8)
    finally:
        evaluator.close()
    assert result.step == 30 and result.examples == 8


def test_batch_that_does_not_split_evenly_is_refused():
    with pytest.raises(errors.ConfigError,
                       match='--batch_size 8 does not split evenly over '
                             '--num_devices 3'):
        tiny_train_config(num_devices=3)
