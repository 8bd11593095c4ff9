"""The library parts issue 29's recipes added: the cosine learning-rate
schedule (--learning_rate_schedule) and the affine augmentation
(--random_rotation, --random_scale), each as reproducible as the rest: a
function of (seed, step), the same bits on the feed and tf.data paths, and
a resumed run replaying the uninterrupted one."""

import dataclasses
import json
import math
import shutil

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_train_config
from resnet_tf1 import config
from resnet_tf1 import errors
from resnet_tf1.data import inputs
from resnet_tf1.model_dir import run_record
from resnet_tf1.training import loop
from resnet_tf1.training import train_op

tf1 = tf.compat.v1


def quiet(_):
    pass


def _rates(train_config, steps):
    with tf.Graph().as_default():
        global_step = tf1.train.get_or_create_global_step()
        rate = train_op.learning_rate_at(train_config, global_step)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            rates = []
            for step in steps:
                session.run(global_step.assign(step))
                rates.append(float(session.run(rate)))
    return rates


def test_cosine_runs_from_the_rate_down_to_zero_at_the_last_step():
    cosine = config.TrainConfig(learning_rate=0.1, steps=4000,
                                learning_rate_schedule='cosine')
    steps = [0, 1000, 2000, 3000, 4000]
    expected = [0.05 * (1 + math.cos(math.pi * step / 4000))
                for step in steps]
    np.testing.assert_allclose(_rates(cosine, steps), expected, rtol=1e-6,
                               atol=1e-9)
    # The default stays the article's staircase, once per epoch (550
    # steps at batch 100).
    exponential = config.TrainConfig(learning_rate=0.1,
                                     learning_rate_decay=0.75)
    np.testing.assert_allclose(_rates(exponential, [549, 550, 1100]),
                               [0.1, 0.075, 0.05625], rtol=1e-6)


def test_the_new_fields_are_validated_naming_their_flags():
    for fields, message in [
            (dict(learning_rate_schedule='linear'),
             "--learning_rate_schedule must be one of exponential|cosine, "
             "got 'linear'"),
            (dict(random_rotation=-1.0),
             '--random_rotation must be in [0, 45] (degrees), got -1.0'),
            (dict(random_rotation=50.0), '--random_rotation must be in'),
            (dict(random_scale=1.0),
             '--random_scale must be in [0, 1), got 1.0')]:
        with pytest.raises(errors.ConfigError) as raised:
            config.TrainConfig(**fields).resolved()
        assert str(raised.value) == message or message in str(raised.value)


def test_a_config_saved_before_the_new_fields_loads_with_their_defaults():
    # Runs started before these flags existed resume as what they were.
    fields = dataclasses.asdict(tiny_train_config())
    for name in ('learning_rate_schedule', 'random_rotation',
                 'random_scale'):
        del fields[name]
    loaded = config.TrainConfig.from_json(json.dumps(fields))
    assert loaded.learning_rate_schedule == 'exponential'
    assert loaded.random_rotation == 0.0 and loaded.random_scale == 0.0


def test_warp_transforms_turn_counter_clockwise_and_resize_about_the_centre():
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype(
        np.float32)
    transforms = inputs.warp_transforms(np.array([0.0, math.pi / 2, 0.0]),
                                        np.array([1.0, 1.0, 2.0]), 28, 28)
    warped = inputs.warp_images(tf.constant(images),
                                tf.constant(transforms)).numpy()
    np.testing.assert_array_equal(warped[0], images[0])
    np.testing.assert_array_equal(warped[1, ..., 0],
                                  np.rot90(images[1, ..., 0]))
    # Twice the size: output pixel (15, 15), 1.5 from the centre 13.5,
    # samples input point (14.25, 14.25), between four pixels.
    image = images[2, ..., 0]
    expected = (0.5625 * image[14, 14] + 0.1875 * image[14, 15] +
                0.1875 * image[15, 14] + 0.0625 * image[15, 15])
    assert warped[2, 15, 15, 0] == pytest.approx(expected, rel=1e-6)
    # Shrunk, the border comes in as background (0).
    shrunk = inputs.warp_images(tf.constant(np.ones((1, 28, 28, 1),
                                                    np.float32)),
                                tf.constant(inputs.warp_transforms(
                                    np.zeros(1), np.full(1, 0.5), 28, 28)))
    assert shrunk.numpy()[0, 0, 0, 0] == 0.0
    assert shrunk.numpy()[0, 14, 14, 0] == 1.0


def _examples(count=40):
    rng = np.random.default_rng(1)
    return (rng.random((count, 28, 28, 1)).astype(np.float32),
            rng.integers(0, 10, count).astype(np.int64))


