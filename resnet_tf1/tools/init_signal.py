"""How large a network's signal and gradients are at initialization.

The degradation study (docs/results.md) found the article's plain networks not
learning at all; this measures why instead of guessing: one batch of
training images through a freshly initialized network, the root mean
square of each stage's output, and for every weight the size of its
cross-entropy gradient relative to the weight itself (what one gradient
descent step at learning rate lr changes it by, relative, is lr times
that). Without batch norm, every conv + ReLU scales the signal by a
factor the initializer decides; in a plain network those factors
multiply over its whole depth, in a residual one the shortcut carries the
signal past them.
"""

import collections

import numpy as np
import tensorflow as tf

from resnet_tf1.nets import registry

tf1 = tf.compat.v1

Signal = collections.namedtuple('Signal', [
    'rms',             # [(end point, root mean square)], input to logits
    'gradient_ratio',  # [(weight name, |d xent / d w| / |w|)], input first
])


def _stage_end_points(end_points):
    """The end points that are stages (stem, blocks, pool, logits), not
    units: one row per stage keeps the table short."""
    return [(name.split('/', 1)[1], value)
            for name, value in end_points.items()
            if '/unit_' not in name]


def measure(model, images, labels, seed=0):
    """Signal of `model` (a resolved config.ModelConfig) at initialization
    with graph seed `seed`, on float32 NHWC `images` and int `labels`."""
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(seed)
        inputs = tf.constant(images)
        logits, end_points = registry.build(model, inputs, is_training=True)
        cross_entropy = tf1.losses.sparse_softmax_cross_entropy(
            tf.constant(labels), logits)
        weights = [variable for variable in tf1.trainable_variables()
                   if variable.op.name.endswith('weights')]
        gradients = tf.gradients(cross_entropy, weights)
        stages = _stage_end_points(end_points)
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            stage_values, weight_values, gradient_values = session.run(
                [[value for _, value in stages], weights, gradients])
    rms = [('input', _rms(images))] + [
        (name, _rms(value))
        for (name, _), value in zip(stages, stage_values)]
    ratios = [(variable.op.name, float(np.linalg.norm(gradient) /
                                       np.linalg.norm(value)))
              for variable, value, gradient in zip(
                  weights, weight_values, gradient_values)]
    return Signal(rms, ratios)


def _rms(array):
    return float(np.sqrt(np.mean(np.square(array, dtype=np.float64))))


def format_signal(name, signal):
    """A markdown table of `signal` (of the network `name`) and a last line
    `<name> logits_rms=<r> median_gradient_ratio=<g>`."""
    lines = ['| %s at initialization | root mean square |' % name,
             '|---|---:|']
    lines += ['| %s | %.3g |' % row for row in signal.rms]
    ratios = [ratio for _, ratio in signal.gradient_ratio]
    lines += [
        '',
        '|d xent / d w| / |w| over %d weights: first layer %.3g, median %.3g,'
        ' last layer %.3g' % (len(ratios), ratios[0], np.median(ratios),
                              ratios[-1]),
        '%s logits_rms=%.3g median_gradient_ratio=%.3g' % (
            name, signal.rms[-1][1], np.median(ratios)),
    ]
    return lines
