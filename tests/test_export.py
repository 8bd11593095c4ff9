"""Export (SavedModel + frozen graph) and predict, on a tiny trained run."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import checkpoints
from resnet_tf1 import errors
from resnet_tf1.evaluation import evaluate
from resnet_tf1.evaluation import export
from resnet_tf1.evaluation import predict
from resnet_tf1.training import loop

from conftest import REPO_DIR
from conftest import tiny_train_config

tf1 = tf.compat.v1


@pytest.fixture(scope='module')
def exported(mnist_data, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp('run')
    # Too short to learn much (its classes may all be alike): the tests
    # compare per-image probabilities, which differ from image to image.
    train_config = tiny_train_config(steps=6, learning_rate=0.05,
                                     optimizer='momentum', ema_decay=0.5)
    loop.train(train_config, str(model_dir), mnist_data.train, log=lambda _: 0)
    checkpoint = checkpoints.latest_checkpoint(str(model_dir))
    export_dir = tmp_path_factory.mktemp('export')
    version_dir = export.export(checkpoint, run_record.load(str(model_dir)),
                                str(export_dir))
    return model_dir, export_dir, version_dir


def test_export_writes_a_versioned_saved_model_and_a_frozen_graph(exported):
    _, export_dir, version_dir = exported
    assert version_dir == os.path.join(str(export_dir), '6')
    assert sorted(os.listdir(export_dir)) == ['6']  # no staging left behind
    assert {'saved_model.pb', 'variables',
            export.FROZEN_GRAPH_NAME} <= set(os.listdir(version_dir))


def test_exported_model_gives_evals_accuracy(exported, mnist_data):
    model_dir, _, version_dir = exported
    images = mnist_data.test.images[:300]
    labels = mnist_data.test.labels[:300]
    serving = tf.saved_model.load(version_dir).signatures['serving_default']
    outputs = serving(images=tf.constant(images))
    classes = outputs['classes'].numpy()
    evaluator = evaluate.Evaluator(run_record.load(str(model_dir)))
    result = evaluator.evaluate(checkpoints.latest_checkpoint(str(model_dir)),
                                mnist_data.test.__class__(images, labels), 100)
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


def test_saved_model_cli_lists_and_runs_the_signature(exported, mnist_data,
                                                      tmp_path):
    _, _, version_dir = exported
    cli = [sys.executable, '-m',
           'tensorflow.python.tools.saved_model_cli']
    shown = subprocess.run(cli + ['show', '--dir', version_dir, '--all'],
                           capture_output=True, text=True, check=True)
    assert "signature_def['serving_default']" in shown.stdout
    assert "signature_def['classify_uint8']" in shown.stdout
    inputs = tmp_path / 'images.npy'
    np.save(inputs, mnist_data.test.images[:5])
    ran = subprocess.run(
        cli + ['run', '--dir', version_dir, '--tag_set', 'serve',
               '--signature_def', 'serving_default', '--inputs',
               'images=%s' % inputs], capture_output=True, text=True,
        check=True)
    serving = tf.saved_model.load(version_dir).signatures['serving_default']
    classes = serving(
        images=tf.constant(mnist_data.test.images[:5]))['classes']
    assert '[%s]' % ' '.join(map(str, classes.numpy())) in ran.stdout


# Run by a fresh interpreter that never imports resnet_tf1, as a consumer of
# the export would: TensorFlow's own gradients must cover every op.
_GRADIENTS_OF_THE_EXPORT = r"""
import sys

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
version_dir, frozen_path = sys.argv[1:]
batch = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)


def gradient_of_class_0(graph, session, images, probabilities):
    overridden = [node.name for node in graph.as_graph_def().node
                  if '_gradient_op_type' in node.attr]
    gradient, = tf1.gradients(probabilities[:, 0], images)
    value = session.run(gradient, {images: batch})
    print('overridden=%d finite=%s nonzero=%s' % (
        len(overridden), np.isfinite(value).all(), np.abs(value).max() > 0))


with tf.Graph().as_default() as graph, tf1.Session() as session:
    meta_graph = tf1.saved_model.loader.load(session, ['serve'], version_dir)
    signature = meta_graph.signature_def['serving_default']
    gradient_of_class_0(
        graph, session,
        graph.get_tensor_by_name(signature.inputs['images'].name),
        graph.get_tensor_by_name(signature.outputs['probabilities'].name))
graph_def = tf1.GraphDef()
with open(frozen_path, 'rb') as stream:
    graph_def.ParseFromString(stream.read())
with tf.Graph().as_default() as graph, tf1.Session() as session:
    tf1.import_graph_def(graph_def, name='')
    gradient_of_class_0(graph, session,
                        graph.get_tensor_by_name('images:0'),
                        graph.get_tensor_by_name('probabilities:0'))
print('resnet_tf1 imported: %s' % any(
    name.startswith('resnet_tf1') for name in sys.modules))