def test_warps_are_seeded_per_step_within_their_ranges():
    examples = _examples()
    batcher = inputs.Batcher(*examples, batch_size=8, seed=3,
                             max_rotation=10, max_scale=0.1)
    again = inputs.Batcher(*examples, batch_size=8, seed=3,
                           max_rotation=10, max_scale=0.1)
    drawn = [batcher.warps(step) for step in range(50)]
    for step in reversed(range(50)):  # any order: a resumed run redraws
        np.testing.assert_array_equal(again.warps(step), drawn[step])
    other = inputs.Batcher(*examples, batch_size=8, seed=4, max_rotation=10,
                           max_scale=0.1)
    assert not np.array_equal(other.warps(0), drawn[0])
    stacked = np.concatenate(drawn)
    # a0 = cos / s, b0 = sin / s: the scale and the angle back.
    scales = 1 / np.hypot(stacked[:, 0], stacked[:, 3])
    angles = np.degrees(np.arctan2(stacked[:, 3], stacked[:, 0]))
    assert 0.9 <= scales.min() < 0.92 and 1.08 < scales.max() <= 1.1
    assert -10 <= angles.min() < -9 and 9 < angles.max() <= 10
    # Drawing warps leaves the batches and shifts as they were.
    plain = inputs.Batcher(*examples, batch_size=8, seed=3)
    np.testing.assert_array_equal(plain.indices(7), batcher.indices(7))
    with pytest.raises(ValueError, match='max_scale must be in'):
        inputs.Batcher(*examples, batch_size=8, seed=3, max_scale=1.5)


def test_both_pipelines_serve_the_same_warped_batches():
    model = config.ModelConfig().resolved()
    examples = _examples()
    served = {}
    for name, first_step in [('feed', 0), ('dataset', 0), ('dataset', 3)]:
        batcher = inputs.Batcher(*examples, batch_size=8, seed=5,
                                 max_shift=2, max_rotation=15,
                                 max_scale=0.2)
        with tf.Graph().as_default():
            pipeline = inputs.INPUT_PIPELINES[name](model, 2, 15, 0.2)
            with tf1.Session() as session:
                pipeline.start(session, batcher, first_step)
                served[name, first_step] = [session.run(
                    pipeline.images, pipeline.feed_dict(step))
                    for step in range(first_step, 5)]
    for step, images in enumerate(served['feed', 0]):
        raw, _ = batcher.batch(step)
        expected = inputs.shift_images(
            inputs.warp_images(tf.constant(raw),
                               tf.constant(batcher.warps(step))),
            tf.constant(batcher.shifts(step)), 2).numpy()
        np.testing.assert_array_equal(images, expected)
        assert not np.array_equal(images, raw)
        np.testing.assert_array_equal(served['dataset', 0][step], images)
        if step >= 3:
            np.testing.assert_array_equal(served['dataset', 3][step - 3],
                                          images)


def _checkpoint(model_dir):
    reader = tf1.train.NewCheckpointReader(
        tf1.train.latest_checkpoint(model_dir))
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()}


def test_a_cosine_warped_run_resumed_halfway_ends_on_the_same_bits(
        mnist_data, tmp_path):
    # Stopped after step 2 of 4 with the same command (the cosine runs to
    # --steps, so the stopped run must have been asked for 4 steps too):
    # the resumed run's steps are the uninterrupted run's, bit for bit.
    recipe = tiny_train_config(seed=7, steps=4, save_every=2,
                               learning_rate_schedule='cosine',
                               random_rotation=10.0, random_scale=0.1,
                               random_shift=2)
    straight_dir, resumed_dir = tmp_path / 'straight', tmp_path / 'resumed'
    straight = loop.train(recipe, str(straight_dir), mnist_data.train,
                          log=quiet)
    resumed_dir.mkdir()
    for path in straight_dir.glob('model.ckpt-2.*'):
        shutil.copy(path, resumed_dir / path.name)
    shutil.copy(straight_dir / run_record.CONFIG_FILENAME, resumed_dir)
    tf1.train.update_checkpoint_state(str(resumed_dir),
                                      str(resumed_dir / 'model.ckpt-2'))
    resumed = loop.train(recipe, str(resumed_dir), mnist_data.train,
                         log=quiet)
    assert len(straight.losses) == 4
    assert resumed.losses == straight.losses[2:]
    a, b = _checkpoint(str(straight_dir)), _checkpoint(str(resumed_dir))
    assert a.keys() == b.keys() and a['global_step'] == 4
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # The warps reach the network: the first loss, before any update,
    # is not the unwarped run's.
    plain = loop.train(dataclasses.replace(recipe, random_rotation=0.0,
                                           random_scale=0.0, steps=1),
                       str(tmp_path / 'plain'), mnist_data.train, log=quiet)
    assert plain.losses[0] != straight.losses[0]
