"""Classify image files with an exported SavedModel (export.py), in
TF2 style: the export is loaded with `tf.saved_model.load`.

Any PNG, JPEG, GIF or BMP, of any size, grey or colour, is converted the
way MNIST's digits look: one grey channel, resized to 28x28 (area
averaging), scaled to [0, 1], and inverted when the background is light
(MNIST digits are white on black; a scanned or drawn digit usually is not).
"""

import collections
import os

import numpy as np
import tensorflow as tf

from resnet_tf1.errors import ConfigError
from resnet_tf1.errors import ImageError
from resnet_tf1.model_dir import safe_io

Prediction = collections.namedtuple('Prediction', ['path', 'top'])


def _decode_grey(encoded):
    """[height, width, 1] uint8, or None if `encoded` is no image.

    TensorFlow converts PNG and most JPEGs to grey itself, but refuses one
    channel for GIF and BMP, and for CMYK JPEGs: those are decoded in their
    own channels (grey, grey + alpha, RGB or RGBA) and made grey here, with
    the luma weights of tf.image.rgb_to_grayscale. Alpha is dropped.
    """
    try:
        return tf.io.decode_image(encoded, channels=1,
                                  expand_animations=False)
    except (tf.errors.InvalidArgumentError, ValueError):
        pass
    try:
        image = tf.io.decode_image(encoded, channels=0,
                                   expand_animations=False)
    except (tf.errors.InvalidArgumentError, ValueError):
        return None
    if image.shape[-1] in (1, 2):
        return image[..., :1]
    grey = tf.image.rgb_to_grayscale(tf.cast(image[..., :3], tf.float32))
    return tf.cast(tf.round(grey), tf.uint8)


def load_image(path, size=28):
    """[size, size, 1] float32 in [0, 1], MNIST-like."""
    # A FIFO or device would block open() or read() forever.
    safe_io.check_regular_file(path, error_class=ImageError)
    try:
        with open(path, 'rb') as stream:
            encoded = stream.read()
    except OSError as error:
        raise ImageError('%s: cannot read it (%s)' % (
            path, error.strerror or error)) from None
    image = _decode_grey(encoded)
    if image is None:
        raise ImageError('%s: not a PNG, JPEG, GIF or BMP image' % path)
    image = tf.image.resize(tf.cast(image, tf.float32) / 255.0,
                            [size, size], method='area').numpy()
    # The border tells the background: MNIST's is black.
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    if border.mean() > 0.5:
        image = 1.0 - image
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def load_model(export_dir):
    """The serving_default function of the SavedModel at `export_dir` (a
    version directory), or of its newest version."""
    if not os.path.isdir(export_dir):
        raise ConfigError('--export_dir %s: no such directory' %
                                     export_dir)
    if not os.path.exists(os.path.join(export_dir, 'saved_model.pb')):
        versions = [name for name in os.listdir(export_dir)
                    if name.isdigit() and os.path.exists(
                        os.path.join(export_dir, name, 'saved_model.pb'))]
        if not versions:
            raise ConfigError(
                '--export_dir %s: holds no SavedModel' % export_dir)
        export_dir = os.path.join(export_dir, max(versions, key=int))
    try:
        return tf.saved_model.load(export_dir).signatures['serving_default']
    except (OSError, ValueError, KeyError, tf.errors.OpError) as error:
        raise ConfigError('%s: not a SavedModel of export (%s)' % (
            export_dir, ' '.join(str(error).split())[:200])) from None


def predict(export_dir, paths, top=3):
    # The images first: a bad file is found before the model is loaded.
    images = np.stack([load_image(path) for path in paths])
    serving = load_model(export_dir)
    probabilities = serving(
        images=tf.constant(images))['probabilities'].numpy()
    predictions = []
    for path, row in zip(paths, probabilities):
        best = np.argsort(-row, kind='stable')[:top]
        predictions.append(Prediction(path, [(int(c), float(row[c]))
                                             for c in best]))
    return predictions


def format_prediction(prediction):
    return '%s %s' % (prediction.path, ' '.join(
        '%d:%.4f' % pair for pair in prediction.top))
