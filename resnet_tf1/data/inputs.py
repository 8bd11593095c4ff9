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
* `--random_shift` augmentation: the Batcher draws each image's shift,
  `shift_images` applies it in the graph, the same op on either path.
  `--random_rotation` and `--random_scale` likewise: the Batcher draws
  each image's turn and size as an affine map (`warps`), `warp_images`
  resamples the image by it in the graph, before the shift.
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
    replays the uninterrupted run. With `max_shift`, `shifts(step)` is
    batch `step`'s augmentation, also a function of (seed, step) only, and
    so is `warps(step)` with `max_rotation` (degrees) or `max_scale`.
    """

    # A straddling batch needs two epochs; keeping both means consecutive
    # steps never recompute a permutation.
    _CACHED_EPOCHS = 2

    def __init__(self, images, labels, batch_size, seed, max_shift=0,
                 max_rotation=0.0, max_scale=0.0):
        if len(images) != len(labels):
            raise ValueError('%d images but %d labels' % (len(images),
                                                          len(labels)))
        self.images = images
        self.labels = labels
        self.num_examples = len(images)
        self.batch_size = operator.index(batch_size)
        self.seed = operator.index(seed)
        self.max_shift = operator.index(max_shift)
        self.max_rotation = float(max_rotation)
        self.max_scale = float(max_scale)
        if self.num_examples == 0:
            raise ValueError('cannot batch an empty set of examples')
        if not 1 <= self.batch_size <= self.num_examples:
            raise ValueError(
                'batch_size must be between 1 and %d (the number of '
                'examples), got %d' % (self.num_examples, self.batch_size))
        if self.seed < 0:
            raise ValueError('seed must be >= 0, got %d' % self.seed)
        if self.max_shift < 0:
            raise ValueError('max_shift must be >= 0, got %d' %
                             self.max_shift)
        if not 0 <= self.max_rotation <= 180:
            raise ValueError('max_rotation must be in [0, 180] degrees, got '
                             '%s' % self.max_rotation)
        if not 0 <= self.max_scale < 1:
            raise ValueError('max_scale must be in [0, 1), got %s' %
                             self.max_scale)
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

    def shifts(self, step):
        """int64 [batch_size, 2]: how far `shift_images` moves each image
        of batch `step`, down and right (negative: up, left), each uniform
        in [-max_shift, max_shift]."""
        # spawn_key: a stream of its own, never one of the permutations'.
        generator = np.random.default_rng(np.random.SeedSequence(
            [self.seed, self._check_step(step)], spawn_key=(1,)))
        return generator.integers(-self.max_shift, self.max_shift,
                                  size=(self.batch_size, 2), endpoint=True,
                                  dtype=np.int64)

    def warps(self, step):
        """float32 [batch_size, 8]: `warp_images`' transform of each
        image of batch `step`: turned by an angle uniform in
        [-max_rotation, max_rotation] degrees and resized by a factor
        uniform in [1 - max_scale, 1 + max_scale], about the image's
        centre."""
        # spawn_key 2: a stream apart from the permutations' and shifts'.
        generator = np.random.default_rng(np.random.SeedSequence(
            [self.seed, self._check_step(step)], spawn_key=(2,)))
        angles = np.deg2rad(generator.uniform(
            -self.max_rotation, self.max_rotation, self.batch_size))
        scales = generator.uniform(1 - self.max_scale, 1 + self.max_scale,
                                   self.batch_size)
        height, width = self.images.shape[1:3]
        return warp_transforms(angles, scales, height, width)

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


def shift_images(images, shifts, max_shift):
    """Moves image i of NHWC `images` by `shifts[i]` = (down, right)
    pixels, zero-filling what it uncovers (MNIST's background is 0);
    `shifts` int64 [N, 2], each in [-max_shift, max_shift]. Pure data
    movement: the same numbers on any device."""
    height, width = images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [max_shift, max_shift],
                             [max_shift, max_shift], [0, 0]])
    # Output row r of image i is padded row max_shift - down_i + r.
    rows = max_shift - shifts[:, :1] + tf.range(height, dtype=tf.int64)
    cols = max_shift - shifts[:, 1:] + tf.range(width, dtype=tf.int64)
    moved_rows = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(moved_rows, cols, axis=2, batch_dims=1,
                     name='shifted_images')


def warp_transforms(angles, scales, height, width):
    """float32 [N, 8] transforms for ImageProjectiveTransformV3 that turn
    image i by `angles[i]` radians (counter-clockwise as displayed, rows
    downwards) and resize it by `scales[i]`, about the centre of a
    `height` x `width` image.

    The op maps each output pixel (x, y) to the input point it samples,
    (a0 x + a1 y + a2, b0 x + b1 y + b2): the inverse of the turn and
    resize, (1 / s) R(-angle) (p - c) + c."""
    cos = np.cos(angles) / scales
    sin = np.sin(angles) / scales
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    # Rows run downwards, so a counter-clockwise turn on screen samples
    # the input at R(angle) in (x, y) pixel coordinates.
    a0, a1 = cos, -sin
    b0, b1 = sin, cos
    a2 = centre_x - a0 * centre_x - a1 * centre_y
    b2 = centre_y - b0 * centre_x - b1 * centre_y
    zeros = np.zeros_like(cos)
    return np.stack([a0, a1, a2, b0, b1, b2, zeros, zeros],
                    axis=1).astype(np.float32)


def warp_images(images, transforms):
    """Resamples image i of NHWC `images` by `transforms[i]`
    (`warp_transforms`), bilinearly, zero-filling what falls outside
    (MNIST's background is 0). Each output pixel is computed alone: the
    same numbers for the same inputs on one CPU."""
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms,
        output_shape=tf.shape(images)[1:3], fill_value=0.0,
        interpolation='BILINEAR', fill_mode='CONSTANT',
        name='warped_images')
    warped.set_shape(images.shape)  # the op's output shape is not static
    return warped


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
    the Batcher in Python (and, with `max_shift`, its shifts, applied in
    the graph)."""

    def __init__(self, model, max_shift=0, max_rotation=0.0, max_scale=0.0):
        self._fed_images, self.labels = placeholders(model)
        self.images = self._fed_images
        self._shifts = self._warps = None
        if max_rotation or max_scale:
            self._warps = tf1.placeholder(tf.float32, [None, 8],
                                          name='warps')
            self.images = warp_images(self.images, self._warps)
        if max_shift:
            self._shifts = tf1.placeholder(tf.int64, [None, 2], name='shifts')
            self.images = shift_images(self.images, self._shifts, max_shift)
        self._batcher = None

    def start(self, session, batcher, first_step):
        del session, first_step
        self._batcher = batcher

    def feed_dict(self, step):
        images, labels = self._batcher.batch(step)
        feed = {self._fed_images: images, self.labels: labels}
        if self._shifts is not None:
            feed[self._shifts] = self._batcher.shifts(step)
        if self._warps is not None:
            feed[self._warps] = self._batcher.warps(step)
        return feed


class StagedInputs:
    """A tf.data path: the whole split is copied into the graph once (at
    `start`), and a prefetching pipeline gathers each step's batch from it
    by the Batcher's indices (and warps and shifts it by the Batcher's
    warps and shifts), so batches are those of the feed path and nothing
    crosses feed_dict per step."""

    def __init__(self, model, max_shift=0, max_rotation=0.0, max_scale=0.0):
        shape = [model.image_size, model.image_size, model.channels]
        self._first_step = tf1.placeholder(tf.int64, [], name='first_step')
        self._all_images = tf1.placeholder(tf.float32, [None] + shape,
                                           name='staged_images')
        self._all_labels = tf1.placeholder(tf.int64, [None],
                                           name='staged_labels')
        self._batcher = None
        warp = bool(max_rotation or max_scale)
        # What the Batcher gives each step, in this order: the examples'
        # indices, then their shifts, then their warps, if augmented.
        types = ([tf.int64] + [tf.int64] * bool(max_shift) +
                 [tf.float32] * warp)

        def batch_of(step):
            step = int(step)
            batch = [self._batcher.indices(step)]
            if max_shift:
                batch.append(self._batcher.shifts(step))
            if warp:
                batch.append(self._batcher.warps(step))
            return tuple(batch)

        def gather(indices, *augmentation):
            indices.set_shape([None])  # numpy_function's outputs have none
            images = tf.gather(self._all_images, indices)
            augmentation = list(augmentation)
            shifts = augmentation.pop(0) if max_shift else None
            if warp:
                transforms = augmentation.pop(0)
                transforms.set_shape([None, 8])
                images = warp_images(images, transforms)
            if max_shift:
                shifts.set_shape([None, 2])
                images = shift_images(images, shifts, max_shift)
            return images, tf.gather(self._all_labels, indices)

        # Endless, like the Batcher: the loop decides how many batches it
        # takes (a cluster worker may take more than the steps it has left).
        dataset = tf.data.Dataset.range(self._first_step, 2 ** 62).map(
            lambda step: tuple(tf.numpy_function(batch_of, [step], types)))
        dataset = dataset.map(gather).prefetch(1)
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
