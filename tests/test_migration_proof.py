"""experiments/migration_proof.py's logic on small TF1 snippets written
here: the independent name scan, what counts as a printed replacement that
works, the checker's two JSON schemas, the manifest and corpus rebuild, and
(one child process) the probes on the installed TensorFlow."""

import ast
import importlib.util
import json
import pathlib
import subprocess

import pytest

REPO_DIR = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    'migration_proof', REPO_DIR / 'experiments' / 'migration_proof.py')
proof = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(proof)

SNIPPET = '''\
import tensorflow as tf
import tensorflow.contrib.slim as slim
from tensorflow.contrib import rnn
flags = tf.flags
FLAGS = flags.FLAGS
x = tf.placeholder(tf.float32, [None, 3])
n = x.shape[1].value
m = x.get_shape()[0].value
row = table[3].value
cell = rnn.LSTMCell(4)
y = slim.conv2d(x, 4, 3, padding='SAME')
s = tf.reduce_sum(x, reduction_indices=[1])
it = dataset.make_initializable_iterator()
print(FLAGS.data_dir)
'''


def scan(text):
    visitor = proof.NameScan()
    visitor.visit(ast.parse(text))
    return visitor.uses


def test_scan_resolves_aliases_and_finds_method_breakages():
    uses = scan(SNIPPET)
    names = [name for name, _, _ in uses]
    assert 'tf.placeholder' in names
    assert 'tf.contrib.slim' in names  # the import line itself
    assert 'tf.contrib.rnn.LSTMCell' in names
    assert 'tf.contrib.slim.conv2d' in names
    assert 'tf.flags.FLAGS' in names  # FLAGS.data_dir is the user's flag
    assert not any(name.startswith('tf.flags.FLAGS.') for name in names)
    assert 'tf' not in names  # `import tensorflow as tf` is no API use
    # x.shape[1].value and x.get_shape()[0].value, not table[3].value
    assert [line for name, line, _ in uses if name == 'Dimension.value'] \
        == [7, 8]
    assert ('.make_initializable_iterator', 13, None) in uses
    call = next(c for n, _, c in uses if n == 'tf.reduce_sum')
    assert call == (1, ['reduction_indices'])


def test_scan_of_compat_v1_import_names_compat_v1():
    uses = scan('import tensorflow.compat.v1 as tf\n'
                'tf.estimator.Estimator(fn)\n')
    assert [n for n, _, _ in uses] == ['tf.compat.v1',
                                       'tf.compat.v1.estimator.Estimator']


def test_printed_names_and_keywords():
    assert proof.printed_names(
        'tf.nn.dropout(x, rate=1 - keep_prob)') == [('tf.nn.dropout',
                                                     ['rate'])]
    assert proof.printed_names(
        'an explicit tf.Graph + `tf.compat.v1.train.MonitoredTraining'
        'Session` (new code), or pin tensorflow<2.16') == [
            ('tf.Graph', []),
            ('tf.compat.v1.train.MonitoredTrainingSession', [])]


def fake_probe(table):
    """A probe answering from `table`: name -> (resolves, called)."""
    def probe(name, keywords, route):
        resolves, called = table.get((name, route), (False, None))
        return {'resolves': resolves, 'error': None if resolves else
                'AttributeError: no %s' % name, 'called': called,
                'bad_keywords': [k for k in keywords if k == 'keep_prob']}
    return probe


def test_replacement_verdicts():
    probe = fake_probe({
        ('tf.compat.v1.layers.dense', 'default'):
            (True, 'AttributeError: `dense` is not available with Keras 3.'),
        ('tf.compat.v1.layers.dense', 'tf-keras'): (True, 'ok'),
        ('tf.compat.v1.random_normal_initializer', 'default'): (True, 'ok'),
        ('tf.nn.dropout', 'default'): (True, None),
        ('tf.Graph', 'default'): (True, None),
        ('tf_slim', 'default'): (True, None),
    })
    verdict = proof.replacement_verdict
    assert verdict('tf.compat.v1.layers.dense', 'tf.layers.dense',
                   probe)[0] == 'fails'
    assert verdict('tf.compat.v1.layers.dense on the tf-keras route',
                   'tf.layers.dense', probe)[0] == 'recipe'
    assert verdict('tf.compat.v1.random_normal_initializer (same numbers '
                   'as TF1)', 'tf.random_normal_initializer',
                   probe) == ('works', '')
    assert verdict('tf.nn.dropout(x, rate=1 - keep_prob)', 'tf.nn.dropout',
                   probe) == ('works', '')
    assert verdict('tf.nn.dropout(x, keep_prob=k)', 'tf.nn.dropout',
                   probe)[0] == 'fails'
    assert verdict('tf_slim.list_variables', 'tf.contrib.framework.'
                   'list_variables', probe)[0] == 'fails'
    # a module named in prose must hold the name
    assert verdict('most of it lives on in tf-slim (`tf_slim`)',
                   'tf.contrib.rnn.LSTMCell', probe) == (
                       'fails', 'tf_slim has no LSTMCell')
    assert verdict('`resnet_tf1.nets.layers.batch_norm` (same variables)',
                   'tf_slim.batch_norm', probe)[0] == 'fails'
    assert verdict('an explicit tf.Graph, or pin tensorflow<2.16',
                   'tf.estimator.Estimator', probe) == ('recipe', '')


