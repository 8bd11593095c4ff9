"""The migration rules: one table, from which the tests, the doc's tables and
the checker all read.

Why this module is long: it is the table itself, one entry per rule with
the two small programs that run it; splitting it would scatter one table.

A rule names one TF1 spelling (`name`, a dotted name as TF1 code writes it;
a leading '.' is a method of any object), says what the installed
TensorFlow does with it (`kind`, `happens`) and what to write instead
(`new`). `old_code` and `new_code` are small programs that run the two
spellings; tests/test_migration_rules.py runs every one of them (runner.py)
and asserts `happens`, so a TensorFlow that changes a behaviour fails a test
instead of silently making docs/MIGRATION.md wrong.

Kinds:
  error   the old spelling raises; `happens` is the exact text ('...' stands
          for a part that varies, e.g. a traceback).
  silent  the old spelling runs but means something else: old_code's
          `result` differs from new_code's, and new_code's equals
          `same_code`'s (TF1's meaning, spelled through tf.compat.v1).
  works   the old spelling still works, with a caveat (`happens`); where
          `same_code` is given, new_code gives the same numbers.
  route   not an API but a way to run old code (the tf-keras route, graph
          mode, name-based restore); documented and tested, never reported
          by the checker.

`when` restricts a rule to some uses (checker.py): 'args>=N' (N or more
positional arguments), 'kw=NAME' (that keyword given), 'arg0-not-str' (the
first argument is not a string literal), 'eager' (the file never calls
disable_eager_execution / disable_v2_behavior), 'default-graph' (nor builds
a tf.Graph). `env` is where old_code runs (runner.py): 'graph' (inside a
fresh tf.Graph, results fetched with a Session), 'eager' (TF2's default),
'v1' (after tf.compat.v1.disable_eager_execution(), a fresh interpreter),
'legacy_keras' (TF_USE_LEGACY_KERAS=1 with tf-keras importable, a fresh
interpreter); `new_env` is new_code's, by default the same.
"""

import dataclasses
import re

# What the rules were verified on; test_migration_rules checks the installed
# versions against it, so a newer stack is noticed, not assumed.
VERIFIED_ON = (('tensorflow', '2.21.0'), ('tf_slim', '1.1.0'),
               ('keras', '3.15.1'), ('tf_keras', '2.21.0'))

# Section key -> heading in docs/MIGRATION.md, in the doc's order. Each key
# is also the section's anchor there (`<a id="KEY"></a>`, a test checks),
# so a link is docs/MIGRATION.md#KEY.
SECTIONS = {
    'general': 'General rules',
    'flags': 'Flags, logging and files',
    'graphs': 'Graphs and sessions',
    'variables': 'Variables and initializers',
    'layers': 'Layers and ops: tf.nn',
    'route-tf-keras': 'Route: tf-keras (tf.layers, RNN cells)',
    'route-tf-slim': 'Route: tf-slim (tf.contrib.layers, slim)',
    'batch_norm': 'Batch norm',
    'losses': 'Losses and metrics',
    'optimizers': 'Optimizers and learning-rate schedules',
    'summaries': 'Summaries',
    'input': 'Input',
    'loops': 'Training loops',
    'route-estimator': 'Route: Estimator and TPUEstimator',
    'route-seq2seq': 'Route: seq2seq',
    'route-multi-gpu': 'Route: several GPUs (towers, nccl, '
                       'MirroredStrategy)',
    'contrib': 'tf.contrib, module by module',
    'checkpoints': 'Checkpoints',
    'export': 'Export',
    'distributed': 'Distributed',
}
KINDS = ('error', 'silent', 'works', 'route')
ENVS = ('graph', 'eager', 'v1', 'legacy_keras')
DOTTED = re.compile(r'^[A-Za-z_][\w.]*$')


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    new: str
    section: str
    kind: str
    happens: str
    old_code: str = ''
    new_code: str = ''
    same_code: str = ''
    when: str = ''
    env: str = 'graph'
    new_env: str = ''
    note: str = ''

    @property
    def old(self):
        """old_code, or the name itself evaluated."""
        return self.old_code or 'result = %s' % self.name

    @property
    def replacement(self):
        """new_code, or `new` evaluated when it is a dotted name."""
        if self.new_code or not DOTTED.match(self.new):
            return self.new_code
        return 'result = %s' % self.new


def missing(name):
    """The AttributeError TF 2.21 raises for a dropped `tf.a.b` name."""
    parent, _, attribute = name.rpartition('.')
    module = ('tensorflow' if parent == 'tf' else
              'tensorflow._api.v2.' + parent[len('tf.'):])
    return "AttributeError: module '%s' has no attribute '%s'" % (
        module, attribute)


def moved(name, section, new=None, note='', **fields):
    """A tf.X that TF2 dropped and tf.compat.v1 keeps, unchanged."""
    new = new or 'tf.compat.v1.' + name[len('tf.'):]
    return Rule(name, new, section, 'error', missing(name), note=note,
                **fields)


V1_GONE = "AttributeError: module 'tensorflow.compat.v1' has no attribute '%s'"
OUT_OF_SCOPE = ("TypeError: <tf.Tensor 'global_step:0' shape=() "
                "dtype=resource> is out of scope and cannot be used here. "
                "Use return values, explicit Python locals or TensorFlow "
                "collections to access it.[...]")
NO_CONTRIB = "ModuleNotFoundError: No module named 'tensorflow.contrib'"
KERAS3 = "AttributeError: `%s` is not available with Keras 3."

# A tiny train op in the default graph, for the training-loop rules.
_STEP = ('global_step = tf1.train.get_or_create_global_step()\n'
         'step = tf1.assign_add(global_step, 1)\n')
_WITH_DEPENDENCIES = (
    'from tensorflow.python.ops import control_flow_ops\n'
    'v = tf1.get_variable("v", [], initializer=tf1.zeros_initializer())\n'
    'result = control_flow_ops.with_dependencies(\n'
    '    [tf1.assign_add(v, 1.0)], tf.constant(2.0))')
# A 1x3x3x2 input and a 2x2x2x2 kernel, for the conv and pool rules.
_CONV = ('x = tf.constant(np.arange(18.).reshape(1, 3, 3, 2), tf.float32)\n'
         'w = tf.constant(np.arange(16.).reshape(2, 2, 2, 2), tf.float32)\n')
# tf.io.encode_png(np.full((2, 2, 1), 7, np.uint8)), as bytes.
_PNG = (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00'
        b'\x02\x08\x00\x00\x00\x00W\xddR\xf8\x00\x00\x00\x0eIDAT\x08\x99cdg'
        b'`b`\x00\x00\x005\x00\x0bS\x1aD\xed\x00\x00\x00\x00IEND\xaeB`\x82')
# One TFRecord with that PNG (label 3), at `path`.
_TFRECORD = (
    'import os\n'
    'path = os.path.join(tempfile.mkdtemp(), "data.tfrecord")\n'
    'png = %r\n' % _PNG +
    'feature = {"image/encoded": tf.train.Feature(\n'
    '    bytes_list=tf.train.BytesList(value=[png])),\n'
    '           "label": tf.train.Feature(\n'
    '    int64_list=tf.train.Int64List(value=[3]))}\n'
    'with tf.io.TFRecordWriter(path) as writer:\n'
    '    writer.write(tf.train.Example(features=tf.train.Features(\n'
    '        feature=feature)).SerializeToString())\n')
# A slim DatasetDataProvider over `path`, decoding the items `%s`.
_SLIM_PROVIDER = (
    'import tf_slim\n'
    'decoder = tf_slim.tfexample_decoder.TFExampleDecoder({\n'
    '    "image/encoded": tf1.FixedLenFeature((), tf.string),\n'
    '    "image/format": tf1.FixedLenFeature((), tf.string, '
    'default_value="png"),\n'
    '    "label": tf1.FixedLenFeature([], tf.int64)}, {%s})\n'
    'dataset = tf_slim.dataset.Dataset(\n'
    '    data_sources=path, reader=tf1.TFRecordReader, decoder=decoder,\n'
    '    num_samples=1, items_to_descriptions={})\n'
    'provider = tf_slim.dataset_data_provider.DatasetDataProvider(\n'
    '    dataset, shuffle=False)\n')
