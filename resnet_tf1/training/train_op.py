"""The train op: loss, L2, learning-rate decay, optimizer, and the ordered
update (BN moving statistics -> gradient step -> EMA).

The train op is ordered through control dependencies. Unordered (as in the
article and in tf-slim's train script), the EMA may read a variable before
or after the step depending on thread timing, and two runs with one seed
drift apart.
"""

import collections

import tensorflow as tf

from resnet_tf1.compute import model_graph
from resnet_tf1.data import inputs as inputs_lib
from resnet_tf1.compute import towers

tf1 = tf.compat.v1

TrainGraph = collections.namedtuple('TrainGraph', [
    'graph', 'inputs', 'images', 'labels', 'logits', 'cross_entropy', 'loss',
    'learning_rate', 'accuracy', 'global_step', 'train_op', 'saver',
    'optimizer', 'grads_and_vars'])


def learning_rate_at(train_config, global_step):
    """The rate of the step `global_step` starts, by
    `train_config.learning_rate_schedule` (config.LEARNING_RATE_SCHEDULES):
    a function of the step alone, so a resumed run replays it."""
    if train_config.learning_rate_schedule == 'cosine':
        # To 0 at --steps: the run ends with the rate run down, however
        # long it is (a resumed run given a larger --steps changes the
        # rate from there on).
        return tf1.train.cosine_decay(
            train_config.learning_rate, global_step,
            decay_steps=train_config.steps, name='learning_rate')
    return tf1.train.exponential_decay(
        train_config.learning_rate, global_step,
        decay_steps=train_config.steps_per_epoch,
        decay_rate=train_config.learning_rate_decay, staircase=True,
        name='learning_rate')


def make_optimizer(train_config, learning_rate):
    """The TF1 optimizer `train_config.optimizer` names, as slim's
    train_image_classifier.py configures it (its flag names are the
    config's fields). Its slots (Adam's moments, RMSProp's mean square, ...)
    are global variables, so the Saver keeps them in every checkpoint and
    a resumed run continues where it stopped."""
    c = train_config
    optimizers = {
        'gradient_descent': lambda: tf1.train.GradientDescentOptimizer(
            learning_rate),
        'momentum': lambda: tf1.train.MomentumOptimizer(
            learning_rate, c.momentum),
        'adam': lambda: tf1.train.AdamOptimizer(
            learning_rate, beta1=c.adam_beta1, beta2=c.adam_beta2,
            epsilon=c.opt_epsilon),
        'rmsprop': lambda: tf1.train.RMSPropOptimizer(
            learning_rate, decay=c.rmsprop_decay,
            momentum=c.rmsprop_momentum, epsilon=c.opt_epsilon),
        'adagrad': lambda: tf1.train.AdagradOptimizer(
            learning_rate,
            initial_accumulator_value=c.adagrad_initial_accumulator_value),
        'adadelta': lambda: tf1.train.AdadeltaOptimizer(
            learning_rate, rho=c.adadelta_rho, epsilon=c.opt_epsilon),
        'ftrl': lambda: tf1.train.FtrlOptimizer(
            learning_rate, learning_rate_power=c.ftrl_learning_rate_power,
            initial_accumulator_value=c.ftrl_initial_accumulator_value,
            l1_regularization_strength=c.ftrl_l1,
            l2_regularization_strength=c.ftrl_l2),
    }
    return optimizers[c.optimizer]()


def build_train_graph(train_config, sync_replicas=None, device_function=None):
    """Builds the whole training graph in a new tf.Graph.

    With `train_config.compute.num_devices` > 1 the network is replicated
    in towers (towers.py). `sync_replicas` (distributed.py) wraps the
    optimizer for synchronous training across a cluster's workers: a callable
    (optimizer, ema) -> tf.compat.v1.train.SyncReplicasOptimizer, which
    then applies the averaged gradients and the EMA on the chief's behalf.
    Without it the train op is ordered as the module docstring says.
    `device_function` places every op (a cluster's replica_device_setter).
    The network is computed as `model_graph.logits` says (conv gradients,
    precision, XLA).
    """
    graph = tf.Graph()
    with graph.as_default(), tf1.device(device_function):
        tf1.set_random_seed(train_config.seed)
        pipeline = train_config.compute.input_pipeline
        inputs = inputs_lib.INPUT_PIPELINES[pipeline](
            train_config.model, train_config.random_shift,
            train_config.random_rotation, train_config.random_scale)
        images, labels = inputs.images, inputs.labels

        def build_tower(images, labels):
            logits = model_graph.logits(
                train_config.model, train_config.compute, images,
                is_training=True, weight_decay=train_config.weight_decay)
            cross_entropy = tf.reduce_mean(
                tf1.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=labels, logits=logits), name='cross_entropy')
            # With towers the L2 term is in every tower's loss: their mean
            # is the whole batch's cross-entropy + L2.
            loss = tf.add(cross_entropy,
                          tf1.losses.get_regularization_loss(), name='loss')
            return logits, cross_entropy, loss

        # The networks first: ops made before them would shift the op seeds
        # their initializers derive from the graph seed.
        built = towers.build(build_tower, images, labels,
                             towers.tower_devices(train_config.compute.num_devices))
        logits, cross_entropy, loss = towers.merged_outputs(built)
        global_step = tf1.train.get_or_create_global_step()
        learning_rate = learning_rate_at(train_config, global_step)
        accuracy = tf.reduce_mean(tf.cast(
            tf.equal(tf.argmax(logits, 1), labels), tf.float32),
            name='batch_accuracy')
        optimizer = make_optimizer(train_config, learning_rate)
        grads_and_vars = towers.gradients(
            built, lambda loss: optimizer.compute_gradients(
                loss, colocate_gradients_with_ops=True))

        ema = tf1.train.ExponentialMovingAverage(
            train_config.ema_decay, num_updates=global_step)
        # Batch norm's moving-statistics updates, of tower 0 only (towers.py).
        bn_updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS,
                                        built[0].scope)
        if sync_replicas is not None:
            optimizer = sync_replicas(optimizer, ema)
            # Not a control dependency around apply_gradients: that would
            # also hang the chief's update loop, built inside it, on this
            # worker's fed batch.
            train_op = tf.group(
                optimizer.apply_gradients(grads_and_vars,
                                          global_step=global_step),
                *bn_updates, name='train_op')
        else:
            with tf.control_dependencies(bn_updates):
                gradient_step = optimizer.apply_gradients(
                    grads_and_vars, global_step=global_step)
            with tf.control_dependencies([gradient_step]):
                train_op = ema.apply(tf1.trainable_variables())
        # Relative paths in the `checkpoint` state file: a moved directory
        # still finds its checkpoints.
        saver = tf1.train.Saver(max_to_keep=5, save_relative_paths=True)
    return TrainGraph(graph, inputs, images, labels, logits, cross_entropy,
                      loss, learning_rate, accuracy, global_step, train_op,
                      saver, optimizer, grads_and_vars)
