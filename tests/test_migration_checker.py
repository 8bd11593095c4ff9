"""`migrate-check` (tf1_migrate/checker.py and its parts) on small TF1
snippets: aliases, rules, verdicts, patterns, bad input, output formats,
--diff, the CLI. Claims about TF 2.21 behaviour are run here, not assumed."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from tf1_migrate import checker
from tf1_migrate import judge
from tf1_migrate import report as report_lib
from tf1_migrate import rules

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tf1 = tf.compat.v1


def write(directory, name, source, encoding='utf-8'):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = textwrap.dedent(source) if isinstance(source, str) else source
    path.write_bytes(data.encode(encoding) if isinstance(data, str)
                     else data)
    return str(path)


def flagged(tmp_path, source):
    """(line, name, status, replacement) of each flagged use."""
    report = checker.check([write(tmp_path, 'snippet.py', source)])
    assert not report.problems, [p.format() for p in report.problems]
    return [(use.line, use.name, use.status, use.replacement)
            for use in report.flagged]


def graph_run(fn):
    """fn() in a fresh graph: ('ok', value) or ('error', 'Type: msg')."""
    with tf.Graph().as_default():
        try:
            value = fn()
            if isinstance(value, (tf.Tensor, tf.Operation)):
                with tf1.Session() as session:
                    value = session.run(value)
            return 'ok', value
        except Exception as error:  # the point: what TF 2.21 raises
            return 'error', '%s: %s' % (type(error).__name__, error)


# -- names: rules, verdicts, introspection --
def test_plain_tf_alias_and_moved_names(tmp_path):
    assert flagged(tmp_path, """\
        import tensorflow as tf
        opt = tf.train.AdamOptimizer(1e-4)
        x = tf.reshape(tf.constant([1, 2]), [2, 1])
        """) == [(2, 'tf.train.AdamOptimizer', 'breaks',
                  'tf.compat.v1.train.AdamOptimizer')]


def test_compat_v1_alias_is_fine_where_the_name_exists(tmp_path):
    uses = flagged(tmp_path, """\
        import tensorflow.compat.v1 as tf
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32)
            opt = tf.train.AdamOptimizer(1e-4)
            y = tf.contrib.layers.flatten(x)
        """)
    assert [use[:3] for use in uses] == [
        (5, 'tf.compat.v1.contrib.layers.flatten', 'breaks')]
    assert uses[0][3] == 'tf_slim.flatten'
    assert judge.resolve('tf_slim.flatten')[1] is None


def test_slim_aliases_bind_to_tf_slim(tmp_path):
    uses = flagged(tmp_path, """\
        import tensorflow as tf
        slim = tf.contrib.slim
        y = slim.conv2d(x, 8, 3)
        z = slim.batch_norm(y, updates_collections=None)
        """)
    assert [use[:3] for use in uses] == [
        (2, 'tf.contrib.slim', 'breaks'), (4, 'tf_slim.batch_norm', 'breaks')]
    assert 'batch_norm' in uses[1][3]
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


def test_verdicts_judge_names_no_rule_knows(tmp_path):
    report = checker.check([write(tmp_path, 'v.py', """\
        import tensorflow as tf
        a = tf.no_such_api(1)
        b = tf.argmax(x, 1, 'name')
        c = tf.reduce_mean(x, keep_dims=True)
        d = tf.log(x)
        e = tf.reduce_mean(x, 1)
        """)])
    uses = {use.line: use for use in report.flagged}
    assert sorted(uses) == [2, 3, 4, 5]
    assert (uses[2].status, uses[2].id, uses[2].unknown) == (
        'breaks', 'live/missing', True)
    assert (uses[3].status, uses[3].id, uses[3].replacement) == (
        'changes meaning', 'api/args_changed', 'tf.compat.v1.argmax')
    assert (uses[4].status, uses[4].replacement) == (
        'breaks', 'tf.reduce_mean(keepdims=)')
    assert (uses[5].id, uses[5].replacement, uses[5].source) == (
        'api/renamed', 'tf.math.log', 'verdict')
    lines = report.text().splitlines()
    path = str(tmp_path / 'v.py')
    assert lines[0] == (
        "%s:2:5: live/missing breaks: tf.no_such_api: AttributeError: "
        "module 'tensorflow' has no attribute 'no_such_api'" % path)
    assert lines[3] == ('%s:5:5: api/renamed breaks: tf.log -> tf.math.log '
                        '(docs/migration/api-verdicts.md)' % path)
    assert lines[4].startswith('summary: 5 uses of TensorFlow APIs in 1 '
                               'files; 4 break')


def test_the_replacements_printed_above_work_on_tf2():
    x = np.array([[1., 4.], [2., 3.]], np.float32)
    assert graph_run(lambda: tf.reduce_mean(x, keep_dims=True))[0] == \
        'error'
    assert graph_run(lambda: tf.reduce_mean(x, keepdims=True))[1].shape == \
        (1, 1)
    assert graph_run(lambda: tf.math.log(x))[0] == 'ok'
    # TF1's third argument was name; TF2's is output_type.
    assert graph_run(lambda: tf.argmax(x, 1, 'name'))[0] == 'error'
    assert list(graph_run(lambda: tf1.argmax(x, 1, 'name'))[1]) == [1, 1]


def test_call_conditions_of_rules(tmp_path):
    uses = flagged(tmp_path, """\
        import tensorflow as tf
        a = tf.nn.dropout(x, keep_prob)
        b = tf.nn.dropout(x, rate=0.5)
        c = tf.nn.in_top_k(logits, labels, 1)
        d = tf.nn.in_top_k(predictions=logits, targets=labels, k=1)
        with tf.device('/cpu:0'):
            pass
        with tf.device(tf.compat.v1.train.replica_device_setter(2)):
            pass
        it = dataset.make_one_shot_iterator()
        """)
    assert [use[:3] for use in uses] == [
        (2, 'tf.nn.dropout', 'changes meaning'),
        (4, 'tf.nn.in_top_k', 'breaks'), (8, 'tf.device', 'breaks'),
        (10, '.make_one_shot_iterator', 'breaks')]
    assert uses[0][3] == 'tf.nn.dropout(x, rate=1 - keep_prob)'
    assert uses[3][3] == 'tf.compat.v1.data.make_one_shot_iterator(dataset)'


def test_rules_conditions_are_all_understood():
    assert {rule.when for rule in rules.RULES
            if judge.condition(rule.when) is None} == set()


def test_graph_mode_conditions_look_at_the_file(tmp_path):
    default_graph = """\
        import tensorflow as tf
        x = tf.compat.v1.placeholder(tf.float32)
        """
    assert [use[:3] for use in flagged(tmp_path, default_graph)] == [
        (2, 'tf.compat.v1.placeholder', 'breaks')]
    assert flagged(tmp_path, default_graph +
                   'tf.compat.v1.disable_eager_execution()\n') == []


# -- false alarms the issue lists --
def test_device_with_a_string_is_fine_a_function_breaks(tmp_path):
    uses = flagged(tmp_path, """\
        import tensorflow as tf
        name = '/cpu:0'
        def gpu(i):
            return '/gpu:%d' % i
        def assign_to_device(device):
            def choose(op):
                return device
            return choose
        with tf.device(name):
            pass
        with tf.device('/gpu:{}'.format(0)):
            pass
        with tf.device(gpu(0)):
            pass
        with tf.device(None):
            pass
        with tf.device(assign_to_device('/cpu:0')):
            pass
        with tf.device(lambda op: '/cpu:0'):
            pass
        with tf.device(self.device):
            pass
        """)
    assert [use[:3] for use in uses] == [
        (17, 'tf.device', 'breaks'), (19, 'tf.device', 'breaks'),
        (21, 'tf.device', 'check')]
    # On TF 2.21: a string, a variable or None works; a function does not.
    assert graph_run(lambda: tf.device(name).__enter__())[0] == 'ok'
    assert graph_run(lambda: tf.device(None).__enter__())[0] == 'ok'
    assert graph_run(lambda: tf.device(lambda op: '/cpu:0').__enter__()) \
        == ('error', 'RuntimeError: tf.device does not support functions.')
    with tf.Graph().as_default():
        with tf1.device(lambda op: '/cpu:0'):
            assert tf.constant(1).device == '/cpu:0'


name = '/cpu:0'


def test_positional_calls_of_renamed_parameters_are_not_flagged(tmp_path):
    assert flagged(tmp_path, """\
        import tensorflow as tf
        a = tf.zeros_like(x)
        b = tf.ones_like(x)
        c = tf.image.crop_and_resize(image, boxes, box_ind, [2, 2])
        d = tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], 'VALID')
        """) == []
    # Run both: the same values, positionally.
    image = np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2)
    boxes, box_ind = np.array([[0, 0, 1, 1]], np.float32), np.array([0])
    for v2, v1, args in (
            (tf.zeros_like, tf1.zeros_like, (image,)),
            (tf.image.crop_and_resize, tf1.image.crop_and_resize,
             (image, boxes, box_ind, [2, 2])),
            (tf.nn.avg_pool, tf1.nn.avg_pool,
             (image, [1, 2, 2, 1], [1, 2, 2, 1], 'VALID'))):
        new, old = graph_run(lambda: v2(*args)), graph_run(lambda: v1(*args))
        assert new[0] == old[0] == 'ok'
        np.testing.assert_array_equal(new[1], old[1])


# -- beyond the name --
def test_dimension_value_is_found_and_its_fix_runs(tmp_path):
    source = """\
        import tensorflow as tf
        x = tf.compat.v1.placeholder(tf.float32, [None, 3])
        a = x.shape[1].value
        b = x.get_shape()[-1].value
        c = [d.value for d in x.get_shape()]
        shape = x.get_shape()
        e = shape[1].value
        f = x.get_shape().as_list()[1]
        g = x.shape.dims[1].value
        h = config.value
        """
    uses = flagged(tmp_path, source)
    assert [(line, status) for line, _, status, _ in uses] == [
        (2, 'breaks'), (3, 'breaks'), (4, 'breaks'), (5, 'breaks'),
        (7, 'breaks')]
    assert uses[1][3] == 'tf.compat.v1.dimension_value(x.shape[1])'
    assert flagged(tmp_path, source + 'tf.compat.v1.disable_v2_behavior()'
                   '\n')[1:] == []

    def old():
        x = tf1.placeholder(tf.float32, [None, 3])
        return x.shape[1].value

    def new():
        x = tf1.placeholder(tf.float32, [None, 3])
        return ([tf1.dimension_value(d) for d in x.get_shape()],
                x.shape.dims[1].value)

    assert graph_run(old) == ('error', "AttributeError: 'int' object has "
                              "no attribute 'value'")
    assert graph_run(new) == ('ok', ([None, 3], 3))


def test_dataset_methods_are_found_and_their_fixes_run(tmp_path):
    uses = flagged(tmp_path, """\
        import tensorflow as tf
        ds = tf.data.Dataset.range(3).map(f)
        it = ds.make_initializable_iterator()
        types, shapes = ds.output_types, ds.output_shapes
        other = it.output_types
        v1 = tf.compat.v1.data.Dataset.range(3)
        fine = v1.make_one_shot_iterator()
        """)
    assert [use[:3] for use in uses] == [
        (3, '.make_initializable_iterator', 'breaks'),
        (4, '.output_types', 'breaks'), (4, '.output_shapes', 'breaks')]
    assert uses[0][3] == \
        'tf.compat.v1.data.make_initializable_iterator(ds)'
    assert uses[1][3] == 'tf.compat.v1.data.get_output_types(ds)'

    def old():
        return tf.data.Dataset.range(3).make_initializable_iterator()

    def new():
        ds = tf.data.Dataset.range(3)
        iterator = tf1.data.make_initializable_iterator(ds)
        with tf1.Session() as session:
            session.run(iterator.initializer)
            value = session.run(iterator.get_next())
        return (value, tf1.data.get_output_types(ds),
                tf1.data.get_output_shapes(iterator),
                tf1.data.Dataset.range(2).output_types)

    assert graph_run(old)[1].startswith('AttributeError:')
    assert graph_run(lambda: tf.data.Dataset.range(3).output_types)[1] \
        .startswith('AttributeError:')
    assert graph_run(new) == ('ok', (0, tf.int64, tf.TensorShape([]),
                                     tf.int64))


def test_name_scope_none_is_found_and_its_fix_runs(tmp_path):
    uses = flagged(tmp_path, """\
        import tensorflow as tf
        with tf.name_scope(None):
            pass
        def f(x, scope=None):
            with tf.name_scope(scope):
                return x
        with tf.name_scope('fine'):
            pass
        """)
    assert [use[:4] for use in uses] == [
        (2, 'tf.name_scope', 'breaks', 'tf.compat.v1.name_scope'),
        (5, 'tf.name_scope', 'check', 'tf.compat.v1.name_scope')]
    assert graph_run(lambda: tf.name_scope(None).__enter__()) == (
        'error', 'ValueError: name for name_scope must be a string.')
    assert graph_run(lambda: tf1.name_scope(None).__enter__()) == ('ok', '')


# -- robust input --
TF1_SNIPPET = 'import tensorflow as tf\nx = tf.log(1.0)  # caf\xe9\n'


def one_file(path):
    report = checker.check([path])
    return report, [(use.line, use.col, use.name) for use in report.flagged]


def test_bom_crlf_tabs_and_a_latin1_file_are_read(tmp_path):
    bom = write(tmp_path, 'bom.py', b'\xef\xbb\xbf' + TF1_SNIPPET.encode())
    crlf = write(tmp_path, 'crlf.py', TF1_SNIPPET.replace('\n', '\r\n'))
    tabs = write(tmp_path, 'tabs.py', 'import tensorflow as tf\nif 1:\n'
                 '\tx = tf.log(1.0)\n')
    latin = write(tmp_path, 'latin.py', '# -*- coding: latin-1 -*-\n' +
                  TF1_SNIPPET, encoding='latin-1')
    for path, line, col in ((bom, 2, 5), (crlf, 2, 5), (tabs, 3, 6),
                            (latin, 3, 5)):
        report, uses = one_file(path)
        assert report.problems == [] and uses == [(line, col, 'tf.log')], \
            path


def test_python2_only_when_it_is(tmp_path):
    cases = {'print "hello"\n': 'a print statement',
             'try:\n    pass\nexcept Exception, e:\n    pass\n':
                 '`except X, e`',
             'raise ValueError, "no"\n': '`raise X, message`',
             'x = 0777\n': 'an octal literal 0777'}
    for number, (source, construct) in enumerate(cases.items()):
        report = checker.check([write(tmp_path, 'p%d.py' % number, source)])
        assert [p.id for p in report.problems] == ['input/python2']
        assert construct in report.problems[0].message
    report = checker.check([write(tmp_path, 'broken.py', 'x = (\n')])
    assert [p.id for p in report.problems] == ['input/syntax']
    assert 'Python 2' not in report.problems[0].format()


def test_a_notebook_is_checked_cell_by_cell(tmp_path):
    notebook = {'nbformat': 4, 'cells': [
        {'cell_type': 'markdown', 'source': ['tf.log']},
        {'cell_type': 'code', 'source': ['import tensorflow as tf\n',
                                         '%matplotlib inline']},
        {'cell_type': 'code', 'source': '!pip install x\nx = 1'},
        {'cell_type': 'code', 'source': ['y = 2\n', 'z = tf.log(y)']},
        {'cell_type': 'code', 'source': ['print "py2"']}]}
    path = write(tmp_path, 'nb.ipynb', json.dumps(notebook))
    report = checker.check([path])
    assert [use.format().split(' (')[0] for use in report.flagged] == [
        '%s:cell 3:2:5: api/renamed breaks: tf.log -> tf.math.log' % path]
    assert [p.format().split(':')[1:3] for p in report.problems] == [
        ['cell 4', '1']]


def test_paths_that_cannot_be_read_are_refused_in_one_line(tmp_path):
    fifo = str(tmp_path / 'fifo.py')
    os.mkfifo(fifo)
    loop = str(tmp_path / 'loop.py')
    os.symlink(loop, loop)
    big = write(tmp_path, 'big.py', b'x = 1\n' * (2 * 2 ** 20))
    binary = write(tmp_path, 'binary.py', b'x = 1\x00\n')
    missing = str(tmp_path / 'missing.py')
    text = write(tmp_path, 'notes.txt', 'tf.Session()')
    started = time.monotonic()
    report = checker.check([fifo, loop, big, binary, missing, text,
                            str(tmp_path)], max_bytes=2 ** 20)
    assert time.monotonic() - started < 30
    lines = [p.format() for p in report.problems]
    assert lines[:6] == [
        '%s: input/not-a-file unreadable: not a regular file (a FIFO): '
        'not opened' % fifo,
        '%s: input/unreadable unreadable: cannot read: Too many levels of '
        'symbolic links' % loop,
        '%s: input/too-large unreadable: 12582912 bytes, over the 1 MB '
        'limit (--max-mb): not read' % big,
        '%s: input/binary unreadable: cannot parse: source code string '
        'cannot contain null bytes' % binary,
        '%s: input/unreadable unreadable: no such file or directory'
        % missing,
        '%s: input/not-python unreadable: not a Python file (.py or '
        '.ipynb)' % text]
    # The directory walk meets the same files and refuses them again.
    assert len(lines) == 10 and all('\n' not in line for line in lines)


def test_a_5000_term_sum_is_parsed(tmp_path):
    path = write(tmp_path, 'deep.py', 'import tensorflow as tf\nx = ' +
                 ' + '.join(['tf.log(1.0)'] * 5000) + '\n')
    started = time.monotonic()
    report = checker.check([path])
    assert time.monotonic() - started < 60
    assert report.problems == [] and len(report.flagged) == 5000


def test_a_50_mb_file_is_refused_quickly(tmp_path):
    path = write(tmp_path, 'huge.py', b'x = tf.log(1.0)\n' * (50 * 2 ** 16))
    assert os.path.getsize(path) == 50 * 2 ** 20
    started = time.monotonic()
    report = checker.check([path])
    assert time.monotonic() - started < 5
    assert [p.id for p in report.problems] == ['input/too-large']


# -- output --
def test_json_schema(tmp_path):
    write(tmp_path, 'a.py', 'import tensorflow as tf\ntf.Session()\n')
    write(tmp_path, 'pkg/sub/b.py', 'import tensorflow as tf\ntf.log(1.)\n')
    write(tmp_path, 'pkg/c.py', 'print "py2"\n')
    write(tmp_path, 'pkg/README.md', 'tf.Session()\n')
    document = json.loads(checker.check([str(tmp_path)]).json())
    assert document['schema'] == report_lib.SCHEMA == 'tf1_migrate/1'
    assert set(document) == {'schema', 'verified_on', 'summary', 'uses',
                             'problems'}
    fields = {'path', 'cell', 'line', 'col', 'id', 'source', 'status',
              'name', 'verdict', 'replacement', 'route', 'mechanical',
              'unknown', 'section', 'doc', 'message'}
    records = document['uses'] + document['problems']
    assert all(set(record) == fields for record in records)
    assert [(os.path.relpath(u['path'], tmp_path), u['name'], u['status'],
             u['id'], u['source'], u['replacement'], u['mechanical'])
            for u in document['uses'] if u['status'] != 'ok'] == [
        ('a.py', 'tf.Session', 'breaks', 'rule/tf.Session', 'rule',
         'tf.compat.v1.Session', True),
        ('pkg/sub/b.py', 'tf.log', 'breaks', 'api/renamed', 'verdict',
         'tf.math.log', True)]
    assert document['uses'][0]['doc'] == 'docs/MIGRATION.md#graphs'
    assert [(p['id'], p['status'], p['name']) for p in
            document['problems']] == [('input/python2', 'unreadable', None)]
    assert document['summary']['files'] == 2
    assert all(use.section in rules.SECTIONS or use.section ==
               'api-verdicts' for use in checker.check(
                   [str(tmp_path)]).uses if use.section)


# -- --diff --
TF1_PROGRAM = """\
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
x = tf.placeholder(tf.float32, [None, 2])  # tf.placeholder stays here
y = tf.reduce_mean(tf.log(x + 1.0), keep_dims=True)
n = x.shape[1].value
ds = tf.data.Dataset.range(3)
it = ds.make_one_shot_iterator()
with tf.name_scope(None):
    z = tf.cast(it.get_next(), tf.float32)
