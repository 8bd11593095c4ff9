"""The train op, the loop, checkpoints and EMA evaluation, on tiny runs."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import checkpoints
from resnet_tf1 import config
from resnet_tf1 import errors
from resnet_tf1.data import mnist
from resnet_tf1.evaluation import evaluate
from resnet_tf1.training import loop
from resnet_tf1.training import train_op

from conftest import tiny_train_config
from conftest import with_compute

tf1 = tf.compat.v1


def checkpoint_tensors(model_dir):
    reader = tf.train.load_checkpoint(checkpoints.latest_checkpoint(model_dir))
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()}


def quiet(_):
    pass


def test_loss_falls_when_overfitting_one_batch(mnist_data, tmp_path):
    fixed = mnist.Split(mnist_data.train.images[:8],
                        mnist_data.train.labels[:8])
    train_config = tiny_train_config(steps=40, learning_rate=0.1,
                                     base_depth=8)
    result = loop.train(train_config, str(tmp_path), fixed, log=quiet)
    losses = [loss for _, loss in result.losses]
    assert result.step == 40 and len(losses) == 40
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses


def test_learning_rate_decays_once_per_epoch():
    train_config = tiny_train_config(batch_size=10, train_examples=30,
                                     learning_rate=0.5,
                                     learning_rate_decay=0.5)
    train_graph = train_op.build_train_graph(train_config)
    with tf1.Session(graph=train_graph.graph) as session:
        session.run(tf1.global_variables_initializer())
        rates = []
        for step in (0, 2, 3, 5, 6):
            train_graph.global_step.load(step, session)
            rates.append(session.run(train_graph.learning_rate))
    np.testing.assert_allclose(rates, [0.5, 0.5, 0.25, 0.25, 0.125])


def test_regularization_covers_every_conv_and_fc_weight():
    train_config = tiny_train_config(weight_decay=0.01)
    train_graph = train_op.build_train_graph(train_config)
    with train_graph.graph.as_default():
        weights = [v for v in tf1.trainable_variables()
                   if v.op.name.endswith('/weights')]
        regularization = tf1.losses.get_regularization_loss()
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            values, total = session.run([weights, regularization])
    assert len(weights) == 1 + 2 * 16 + 1    # stem, 16 units, FC
    expected = 0.01 * sum(np.sum(w.astype(np.float64) ** 2) / 2
                          for w in values)
    np.testing.assert_allclose(total, expected, rtol=1e-5)


def test_checkpoint_round_trip(mnist_data, tmp_path):
    train_config = tiny_train_config(norm='batch', optimizer='momentum')
    loop.train(train_config, str(tmp_path), mnist_data.train, log=quiet)
    saved = checkpoint_tensors(str(tmp_path))
    assert saved['global_step'] == 3
    # Weights, EMA shadows, BN statistics and momentum slots are all there.
    names = set(saved)
    assert 'resnet34/block1/unit_1/conv1/weights' in names
    assert 'resnet34/block1/unit_1/conv1/weights/ExponentialMovingAverage' \
        in names
    assert 'resnet34/block1/unit_1/conv1/BatchNorm/moving_mean' in names
    assert 'resnet34/block1/unit_1/conv1/weights/Momentum' in names
    train_graph = train_op.build_train_graph(train_config)
    with tf1.Session(graph=train_graph.graph) as session:
        step = checkpoints.restore_or_initialize(
            session, train_graph.saver, str(tmp_path))
        restored = {v.op.name: session.run(v)
                    for v in train_graph.graph.get_collection(
                        tf1.GraphKeys.GLOBAL_VARIABLES)}
    assert step == 3
    assert restored.keys() == saved.keys()
    for name, value in saved.items():
        np.testing.assert_array_equal(restored[name], value, err_msg=name)


@pytest.mark.parametrize('use_ema,norm', [
    (True, 'none'), (False, 'none'), (True, 'batch')])
def test_evaluator_restores_ema_shadows_not_raw_weights(mnist_data, tmp_path,
                                                        use_ema, norm):
    train_config = tiny_train_config(steps=4, learning_rate=0.1, norm=norm)
    loop.train(train_config, str(tmp_path), mnist_data.train, log=quiet)
    saved = checkpoint_tensors(str(tmp_path))
    name = 'resnet34/block2/unit_1/conv1/weights'
    shadow = saved[name + '/ExponentialMovingAverage']
    assert not np.array_equal(shadow, saved[name])
    checkpoint, loaded_config = evaluate.resolve_checkpoint(str(tmp_path))
    evaluator = evaluate.Evaluator(loaded_config, use_ema=use_ema)
    try:
        small = mnist.Split(mnist_data.test.images[:20],
                            mnist_data.test.labels[:20])
        result = evaluator.evaluate(checkpoint, small, batch_size=7)
        with evaluator.graph.as_default():
            restored = {v.op.name: v for v in tf1.global_variables()}
        value = evaluator.session.run(restored[name])
        # BN statistics are not averaged again: restored as saved.
        moving = name.replace('weights', 'BatchNorm/moving_mean')
        if norm == 'batch':
            np.testing.assert_array_equal(
                evaluator.session.run(restored[moving]), saved[moving])
    finally:
        evaluator.close()
    np.testing.assert_array_equal(value, shadow if use_ema else saved[name])
    assert result.step == 4 and result.examples == 20
    assert result.weights == ('ema' if use_ema else 'raw')


def test_eval_accuracy_does_not_depend_on_batch_size(mnist_data, tmp_path):
    loop.train(tiny_train_config(), str(tmp_path), mnist_data.train, log=quiet)
    checkpoint, loaded_config = evaluate.resolve_checkpoint(str(tmp_path))
    evaluator = evaluate.Evaluator(loaded_config)
    try:
        split = mnist.Split(mnist_data.test.images[:500],
                            mnist_data.test.labels[:500])
        results = {evaluator.evaluate(checkpoint, split, size).accuracy
                   for size in (1, 7, 500, 1000)}
    finally:
        evaluator.close()
    assert len(results) == 1


@pytest.mark.parametrize('overrides', [
    {},                                          # the article's setting
    {'norm': 'batch', 'optimizer': 'momentum'},  # BN updates + slots
])
def test_two_seeded_runs_give_identical_checkpoints(mnist_data, tmp_path,
                                                    overrides):
    train_config = tiny_train_config(seed=7, steps=4, **overrides)
    first = loop.train(train_config, str(tmp_path / 'a'), mnist_data.train,
                       log=quiet)
    second = loop.train(train_config, str(tmp_path / 'b'), mnist_data.train,
                        log=quiet)
    assert first.losses == second.losses
    a, b = (checkpoint_tensors(str(tmp_path / d)) for d in 'ab')
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# Batch norm at a tenth of the article's learning rate: at 0.03 its curve
# over 8 images is chaotic (measured on an AVX-512 machine, 8 steps):
# 'direct', which differs from TF's kernels only in float32 summation
# order, leaves TF's loss curve by 8% (seed 1) and 13% (seed 4), and 'fast'
# by 0.5% at step 6 of seed 3, the CI failure of issue 16's landing. At 0.003
# both stay within 3e-6 of it, seeds 1-5. Comparing kernels needs a curve
# that does not amplify rounding.
@pytest.mark.parametrize('norm,learning_rate', [('none', 0.03),
                                                ('batch', 0.003)])
def test_fast_conv_gradients_keep_the_loss_curve(mnist_data, tmp_path, norm,
                                                 learning_rate):
    # The rewrite changes only float32 summation order ('fast' also uses
    # Winograd: ~1e-5 of a result's range). 'auto' is 'fast' on a CPU
    # (tests/test_train_formulations.py).
    runs = {}
    for kind in ('fast', 'direct', 'tf'):
        train_config = tiny_train_config(seed=3, steps=6, norm=norm,
                                         learning_rate=learning_rate,
                                         conv_gradients=kind)
        runs[kind] = loop.train(train_config, str(tmp_path / kind),
                                mnist_data.train, log=quiet)
    stock = [loss for _, loss in runs['tf'].losses]
    assert len(stock) == 6
    stock_checkpoint = checkpoint_tensors(str(tmp_path / 'tf'))
    for kind in ('fast', 'direct'):
        np.testing.assert_allclose([loss for _, loss in runs[kind].losses],
                                   stock, rtol=1e-5, err_msg=kind)
        checkpoint = checkpoint_tensors(str(tmp_path / kind))
        assert checkpoint.keys() == stock_checkpoint.keys()
        for name, value in stock_checkpoint.items():
            np.testing.assert_allclose(checkpoint[name], value, rtol=1e-4,
                                       atol=1e-6, err_msg=kind + ' ' + name)


def test_random_shift_runs_replay_on_either_pipeline(mnist_data, tmp_path):
    # An augmented run is as reproducible as a plain one: the tf.data path
    # trains on the feed path's shifted batches, and a run resumed halfway
    # ends on the uninterrupted run's checkpoint (shifts are drawn per
    # (seed, step), not from a stream that a restart would reset).
    shifted = tiny_train_config(seed=5, steps=4, random_shift=2)
    straight = loop.train(shifted, str(tmp_path / 'feed'), mnist_data.train,
                          log=quiet)
    staged = with_compute(shifted, input_pipeline='dataset')
    loop.train(dataclasses.replace(staged, steps=2), str(tmp_path / 'staged'),
               mnist_data.train, log=quiet)
    resumed = loop.train(staged, str(tmp_path / 'staged'), mnist_data.train,
                         log=quiet)
    assert resumed.losses == straight.losses[2:]
    a, b = (checkpoint_tensors(str(tmp_path / d)) for d in ('feed', 'staged'))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # The shifts reach the network: the first step's loss, taken before
    # any update, is not the unshifted run's (the shift ops draw no seeds,
    # so both start from the same weights).
    plain = loop.train(dataclasses.replace(shifted, random_shift=0, steps=1),
                       str(tmp_path / 'plain'), mnist_data.train, log=quiet)
    assert plain.losses[0] != straight.losses[0]


def test_different_seeds_give_different_runs(mnist_data, tmp_path):
    first = loop.train(tiny_train_config(seed=1), str(tmp_path / 'a'),
                       mnist_data.train, log=quiet)
    second = loop.train(tiny_train_config(seed=2), str(tmp_path / 'b'),
                        mnist_data.train, log=quiet)
    assert first.losses != second.losses


def test_unseeded_run_draws_and_saves_a_seed(mnist_data, tmp_path):
    train_config = tiny_train_config(seed=None, steps=1)
    loop.train(train_config, str(tmp_path), mnist_data.train, log=quiet)
    assert run_record.load(str(tmp_path)).seed is not None


def test_model_dir_of_another_model_is_refused(mnist_data, tmp_path):
    loop.train(tiny_train_config(steps=1), str(tmp_path), mnist_data.train,
               log=quiet)
    other = tiny_train_config(steps=2, norm='batch')
    with pytest.raises(errors.ConfigError,
                       match='holds checkpoints of another model: '
                             'norm=none \\(this run: batch\\)'):
        loop.train(other, str(tmp_path), mnist_data.train, log=quiet)
    assert checkpoint_tensors(str(tmp_path))['global_step'] == 1


def test_train_config_json_round_trip():
    train_config = tiny_train_config()
    text = train_config.to_json()
    assert config.TrainConfig.from_json(text).resolved() == train_config
    with pytest.raises(errors.ConfigError, match='not a valid training'):
        config.TrainConfig.from_json('{"model": 3}', source='x.json')


@pytest.mark.parametrize('field,value,message', [
    ('batch_size', 0, '--batch_size must be at least 1'),
    ('learning_rate', -1.0, '--learning_rate must be in'),
    ('learning_rate_decay', 1.5, '--learning_rate_decay must be in'),
    ('ema_decay', 1.0, '--ema_decay must be in'),
    ('steps', 0, '--steps must be at least 1'),
    ('optimizer', 'lamb', '--optimizer must be one of'),
    ('random_shift', -1, '--random_shift must be in \\[0, 28\\)'),
    ('random_shift', 28, '--random_shift must be in \\[0, 28\\) \\(the '
                         'image size\\), got 28'),
])
def test_out_of_range_settings_name_the_flag(field, value, message):
    with pytest.raises(errors.ConfigError, match=message):
        dataclasses.replace(tiny_train_config(), **{field: value}).resolved()


def test_training_and_evaluation_write_tensorboard_scalars(mnist_data,
                                                           tmp_path):
    from resnet_tf1.model_dir import summaries
    train_config = tiny_train_config(steps=4, log_every=2)
    loop.train(train_config, str(tmp_path), mnist_data.train, log=quiet)
    scalars = summaries.read_scalars(str(tmp_path / 'train'))
    assert set(scalars) == {'loss', 'loss/cross_entropy',
                            'optimizer/learning_rate', 'accuracy',
                            'speed/images_per_second'}
    assert [step for step, _ in scalars['loss']] == [2, 4]
    assert scalars['optimizer/learning_rate'][0][1] == pytest.approx(0.03)
    checkpoint = checkpoints.latest_checkpoint(str(tmp_path))
    result = evaluate.Evaluator(train_config).evaluate(
        checkpoint, mnist_data.validation, 1000)
    evaluate.write_summary(result, 'validation')
    written = summaries.read_scalars(
        str(tmp_path / 'eval_validation'))['accuracy']
    assert written == [(4, pytest.approx(result.accuracy))]
