"""tf1_migrate.checkpoint_diff: a checkpoint written by code on one route,
read by a graph built on another, lists exactly the variables that differ,
and the printed assignment_map restores every variable with its values.

The tf-keras case writes its checkpoint with `tf.layers` in a child
interpreter (TF_USE_LEGACY_KERAS=1, tf-keras from TF_KERAS_DIR; skipped
without it, as the tf-keras rules are) and reads it with a tf-slim graph;
the other case writes with tf-slim and reads with a hand-written port that
names its variables as tf.layers did.
"""

import ast
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from tf1_migrate import checkpoint_diff
from tf1_migrate import runner

tf1 = tf.compat.v1
REPO = str(runner.REPO_DIR)

# The TF1 program on the tf-keras route: tf.layers, a batch norm, two dense.
TF_LAYERS_PROGRAM = '''
import sys
import tensorflow as tf
tf1 = tf.compat.v1
with tf.Graph().as_default():
    tf1.set_random_seed(1)
    tf1.train.get_or_create_global_step()
    x = tf.ones([2, 4, 4, 1])
    net = tf1.layers.conv2d(x, 2, 3, padding="same", use_bias=False)
    net = tf1.layers.batch_normalization(
        net, training=True,
        beta_initializer=tf1.random_uniform_initializer(seed=2),
        moving_mean_initializer=tf1.random_uniform_initializer(seed=3),
        moving_variance_initializer=tf1.random_uniform_initializer(seed=4))
    net = tf1.layers.dense(tf1.layers.flatten(net), 4, tf.nn.relu)
    tf1.layers.dense(net, 3)
    with tf1.Session() as session:
        session.run(tf1.global_variables_initializer())
        tf1.train.Saver().save(session, sys.argv[1])
'''

# The port, on the tf-slim route with the owned batch norm; `changed`
# also widens the last layer and adds a variable.
SLIM_PORT = '''
import tensorflow as tf
import tf_slim as slim
from tf1_migrate.compat_ops import batch_norm
tf1 = tf.compat.v1

def build(changed=False):
    tf1.train.get_or_create_global_step()
    x = tf.ones([2, 4, 4, 1])
    net = slim.conv2d(x, 2, 3, normalizer_fn=batch_norm,
                      normalizer_params={"scale": True})
    net = slim.fully_connected(slim.flatten(net), 4)
    slim.fully_connected(net, 5 if changed else 3, activation_fn=None)
    if changed:
        tf1.get_variable("extra/w", [3])

def build_changed():
    build(changed=True)
'''

RENAMED = {
    'Conv/weights': 'conv2d/kernel',
    'Conv/BatchNorm/beta': 'batch_normalization/beta',
    'Conv/BatchNorm/gamma': 'batch_normalization/gamma',
    'Conv/BatchNorm/moving_mean': 'batch_normalization/moving_mean',
    'Conv/BatchNorm/moving_variance': 'batch_normalization/moving_variance',
    'fully_connected/weights': 'dense/kernel',
    'fully_connected/biases': 'dense/bias',
    'fully_connected_1/weights': 'dense_1/kernel',
    'fully_connected_1/biases': 'dense_1/bias',
}


def tf_keras_dir():
    directory = os.environ.get(runner.TF_KERAS_DIR_VARIABLE)
    if not directory:
        pytest.skip('tf-keras not available: set %s to a directory made by '
                    '`pip install --no-deps --target DIR tf-keras~=2.21.0`'
                    % runner.TF_KERAS_DIR_VARIABLE)
    return directory


@pytest.fixture(scope='module')
def tf_layers_checkpoint(tmp_path_factory):
    """A checkpoint written by tf.layers on the tf-keras route."""
    directory = tmp_path_factory.mktemp('tf_layers')
    program = directory / 'write.py'
    program.write_text(TF_LAYERS_PROGRAM)
    env = dict(os.environ, TF_USE_LEGACY_KERAS='1', TF_CPP_MIN_LOG_LEVEL='2',
               PYTHONPATH=os.pathsep.join([tf_keras_dir(), REPO]))
    subprocess.run([sys.executable, str(program), str(directory / 'ckpt')],
                   check=True, env=env, capture_output=True, timeout=120)
    return str(directory / 'ckpt')