# Runs tensor `%s` once with the queue runners started.
_RUN_QUEUES = (
    'with tf1.Session() as session:\n'
    '    session.run(tf1.local_variables_initializer())\n'
    '    coordinator = tf1.train.Coordinator()\n'
    '    threads = tf1.train.start_queue_runners(session, coordinator)\n'
    '    result = session.run(%s)\n'
    '    coordinator.request_stop()\n'
    '    coordinator.join(threads)\n')
# The fraction of zeros in `result`, to measure dropout.
_ZEROS = 'result = tf.reduce_mean(tf.cast(tf.equal(result, 0), tf.float32))'
# Batch norm in training mode on a fixed [2, 2, 2, 2] batch.
_BN_INPUT = ('x = tf.constant(np.arange(16.).reshape(2, 2, 2, 2), '
             'tf.float32)\n'
             '_BN_STATISTICS = [tf.constant(v) for v in (\n'
             '    [1., 2.], [4., 9.], [0., 1.], [1., 2.])]\n')

# A [3, 4] variable drawn by initializer `%s`, for the initializer rules.
_DRAW = 'result = tf1.get_variable("w", [3, 4], initializer=%s)'

# The Estimator route: a TF1 model_fn, unchanged, driven by a
# MonitoredTrainingSession (what Estimator.train did); the loss must fall.
_ESTIMATOR_RECIPE = """\
import collections
# What tf.estimator gave a model_fn: the mode names and the spec it returns.
ModeKeys = collections.namedtuple("ModeKeys", "TRAIN EVAL PREDICT")(
    "train", "eval", "infer")
EstimatorSpec = collections.namedtuple(
    "EstimatorSpec", "mode loss train_op predictions")

def model_fn(features, labels, mode, params):  # the TF1 model_fn, as it was
    predictions = tf_slim.fully_connected(features, 1, activation_fn=None)
    loss = tf1.losses.mean_squared_error(labels, predictions)
    train_op = tf1.train.GradientDescentOptimizer(params["rate"]).minimize(
        loss, global_step=tf1.train.get_or_create_global_step())
    return EstimatorSpec(mode, loss, train_op, predictions)

def input_fn():
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1)
    dataset = tf.data.Dataset.from_tensor_slices((x, 3 * x + 1))
    return tf1.data.make_one_shot_iterator(
        dataset.repeat().batch(16)).get_next()

losses = []
with tf.Graph().as_default():  # Estimator.train(input_fn, max_steps=200)
    features, labels = input_fn()
    spec = model_fn(features, labels, ModeKeys.TRAIN, {"rate": 0.2})
    with tf1.train.MonitoredTrainingSession(
            checkpoint_dir=tempfile.mkdtemp(),
            hooks=[tf1.train.StopAtStepHook(last_step=200)]) as session:
        while not session.should_stop():
            losses.append(session.run([spec.train_op, spec.loss])[1])
result = losses[-1] < 0.01 * losses[0]
"""

# dynamic_rnn over RNN cells, on the tf-keras route.
_RNN = ('cell = tf1.nn.rnn_cell.LSTMCell(4)\n'
        'outputs, state = tf1.nn.dynamic_rnn(cell, tf.ones([2, 5, 3]), '
        'dtype=tf.float32)\n'
        'result = outputs.shape.as_list()')

# Sequence to sequence with attention, without tf.contrib.seq2seq: an LSTM
# encoder (dynamic_rnn), a decoder step with dot-product (Luong) attention,
# teacher forcing and greedy decoding in tf.while_loop. Learns to reverse
# sequences; the loss must fall and greedy decoding must run.
_SEQ2SEQ_RECIPE = """\
batch, steps, vocab, units = 16, 5, 8, 32
rng = np.random.default_rng(0)
source = rng.integers(1, vocab, (batch, steps)).astype(np.int32)
target = source[:, ::-1]                       # the task: reverse
decoder_in = np.concatenate([np.zeros((batch, 1), np.int32),
                             target[:, :-1]], 1)  # teacher forcing
tf1.set_random_seed(1)
embed = tf1.get_variable("embed", [vocab, units])
memory, encoded = tf1.nn.dynamic_rnn(
    tf1.nn.rnn_cell.LSTMCell(units, name="encoder"),
    tf.nn.embedding_lookup(embed, source), dtype=tf.float32)
decoder = tf1.nn.rnn_cell.LSTMCell(units, name="decoder")
project = tf1.get_variable("project", [2 * units, vocab])

def step(tokens, state):  # one decoder step with attention over `memory`
    output, state = decoder(tf.nn.embedding_lookup(embed, tokens), state)
    weights = tf.nn.softmax(tf.einsum("bu,btu->bt", output, memory))
    context = tf.einsum("bt,btu->bu", weights, memory)
    return tf.matmul(tf.concat([output, context], 1), project), state

step(decoder_in[:, 0], encoded)  # builds the decoder's variables once

def train_body(t, state, logits):
    output, state = step(tf.gather(decoder_in, t, axis=1), state)
    return t + 1, state, logits.write(t, output)

_, _, logits = tf.while_loop(
    lambda t, *_: t < steps, train_body,
    (0, encoded, tf.TensorArray(tf.float32, steps)))
loss = tf1.losses.sparse_softmax_cross_entropy(
    target, tf.transpose(logits.stack(), [1, 0, 2]))
train_op = tf1.train.AdamOptimizer(0.02).minimize(loss)

def greedy_body(t, tokens, state, ids):
    output, state = step(tokens, state)
    tokens = tf.argmax(output, 1, output_type=tf.int32)
    return t + 1, tokens, state, ids.write(t, tokens)

_, _, _, ids = tf.while_loop(
    lambda t, *_: t < steps, greedy_body,
    (0, tf.zeros([batch], tf.int32), encoded,
     tf.TensorArray(tf.int32, steps)))
decoded = tf.transpose(ids.stack())
with tf1.Session() as session:
    session.run(tf1.global_variables_initializer())
    first = session.run(loss)
    for _ in range(150):
        last = session.run([train_op, loss])[1]
    accuracy = np.mean(session.run(decoded) == target)
result = [bool(last < 0.2 * first), bool(accuracy > 0.5)]
"""

# Two in-graph towers on one device ('/gpu:%d' % i on GPUs) average their
# gradients: the same gradient as the whole batch on one device.
_TOWERS = """\
x = tf.constant(np.arange(8.).reshape(4, 2), tf.float32)
y = tf.constant([[1.], [2.], [3.], [4.]])

def loss_of(images, labels):
    with tf1.variable_scope("model", reuse=tf1.AUTO_REUSE):
        w = tf1.get_variable("w", [2, 1], initializer=tf1.ones_initializer())
    return tf.reduce_mean(tf.square(tf.matmul(images, w) - labels))

optimizer = tf1.train.GradientDescentOptimizer(0.1)
"""
_TOWERS_RECIPE = _TOWERS + """\
tower_grads = []
for i, (images, labels) in enumerate(zip(tf.split(x, 2), tf.split(y, 2))):
    with tf.device("/cpu:0"), tf1.name_scope("tower_%d" % i):
        tower_grads.append(optimizer.compute_gradients(loss_of(images,
                                                               labels)))
# What nccl.all_sum + dividing did: the mean over towers, per variable.
averaged = [(tf.add_n([g for g, _ in pairs]) / len(pairs), pairs[0][1])
            for pairs in zip(*tower_grads)]
train_op = optimizer.apply_gradients(averaged)
result = averaged[0][0]
"""

