"""Export (SavedModel + frozen graph) and predict, on a tiny trained run."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1 import checkpoints
from resnet_tf1 import config
from resnet_tf1 import evaluation
from resnet_tf1 import export
from resnet_tf1 import predict
from resnet_tf1 import training

from conftest import REPO_DIR
from conftest import tiny_train_config

tf1 = tf.compat.v1


@pytest.fixture(scope='module')
def exported(mnist, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp('run')
    # Too short to learn much (its classes may all be alike): the tests
    # compare per-image probabilities, which differ from image to image.
    train_config = tiny_train_config(steps=6, learning_rate=0.05,
                                     optimizer='momentum', ema_decay=0.5)
    training.train(train_config, str(model_dir), mnist.train, log=lambda _: 0)
    checkpoint = checkpoints.latest_checkpoint(str(model_dir))
    export_dir = tmp_path_factory.mktemp('export')
    version_dir = export.export(checkpoint, config.load(str(model_dir)),
                                str(export_dir))
    return model_dir, export_dir, version_dir


def test_export_writes_a_versioned_saved_model_and_a_frozen_graph(exported):
    _, export_dir, version_dir = exported
    assert version_dir == os.path.join(str(export_dir), '6')
    assert sorted(os.listdir(export_dir)) == ['6']  # no staging left behind
    assert {'saved_model.pb', 'variables',
            export.FROZEN_GRAPH_NAME} <= set(os.listdir(version_dir))


def test_exported_model_gives_evals_accuracy(exported, mnist):
    model_dir, _, version_dir = exported
    images = mnist.test.images[:300]
    labels = mnist.test.labels[:300]
    serving = tf.saved_model.load(version_dir).signatures['serving_default']
    outputs = serving(images=tf.constant(images))
    classes = outputs['classes'].numpy()
    evaluator = evaluation.Evaluator(config.load(str(model_dir)))
    result = evaluator.evaluate(checkpoints.latest_checkpoint(str(model_dir)),
                                mnist.test.__class__(images, labels), 100)
    assert result.accuracy == pytest.approx(np.mean(classes == labels))
    probabilities = outputs['probabilities'].numpy()
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    assert np.ptp(probabilities[:, 0]) > 1e-4  # not one row repeated
    assert np.array_equal(probabilities.argmax(1), classes)

    # The uint8 signature scales 0..255 the way training scaled the IDX.
    raw = np.round(images * 255).astype(np.uint8)
    uint8 = tf.saved_model.load(version_dir).signatures['classify_uint8'](
        images=tf.constant(raw))
    np.testing.assert_allclose(uint8['probabilities'].numpy(),
                               probabilities, atol=1e-6)

    # The frozen GraphDef, as a TF1 consumer loads it.
    graph_def = tf1.GraphDef()
    with open(os.path.join(version_dir, export.FROZEN_GRAPH_NAME),
              'rb') as stream:
        graph_def.ParseFromString(stream.read())
    with tf.Graph().as_default() as graph:
        tf1.import_graph_def(graph_def, name='')
        with tf1.Session(graph=graph) as session:
            frozen = session.run('probabilities:0', {'images:0': images})
    np.testing.assert_allclose(frozen, probabilities, atol=1e-6)


def test_saved_model_cli_lists_and_runs_the_signature(exported, mnist,
                                                      tmp_path):
    _, _, version_dir = exported
    cli = [sys.executable, '-m',
           'tensorflow.python.tools.saved_model_cli']
    shown = subprocess.run(cli + ['show', '--dir', version_dir, '--all'],
                           capture_output=True, text=True, check=True)
    assert "signature_def['serving_default']" in shown.stdout
    assert "signature_def['classify_uint8']" in shown.stdout
    inputs = tmp_path / 'images.npy'
    np.save(inputs, mnist.test.images[:5])
    ran = subprocess.run(
        cli + ['run', '--dir', version_dir, '--tag_set', 'serve',
               '--signature_def', 'serving_default', '--inputs',
               'images=%s' % inputs], capture_output=True, text=True,
        check=True)
    serving = tf.saved_model.load(version_dir).signatures['serving_default']
    classes = serving(images=tf.constant(mnist.test.images[:5]))['classes']
    assert '[%s]' % ' '.join(map(str, classes.numpy())) in ran.stdout


def test_export_never_overwrites_a_version(exported):
    model_dir, export_dir, _ = exported
    with pytest.raises(config.ConfigError, match='version 6 exists'):
        export.export(checkpoints.latest_checkpoint(str(model_dir)),
                      config.load(str(model_dir)), str(export_dir))


def _write_png(path, image):
    tf.io.write_file(str(path), tf.io.encode_png(image))


def test_predict_converts_any_image_like_mnist(exported, mnist, tmp_path):
    _, export_dir, version_dir = exported
    digit = np.round(mnist.test.images[0] * 255).astype(np.uint8)
    # As MNIST stores it, as a larger colour picture, and as ink on paper.
    _write_png(tmp_path / 'plain.png', digit)
    big = tf.image.resize(digit, [84, 84], method='nearest').numpy()
    _write_png(tmp_path / 'colour.png', np.repeat(big, 3, axis=2))
    _write_png(tmp_path / 'paper.png', 255 - digit)
    paths = [str(tmp_path / name)
             for name in ('plain.png', 'colour.png', 'paper.png')]
    for path in paths:
        np.testing.assert_allclose(predict.load_image(path),
                                   mnist.test.images[0], atol=2 / 255)
    predictions = predict.predict(str(export_dir), paths)
    assert len({tuple(c for c, _ in p.top) for p in predictions}) == 1
    assert len(predictions[0].top) == 3
    serving = tf.saved_model.load(version_dir).signatures['serving_default']
    expected = serving(images=tf.constant(mnist.test.images[:1]))
    assert predictions[0].top[0][0] == int(expected['classes'][0])


@pytest.mark.parametrize('image_format, mode', [
    ('GIF', 'L'), ('GIF', 'P'), ('BMP', 'L'), ('BMP', 'RGB'),
    ('JPEG', 'CMYK'), ('PNG', 'RGBA')])
def test_predict_reads_gif_bmp_and_cmyk_jpeg(mnist, tmp_path, image_format,
                                             mode):
    from PIL import Image
    digit = np.round(mnist.test.images[0, ..., 0] * 255).astype(np.uint8)
    path = tmp_path / ('digit.' + image_format.lower())
    Image.fromarray(digit).convert(mode).save(path, image_format)
    # JPEG is lossy; the others keep the grey levels.
    atol = 40 / 255 if image_format == 'JPEG' else 2 / 255
    np.testing.assert_allclose(predict.load_image(str(path)),
                               mnist.test.images[0], atol=atol)


def test_predict_cli_one_line_for_a_non_image(exported, tmp_path):
    _, export_dir, _ = exported
    not_image = tmp_path / 'notes.txt'
    not_image.write_text('seven')
    run = subprocess.run(
        [sys.executable, '-m', 'resnet_tf1', 'predict', '--export_dir',
         str(export_dir), str(not_image)],
        cwd=REPO_DIR, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        'error: %s: not a PNG, JPEG, GIF or BMP image' % not_image)
    assert 'Traceback' not in run.stderr


def test_bad_export_and_predict_paths_are_one_clear_error(exported, mnist,
                                                          tmp_path):
    model_dir, export_dir, _ = exported
    a_file = tmp_path / 'a_file'
    a_file.write_text('not a directory')
    with pytest.raises(config.ConfigError,
                       match='--export_dir .*a_file: cannot write there'):
        export.export(checkpoints.latest_checkpoint(str(model_dir)),
                      config.load(str(model_dir)), str(a_file))
    assert a_file.read_text() == 'not a directory'
    corrupt = tmp_path / 'corrupt' / '1'
    corrupt.mkdir(parents=True)
    (corrupt / 'saved_model.pb').write_bytes(b'junk')
    image = tmp_path / 'digit.png'
    _write_png(image, np.zeros((28, 28, 1), np.uint8))
    with pytest.raises(config.ConfigError, match='not a SavedModel'):
        predict.predict(str(corrupt.parent), [str(image)])
    with pytest.raises(config.ConfigError, match='holds no SavedModel'):
        predict.predict(str(tmp_path), [str(image)])
    with pytest.raises(config.ConfigError, match='cannot read it'):
        predict.predict(str(export_dir), [str(tmp_path / 'missing.png')])