@pytest.fixture
def slim_port(tmp_path):
    path = tmp_path / 'ported.py'
    path.write_text(SLIM_PORT)
    return str(path)


def printed_map(output):
    """The assignment_map dict that checkpoint_diff printed."""
    start = output.index('assignment_map = {')
    end = output.index('}', start)
    return ast.literal_eval(output[start + len('assignment_map = '):end + 1])


def restore_and_compare(graph_spec, checkpoint, mapping):
    """Restores through a Saver built from `mapping` and through
    init_from_checkpoint; both give every graph variable its checkpoint
    value."""
    graph = checkpoint_diff.build_graph(graph_spec)
    reader = tf.train.load_checkpoint(checkpoint)
    with graph.as_default():
        variables = tf1.global_variables()
        by_name = {v.op.name: v for v in variables}
        assert set(mapping.values()) == set(by_name)
        saver = tf1.train.Saver({old: by_name[new]
                                 for old, new in mapping.items()})
        with tf1.Session() as session:
            saver.restore(session, checkpoint)
            for old, new in mapping.items():
                np.testing.assert_array_equal(
                    session.run(by_name[new]), reader.get_tensor(old))
    graph = checkpoint_diff.build_graph(graph_spec)
    with graph.as_default():
        tf1.train.init_from_checkpoint(checkpoint, mapping)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            for variable in tf1.global_variables():
                old = [o for o, n in mapping.items()
                       if n == variable.op.name][0]
                np.testing.assert_array_equal(session.run(variable),
                                              reader.get_tensor(old))


def test_tf_layers_checkpoint_into_a_slim_port(tf_layers_checkpoint,
                                               slim_port, capsys):
    spec = slim_port + ':build'
    assert checkpoint_diff.main(['--checkpoint', tf_layers_checkpoint,
                                 '--graph', spec]) == 1
    output = capsys.readouterr().out
    result = checkpoint_diff.diff(
        checkpoint_diff.graph_variables(checkpoint_diff.build_graph(spec)),
        checkpoint_diff.checkpoint_variables(tf_layers_checkpoint))
    assert result.renamed == RENAMED
    assert result.restores == ['global_step']
    assert not (result.missing or result.other_shape or result.other_dtype)
    assert result.unused == []
    for new, old in RENAMED.items():
        assert '  %s <- %s\n' % (new, old) in output
    mapping = printed_map(output)
    assert mapping == dict({'global_step': 'global_step'},
                           **{old: new for new, old in RENAMED.items()})
    restore_and_compare(spec, tf_layers_checkpoint, mapping)


def test_changed_port_lists_exactly_what_differs(tf_layers_checkpoint,
                                                 slim_port, capsys):
    assert checkpoint_diff.main(['--checkpoint', tf_layers_checkpoint,
                                 '--graph', slim_port + ':build_changed']) == 1
    output = capsys.readouterr().out
    assert 'missing (1): nothing in the checkpoint fits' in output
    assert '\n  extra/w\n' in output
    assert 'other shape (2):' in output
    assert '  fully_connected_1/weights [4, 5] <- dense_1/kernel [4, 3]' in (
        output)
    assert '  fully_connected_1/biases [5] <- dense_1/bias [3]' in output
    assert 'renamed (7)' in output
    mapping = printed_map(output)
    assert 'dense_1/kernel' not in mapping and 'extra/w' not in (
        mapping.values())


def test_the_command_line(tf_layers_checkpoint, slim_port):
    """`python -m tf1_migrate.checkpoint_diff`, as a user runs it."""
    done = subprocess.run(
        [sys.executable, '-m', 'tf1_migrate.checkpoint_diff',
         '--checkpoint', tf_layers_checkpoint,
         '--graph', slim_port + ':build'], capture_output=True, text=True,
        cwd=REPO, timeout=120)
    assert done.returncode == 1, done.stderr
    assert 'renamed (9)' in done.stdout
    assert printed_map(done.stdout)['dense/kernel'] == (
        'fully_connected/weights')


HAND_PORT = '''
import tensorflow as tf
tf1 = tf.compat.v1

def dense(x, units, name):
    with tf1.variable_scope(name):
        kernel = tf1.get_variable("kernel", [x.shape[1], units])
        bias = tf1.get_variable("bias", [units],
                                initializer=tf1.zeros_initializer())
    return tf.matmul(x, kernel) + bias

def build():
    with tf1.variable_scope("net"):
        dense(tf.nn.relu(dense(tf.ones([2, 3]), 4, "dense")), 2, "dense_1")
'''


