"""Data-parallel towers: one copy of the network per device, in one graph.

This is TF1's in-graph replication (the layout of TensorFlow's
`cifar10_multi_gpu_train` and tf-slim's `model_deploy`):

* the batch is split evenly across the towers (`tf.split` on axis 0);
* tower i is built under `tf.device(<device i>)` and the name scope
  `tower_i`, inside one variable scope that reuses tower 0's variables, so
  there is one set of weights, placed on a parameter device (the CPU in one
  process, the parameter servers in a cluster) and checkpoint names are
  those of a single-device run: `eval.py` and `export` do not know towers;
* each tower's gradients are computed on its own device; the gradients are
  averaged once, and the optimizer and the EMA are applied once.

Because the towers' batches are equal in size, the mean of their
cross-entropies is the cross-entropy of the whole batch, and the mean of
their gradients is its gradient: N towers train exactly what one device
would on the same batch (tests/test_towers.py), and `--batch_size` stays
the global batch whatever `--num_devices` is.

Batch norm is the exception, as in every TF1 multi-GPU codebase: each tower
normalizes its slice with that slice's own statistics, and the moving
statistics are updated from tower 0's slice only (updating them from every
tower would move them N times per step). With 2 towers at batch 100, BN
sees batches of 50.

Devices: GPUs when the machine has as many as asked, else logical CPU
devices (`ConfigProto(device_count={'CPU': N})`, see `session_device_count`),
which is how the towers are tested on a CPU-only machine. Logical CPU
devices share the same cores, so they show the mechanics, not a speed-up.
"""

import collections
import contextlib

import tensorflow as tf

tf1 = tf.compat.v1

# Ops that hold a variable's storage; everything else of a tower runs on the
# tower's device.
VARIABLE_OP_TYPES = ('VarHandleOp', 'VariableV2', 'Variable')
PARAMETER_DEVICE = '/device:CPU:0'


def available_gpus():
    return len(tf.config.list_physical_devices('GPU'))


def tower_devices(num_devices):
    """Device names of `num_devices` towers: GPUs if there are enough,
    else logical CPUs."""
    kind = 'GPU' if available_gpus() >= num_devices else 'CPU'
    return ['/device:%s:%d' % (kind, index) for index in range(num_devices)]


def session_device_count(num_devices):
    """ConfigProto.device_count for `num_devices` towers: on a machine
    without enough GPUs, that many logical CPU devices."""
    if num_devices > 1 and available_gpus() < num_devices:
        return {'CPU': num_devices}
    return {}


def _placer(tower_device):
    """A TF1 device function: a variable keeps the device an outer scope gave
    it (a parameter server's under `replica_device_setter`), else the
    parameter device; any other op goes to the tower's device, merged into
    the outer job/task if there is one."""
    tower = tf.DeviceSpec.from_string(tower_device)

    def place(op):
        if op.type in VARIABLE_OP_TYPES:
            return op.device or PARAMETER_DEVICE
        outer = tf.DeviceSpec.from_string(op.device or '')
        return outer.make_merged_spec(tower).to_string()
    return place


def average_gradients(tower_grads_and_vars):
    """[(gradient, variable)] of each tower -> their mean per variable.

    The towers hold the same variables in the same order (they share them).
    A variable without a gradient in the towers keeps None.
    """
    averaged = []
    for pairs in zip(*tower_grads_and_vars):
        variable = pairs[0][1]
        gradients = [gradient for gradient, _ in pairs]
        if gradients[0] is None:
            averaged.append((None, variable))
            continue
        with tf1.name_scope('average_gradients'):
            mean = tf.math.add_n(gradients) / float(len(gradients))
        averaged.append((mean, variable))
    return averaged


Tower = collections.namedtuple(
    'Tower', ['scope', 'device', 'logits', 'cross_entropy', 'loss'])


@contextlib.contextmanager
def _tower_scope(index, device, reuse, name_scope=None):
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=reuse), \
            tf1.name_scope(name_scope or 'tower_%d' % index) as scope, \
            tf1.device(_placer(device)):
        yield scope


def build(build_tower, images, labels, devices):
    """Builds the forward pass of one tower per device.

    Args:
        build_tower: build_tower(images, labels) -> (logits, cross_entropy,
            loss), called inside each tower's scopes.
        images, labels: the whole batch; its size must divide by the number of
            devices.
        devices: from `tower_devices`. A single device builds the network
            without any tower scope: exactly the single-device graph.

    Returns:
        a list of `Tower`, one per device (scope None for a single device).
    """
    if len(devices) == 1:
        return [Tower(None, None, *build_tower(images, labels))]
    image_slices = tf.split(images, len(devices), axis=0, name='split_images')
    label_slices = tf.split(labels, len(devices), axis=0, name='split_labels')
    built = []
    for index, device in enumerate(devices):
        with _tower_scope(index, device, reuse=index > 0) as scope:
            built.append(Tower(scope, device, *build_tower(
                image_slices[index], label_slices[index])))
    return built


def gradients(built, compute_gradients):
    """Averaged [(gradient, variable)] of the towers' losses, each tower's
    backward pass built in its own scope and on its device;
    compute_gradients(loss) -> [(gradient, variable)]."""
    if len(built) == 1:
        return compute_gradients(built[0].loss)
    tower_gradients = []
    for index, tower in enumerate(built):
        with _tower_scope(index, tower.device, reuse=True,
                          name_scope=tower.scope):
            tower_gradients.append(compute_gradients(tower.loss))
    return average_gradients(tower_gradients)


def merged_outputs(built):
    """(logits of the whole batch, mean cross-entropy, mean loss). Equal
    slices make these the whole batch's."""
    if len(built) == 1:
        return built[0].logits, built[0].cross_entropy, built[0].loss
    return (tf.concat([tower.logits for tower in built], 0, name='logits'),
            tf.reduce_mean(tf.stack([tower.cross_entropy for tower in built]),
                           name='cross_entropy'),
            tf.reduce_mean(tf.stack([tower.loss for tower in built]),
                           name='loss'))