text = "tf.log(x)"
with tf.Session() as session:
    print(session.run([y, z], {x: [[0.0, 1.0]]}), n, text)
"""


def run_cli(*args, cwd=REPO_DIR, module=('tf1_migrate',)):
    return subprocess.run(
        [sys.executable, '-m', *module] + list(args),
        capture_output=True, cwd=cwd, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'), check=False)


def test_diff_applies_with_patch_and_the_program_runs(tmp_path):
    if shutil.which('patch') is None:
        pytest.skip('no patch(1)')
    crlf = TF1_PROGRAM.replace('\n', '\r\n').replace('# tf.placeholder',
                                                     '# caf\xe9')
    write(tmp_path, 'prog.py', TF1_PROGRAM)
    write(tmp_path, 'sub/crlf.py', b'\xef\xbb\xbf' + crlf.encode())
    write(tmp_path, 'latin.py', '# -*- coding: latin-1 -*-\n' + crlf,
          encoding='latin-1')
    names = ['prog.py', 'sub/crlf.py', 'latin.py']
    before = checker.check([str(tmp_path / name) for name in names])
    completed = run_cli('--diff', *names, cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    patched = subprocess.run(['patch', '-p0'], input=completed.stdout,
                             cwd=tmp_path, capture_output=True)
    assert patched.returncode == 0, patched.stdout + patched.stderr
    after = checker.check([str(tmp_path / name) for name in names])
    assert after.problems == []
    assert len(after.flagged) < len(before.flagged)
    text = (tmp_path / 'prog.py').read_text()
    assert 'tf.compat.v1.placeholder(tf.float32' in text
    assert '# tf.placeholder stays here' in text
    assert 'text = "tf.log(x)"' in text
    assert 'tf.reduce_mean(tf.math.log(x + 1.0), keepdims=True)' in text
    assert 'tf.compat.v1.dimension_value(x.shape[1])' in text
    assert 'tf.compat.v1.data.make_one_shot_iterator(ds)' in text
    raw = (tmp_path / 'sub' / 'crlf.py').read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf') and raw.count(b'\r\n') == \
        crlf.count('\r\n') and 'caf\xe9'.encode() in raw
    assert 'caf\xe9'.encode('latin-1') in (tmp_path / 'latin.py').read_bytes()
    ran = subprocess.run([sys.executable, 'prog.py'], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.split()[-2:] == ['2', 'tf.log(x)']


# -- the CLI --
@pytest.mark.parametrize('source, status', [
    ('import tensorflow as tf\nx = tf.reshape(tf.constant([1]), [1])\n', 0),
    ('import tensorflow as tf\nx = tf.to_float(1)\n', 1),
    ('print "py2"\n', 2)])
def test_cli_exit_status_and_json(tmp_path, source, status):
    path = write(tmp_path, 'code.py', source)
    completed = run_cli('--format', 'json', path)
    assert completed.returncode == status, completed.stderr
    summary = json.loads(completed.stdout)['summary']
    assert summary['breaking'] == (status == 1)


def test_cli_usage_errors_and_the_old_entry_point(tmp_path):
    completed = run_cli('--format', 'xml', 'x.py')
    assert completed.returncode == 2
    path = write(tmp_path, 'code.py', 'import tensorflow as tf\n'
                 'tf.Session()\n')
    completed = run_cli(path, module=('resnet_tf1', 'migrate-check'))
    assert completed.stdout.decode().startswith(
        '%s:2:1: rule/tf.Session breaks' % path)
