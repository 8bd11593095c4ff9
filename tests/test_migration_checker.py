"""`migrate-check` (tf1_migrate/checker.py) on small TF1 snippets:
aliases, rules, unknown uses, bad input, output formats, the CLI."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tf1_migrate import checker

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(directory, name, source):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return str(path)


def flagged(tmp_path, source):
    """(line, name, status, rule's new or None) of each flagged use."""
    report = checker.check([write(tmp_path, 'snippet.py', source)])
    assert not report.problems, report.problems
    return [(use.line, use.name, use.status, use.new if use.known else None)
            for use in report.flagged]


def test_plain_tf_alias_and_moved_names(tmp_path):
    assert flagged(tmp_path, """\
        import tensorflow as tf
        opt = tf.train.AdamOptimizer(1e-4)
        x = tf.reshape(tf.constant([1, 2]), [2, 1])
        """) == [(2, 'tf.train.AdamOptimizer', 'breaks',
                  'tf.compat.v1.train.AdamOptimizer')]


def test_compat_v1_alias_is_fine_where_the_name_exists(tmp_path):
    assert flagged(tmp_path, """\
        import tensorflow.compat.v1 as tf
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32)
            opt = tf.train.AdamOptimizer(1e-4)
            y = tf.contrib.layers.flatten(x)
        """) == [(5, 'tf.compat.v1.contrib.layers.flatten', 'breaks',
                  'tf_slim.flatten')]


def test_slim_aliases_bind_to_tf_slim(tmp_path):
    assert flagged(tmp_path, """\
        import tensorflow as tf
        slim = tf.contrib.slim
        y = slim.conv2d(x, 8, 3)
        z = slim.batch_norm(y, updates_collections=None)
        """) == [(2, 'tf.contrib.slim', 'breaks', 'tf_slim'),
                 (4, 'tf_slim.batch_norm', 'breaks',
                  '`resnet_tf1.nets.layers.batch_norm` (same variables, '
                  'updates in UPDATE_OPS)')]
    assert [use[:3] for use in flagged(tmp_path, """\
        from tensorflow.contrib import slim
        import tensorflow.contrib.slim as slim2
        y = slim.fully_connected(x, 8)
        z = slim2.nonexistent_layer(x)
        """)] == [(1, 'tf.contrib.slim', 'breaks'),
                  (2, 'tf.contrib.slim', 'breaks'),
                  (4, 'tf_slim.nonexistent_layer', 'breaks')]


def test_flags_alias_and_private_modules(tmp_path):
    assert flagged(tmp_path, """\
        import tensorflow as tf
        from tensorflow.python.ops import control_flow_ops
        flags = tf.app.flags
        FLAGS = flags.FLAGS
        flags.DEFINE_integer('steps', 10, 'Steps.')
        print(FLAGS.steps)
        """) == [(3, 'tf.app.flags', 'breaks', 'tf.compat.v1.app.flags')]


def test_unknown_uses_are_reported_as_unknown(tmp_path):
    source = """\
        import tensorflow as tf
        a = tf.no_such_api(1)
        b = tf.argmax(x, 1, 'name')
        c = tf.reduce_mean(x, keep_dims=True)
        """
    report = checker.check([write(tmp_path, 'unknown.py', source)])
    lines = report.text().splitlines()
    path = str(tmp_path / 'unknown.py')
    assert lines[:3] == [
        "%s:2: tf.no_such_api -> ? (breaks, unknown to the rules: "
        "AttributeError: module 'tensorflow' has no attribute "
        "'no_such_api')" % path,
        '%s:3: tf.argmax -> ? (changes meaning, unknown to the rules: '
        'positional argument 3 is `output_type` in TF2, was `name`)' % path,
        '%s:4: tf.reduce_mean -> ? (breaks, unknown to the rules: TF2 has '
        'no `keep_dims=` argument)' % path]
    assert lines[3] == ('summary: 3 uses of TensorFlow APIs in 1 files; 3 '
                        'break or change meaning: 0 with a known fix, 3 '
                        'unknown to the rules')


def test_call_conditions_of_rules(tmp_path):
    assert flagged(tmp_path, """\
        import tensorflow as tf
        a = tf.nn.dropout(x, keep_prob)
        b = tf.nn.dropout(x, rate=0.5)
        c = tf.nn.in_top_k(logits, labels, 1)
        d = tf.nn.in_top_k(predictions=logits, targets=labels, k=1)
        with tf.device('/cpu:0'):
            pass
        with tf.device(setter):
            pass
        it = dataset.make_one_shot_iterator()
        """) == [
            (2, 'tf.nn.dropout', 'changes meaning',
             'tf.nn.dropout(x, rate=1 - keep_prob)'),
            (4, 'tf.nn.in_top_k', 'breaks',
             'tf.nn.in_top_k(targets, predictions, k) (arguments swapped) '
             'or keywords'),
            (8, 'tf.device', 'breaks', 'tf.compat.v1.device'),
            (10, '.make_one_shot_iterator', 'breaks',
             'tf.compat.v1.data.make_one_shot_iterator(dataset)')]


def test_graph_mode_conditions_look_at_the_file(tmp_path):
    default_graph = """\
        import tensorflow as tf
        x = tf.compat.v1.placeholder(tf.float32)
        """
    assert [use[:3] for use in flagged(tmp_path, default_graph)] == [
        (2, 'tf.compat.v1.placeholder', 'breaks')]
    assert flagged(tmp_path, default_graph +
                   'tf.compat.v1.disable_eager_execution()\n') == []
    supervisor = """\
        import tensorflow as tf
        with tf.Graph().as_default():
            sv = tf.compat.v1.train.Supervisor(logdir='/tmp/x')
        """
    assert [use[:3] for use in flagged(tmp_path, supervisor)] == [
        (3, 'tf.compat.v1.train.Supervisor', 'breaks')]


def test_bad_input_is_one_line_each_and_the_rest_is_checked(tmp_path):
    good = write(tmp_path, 'good.py', 'import tensorflow as tf\n'
                 'tf.Session()\n')
    print_statement = write(tmp_path, 'py2_print.py', 'print "hello"\n')
    except_comma = write(tmp_path, 'py2_except.py',
                         'try:\n    pass\nexcept Exception, e:\n    pass\n')
    text = write(tmp_path, 'notes.txt', 'not python')
    missing = str(tmp_path / 'missing.py')
    report = checker.check([missing, text, print_statement, except_comma,
                            good])
    assert report.problems == [
        '%s: no such file or directory' % missing,
        '%s: not a Python file (.py)' % text,
        "%s:1: cannot parse (Missing parentheses in call to 'print'. Did "
        "you mean print(...)?); Python 2 code: run 2to3 first" %
        print_statement,
        '%s:3: cannot parse (multiple exception types must be '
        'parenthesized); Python 2 code: run 2to3 first' % except_comma]
    assert [use.name for use in report.flagged] == ['tf.Session']
    assert report.summary()['files'] == 1 and report.failed


def test_directories_are_walked_for_python_files(tmp_path):
    write(tmp_path, 'a.py', 'import tensorflow as tf\ntf.Session()\n')
    write(tmp_path, 'pkg/sub/b.py', 'import tensorflow as tf\ntf.log(1.)\n')
    write(tmp_path, 'pkg/README.md', 'tf.Session()\n')
    report = checker.check([str(tmp_path)])
    assert [(os.path.relpath(use.path, tmp_path), use.name)
            for use in report.flagged] == [('a.py', 'tf.Session'),
                                           ('pkg/sub/b.py', 'tf.log')]
    assert report.summary()['files'] == 2
    uses = json.loads(report.json())['uses']
    assert [use['status'] for use in uses] == ['breaks', 'breaks']
    assert uses[1]['new'] is None and 'log' in uses[1]['detail']


def run_cli(*args):
    return subprocess.run(
        [sys.executable, '-m', 'resnet_tf1', 'migrate-check'] + list(args),
        capture_output=True, text=True, cwd=REPO_DIR,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'), check=False)


@pytest.mark.parametrize('source, status', [
    ('import tensorflow as tf\nx = tf.reshape(tf.constant([1]), [1])\n', 0),
    ('import tensorflow as tf\nx = tf.to_float(1)\n', 1)])
def test_cli_exit_status_and_json(tmp_path, source, status):
    path = write(tmp_path, 'code.py', source)
    completed = run_cli('--format', 'json', path)
    assert completed.returncode == status, completed.stderr
    summary = json.loads(completed.stdout)['summary']
    assert summary['breaking'] == status and summary['files'] == 1
