"""Export for serving: a SavedModel (TF Serving's versioned layout) and a
frozen GraphDef, both from a checkpoint's EMA weights.

    python -m resnet_tf1 export --model_dir MNIST_model --export_dir exported

writes `exported/<step>/saved_model.pb` + `variables/` (the directory layout
TF Serving polls for new versions) and `exported/<step>/frozen_graph.pb`.

Signatures (inputs are [N, 28, 28, 1] as MNIST; any N):
  serving_default   `images`: float32 in [0, 1] (what training fed)
  classify_uint8    `images`: uint8 in [0, 255] (raw IDX or PNG pixels)
Both return `classes` (int64 [N]) and `probabilities` (float32 [N, 10]).
In the frozen graph the tensors are `images:0` (float32), `classes:0` and
`probabilities:0`.

The exported graph is the network's plain inference graph (is_training
False, float32, the checkpoint's variables), computed with TensorFlow's own
ops: not with fast_conv.py's convolutions, which eval.py uses (their cached
kernels would need a refresh op run after loading), and without the
conv-gradient override training uses, so a consumer that never imports
resnet_tf1 can differentiate it (fine-tuning, saliency maps). Its classes
equal eval.py's on the same checkpoint (tests/test_export.py).
"""

import os
import shutil
import tempfile

import tensorflow as tf

from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import checkpoints
from resnet_tf1.model_dir import safe_io
from resnet_tf1 import config as config_lib
from resnet_tf1.compute import model_graph
from resnet_tf1.errors import ConfigError
from resnet_tf1.evaluation import evaluate

tf1 = tf.compat.v1

FROZEN_GRAPH_NAME = 'frozen_graph.pb'


# How an export computes, whatever the run trained with: float32, NHWC,
# TensorFlow's own Conv2D and no XLA, so it runs on any device and any
# TensorFlow that loads SavedModels (no cached kernels to refresh).
SERVING_COMPUTE = config_lib.ComputeConfig(inference_convolutions='tf')


def _serving_graph(train_config):
    """(graph, float images, uint8 images, classes, probabilities,
    classes_uint8, probabilities_uint8, global_step)."""
    model = train_config.model
    shape = [None, model.image_size, model.image_size, model.channels]
    graph = tf.Graph()
    with graph.as_default():
        images = tf1.placeholder(tf.float32, shape, name='images')
        images_uint8 = tf1.placeholder(tf.uint8, shape, name='images_uint8')
        # One network for both inputs: the uint8 images are scaled and
        # batched through the same variables.
        with tf1.variable_scope(tf1.get_variable_scope(),
                                reuse=tf1.AUTO_REUSE):
            logits = model_graph.logits(model, SERVING_COMPUTE, images,
                                        is_training=False)
            logits_uint8 = model_graph.logits(
                model, SERVING_COMPUTE,
                tf.cast(images_uint8, tf.float32) / 255.0, is_training=False)
        outputs = []
        for suffix, batch_logits in (('', logits), ('_uint8', logits_uint8)):
            outputs.append(tf.argmax(batch_logits, 1,
                                     name='classes' + suffix))
            outputs.append(tf.nn.softmax(batch_logits,
                                         name='probabilities' + suffix))
        global_step = tf1.train.get_or_create_global_step()
    return (graph, images, images_uint8, *outputs, global_step)


def _move_into_place(staged, version_dir, export_dir, step):
    """Renames the staged export to `version_dir`, which must not exist:
    of two exports of one step, one succeeds and the other says so."""
    safe_io.refuse_link(version_dir)
    try:
        # An empty directory would be replaced by rename(2): made first,
        # exclusively, it makes the second export fail here.
        os.mkdir(version_dir)
    except FileExistsError:
        safe_io.refuse_link(version_dir)
        raise ConfigError(
            '--export_dir %s: version %d exists already (another export '
            'wrote it meanwhile?); remove it or export elsewhere' % (
                export_dir, step)) from None
    except OSError as error:
        raise ConfigError('--export_dir %s: cannot write there (%s)' % (
            export_dir, error.strerror or error)) from None
    try:
        os.rename(staged, version_dir)
    except OSError as error:
        _remove_empty(version_dir)
        raise ConfigError('--export_dir %s: cannot write version %d (%s)' % (
            export_dir, step, error.strerror or error)) from None


def _remove_empty(directory):
    try:
        os.rmdir(directory)
    except OSError:
        pass


def export(checkpoint, train_config, export_dir, use_ema=True):
    """Writes export_dir/<step>/ (SavedModel + frozen graph) from
    `checkpoint`; returns that directory. An existing version is never
    overwritten: the export is written beside it and renamed in place."""
    (graph, images, images_uint8, classes, probabilities, classes_uint8,
     probabilities_uint8, global_step) = _serving_graph(train_config)
    with graph.as_default():
        var_list = evaluate.variables_to_restore(train_config, use_ema)
        saver = tf1.train.Saver(var_list)
        with tf1.Session(graph=graph) as session:

            def restore(prefix):
                checkpoints.check_variables(
                    prefix, var_list, 'the %s that %s describes' % (
                        train_config.model.name, run_record.CONFIG_FILENAME))
                checkpoints.restore(session, saver, prefix)

            # A trainer's rotation may delete it meanwhile: then the newest.
            checkpoints.read_newest(checkpoint, restore)
            step = int(session.run(global_step))
            version_dir = os.path.join(export_dir, str(step))
            # lexists: a dangling link is there too.
            safe_io.refuse_link(version_dir)
            if os.path.lexists(version_dir):
                raise ConfigError(
                    '--export_dir %s: version %d exists already; remove it '
                    'or export elsewhere' % (export_dir, step))
            try:
                os.makedirs(export_dir, exist_ok=True)
                staging = tempfile.mkdtemp(prefix='.%d-' % step,
                                           dir=export_dir)
            except OSError as error:
                raise ConfigError(
                    '--export_dir %s: cannot write there (%s)' % (
                        export_dir, error.strerror or error)) from None
            try:
                builder = tf1.saved_model.Builder(
                    os.path.join(staging, 'model'))
                signature = tf1.saved_model.predict_signature_def
                builder.add_meta_graph_and_variables(
                    session, [tf1.saved_model.tag_constants.SERVING],
                    signature_def_map={
                        'serving_default': signature(
                            {'images': images},
                            {'classes': classes,
                             'probabilities': probabilities}),
                        'classify_uint8': signature(
                            {'images': images_uint8},
                            {'classes': classes_uint8,
                             'probabilities': probabilities_uint8}),
                    },
                    strip_default_attrs=True)
                builder.save()
                frozen = tf1.graph_util.convert_variables_to_constants(
                    session, graph.as_graph_def(),
                    ['classes', 'probabilities'])
                with open(os.path.join(staging, 'model', FROZEN_GRAPH_NAME),
                          'wb') as stream:
                    stream.write(frozen.SerializeToString())
                _move_into_place(os.path.join(staging, 'model'),
                                 version_dir, export_dir, step)
            except (OSError, tf.errors.OpError) as error:
                # A full disk: TensorFlow reports ENOSPC as
                # ResourceExhausted, which is not memory here.
                detail = ' '.join(str(getattr(error, 'strerror', None) or
                                      getattr(error, 'message', None) or
                                      error).split())
                raise ConfigError(
                    '--export_dir %s: cannot write version %d (%s); nothing '
                    'was exported' % (export_dir, step, detail[-200:])
                ) from None
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return version_dir