ROUTE_RULES = (
    # -- the tf-keras route: tf.layers and RNN cells -----------------------
    moved('tf.nn.rnn_cell', 'route-tf-keras',
          new='tf.compat.v1.nn.rnn_cell', new_code=_RNN,
          new_env='legacy_keras',
          note='on the tf-keras route; under Keras 3 every cell fails '
               '(next rule).'),
    Rule('tf.compat.v1.nn.rnn_cell', 'the tf-keras route: `pip install '
         'tf-keras~=2.21.0`, `TF_USE_LEGACY_KERAS=1`', 'route-tf-keras',
         'error', KERAS3 % 'LSTMCell',
         old_code='result = tf1.nn.rnn_cell.LSTMCell(4)',
         new_code=_RNN, new_env='legacy_keras',
         note='Every cell fails the same way, named: `BasicLSTMCell`, '
              '`GRUCell`, `MultiRNNCell`, `DropoutWrapper`, ... On the '
              'route all of them work, with their TF1 variable names.'),
    moved('tf.nn.dynamic_rnn', 'route-tf-keras', new_code=_RNN,
          new_env='legacy_keras',
          note='The function is TensorFlow\'s own; the cells it runs need '
               'the tf-keras route.'),
    moved('tf.nn.bidirectional_dynamic_rnn', 'route-tf-keras'),
    Rule('tf.contrib.rnn', 'tf.compat.v1.nn.rnn_cell on the tf-keras '
         'route', 'route-tf-keras', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.rnn',
         new_code=_RNN, new_env='legacy_keras',
         note='LSTMCell, GRUCell, BasicLSTMCell, MultiRNNCell, '
              'DropoutWrapper, ResidualWrapper, DeviceWrapper, '
              'LSTMStateTuple are there; the contrib-only cells '
              '(LSTMBlockCell, LayerNormBasicLSTMCell, ...) are gone: '
              'use LSTMCell, and check the names with checkpoint_diff.'),
    # -- the tf-slim route ---------------------------------------------------
    Rule('tf.layers.dense -> tf_slim.fully_connected',
         '`tf_slim.fully_connected(x, units, activation_fn=None)`',
         'route-tf-slim', 'route',
         'works with other defaults: slim.fully_connected applies ReLU '
         'unless `activation_fn=None`; tf.layers.dense is linear',
         old_code='result = tf1.layers.dense(tf.constant([[1., -2.]]), 2,'
                  '\n    kernel_initializer=tf1.ones_initializer())',
         new_code='result = tf_slim.fully_connected(tf.constant([[1., -2.]]),'
                  ' 2,\n    activation_fn=None, '
                  'weights_initializer=tf1.ones_initializer())',
         same_code='result = tf1.layers.dense(tf.constant([[1., -2.]]), 2,'
                   '\n    kernel_initializer=tf1.ones_initializer())',
         env='legacy_keras', new_env='graph',
         note='Variable names change (`dense/kernel` -> '
              '`fully_connected/weights`): see "What each route does to '
              'variable names".'),
    # -- Estimator and TPUEstimator -----------------------------------------
    Rule('tf.compat.v1.estimator', 'the Estimator route (recipe)',
         'route-estimator', 'error', V1_GONE % 'estimator',
         new_code=_ESTIMATOR_RECIPE, same_code='result = True'),
    Rule('tf.contrib.tpu', 'the Estimator route on CPU/GPU; on TPUs '
         '`tf.distribute.TPUStrategy` (a TF2 rewrite), or pin '
         'tensorflow<2.16', 'route-estimator', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.tpu',
         new_code=_ESTIMATOR_RECIPE, same_code='result = True',
         note='TPUEstimator went with Estimator; its model_fn runs in the '
              'recipe once TPU-only calls (CrossShardOptimizer, '
              'TPUEstimatorSpec) are replaced by their plain twins. Not '
              'run on a TPU here.'),
    Rule('tf.contrib.learn', 'the Estimator route (recipe)',
         'route-estimator', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.learn',
         new_code=_ESTIMATOR_RECIPE, same_code='result = True'),
    # -- seq2seq -----------------------------------------------------------
    Rule('tf.contrib.seq2seq', 'attention and decoding written with '
         'tf.compat.v1 ops and tf.while_loop on the tf-keras route '
         '(recipe)', 'route-seq2seq', 'error',
         NO_CONTRIB, old_code='import tensorflow.contrib.seq2seq',
         new_code=_SEQ2SEQ_RECIPE, same_code='result = [True, True]',
         new_env='legacy_keras',
         note='Its TF2 successor, tensorflow-addons (tfa.seq2seq), is '
              'end-of-life: 0.23 fails to import on TF 2.21. Variable '
              'names differ from contrib\'s AttentionWrapper: restore '
              'old checkpoints with checkpoint_diff\'s map.'),
    # -- several GPUs ------------------------------------------------------
    Rule('tf.contrib.nccl', 'in-graph towers averaging their gradients '
         '(recipe); on GPUs also `tf.distribute.MirroredStrategy('
         'cross_device_ops=tf.distribute.NcclAllReduce())`',
         'route-multi-gpu', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.nccl',
         new_code=_TOWERS_RECIPE,
         same_code=_TOWERS + 'result = optimizer.compute_gradients('
                   'loss_of(x, y))[0][0]',
         note='The recipe runs on CPU here (no GPU): put tower i on '
              '"/gpu:%d" % i. NcclAllReduce was not run here.'),
    Rule('tf.distribute.MirroredStrategy', 'tf.distribute.MirroredStrategy',
         'route-multi-gpu', 'works', 'works in a tf.Graph: variables '
         'created under `strategy.scope()` are mirrored; `strategy.run` '
         'and `strategy.reduce` build graph ops a Session runs',
         old_code='strategy = tf.distribute.MirroredStrategy(["/cpu:0"])\n'
                  'with strategy.scope():\n'
                  '    v = tf1.get_variable("v", [2], '
                  'initializer=tf1.ones_initializer())\n'
                  'result = strategy.reduce(tf.distribute.ReduceOp.SUM,\n'
                  '    strategy.run(lambda: v * 2.0), axis=None)',
         new_code='strategy = tf.distribute.MirroredStrategy(["/cpu:0"])\n'
                  'with strategy.scope():\n'
                  '    v = tf1.get_variable("v", [2], '
                  'initializer=tf1.ones_initializer())\n'
                  'result = strategy.reduce(tf.distribute.ReduceOp.SUM,\n'
                  '    strategy.run(lambda: v * 2.0), axis=None)',
         same_code='result = [2.0, 2.0]',
         note='Measured with one CPU replica; on GPUs list them.'),
    Rule('tf.contrib.distribute', 'tf.distribute', 'route-multi-gpu',
         'error', NO_CONTRIB, old_code='import tensorflow.contrib.distribute',
         new_code='result = tf.distribute.MirroredStrategy'),
    # -- contrib modules with a home outside tf-slim -------------------------
    Rule('tf.contrib.data', 'tf.data.experimental', 'contrib', 'error',
         NO_CONTRIB, old_code='import tensorflow.contrib.data',
         new_code='dataset = tf.data.Dataset.range(6).apply(\n'
                  '    tf.data.experimental.group_by_window(\n'
                  '        lambda x: x % 2, lambda key, d: d.batch(3), 3))\n'
                  'result = tf1.data.make_one_shot_iterator(dataset)'
                  '.get_next()',
         same_code='result = [0, 2, 4]',
         note='`group_by_window`, `map_and_batch`, `bucket_by_sequence_'
              'length`, ...: same names in tf.data.experimental.'),
    Rule('tf.contrib.cluster_resolver', 'tf.distribute.cluster_resolver',
         'contrib', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.cluster_resolver',
         new_code='result = tf.distribute.cluster_resolver.'
                  'SimpleClusterResolver'),
)

# Initializers whose TF2 spelling (Keras 3's, for tf.initializers.X) differs
# from TF1's: name -> (TF1 default, TF2 default) where a default changed,
# None where only the numbers for a seed did. test_migration_rules measures
# the words.
INITIALIZER_CHANGES = {
    'glorot_normal': None, 'glorot_uniform': None, 'he_normal': None,
    'he_uniform': None, 'lecun_normal': None, 'lecun_uniform': None,
    'orthogonal': None, 'variance_scaling': None,
    'random_normal': ('stddev 1.0', 'stddev 0.05'),
    'random_uniform': ('range [0, 1)', 'range [-0.05, 0.05)'),
    'truncated_normal': ('stddev 1.0', 'stddev 0.05'),
}