@pytest.mark.parametrize('item', [
    {'path': 'a.py', 'line': 3, 'name': 'tf.log', 'status': 'breaks',
     'new': None, 'section': None, 'detail': 'AttributeError'},
    {'path': 'a.py', 'line': 3, 'col': 5, 'name': 'tf.log',
     'status': 'error', 'replacement': 'tf.math.log', 'unknown': True,
     'rule': 'x'},
])
def test_both_checker_schemas_normalize(item):
    (use,), unreadable = proof.normalize_checker_output(
        {'uses': [item], 'problems': [{'path': 'b.py', 'message': 'BOM'}]})
    assert use['status'] == 'breaks' and use['new'] is None
    assert use['line'] == 3 and use['name'] == 'tf.log'
    assert unreadable == {str(pathlib.Path('b.py').resolve())}


def test_translation_through_an_import_line_and_a_prefix():
    uses = [{'name': 'tf.contrib.slim', 'line': 2, 'status': 'breaks',
             'new': 'tf_slim'},
            {'name': 'tf_slim.conv2d', 'line': 9, 'status': 'ok',
             'new': None},
            {'name': 'tf.flags', 'line': 4, 'status': 'breaks',
             'new': 'absl.flags'}]
    assert proof.translation('tf.contrib.slim.conv2d', 9, uses) == \
        'tf_slim.conv2d'
    assert proof.translation('tf.flags.DEFINE_bool', 20, uses) == \
        'absl.flags.DEFINE_bool'
    assert proof.translation('tf.contrib.rnn.LSTMCell', 9, uses) is None


def test_bad_manifest_is_one_line(tmp_path):
    manifest = tmp_path / 'm.json'
    manifest.write_text(json.dumps({'files': [
        {'repo': 'a/b', 'path': 'x.py', 'commit': 'abc', 'domain': 'GAN'}]}))
    with pytest.raises(SystemExit, match=r'm\.json entry 0: .*40-hex'):
        proof.load_manifest(str(manifest))
    with pytest.raises(SystemExit, match='cannot read manifest'):
        proof.load_manifest(str(tmp_path / 'missing.json'))


def test_corpus_rebuilds_from_a_clone(tmp_path):
    repo = tmp_path / 'mirrors' / 'a+b' / 'repo'
    repo.mkdir(parents=True)
    git = ['git', '-C', str(repo)]
    subprocess.run(git + ['init', '-q'], check=True)
    (repo / 'm.py').write_text('import tensorflow as tf\n')
    subprocess.run(git + ['add', 'm.py'], check=True)
    subprocess.run(git + ['-c', 'user.name=t', '-c', 'user.email=t@t',
                          'commit', '-qm', 'm'], check=True)
    commit = subprocess.run(git + ['rev-parse', 'HEAD'], check=True,
                            capture_output=True, text=True).stdout.strip()
    (repo / 'm.py').write_text('changed later\n')  # the commit's text wins
    entry = {'repo': 'a/b', 'path': 'm.py', 'commit': commit, 'domain': 'x'}
    proof.build_corpus([entry], str(tmp_path / 'mirrors'),
                       str(tmp_path / 'corpus'))
    assert (tmp_path / 'corpus' / 'a__b' / 'm.py').read_text() == \
        'import tensorflow as tf\n'
    assert 'git clone --bare https://github.com/a/b' in \
        proof.fetch_commands([entry])
    with pytest.raises(SystemExit, match='no clone of c/d'):
        proof.build_corpus([dict(entry, repo='c/d')],
                           str(tmp_path / 'mirrors'), str(tmp_path / 'c'))


def test_report_keeps_the_pages_prose(tmp_path):
    page = tmp_path / 'proof.md'
    page.write_text('intro\n<!-- proof table: begin -->\nold\n'
                    '<!-- proof table: end -->\noutro\n')
    proof.write_report(str(page), 'new table\n')
    assert page.read_text() == ('intro\n<!-- proof table: begin -->\n'
                                'new table\n<!-- proof table: end -->\n'
                                'outro\n')


def test_probes_on_the_installed_tensorflow():
    """One child process: resolution, TF2's signature, a Keras 3 call
    failure the name alone hides, and a rename-only false alarm run."""
    dense = 'tf.compat.v1.layers.dense'
    tasks = [('tf.placeholder', [], None),
             ('tf.compat.v1.placeholder', [], None),
             ('tf.reduce_sum', ['reduction_indices'], None),
             ('tf.compat.v1.nn.rnn_cell.LSTMCell', [],
              proof.probe_code('tf.compat.v1.nn.rnn_cell.LSTMCell')),
             ('tf_slim.batch_norm', [],
              proof.probe_code('tf_slim.batch_norm')),
             ('tf.compat.v1.train.AdamOptimizer', [],
              proof.probe_code('tf.compat.v1.train.AdamOptimizer')),
             ('tf.ones_like', [], 'compare:' + proof.SAMPLES['tf.ones_like'])]
    placeholder, v1_placeholder, reduce_sum, cell, norm, adam, ones = \
        proof.run_probes(tasks, 'default')
    assert not placeholder['resolves']
    assert v1_placeholder['resolves']
    assert reduce_sum['resolves'] and reduce_sum['same_as_v1'] is False
    assert reduce_sum['bad_keywords'] == ['reduction_indices']
    # as user code reaches it, by attribute: the loader refuses
    assert not cell['resolves'] and 'Keras 3' in cell['error']
    assert norm['resolves'] and norm['called'] != 'ok'  # found by calling
    assert adam['called'] == 'ok'
    assert ones['called'] == 'same'
    assert proof.probe_code(dense).startswith('F(')