"""


def test_export_is_differentiable_without_resnet_tf1(exported, tmp_path):
    # Training's conv-gradient override (conv_gradients.py) must not reach
    # the export: a graph whose Conv2D ops name a gradient registered only
    # by resnet_tf1 raises LookupError in tf.gradients anywhere else
    # (fine-tuning, saliency maps, adversarial examples).
    _, _, version_dir = exported
    script = tmp_path / 'gradients_of_the_export.py'
    script.write_text(_GRADIENTS_OF_THE_EXPORT)
    ran = subprocess.run(
        [sys.executable, str(script), version_dir,
         os.path.join(version_dir, export.FROZEN_GRAPH_NAME)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        'overridden=0 finite=True nonzero=True',
        'overridden=0 finite=True nonzero=True',
        'resnet_tf1 imported: False']


def test_export_never_overwrites_a_version(exported):
    model_dir, export_dir, _ = exported
    with pytest.raises(errors.ConfigError, match='version 6 exists'):
        export.export(checkpoints.latest_checkpoint(str(model_dir)),
                      run_record.load(str(model_dir)), str(export_dir))


def _write_png(path, image):
    tf.io.write_file(str(path), tf.io.encode_png(image))


def test_predict_converts_any_image_like_mnist(exported, mnist_data, tmp_path):
    _, export_dir, version_dir = exported
    digit = np.round(mnist_data.test.images[0] * 255).astype(np.uint8)
    # As MNIST stores it, as a larger colour picture, and as ink on paper.
    _write_png(tmp_path / 'plain.png', digit)
    big = tf.image.resize(digit, [84, 84], method='nearest').numpy()
    _write_png(tmp_path / 'colour.png', np.repeat(big, 3, axis=2))
    _write_png(tmp_path / 'paper.png', 255 - digit)
    paths = [str(tmp_path / name)
             for name in ('plain.png', 'colour.png', 'paper.png')]
    for path in paths:
        np.testing.assert_allclose(predict.load_image(path),
                                   mnist_data.test.images[0], atol=2 / 255)
    predictions = predict.predict(str(export_dir), paths)
    assert len({tuple(c for c, _ in p.top) for p in predictions}) == 1
    assert len(predictions[0].top) == 3
    serving = tf.saved_model.load(version_dir).signatures['serving_default']
    expected = serving(images=tf.constant(mnist_data.test.images[:1]))
    assert predictions[0].top[0][0] == int(expected['classes'][0])


@pytest.mark.parametrize('image_format, mode', [
    ('GIF', 'L'), ('GIF', 'P'), ('BMP', 'L'), ('BMP', 'RGB'),
    ('JPEG', 'CMYK'), ('PNG', 'RGBA')])
def test_predict_reads_gif_bmp_and_cmyk_jpeg(mnist_data, tmp_path,
                                             image_format, mode):
    from PIL import Image
    digit = np.round(mnist_data.test.images[0, ..., 0] * 255).astype(np.uint8)
    path = tmp_path / ('digit.' + image_format.lower())
    Image.fromarray(digit).convert(mode).save(path, image_format)
    # JPEG is lossy; the others keep the grey levels.
    atol = 40 / 255 if image_format == 'JPEG' else 2 / 255
    np.testing.assert_allclose(predict.load_image(str(path)),
                               mnist_data.test.images[0], atol=atol)


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


def test_export_cli_takes_one_model_dir(exported, tmp_path):
    # --model_dir repeats for `plot`; export takes exactly one.
    model_dir, _, _ = exported

    def export_cli(*model_dir_flags):
        return subprocess.run(
            [sys.executable, '-m', 'resnet_tf1', 'export', *model_dir_flags,
             '--export_dir', str(tmp_path / 'e')],
            cwd=REPO_DIR, capture_output=True, text=True)

    run = export_cli('--model_dir', str(model_dir), '--model_dir',
                     str(tmp_path))
    assert run.returncode == 1
    assert 'Traceback' not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == (
        'error: export takes one --model_dir, got 2: %s %s' % (model_dir,
                                                              tmp_path))
    assert os.listdir(tmp_path) == []
    run = export_cli('--model_dir', str(model_dir))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == 'exported %s' % (
        tmp_path / 'e' / str(checkpoints.checkpoint_step(
            checkpoints.latest_checkpoint(str(model_dir)))))


def test_bad_export_and_predict_paths_are_one_clear_error(exported, mnist_data,
                                                          tmp_path):
    model_dir, export_dir, _ = exported
    a_file = tmp_path / 'a_file'
    a_file.write_text('not a directory')
    with pytest.raises(errors.ConfigError,
                       match='--export_dir .*a_file: cannot write there'):
        export.export(checkpoints.latest_checkpoint(str(model_dir)),
                      run_record.load(str(model_dir)), str(a_file))
    assert a_file.read_text() == 'not a directory'
    corrupt = tmp_path / 'corrupt' / '1'
    corrupt.mkdir(parents=True)
    (corrupt / 'saved_model.pb').write_bytes(b'junk')
    image = tmp_path / 'digit.png'
    _write_png(image, np.zeros((28, 28, 1), np.uint8))
    with pytest.raises(errors.ConfigError, match='not a SavedModel'):
        predict.predict(str(corrupt.parent), [str(image)])
    with pytest.raises(errors.ConfigError, match='holds no SavedModel'):
        predict.predict(str(tmp_path), [str(image)])
    with pytest.raises(errors.ImageError, match='cannot read it'):
        predict.predict(str(export_dir), [str(tmp_path / 'missing.png')])