def _initializer_change(name):
    change = INITIALIZER_CHANGES[name]
    if change is None:
        return ("it is Keras 3's initializer: the same distribution, other "
                "numbers for the same seed")
    return ("it is Keras 3's initializer: default %s (TF1: %s), and other "
            "numbers for the same seed" % (change[1], change[0]))


INITIALIZER_RULES = tuple(
    Rule('tf.initializers.%s' % name, 'tf.compat.v1.initializers.%s' % name,
         'variables', 'silent', _initializer_change(name),
         old_code=_DRAW % 'tf.initializers.%s(seed=2)' % name,
         new_code=_DRAW % 'tf1.initializers.%s(seed=2)' % name,
         same_code=_DRAW % 'tf1.initializers.%s(seed=2)' % name,
         note='`tf.keras.initializers.%s` draws the same numbers as '
              '`tf.initializers.%s`.' % (name, name))
    for name in INITIALIZER_CHANGES
) + (
    Rule('tf.initializers.uniform_unit_scaling',
         'tf.compat.v1.initializers.uniform_unit_scaling', 'variables',
         'error', "AttributeError: module 'keras._tf_keras.keras."
         "initializers' has no attribute 'uniform_unit_scaling'"),
) + tuple(moved('tf.%s_initializer' % name, 'variables')
          for name in ('glorot_uniform', 'glorot_normal', 'variance_scaling',
                       'orthogonal', 'uniform_unit_scaling'))


