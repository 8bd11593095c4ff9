"""The input pipeline: which examples each step sees, and how they reach the
graph.

* `Batcher.batch(step)` is a pure function of (seed, step), so a run
  resumed from a checkpoint at step k sees exactly the batches an
  uninterrupted run would have seen from step k on.
* `shard` gives a cluster worker its share of the training split.
* Two ways into the graph, with the same batches (`INPUT_PIPELINES`, the
  `--input_pipeline` flag): `FeedInputs`, the article's placeholders fed
  once per step, and `StagedInputs`, tf.data over the split copied into
  the graph once.
* `placeholders` are the images and labels of every inference graph; the
  batch size is not in the graph.
"""

import operator

import numpy as np
import tensorflow as tf

from resnet_tf1.data import mnist

tf1 = tf.compat.v1


class Batcher:
    """Serves batch `step` of an endless seeded stream of epochs.

    Epoch e is the permutation `np.random.default_rng([seed, e])
    .permutation(n)` and batch `step` is stream positions [step *
    batch_size, (step + 1) * batch_size), so a batch may straddle two
    epochs. Because a batch depends only on (seed, step), resuming at step k
    replays the uninterrupted run.
    """

    # A straddling batch needs two epochs; keeping both means consecutive
    # steps never recompute a permutation.
    _CACHED_EPOCHS = 2

    def __init__(self, images, labels, batch_size, seed):
        if len(images) != len(labels):
            raise ValueError('%d images but %d labels' % (len(images),
                                                          len(labels)))
        self.images = images
        self.labels = labels
        self.num_examples = len(images)
        self.batch_size = operator.index(batch_size)
        self.seed = operator.index(seed)
        if self.num_examples == 0:
            raise ValueError('cannot batch an empty set of examples')
        if not 1 <= self.batch_size <= self.num_examples:
            raise ValueError(
                'batch_size must be between 1 and %d (the number of '
                'examples), got %d' % (self.num_examples, self.batch_size))
        if self.seed < 0:
            raise ValueError('seed must be >= 0, got %d' % self.seed)
        self._permutations = {}

    def epoch_of(self, step):
        """The epoch holding the first example of batch `step`."""
        return self._check_step(step) * self.batch_size // self.num_examples

    def batch(self, step):
        """Returns (images, labels) of batch `step` (0-based global step)."""
        indices = self.indices(step)
        return self.images[indices], self.labels[indices]

    def indices(self, step):
        """Positions in `images` of batch `step`'s examples, int64."""
        start = self._check_step(step) * self.batch_size
        stop = start + self.batch_size
        first_epoch, offset = divmod(start, self.num_examples)
        indices = self._permutation(first_epoch)[
            offset:offset + self.batch_size]
        if len(indices) < self.batch_size:
            # batch_size <= num_examples, so the rest fits in the next epoch.
            remainder = stop - (first_epoch + 1) * self.num_examples
            indices = np.concatenate(
                [indices, self._permutation(first_epoch + 1)[:remainder]])
        return indices.astype(np.int64)

    def _check_step(self, step):
        step = operator.index(step)
        if step < 0:
            raise ValueError('step must be >= 0, got %d' % step)
        return step

    def _permutation(self, epoch):
        permutation = self._permutations.get(epoch)
        if permutation is None:
            permutation = np.random.default_rng(
                [self.seed, epoch]).permutation(self.num_examples)
            self._permutations[epoch] = permutation
            if len(self._permutations) > self._CACHED_EPOCHS:
                del self._permutations[next(iter(self._permutations))]
        return permutation


def shard(split, index, count):
    """Worker `index` of `count`'s share of `split`: example i goes to
    worker i mod count."""
    return mnist.Split(split.images[index::count], split.labels[index::count])


def placeholders(model):
    """Images [None, size, size, channels] (NHWC; the batch size is not
    baked into the graph) and integer labels [None], for `model` (a
    config.ModelConfig)."""
    images = tf1.placeholder(
        tf.float32, [None, model.image_size, model.image_size, model.channels],
        name='images')
    labels = tf1.placeholder(tf.int64, [None], name='labels')
    return images, labels


class FeedInputs:
    """The article's input path: placeholders, fed one batch per step from
    the Batcher in Python."""

    def __init__(self, model):
        self.images, self.labels = placeholders(model)
        self._batcher = None

    def start(self, session, batcher, first_step):
        del session, first_step
        self._batcher = batcher

    def feed_dict(self, step):
        images, labels = self._batcher.batch(step)
        return {self.images: images, self.labels: labels}


class StagedInputs:
    """A tf.data path: the whole split is copied into the graph once (at
    `start`), and a prefetching pipeline gathers each step's batch from it
    by the Batcher's indices, so batches are those of the feed path and
    nothing crosses feed_dict per step."""

    def __init__(self, model):
        shape = [model.image_size, model.image_size, model.channels]
        self._first_step = tf1.placeholder(tf.int64, [], name='first_step')
        self._all_images = tf1.placeholder(tf.float32, [None] + shape,
                                           name='staged_images')
        self._all_labels = tf1.placeholder(tf.int64, [None],
                                           name='staged_labels')
        self._batcher = None

        def batch_indices(step):
            return self._batcher.indices(int(step))

        # Endless, like the Batcher: the loop decides how many batches it
        # takes (a cluster worker may take more than the steps it has left).
        dataset = tf.data.Dataset.range(self._first_step, 2 ** 62).map(
            lambda step: tf.numpy_function(batch_indices, [step], tf.int64))
        dataset = dataset.map(lambda indices: (
            tf.gather(self._all_images, indices),
            tf.gather(self._all_labels, indices))).prefetch(1)
        self._iterator = tf1.data.make_initializable_iterator(dataset)
        self.images, self.labels = self._iterator.get_next()
        self.images.set_shape([None] + shape)
        self.labels.set_shape([None])

    def start(self, session, batcher, first_step):
        self._batcher = batcher
        session.run(self._iterator.initializer, {
            self._first_step: first_step, self._all_images: batcher.images,
            self._all_labels: batcher.labels})

    def feed_dict(self, step):
        del step
        return None


# --input_pipeline -> the class that builds it (config.INPUT_PIPELINES).
INPUT_PIPELINES = {'feed': FeedInputs, 'dataset': StagedInputs}
