"""What a new user sees first (issue 27): train's start line and epochs,
eval's start line, progress, loss and split-only reading, and the
TensorBoard layout plot reads in both its forms."""

import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1 import errors
from resnet_tf1.data import mnist
from resnet_tf1.evaluation import evaluate
from resnet_tf1.model_dir import checkpoints
from resnet_tf1.model_dir import summaries
from resnet_tf1.tools import plot
from resnet_tf1.training import loop

from conftest import MNIST_DIR
from conftest import tiny_train_config


def test_train_logs_start_line_graph_line_and_epochs(mnist_data, tmp_path):
    lines = []
    train_config = tiny_train_config(steps=4, log_every=2, seed=None)
    loop.train(train_config, str(tmp_path), mnist_data.train,
               log=lines.append, data_source='MNIST (55000 images)')
    start = lines[0]
    seed = int(re.search(r'seed=(\d+) \(drawn\)', start).group(1))
    for fragment in ('train resnet34 (base_depth 4, norm none)',
                     'data=MNIST (55000 images)', 'model_dir=%s' % tmp_path,
                     'steps=4', 'epochs=0.00', 'batch_size=8',
                     'optimizer=gradient_descent'):
        assert fragment in start, start
    assert re.match(r'^graph built in \d+\.\d s: [\d,]+ parameters$',
                    lines[1]), lines[1]
    assert re.match(r'^step 2/4 epoch 0\.00 loss ', lines[2]), lines[2]
    # Resumed without --seed: the run's seed, said to be the run's.
    lines.clear()
    loop.train(tiny_train_config(steps=6, log_every=2, seed=None),
               str(tmp_path), mnist_data.train, log=lines.append)
    assert "seed=%d (the resumed run's)" % seed in lines[0], lines[0]


def test_epochs_count_passes_over_the_training_split():
    train_config = tiny_train_config(batch_size=100, steps=1100)
    assert loop.epochs(train_config, 550) == pytest.approx(1.0)
    assert 'epochs=2.00' in loop.start_line(train_config, 'd')


@pytest.fixture(scope='module')
def trained(mnist_data, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp('trained')
    train_config = tiny_train_config(steps=3)
    loop.train(train_config, str(model_dir), mnist_data.train,
               log=lambda _: None)
    return str(model_dir), train_config


def test_eval_loss_is_the_training_formula(trained, mnist_data):
    model_dir, train_config = trained
    checkpoint = checkpoints.latest_checkpoint(model_dir)
    split = mnist.Split(mnist_data.test.images[:300],
                        mnist_data.test.labels[:300])
    progress = []
    evaluator = evaluate.Evaluator(train_config, use_ema=False)
    try:
        result = evaluator.evaluate(checkpoint, split, 100,
                                    progress=progress.append,
                                    progress_seconds=0)
        logits = evaluator.session.run(evaluator.logits, feed_dict={
            evaluator.images: split.images}).astype(np.float64)
    finally:
        evaluator.close()
    # The mean cross-entropy, recomputed in numpy from the logits.
    log_softmax = logits - np.log(np.sum(np.exp(
        logits - logits.max(1, keepdims=True)), 1, keepdims=True)) - \
        logits.max(1, keepdims=True)
    assert result.cross_entropy == pytest.approx(
        -np.mean(log_softmax[np.arange(300), split.labels]), rel=1e-5)
    # The L2 term: the weight decay times half the squared norm of every
    # conv and FC weight, from the checkpoint (raw weights).
    reader = tf.train.load_checkpoint(checkpoint)
    l2 = sum(0.5 * float(np.sum(np.square(reader.get_tensor(name))))
             for name in reader.get_variable_to_shape_map()
             if name.endswith('/weights'))
    assert result.loss - result.cross_entropy == pytest.approx(
        train_config.weight_decay * l2, rel=1e-5)
    # A line per batch but the last (progress_seconds 0).
    assert len(progress) == 2, progress
    for line, done in zip(progress, (100, 200)):
        assert line.startswith('eval step 3: %d/300 images, accuracy so '
                               'far 0.' % done), line
    assert evaluate.format_result(result).endswith(
        ' loss=%.4f' % result.loss)


def test_eval_summary_overlays_training_tags(trained, mnist_data):
    model_dir, train_config = trained
    split = mnist.Split(mnist_data.test.images[:100],
                        mnist_data.test.labels[:100])
    evaluator = evaluate.Evaluator(train_config)
    try:
        result = evaluator.evaluate(checkpoints.latest_checkpoint(model_dir),
                                    split, 100)
    finally:
        evaluator.close()
    evaluate.write_summary(result, 'test')
    evals = summaries.read_scalars(os.path.join(model_dir, 'eval_test'))
    training = summaries.read_scalars(os.path.join(model_dir, 'train'))
    assert set(evals) == {'accuracy', 'loss', 'loss/cross_entropy'}
    assert set(evals) < set(training)
    assert evals['loss'] == [(3, pytest.approx(result.loss))]
    # No event file of training's left in the model directory itself.
    assert not [name for name in os.listdir(model_dir)
                if name.startswith('events.out')]


def test_test_split_reads_only_the_t10k_files(tmp_path, monkeypatch):
    for name in mnist.SPLIT_FILES['test']:
        shutil.copy(MNIST_DIR / name, tmp_path / name)

    def no_download(*args, **kwargs):
        raise AssertionError('downloaded %s %s' % (args, kwargs))
    monkeypatch.setattr(mnist, '_download_verified', no_download)
    test = mnist.load_split(str(tmp_path), 'test')
    assert test.images.shape == (10000, 28, 28, 1)
    assert test.labels.dtype == np.int64
    # The validation split needs the training files: it says which.
    with pytest.raises(errors.DataError, match='train-images-idx3-ubyte.gz'):
        mnist.load_split(str(tmp_path), 'validation', download=False)


def test_missing_test_files_are_named(tmp_path):
    with pytest.raises(errors.DataError) as raised:
        mnist.load_split(str(tmp_path), 'test', download=False)
    message = str(raised.value)
    assert 't10k-images' in message and 'train-images' not in message


def test_plot_reads_the_flat_layout_as_the_grouped_one(tmp_path):
    # Before train/: training's flat tags in the model directory itself.
    old, new = tmp_path / 'old', tmp_path / 'new'
    for directory, tags in ((old, ('loss', 'cross_entropy', 'learning_rate',
                                   'batch_accuracy')),
                            (new / 'train', (summaries.LOSS,
                                             summaries.CROSS_ENTROPY,
                                             summaries.LEARNING_RATE,
                                             summaries.ACCURACY))):
        with summaries.ScalarWriter(str(directory)) as writer:
            for step in (1, 2):
                writer.write(step, {tag: step / 10 for tag in tags})
    old_training, _ = plot.read_run(str(old))
    new_training, _ = plot.read_run(str(new))
    assert old_training == new_training
    assert set(new_training) == {'loss', 'cross_entropy', 'learning_rate',
                                 'accuracy'}
    # A run resumed across the change: the steps of both layouts.
    with summaries.ScalarWriter(str(old / 'train')) as writer:
        writer.write(3, {summaries.LOSS: 0.3})
    steps, values = plot.read_run(str(old))[0]['loss']
    assert steps == (1, 2, 3) and values == pytest.approx((0.1, 0.2, 0.3))
