"""The Keras 3 peer of `bench --compare keras`: the same ResNet, built from
the same block tables, trained with `model.fit`.

It is a yardstick, not a second implementation to train with: it exists so
that the benchmark compares this project's TF1 graph with what the same
TensorFlow gives through its high-level API, on the same FLOPs. Only the
speed is compared; the layer defaults (initializers, L2 form) are Keras'.
"""

import time

import numpy as np
import tensorflow as tf

from resnet_tf1.errors import ConfigError
from resnet_tf1.nets import resnet
from resnet_tf1.nets import units


def _blocks(model):
    """The `resnet.Block` list of a registered ResNet, from the same tables
    nets/registry.py builds it from."""
    name = model.name
    for prefix, table in (('cifar_resnet', resnet.CIFAR_DEPTHS),
                          ('resnet', resnet.IMAGENET_DEPTHS)):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            depth = int(name[len(prefix):])
            if depth in table:
                if prefix == 'cifar_resnet':
                    return resnet.stages(units.basic, (table[depth],) * 3,
                                         model.base_depth)
                unit_fn, units_per_stage = table[depth]
                return resnet.stages(unit_fn, units_per_stage,
                                     model.base_depth)
    raise ConfigError(
        '--compare keras: %s has no Keras peer; it covers the ResNets '
        '(resnet18..152, cifar_resnet20..110)' % name)


def build_model(model, weight_decay):
    """The Keras functional model of `model` (a resolved ModelConfig)."""
    import keras
    from keras import layers

    regularizer = keras.regularizers.L2(weight_decay)
    use_bn = model.norm == 'batch'

    def conv(x, depth, kernel, stride=1, relu=True):
        x = layers.Conv2D(depth, kernel, stride, padding='same',
                          use_bias=not use_bn,
                          kernel_regularizer=regularizer)(x)
        if use_bn:
            x = layers.BatchNormalization()(x)
        return layers.ReLU()(x) if relu else x

    def shortcut(x, depth, stride):
        reshaping = stride != 1 or x.shape[-1] != depth
        if model.shortcut == 'C' or (model.shortcut == 'B' and reshaping):
            return conv(x, depth, 1, stride, relu=False)
        if stride != 1:
            x = layers.Lambda(lambda t: t[:, ::stride, ::stride, :])(x)
        extra = depth - x.shape[-1]
        if extra:
            x = layers.Lambda(lambda t: keras.ops.pad(
                t, [[0, 0], [0, 0], [0, 0], [0, extra]]))(x)
        return x

    def unit(x, unit_fn, depth, stride):
        if unit_fn is units.basic:
            residual = conv(x, depth, 3, stride)
            residual = conv(residual, depth, 3, relu=False)
            out_depth = depth
        else:
            out_depth = depth * units.bottleneck.expansion
            residual = conv(x, depth, 1)
            residual = conv(residual, depth, 3, stride)
            residual = conv(residual, out_depth, 1, relu=False)
        return layers.ReLU()(layers.Add()([
            residual, shortcut(x, out_depth, stride)]))

    inputs = keras.Input((model.image_size, model.image_size, model.channels))
    if model.stem == 'cifar':
        x = conv(inputs, model.base_depth, 3)
    else:
        stride, pool = (1, 2) if model.stem == 'mnist' else (2, 3)
        x = conv(inputs, model.base_depth, 7, stride)
        x = layers.MaxPooling2D(pool, 2, padding='same')(x)
    for block in _blocks(model):
        for depth, stride in block.args:
            x = unit(x, block.unit_fn, depth, stride)
    x = layers.GlobalAveragePooling2D()(x)
    logits = layers.Dense(model.num_classes,
                          kernel_regularizer=regularizer)(x)
    return keras.Model(inputs, logits)


def fit_step_seconds(train_config, steps, warmup):
    """Seconds of each of `steps` timed `model.fit` batches, after
    `warmup` untimed ones, SGD at the config's learning rate."""
    import keras

    if train_config.compute.data_format != 'NHWC':
        raise ConfigError(
            '--compare keras: the Keras peer is built NHWC only')
    keras.utils.set_random_seed(0)
    model = build_model(train_config.model, train_config.weight_decay)
    model.compile(
        optimizer=keras.optimizers.SGD(train_config.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    shape = (train_config.batch_size, train_config.model.image_size,
             train_config.model.image_size, train_config.model.channels)
    images = rng.random(shape, dtype=np.float32)
    labels = rng.integers(0, train_config.model.num_classes, shape[0])
    batches = warmup + steps
    dataset = tf.data.Dataset.from_tensors((images, labels)).repeat(batches)

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_train_batch_begin(self, batch, logs=None):
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            # Reading the loss waits for the step to finish.
            float(keras.ops.convert_to_numpy(logs['loss']))
            self.seconds.append(time.perf_counter() - self.started)

    timer = StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=batches, verbose=0,
              shuffle=False,
              callbacks=[timer])
    return timer.seconds[warmup:]