RULES = (
    # -- general -----------------------------------------------------------
    Rule('tf.compat.v1.placeholder',
         'build inside `with tf.Graph().as_default():` (or call '
         '`tf.compat.v1.disable_eager_execution()` first)',
         'general', 'error',
         'RuntimeError: tf.placeholder() is not compatible with eager '
         'execution.',
         old_code='result = tf1.placeholder(tf.float32)',
         new_code='with tf.Graph().as_default():\n'
                  '    result = tf1.placeholder(tf.float32).shape.rank',
         when='default-graph', env='eager',
         note='TF2 runs eagerly wherever no graph is the default; every '
              'graph-only tf.compat.v1 API (placeholder, Saver(), '
              'FileWriter, queues) needs a graph.'),
    Rule('tf.compat.v1.InteractiveSession',
         'an explicit `tf.Graph` and `tf.compat.v1.Session(graph=...)`',
         'general', 'error',
         'RuntimeError: tf.placeholder() is not compatible with eager '
         'execution.',
         old_code='session = tf1.InteractiveSession()\n'
                  'try:\n'
                  '    result = tf1.placeholder(tf.float32)\n'
                  'finally:\n'
                  '    session.close()',
         new_code='with tf.Graph().as_default() as graph:\n'
                  '    x = tf1.placeholder(tf.float32)\n'
                  'with tf1.Session(graph=graph) as session:\n'
                  '    result = session.run(2 * x, {x: 3.0})',
         when='default-graph', env='eager',
         note='An InteractiveSession does not leave eager mode: the ops '
              'built after it still run eagerly.'),
    Rule('tf.compat.v1.disable_eager_execution',
         'or, same numbers: an explicit `with tf.Graph().as_default():`',
         'general', 'route',
         'works: the whole process is in graph mode, as TF1 was; the '
         'global default graph, InteractiveSession and Supervisor work',
         old_code='tf1.disable_eager_execution()\n'
                  'x = tf1.placeholder(tf.float32)\n'
                  'with tf1.Session() as session:\n'
                  '    result = session.run(2 * x, {x: 3.0})',
         new_code='with tf.Graph().as_default() as graph:\n'
                  '    x = tf1.placeholder(tf.float32)\n'
                  'with tf1.Session(graph=graph) as session:\n'
                  '    result = session.run(2 * x, {x: 3.0})',
         env='v1', new_env='eager',
         note='Call it first, before any op is built; it cannot be undone '
              'in the process. A library (like this project) should use '
              'explicit graphs instead.'),
    Rule('tf.compat.v1.train.Supervisor',
         'call `tf.compat.v1.disable_eager_execution()` at program start, '
         'or use `tf.compat.v1.train.MonitoredTrainingSession`',
         'loops', 'error', OUT_OF_SCOPE,
         old_code=_STEP + 'supervisor = tf1.train.Supervisor(\n'
                  '    logdir=tempfile.mkdtemp())\n'
                  'with supervisor.managed_session() as session:\n'
                  '    result = session.run(step)',
         new_code=_STEP + 'supervisor = tf1.train.Supervisor(\n'
                  '    logdir=tempfile.mkdtemp())\n'
                  'with supervisor.managed_session() as session:\n'
                  '    result = session.run(step)',
         when='eager', new_env='v1',
         note="Its background threads (summaries, step counter) do not "
              "see the thread's default graph: each thread of a TF2 "
              "process starts in eager mode."),
    # -- flags, logging, files ---------------------------------------------
    moved('tf.app', 'flags',
          note='`tf.compat.v1.app.run` and `.flags` wrap absl: new code '
               'uses `absl.app` and `absl.flags` directly.'),
    moved('tf.flags', 'flags', new='absl.flags',
          note='tf.compat.v1.flags is absl.flags too.'),
    moved('tf.logging', 'flags',
          note='or `absl.logging` (same levels and calls, lower case).'),
    moved('tf.gfile', 'flags',
          note='TF2 spells it `tf.io.gfile` with lower-case names '
               '(`IsDirectory` -> `isdir`, `MakeDirs` -> `makedirs`, '
               '`Exists` -> `exists`).'),
    Rule('tf.compat.v1.gfile.IsDirectory', 'tf.io.gfile.isdir', 'flags',
         'works', 'works; the TF2 name gives the same answer',
         old_code='result = tf1.gfile.IsDirectory(tempfile.gettempdir())',
         new_code='result = tf.io.gfile.isdir(tempfile.gettempdir())',
         same_code='result = tf1.gfile.IsDirectory(tempfile.gettempdir())'),
    moved('tf.python_io', 'flags', new='tf.io',
          note='`tf.python_io.TFRecordWriter` -> `tf.io.TFRecordWriter`.',
          new_code='result = tf.io.TFRecordWriter'),
    # -- graphs and sessions -----------------------------------------------
    moved('tf.Session', 'graphs'),
    moved('tf.InteractiveSession', 'graphs'),
    moved('tf.ConfigProto', 'graphs'),
    moved('tf.placeholder', 'graphs'),
    moved('tf.get_default_graph', 'graphs'),
    moved('tf.reset_default_graph', 'graphs'),
    moved('tf.GraphKeys', 'graphs'),
    moved('tf.get_collection', 'graphs'),
    moved('tf.add_to_collection', 'graphs'),
    moved('tf.global_variables_initializer', 'graphs'),
    moved('tf.local_variables_initializer', 'graphs'),
    moved('tf.initialize_all_variables', 'graphs',
          new='tf.compat.v1.global_variables_initializer',
          note='A pre-1.0 name.'),
    moved('tf.Print', 'graphs',
          note='`tf.print` is a side-effect op, not an identity: wire it '
               'with `tf.control_dependencies`.'),
    Rule('tf.name_scope', 'tf.compat.v1.name_scope(name, default_name, '
         'values)', 'graphs', 'error',
         "TypeError: name_scope_v2.__init__() takes 2 positional arguments "
         "but 4 were given",
         old_code="result = tf.name_scope(None, 'scope', []).__enter__()",
         new_code="result = tf1.name_scope(None, 'scope', []).__enter__()",
         when='args>=2',
         note="`tf.name_scope('name')` with one argument works as before."),
    Rule('tf.python.ops.control_flow_ops.with_dependencies',
         'tf.control_dependencies + tf.identity', 'graphs', 'works',
         'works (a private module, still there in 2.21)',
         old_code=_WITH_DEPENDENCIES,
         new_code='v = tf1.get_variable("v", [], initializer=tf1.zeros_'
                  'initializer())\n'
                  'with tf.control_dependencies([tf1.assign_add(v, 1.0)]):\n'
                  '    result = tf.identity(tf.constant(2.0))',
         same_code=_WITH_DEPENDENCIES),
    # -- variables and initializers ----------------------------------------
    moved('tf.get_variable', 'variables'),
    moved('tf.variable_scope', 'variables'),
    moved('tf.trainable_variables', 'variables'),
    moved('tf.assign', 'variables'),
    moved('tf.assign_add', 'variables'),
    moved('tf.set_random_seed', 'variables', new='tf.random.set_seed',
          note='In a graph: `tf.compat.v1.set_random_seed` (graph-level '
               'seed of that graph).'),
    moved('tf.truncated_normal', 'variables', new='tf.random.truncated_normal',
          same_code='tf1.set_random_seed(1)\n'
                    'result = tf1.truncated_normal([3], seed=2)',
          new_code='tf1.set_random_seed(1)\n'
                   'result = tf.random.truncated_normal([3], seed=2)'),
    moved('tf.random_normal', 'variables', new='tf.random.normal',
          same_code='tf1.set_random_seed(1)\n'
                    'result = tf1.random_normal([3], seed=2)',
          new_code='tf1.set_random_seed(1)\n'
                   'result = tf.random.normal([3], seed=2)'),
    moved('tf.random_uniform', 'variables', new='tf.random.uniform'),
    moved('tf.truncated_normal_initializer', 'variables'),
    moved('tf.to_float', 'variables', new='tf.cast(x, tf.float32)',
          new_code='result = tf.cast(tf.constant([1, 2]), tf.float32)',
          same_code='result = tf1.to_float(tf.constant([1, 2]))'),
    Rule('tf.random_normal_initializer', 'tf.compat.v1.random_normal_'
         'initializer (same numbers as TF1)', 'variables', 'silent',
         "TF2's default stddev is 0.05 (TF1: 1.0); with the same "
         "arguments it draws other numbers for the same seed (same "
         "distribution)",
         old_code=_DRAW % 'tf.random_normal_initializer(seed=1)',
         new_code=_DRAW % 'tf1.random_normal_initializer(seed=1)',
         same_code=_DRAW % 'tf1.random_normal_initializer(seed=1)'),
    Rule('tf.random_uniform_initializer', 'tf.compat.v1.random_uniform_'
         'initializer (same numbers as TF1)', 'variables', 'silent',
         "TF2's default range is [-0.05, 0.05) (TF1: [0, 1)); with the "
         "same arguments it draws other numbers for the same seed (same "
         "distribution)",
         old_code=_DRAW % 'tf.random_uniform_initializer(seed=1)',
         new_code=_DRAW % 'tf1.random_uniform_initializer(seed=1)',
         same_code=_DRAW % 'tf1.random_uniform_initializer(seed=1)'),
    Rule('tf.constant_initializer', 'tf.constant_initializer', 'variables',
         'works', 'works in tf.compat.v1.get_variable (the TF2 class; '
         'its `dtype` and `verify_shape` arguments are gone)',
         old_code='result = tf1.get_variable("b", [2], initializer='
                  'tf.constant_initializer(0.5))',
         new_code='result = tf1.get_variable("b", [2], initializer='
                  'tf.constant_initializer(0.5))',
         same_code='result = tf1.get_variable("b", [2], initializer='
                   'tf1.constant_initializer(0.5))'),
    Rule('tf.Variable', 'tf.Variable', 'variables', 'works',
         'works in a graph (TF2 class, a resource variable); its third '
         'positional argument is no longer `collections`',
         old_code='result = tf.Variable(tf.constant(0.1, shape=[2]))',
         new_code='result = tf.Variable(tf.constant(0.1, shape=[2]))',
         same_code='result = tf1.Variable(tf.constant(0.1, shape=[2]))'),
    # -- layers ------------------------------------------------------------
    Rule('tf.contrib', 'one route per module: see "tf.contrib, module by '
         'module"', 'contrib', 'error',
         "AttributeError: module 'tensorflow' has no attribute 'contrib'",
         new_code='import tf_slim\nresult = tf_slim.layers'),
    Rule('tf.contrib.slim', 'tf_slim', 'route-tf-slim', 'error',
         NO_CONTRIB,
         old_code='import tensorflow.contrib.slim',
         note='`pip install tf-slim`; `import tf_slim as slim`. Most of '
              'slim runs on 2.21: its layers, arg_scope, losses, metrics, '
              'learning, evaluation; batch_norm does not.'),
    Rule('tf.contrib.layers', 'tf_slim', 'route-tf-slim', 'error',
         NO_CONTRIB,
         old_code='import tensorflow.contrib.layers',
         note='`tf.contrib.layers.conv2d` is `tf_slim.conv2d` (also '
              '`tf_slim.layers.conv2d`), and so on.'),
    Rule('tf.contrib.framework', 'tf_slim', 'route-tf-slim', 'error',
         NO_CONTRIB,
         old_code='import tensorflow.contrib.framework',
         note='arg_scope, get_variables_to_restore, '
              'assign_from_checkpoint_fn'),
    Rule('tf.contrib.deprecated', 'tf.compat.v1.summary.scalar / '
         '.histogram / .image', 'summaries', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.deprecated',
         new_code="tf1.summary.histogram('weights', [1.0, 2.0])\n"
                  "result = tf1.summary.merge_all() is not None"),
    Rule('tf.contrib.quantize', 'no TF2 equivalent for graphs; '
         'tensorflow-model-optimization quantizes Keras models',
         'export', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.quantize'),
    Rule('tf.contrib.estimator', 'the Estimator route: model_fn in a '
         'MonitoredTrainingSession loop; several devices: in-graph towers',
         'route-estimator', 'error', NO_CONTRIB,
         new_code=_ESTIMATOR_RECIPE, same_code='result = True',
         old_code='import tensorflow.contrib.estimator'),
    moved('tf.layers', 'route-tf-keras', new='tf.compat.v1.layers',
          note='on the tf-keras route (`pip install tf-keras~=2.21.0`, '
               '`TF_USE_LEGACY_KERAS=1`); under Keras 3 it fails: next '
               'rule.',
          new_code='result = tf1.layers.dense(tf.ones([1, 3]), 2)',
          new_env='legacy_keras'),
    Rule('tf.compat.v1.layers', 'the tf-keras route: `pip install '
         'tf-keras~=2.21.0`, `TF_USE_LEGACY_KERAS=1` (keeps the variable '
         'names); or tf-slim layers (other defaults and names)',
         'route-tf-keras', 'error', KERAS3 % 'conv2d',
         old_code='result = tf1.layers.conv2d(tf.ones([1, 4, 4, 1]), 2, 3)',
         new_code='result = tf1.layers.conv2d(tf.ones([1, 4, 4, 1]), 2, 3)',
         new_env='legacy_keras',
         note='Every member fails the same way, named: `%s`, `%s`, ... '
              '(classes too).' % ('dense', 'Conv2D')),
    Rule('TF_USE_LEGACY_KERAS=1', 'with `pip install tf-keras~=2.21.0`; '
         'or, same numbers: tf-slim layers', 'route-tf-keras', 'route',
         'works: tf.compat.v1.layers.* are back (Keras 2 layers); '
         'slim.batch_norm still fails',
         old_code='result = tf1.layers.conv2d(tf.ones([1, 4, 4, 1]), 2, 3, '
                  'kernel_initializer=tf1.ones_initializer())',
         new_code='import tf_slim\n'
                  'result = tf_slim.conv2d(tf.ones([1, 4, 4, 1]), 2, 3, '
                  'padding="VALID", activation_fn=None,\n'
                  '    weights_initializer=tf1.ones_initializer())',
         same_code='result = tf1.layers.conv2d(tf.ones([1, 4, 4, 1]), 2, 3, '
                   'kernel_initializer=tf1.ones_initializer())',
         env='legacy_keras', new_env='graph',
         note='Set the variable before TensorFlow is imported. tf.keras is '
              'then Keras 2 for the whole process.'),
    Rule('tf.nn.conv2d', 'tf.nn.conv2d', 'layers', 'works',
         'works: TF2 renamed `filter` to `filters` and dropped '
         '`use_cudnn_on_gpu`; positional calls keep their meaning',
         old_code=_CONV + 'result = tf.nn.conv2d(x, w, [1, 1, 1, 1], '
                  '"SAME")',
         new_code=_CONV + 'result = tf.nn.conv2d(x, w, [1, 1, 1, 1], '
                  '"SAME")',
         same_code=_CONV + 'result = tf1.nn.conv2d(x, w, [1, 1, 1, 1], '
                   '"SAME")',
         note='`use_cudnn_on_gpu=` as a keyword: TypeError.'),
    Rule('tf.nn.max_pool', 'tf.nn.max_pool', 'layers', 'works',
         'works: TF2 renamed `value` to `input`; positional calls keep '
         'their meaning',
         old_code=_CONV + 'result = tf.nn.max_pool(x, [1, 2, 2, 1], '
                  '[1, 2, 2, 1], "SAME")',
         new_code=_CONV + 'result = tf.nn.max_pool(x, [1, 2, 2, 1], '
                  '[1, 2, 2, 1], "SAME")',
         same_code=_CONV + 'result = tf1.nn.max_pool(x, [1, 2, 2, 1], '
                   '[1, 2, 2, 1], "SAME")'),
    Rule('tf.nn.conv2d_transpose', 'tf.nn.conv2d_transpose', 'layers',
         'works', 'works: TF2 renamed `value`, `filter` to `input`, '
         '`filters`; positional calls keep their meaning',
         old_code=_CONV + 'result = tf.nn.conv2d_transpose(x, w, '
                  '[1, 6, 6, 2], [1, 2, 2, 1])',
         new_code=_CONV + 'result = tf.nn.conv2d_transpose(x, w, '
                  '[1, 6, 6, 2], [1, 2, 2, 1])',
         same_code=_CONV + 'result = tf1.nn.conv2d_transpose(x, w, '
                   '[1, 6, 6, 2], [1, 2, 2, 1])'),
    Rule('tf.nn.deconv2d', 'tf.nn.conv2d_transpose', 'layers', 'error',
         missing('tf.nn.deconv2d'),
         new_code=_CONV + 'result = tf.nn.conv2d_transpose(x, w, '
                  '[1, 6, 6, 2], [1, 2, 2, 1])',
         note='A pre-0.7 name, gone from tf.compat.v1 too.'),
    # -- batch norm --------------------------------------------------------
    Rule('tf_slim.batch_norm', '`tf1_migrate.compat_ops.batch_norm` (same '
         'variables and numbers, updates in UPDATE_OPS)', 'batch_norm',
         'error',
         "AttributeError: module 'tensorflow.python.framework.ops' has "
         "no attribute 'Tensor'",
         old_code='import tf_slim\n' + _BN_INPUT +
                  'result = tf_slim.batch_norm(x, updates_collections=None,'
                  ' is_training=True)',
         new_code=_BN_INPUT +
                  'from tf1_migrate.compat_ops import batch_norm\n'
                  'result = batch_norm(x, updates_collections=None, '
                  'is_training=True)',
         when='kw=updates_collections',
         note='`updates_collections=None` (update in place) and rank-2 '
              'inputs take slim\'s fused path, which touches the removed '
              '`ops.Tensor`. The owned batch norm takes both.'),
    Rule('tf_slim.batch_norm', '`tf1_migrate.compat_ops.batch_norm` (same '
         'variables and numbers, updates in UPDATE_OPS)', 'batch_norm',
         'error',
         "ModuleNotFoundError: No module named 'tf_keras'",
         old_code='import tf_slim\n' + _BN_INPUT +
                  'result = tf_slim.batch_norm(x, is_training=True)',
         new_code=_BN_INPUT + 'from tf1_migrate.compat_ops import '
                  'batch_norm\n'
                  'result = batch_norm(x, is_training=True)',
         note="The default path builds Keras 2's BatchNormalization "
              "layer; with tf-keras installed the error names "
              "`tf_keras.legacy_tf_layers` instead."),
    Rule('rank-2 batch norm', '`tf1_migrate.compat_ops.batch_norm` on '
         'the `[N, C]` input', 'batch_norm',
         'route', 'works: the same numbers as normalizing over the batch '
         'axis by hand',
         old_code='from tf1_migrate.compat_ops import batch_norm\n'
                  'x = tf.constant(np.arange(12.).reshape(4, 3) ** 2, '
                  'tf.float32)\n'
                  'result = batch_norm(x, is_training=True)',
         new_code='x = tf.constant(np.arange(12.).reshape(4, 3) ** 2, '
                  'tf.float32)\n'
                  'mean, variance = tf.nn.moments(x, [0])\n'
                  'result = (x - mean) / tf.sqrt(variance + 0.001)',
         same_code='from tf1_migrate.compat_ops import batch_norm\n'
                   'x = tf.constant(np.arange(12.).reshape(4, 3) ** 2, '
                   'tf.float32)\n'
                   'result = batch_norm(x, is_training=True)',
         note='slim.batch_norm on a rank-2 input takes the broken fused '
              'path.'),
    Rule('tf.contrib.layers.batch_norm',
         '`tf1_migrate.compat_ops.batch_norm`',
         'batch_norm', 'error', NO_CONTRIB,
         old_code='import tensorflow.contrib.layers',
         new_code=_BN_INPUT + 'from tf1_migrate.compat_ops import '
                  'batch_norm\n'
                  'result = batch_norm(x, is_training=True)',
         note='It is tf_slim.batch_norm, which fails too (rules above).'),
    Rule('tf.nn.batch_norm_with_global_normalization',
         'tf.nn.batch_norm_with_global_normalization', 'batch_norm',
         'works', 'works: positional arguments keep their meaning (the '
         'first three were renamed t, m, v -> input, mean, variance)',
         old_code=_BN_INPUT + 'result = tf.nn.batch_norm_with_global_'
                  'normalization(\n    x, *_BN_STATISTICS, 1e-3, True)',
         new_code=_BN_INPUT + 'result = tf.nn.batch_norm_with_global_'
                  'normalization(\n    x, *_BN_STATISTICS, 1e-3, True)',
         same_code=_BN_INPUT + 'result = tf1.nn.batch_norm_with_global_'
                   'normalization(\n    x, *_BN_STATISTICS, 1e-3, True)'),
    # -- losses and metrics ------------------------------------------------
    Rule('tf.losses', 'tf.compat.v1.losses', 'losses', 'error',
         "AttributeError: module 'keras._tf_keras.keras.losses' has no "
         "attribute 'sparse_softmax_cross_entropy'",
         old_code='result = tf.losses.sparse_softmax_cross_entropy',
         note='`tf.losses` is now Keras 3\'s losses module: the TF1 '
              'functions are gone from it, and `tf.losses.Reduction` is '
              'Keras\'s class, not TF1\'s.'),
    Rule('tf.losses.Reduction', 'tf.compat.v1.losses.Reduction', 'losses',
         'error', "AttributeError: type object 'Reduction' has no "
         "attribute 'MEAN'",
         old_code='result = tf.losses.Reduction.MEAN',
         new_code='result = tf.compat.v1.losses.Reduction.MEAN',
         note="It exists, but it is Keras's Reduction class, with other "
              "members."),
    Rule('tf.metrics', 'tf.compat.v1.metrics', 'losses', 'error',
         "AttributeError: module 'keras._tf_keras.keras.metrics' has no "
         "attribute 'accuracy'",
         old_code='result = tf.metrics.accuracy',
         note='`tf.metrics` is now Keras 3\'s metrics module.'),
    Rule('tf.nn.in_top_k', 'tf.nn.in_top_k(targets, predictions, k) '
         '(arguments swapped) or keywords', 'losses', 'error',
         "TypeError: Input 'predictions' of 'InTopKV2' Op has type int32 "
         "that does not match expected type of float32.",
         old_code='result = tf.nn.in_top_k(tf.constant([[0.1, 0.9], '
                  '[0.8, 0.2]]), tf.constant([1, 1]), 1)',
         new_code='result = tf.nn.in_top_k(tf.constant([1, 1]), '
                  'tf.constant([[0.1, 0.9], [0.8, 0.2]]), 1)',
         same_code='result = tf1.nn.in_top_k(tf.constant([[0.1, 0.9], '
                   '[0.8, 0.2]]), tf.constant([1, 1]), 1)',
         when='args>=2',
         note='TF1 took (predictions, targets, k).'),
    Rule('tf.nn.dropout', 'tf.nn.dropout(x, rate=1 - keep_prob)', 'losses',
         'silent', 'the second argument is now `rate`, the fraction '
         'dropped: dropout(x, 0.9) keeps 10%, not 90%',
         old_code='result = tf.nn.dropout(tf.ones([1000]), 0.9, seed=1)\n'
                  + _ZEROS,
         new_code='result = tf.nn.dropout(tf.ones([1000]), rate=1 - 0.9, '
                  'seed=1)\n' + _ZEROS,
         same_code='result = tf1.nn.dropout(tf.ones([1000]), 0.9, seed=1)\n'
                   + _ZEROS,
         when='args>=2'),
    Rule('tf.nn.dropout', 'tf.nn.dropout(x, rate=1 - keep_prob)', 'losses',
         'error', "TypeError: Got an unexpected keyword argument "
         "'keep_prob'",
         old_code='result = tf.nn.dropout(tf.ones([4]), keep_prob=0.5)',
         new_code='result = tf.nn.dropout(tf.ones([4]), rate=0.5)',
         when='kw=keep_prob'),
    Rule('tf.nn.softmax_cross_entropy_with_logits',
         'tf.nn.softmax_cross_entropy_with_logits(labels='
         'tf.stop_gradient(labels), logits=logits)', 'losses', 'silent',
         'gradients now flow into `labels` too (TF1 stopped them); the '
         'loss values are the same',
         old_code='labels = tf.constant([[0.2, 0.8]])\n'
                  'loss = tf.nn.softmax_cross_entropy_with_logits(\n'
                  '    labels=labels, logits=tf.constant([[1.0, 2.0]]))\n'
                  'result = tf.gradients(loss, labels)[0] is None',
         new_code='labels = tf.constant([[0.2, 0.8]])\n'
                  'loss = tf.nn.softmax_cross_entropy_with_logits(\n'
                  '    labels=tf.stop_gradient(labels),\n'
                  '    logits=tf.constant([[1.0, 2.0]]))\n'
                  'result = tf.gradients(loss, labels)[0] is None',
         same_code='labels = tf.constant([[0.2, 0.8]])\n'
                   'loss = tf1.nn.softmax_cross_entropy_with_logits(\n'
                   '    labels=labels, logits=tf.constant([[1.0, 2.0]]))\n'
                   'result = tf.gradients(loss, labels)[0] is None',
         note='Only matters when the labels come from trainable ops.'),
    # -- optimizers and schedules ------------------------------------------
    moved('tf.train.GradientDescentOptimizer', 'optimizers'),
    moved('tf.train.MomentumOptimizer', 'optimizers'),
    moved('tf.train.AdamOptimizer', 'optimizers'),
    moved('tf.train.AdadeltaOptimizer', 'optimizers'),
    moved('tf.train.AdagradOptimizer', 'optimizers'),
    moved('tf.train.FtrlOptimizer', 'optimizers'),
    moved('tf.train.RMSPropOptimizer', 'optimizers'),
    moved('tf.train.get_or_create_global_step', 'optimizers'),
    moved('tf.train.exponential_decay', 'optimizers',
          note='Same numbers as Keras\'s schedule (new code) at a given '
               'step.',
          new_code='result = tf.keras.optimizers.schedules.ExponentialDecay('
                   '\n    0.1, 550, 0.99, staircase=True)(1234)',
          same_code='result = tf1.train.exponential_decay(\n'
                    '    0.1, 1234, 550, 0.99, staircase=True)'),
    moved('tf.train.polynomial_decay', 'optimizers'),
    moved('tf.train.piecewise_constant', 'optimizers'),
    # -- summaries ---------------------------------------------------------
    Rule('tf.summary.scalar', 'tf.compat.v1.summary.scalar', 'summaries',
         'error', "TypeError: scalar() got an unexpected keyword argument "
         "'collections'",
         old_code="result = tf.summary.scalar('loss', 1.0, collections=[])",
         when='kw=collections'),
) + tuple(
    Rule('tf.summary.%s' % kind, 'tf.compat.v1.summary.%s' % kind,
         'summaries', 'silent',
         "it is TF2's tf.summary.%s: in a graph it writes only under a "
         "default writer (`tf.summary.create_file_writer`), and never "
         "reaches the SUMMARIES collection, so merge_all() returns None"
         % kind,
         old_code='tf.summary.%s(%s)\n'
                  'result = tf1.summary.merge_all() is None' % (kind, args),
         new_code='tf1.summary.%s(%s)\n'
                  'result = tf1.summary.merge_all() is None' % (kind, args),
         same_code='tf1.summary.%s(%s)\n'
                   'result = tf1.summary.merge_all() is None' % (kind, args))
    for kind, args in (('scalar', "'loss', 1.0"),
                       ('histogram', "'weights', [1.0, 2.0]"),
                       ('image', "'images', tf.zeros([1, 2, 2, 1])"))
) + (
    moved('tf.summary.merge_all', 'summaries'),
    moved('tf.summary.merge', 'summaries'),
    moved('tf.summary.FileWriter', 'summaries'),
    Rule('tf.compat.v1.summary.FileWriter', 'build in a tf.Graph, or '
         'tf.summary.create_file_writer in TF2 code', 'summaries', 'error',
         'RuntimeError: v1.summary.FileWriter is not compatible with eager '
         'execution. Use `tf.summary.create_file_writer`,or a `with '
         'v1.Graph().as_default():` context',
         old_code='result = tf1.summary.FileWriter(tempfile.mkdtemp())',
         new_code='with tf.Graph().as_default():\n'
                  '    result = tf1.summary.FileWriter(tempfile.mkdtemp())'
                  '.get_logdir() != ""',
         when='default-graph', env='eager'),
    Rule('tf.merge_all_summaries', 'tf.compat.v1.summary.merge_all',
         'summaries', 'error', missing('tf.merge_all_summaries'),
         note='A pre-1.0 name, gone from tf.compat.v1 too.'),
    Rule('tf.merge_summary', 'tf.compat.v1.summary.merge', 'summaries',
         'error', missing('tf.merge_summary'), note='A pre-1.0 name.'),
    Rule('tf.scalar_summary', 'tf.compat.v1.summary.scalar', 'summaries',
         'error', missing('tf.scalar_summary'), note='A pre-1.0 name.'),
    Rule('tf.histogram_summary', 'tf.compat.v1.summary.histogram',
         'summaries', 'error', missing('tf.histogram_summary'),
         note='A pre-1.0 name.'),
    Rule('tf.image_summary', 'tf.compat.v1.summary.image', 'summaries',
         'error', missing('tf.image_summary'), note='A pre-1.0 name.'),
    Rule('tf.train.SummaryWriter', 'tf.compat.v1.summary.FileWriter',
         'summaries', 'error', missing('tf.train.SummaryWriter'),
         note='A pre-1.0 name.'),
    Rule('tf.concat_v2', 'tf.concat(values, axis)', 'graphs', 'error',
         missing('tf.concat_v2'), new_code='result = tf.concat([[1], [2]], 0)',
         note='A pre-1.0 name; pre-1.0 `tf.concat(axis, values)` fails '
              'too (ValueError: Shape ... must have rank 0).'),
    # -- input -------------------------------------------------------------
    Rule('tf.examples', '`tf.keras.datasets.mnist.load_data()`, or an '
         'IDX reader of your own', 'input', 'error',
         "ModuleNotFoundError: No module named 'tensorflow.examples'",
         old_code='import tensorflow.examples.tutorials.mnist',
         new_code='result = tf.keras.datasets.mnist.load_data',
         note='`input_data.read_data_sets` and `next_batch` went with it.'),
    Rule('tf_slim.tfexample_decoder.Image', 'tf.data: '
         '`tf.io.parse_single_example` + `tf.io.decode_image`', 'input',
         'error', "AttributeError: module 'tensorflow.python.ops."
         "control_flow_ops' has no attribute 'case'",
         old_code=_TFRECORD + _SLIM_PROVIDER % (
             "'image': tf_slim.tfexample_decoder.Image(shape=[2, 2, 1], "
             "channels=1)") + "result = provider.get(['image'])",
         new_code=_TFRECORD +
         'def parse(record):\n'
         '    example = tf.io.parse_single_example(record, {\n'
         '        "image/encoded": tf.io.FixedLenFeature((), tf.string)})\n'
         '    return tf.io.decode_image(example["image/encoded"], '
         'channels=1)\n'
         'dataset = tf.data.TFRecordDataset(path).map(parse)\n'
         'result = tf1.data.make_one_shot_iterator(dataset).get_next()',
         same_code=_TFRECORD + 'result = np.full((2, 2, 1), 7)',
         note='`slim.dataset_data_provider.DatasetDataProvider` itself '
              'works (next rule); the Image item, which every slim image '
              'dataset uses, does not.'),
    Rule('tf_slim.dataset_data_provider.DatasetDataProvider',
         'tf_slim.dataset_data_provider.DatasetDataProvider', 'input',
         'works', 'works with decoder items other than Image (queues: '
         'start the queue runners)',
         old_code=_TFRECORD + _SLIM_PROVIDER % (
             "'label': tf_slim.tfexample_decoder.Tensor('label')") +
         _RUN_QUEUES % "provider.get(['label'])[0]",
         new_code=_TFRECORD + _SLIM_PROVIDER % (
             "'label': tf_slim.tfexample_decoder.Tensor('label')") +
         _RUN_QUEUES % "provider.get(['label'])[0]",
         same_code=_TFRECORD + 'result = 3'),
    moved('tf.train.batch', 'input',
          note='Queue runners still work in a graph: start them with '
               '`tf.compat.v1.train.start_queue_runners` (new code), '
               'or move to tf.data.',
          new_code='x = tf1.train.batch([tf.constant([1.0, 2.0])], '
                   'batch_size=3)\n'
                   'with tf1.Session() as session:\n'
                   '    coordinator = tf1.train.Coordinator()\n'
                   '    threads = tf1.train.start_queue_runners(session, '
                   'coordinator)\n'
                   '    result = session.run(x)\n'
                   '    coordinator.request_stop()\n'
                   '    coordinator.join(threads)'),
    moved('tf.train.shuffle_batch', 'input'),
    moved('tf.train.start_queue_runners', 'input'),
    moved('tf.train.string_input_producer', 'input'),
    moved('tf.TFRecordReader', 'input'),
    moved('tf.parse_single_example', 'input',
          new='tf.io.parse_single_example'),
    moved('tf.FixedLenFeature', 'input', new='tf.io.FixedLenFeature'),
    Rule('.make_one_shot_iterator',
         'tf.compat.v1.data.make_one_shot_iterator(dataset)', 'input',
         'error', "AttributeError: '_RangeDataset' object has no attribute "
         "'make_one_shot_iterator'",
         old_code='result = tf.data.Dataset.range(3)'
                  '.make_one_shot_iterator()',
         new_code='result = tf1.data.make_one_shot_iterator(\n'
                  '    tf.data.Dataset.range(3)).get_next()',
         note='Also `.make_initializable_iterator()` -> '
              '`tf.compat.v1.data.make_initializable_iterator(dataset)`. '
              'In TF2 code: iterate the dataset.'),
    # -- training loops ----------------------------------------------------
    Rule('tf_slim.learning.train', 'call `tf.compat.v1.disable_eager_'
         'execution()` at program start', 'loops', 'error', OUT_OF_SCOPE,
         old_code='import tf_slim\n' + _STEP +
                  'result = tf_slim.learning.train(step, tempfile.mkdtemp(),'
                  ' number_of_steps=2)',
         new_code='import tf_slim\n' + _STEP +
                  'result = tf_slim.learning.train(step, tempfile.mkdtemp(),'
                  ' number_of_steps=2)',
         when='eager', new_env='v1',
         note='It runs a Supervisor, whose threads fail as in '
              'Supervisor\'s rule.'),
    moved('tf.train.Supervisor', 'loops'),
    moved('tf.train.MonitoredTrainingSession', 'loops',
          new_code=_STEP +
          'with tf1.train.MonitoredTrainingSession(\n'
          '        checkpoint_dir=tempfile.mkdtemp()) as session:\n'
          '    result = session.run(step)',
          note='Works in an explicit graph; build it inside '
               '`graph.as_default()` (its hooks add ops to the default '
               'graph).'),
    # -- estimator ---------------------------------------------------------
    Rule('tf.estimator', 'keep the model_fn, drive it with '
         '`tf.compat.v1.train.MonitoredTrainingSession` in a tf.Graph '
         '(recipe), or pin tensorflow<2.16', 'route-estimator', 'error',
         "AttributeError: module 'tensorflow' has no attribute 'estimator'",
         new_code=_ESTIMATOR_RECIPE, same_code='result = True',
         note='Removed in TF 2.16, from tf.compat.v1 too (' +
              V1_GONE % 'estimator' + '). A model_fn already builds a '
              'graph: call it once, then run its train_op in a '
              'MonitoredTrainingSession with the hooks it used.'),
    # -- checkpoints -------------------------------------------------------
    moved('tf.train.Saver', 'checkpoints'),
    moved('tf.train.import_meta_graph', 'checkpoints'),
    moved('tf.train.checkpoint_exists', 'checkpoints',
          new='tf.train.checkpoint_exists is gone: '
              'tf.io.gfile.exists(path + ".index")',
          new_code='result = tf.io.gfile.exists("missing.index")'),
    Rule('tf.compat.v1.train.Saver', 'tf.train.load_checkpoint(path)'
         '.get_tensor(name) into TF2 variables', 'checkpoints', 'route',
         'works: a TF1 name-based checkpoint restores into TF2 (eager) '
         'variables by name',
         old_code='import os\n'
                  'path = os.path.join(tempfile.mkdtemp(), "model.ckpt")\n'
                  'with tf.Graph().as_default():\n'
                  '    w = tf1.get_variable("net/w", initializer=[1., 2.])\n'
                  '    with tf1.Session() as session:\n'
                  '        session.run(tf1.global_variables_initializer())\n'
                  '        tf1.train.Saver().save(session, path)\n'
                  'restored = tf.Variable([0., 0.])\n'
                  'restored.assign(tf.train.load_checkpoint(path)'
                  '.get_tensor("net/w"))\n'
                  'result = restored.numpy()',
         new_code='result = [1., 2.]', env='eager',
         note='Or `tf.compat.v1.train.init_from_checkpoint` in a graph.'),
    # -- export ------------------------------------------------------------
    moved('tf.saved_model.simple_save', 'export'),
    Rule('tf.graph_util.convert_variables_to_constants',
         'tf.compat.v1.graph_util.convert_variables_to_constants',
         'export', 'error',
         missing('tf.graph_util.convert_variables_to_constants')),
    # -- distributed -------------------------------------------------------
    Rule('tf.device', 'tf.compat.v1.device', 'distributed', 'error',
         'RuntimeError: tf.device does not support functions.',
         old_code="with tf.device(lambda op: '/cpu:0'):\n    result = 1",
         new_code="with tf1.device(lambda op: '/cpu:0'):\n"
                  "    result = tf.constant(1)",
         when='arg0-not-str',
         note='A device function (replica_device_setter, model_deploy\'s '
              'variables_device) needs the TF1 tf.device.'),
    moved('tf.train.replica_device_setter', 'distributed'),
    moved('tf.train.Server', 'distributed', new='tf.distribute.Server'),
    moved('tf.train.SyncReplicasOptimizer', 'route-multi-gpu',
          note='Runs between-graph replication on a tf.compat.v1.train.'
               'Server cluster (not run across machines here).'),
) + ROUTE_RULES + INITIALIZER_RULES