def test_slim_checkpoint_into_a_tf_layers_style_port(tmp_path, capsys):
    """The other direction, without tf-keras: written by tf-slim under a
    scope, read by a port that uses tf.layers' names."""
    checkpoint = str(tmp_path / 'slim.ckpt')
    with tf.Graph().as_default():
        with tf1.variable_scope('net'):
            net = slim.fully_connected(tf.ones([2, 3]), 4)
            slim.fully_connected(net, 2, activation_fn=None)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(session, checkpoint)
    port = tmp_path / 'hand.py'
    port.write_text(textwrap.dedent(HAND_PORT))
    spec = str(port) + ':build'
    assert checkpoint_diff.main(['--checkpoint', checkpoint,
                                 '--graph', spec]) == 1
    mapping = printed_map(capsys.readouterr().out)
    assert mapping == {
        'net/fully_connected/weights': 'net/dense/kernel',
        'net/fully_connected/biases': 'net/dense/bias',
        'net/fully_connected_1/weights': 'net/dense_1/kernel',
        'net/fully_connected_1/biases': 'net/dense_1/bias'}
    restore_and_compare(spec, checkpoint, mapping)


def test_a_port_that_keeps_every_name_exits_0(tmp_path, capsys):
    checkpoint = str(tmp_path / 'same.ckpt')
    port = tmp_path / 'same.py'
    port.write_text('import tensorflow as tf\n'
                    'tf.compat.v1.get_variable("w", [2])\n')
    with tf.Graph().as_default():
        tf1.get_variable('w', [2])
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(session, checkpoint)
    assert checkpoint_diff.main(['--checkpoint', checkpoint,
                                 '--graph', str(port)]) == 0
    assert capsys.readouterr().out.startswith(
        '%s: 1 variables restore by name' % port)


def test_meta_graph_input(tmp_path, capsys):
    checkpoint = str(tmp_path / 'm.ckpt')
    with tf.Graph().as_default():
        tf1.get_variable('old/w', [2])
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(session, checkpoint)
    meta = str(tmp_path / 'ported.meta')
    with tf.Graph().as_default():
        tf1.get_variable('new/w', [2])
        tf1.get_variable('new/b', [5])
        tf1.train.export_meta_graph(meta)
    assert checkpoint_diff.main(['--checkpoint', checkpoint,
                                 '--meta_graph', meta]) == 1
    output = capsys.readouterr().out
    assert '  new/w <- old/w' in output
    assert 'missing (1)' in output and '\n  new/b\n' in output


@pytest.mark.parametrize('case', ['no checkpoint', 'corrupt checkpoint',
                                  'empty directory', 'no graph file',
                                  'no function', 'graph raises'])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    checkpoint = str(tmp_path / 'model.ckpt')
    port = tmp_path / 'port.py'
    port.write_text('def build():\n    raise ValueError("broken port")\n')
    graph = str(port) + ':build'
    if case == 'corrupt checkpoint':
        (tmp_path / 'model.ckpt.index').write_bytes(b'not a checkpoint')
    elif case != 'no checkpoint':
        with tf.Graph().as_default():
            tf1.get_variable('w', [2])
            with tf1.Session() as session:
                session.run(tf1.global_variables_initializer())
                tf1.train.Saver().save(session, checkpoint)
    if case == 'empty directory':
        checkpoint = str(tmp_path / 'empty')
        os.mkdir(checkpoint)
    elif case == 'no graph file':
        graph = str(tmp_path / 'missing.py') + ':build'
    elif case == 'no function':
        graph = str(port) + ':make'
    expected = {
        'no checkpoint': 'no such checkpoint (no %s.index)' % checkpoint,
        'corrupt checkpoint': 'cannot read it: ',
        'empty directory': "a directory without a 'checkpoint' state file",
        'no graph file': 'missing.py: no such file',
        'no function': "has no function 'make'",
        'graph raises': 'raised ValueError: broken port'}[case]
    assert checkpoint_diff.main(['--checkpoint', checkpoint,
                                 '--graph', graph]) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err.count('\n') == 1, captured.err
    assert captured.err.startswith('checkpoint_diff: ')
    assert expected in captured.err, captured.err
