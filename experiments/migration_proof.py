"""The migration reference measured on real TF1 code it never saw (issue 26,
item 9): runs the checker on every file of a corpus, decides on its own
which APIs break or change meaning on the installed TensorFlow, checks
every replacement the checker printed, and writes the table.

    python experiments/migration_proof.py CORPUS_DIR \\
        --manifest experiments/migration_corpus.json \\
        --out docs/migration/proof.md
    python experiments/migration_proof.py CORPUS_DIR --manifest M \\
        --build-corpus MIRRORS_DIR   # git show COMMIT:PATH from clones
    python experiments/migration_proof.py --fetch-help --manifest M

Independent of the checker, an API breaks when its dotted name does not
resolve on TF 2.21, when a cheap call of it raises (the probes below), or
when a call passes a TF1 keyword TF2's signature lacks. An API that
resolves to another object than `tf.compat.v1.X` changes meaning only as
the checker claims; such a claim is a false alarm when the same object
serves TF1 and TF2, or when TensorFlow's own upgrade tables
(tf_upgrade_v2's reorders) say a positional call binds the same
parameters (a rename only). A printed replacement works when every dotted
name in it resolves on its route (tf-keras when the text names that
route), takes the keywords printed with it, and, where a probe exists,
survives a cheap call. This file is long (~500 lines) because the corpus
handling, the probes and the report are one measurement.
"""

import argparse
import ast
import collections
import json
import os
import re
import subprocess
import sys

CHECKERS = (['-m', 'tf1_migrate'], ['-m', 'resnet_tf1', 'migrate-check'])
TF_KERAS_DIR = os.environ.get('TF_KERAS_DIR', '/work/tf_keras')
DOTTED = re.compile(r'\b(?:tf|tf_slim|tensorflow|tf_keras|absl|resnet_tf1)'
                    r'(?:\.[A-Za-z_]\w*)+\b|\btf_slim\b')
CATEGORIES = ('works', 'recipe', 'fails', 'unknown', 'nothing')
CATEGORY_TITLES = {
    'works': 'a printed replacement that works',
    'recipe': 'a rewrite recipe',
    'fails': '**a printed replacement that fails**',
    'unknown': '"unknown" (flagged, no replacement)',
    'nothing': 'nothing printed',
}
WORST_FIRST = ('fails', 'nothing', 'unknown', 'recipe', 'works')

# Cheap calls, in graph mode, of callables whose name matches (full
# dotted-name regex -> code with F for the callable). They catch what
# resolving cannot: tf.compat.v1.layers/rnn_cell under Keras 3, slim's
# batch norm.
X2 = 'tf.compat.v1.placeholder(tf.float32, [2, 3])'
X4 = 'tf.compat.v1.placeholder(tf.float32, [2, 8, 8, 3])'
SEQ = 'tf.compat.v1.placeholder(tf.float32, [2, 5, 3])'
PROBES = (
    (r'layers\.(dense|dropout|batch_normalization|flatten)$',
     'F(%s, *([4] if N.endswith("dense") else []))' % X2),
    (r'layers\.(conv2d|conv2d_transpose)$', 'F(%s, 4, 3)' % X4),
    (r'layers\.(max_pooling2d|average_pooling2d)$', 'F(%s, 2, 2)' % X4),
    (r'layers\.(Dense)$', 'F(4)(%s)' % X2),
    (r'layers\.(Conv2D)$', 'F(4, 3)(%s)' % X4),
    (r'layers\.(MaxPooling2D|AveragePooling2D)$', 'F(2, 2)(%s)' % X4),
    (r'layers\.(Flatten|Dropout|BatchNormalization)$', 'F()(%s)' % X4),
    (r'(rnn_cell|rnn)\.(BasicLSTMCell|LSTMCell|GRUCell|BasicRNNCell)$',
     'F(4)(%s, F(4).zero_state(2, tf.float32))' % X2),
    (r'(rnn_cell|rnn)\.(MultiRNNCell)$',
     'tf.compat.v1.nn.rnn_cell.MultiRNNCell([tf.compat.v1.nn.rnn_cell.'
     'GRUCell(4)])'),
    (r'(rnn_cell|rnn)\.(DropoutWrapper|ResidualWrapper|DeviceWrapper)$',
     'F(tf.compat.v1.nn.rnn_cell.GRUCell(4), *(["/cpu:0"] if "Device" in N'
     ' else []))'),
    (r'nn\.(dynamic_rnn)$',
     'F(tf.compat.v1.nn.rnn_cell.GRUCell(4), %s, dtype=tf.float32)' % SEQ),
    (r'nn\.(static_rnn)$', 'F(tf.compat.v1.nn.rnn_cell.GRUCell(4), '
     'tf.unstack(%s, axis=1), dtype=tf.float32)' % SEQ),
    (r'tf_slim\.(batch_norm)$|layers\.batch_norm$', 'F(%s)' % X4),
    (r'tf_slim\.(conv2d|fully_connected)$',
     'F(%s, 4, *([3] if "conv" in N else []))' % X4),
    (r'train\.\w+Optimizer$', 'F(0.1)'),
    (r'(?<!variables)_initializer$', 'F()'),
    (r'\.(Session|ConfigProto|InteractiveSession)$', 'F()'),
)


# Positional calls, run with TF2's tf.X and with tf.compat.v1.X, for the
# false alarms of a rename-only parameter (the results must be equal).
SAMPLES = {
    'tf.ones_like': 'F([[1., 2.]])',
    'tf.zeros_like': 'F([[1., 2.]])',
    'tf.image.crop_and_resize': 'F(tf.reshape(tf.range(16.), [1, 4, 4, 1]),'
                                ' [[0., 0., 1., 1.]], [0], [2, 2])',
}


def fail(message):
    sys.exit('migration_proof: %s' % message)


# -- manifest and corpus -----------------------------------------------

def load_manifest(path):
    """The manifest's file entries; a one-line error names what is wrong."""
    try:
        with open(path, encoding='utf-8') as handle:
            entries = json.load(handle)['files']
    except (OSError, ValueError, KeyError, TypeError) as error:
        fail('cannot read manifest %s: %s' % (path, error))
    for index, entry in enumerate(entries):
        missing = {'repo', 'path', 'commit', 'domain'} - set(entry)
        if missing or not re.fullmatch(r'[0-9a-f]{40}', entry['commit']):
            fail('manifest %s entry %d: needs repo, path, domain and a '
                 '40-hex commit (%s)' % (path, index, sorted(missing)))
    return entries


def corpus_file(corpus_dir, entry):
    return os.path.join(corpus_dir, entry['repo'].replace('/', '__'),
                        entry['path'])


def fetch_commands(entries):
    """Shell commands that rebuild the corpus from the manifest."""
    lines = ['# clones go to $MIRRORS, files to $CORPUS']
    for repo in sorted({entry['repo'] for entry in entries}):
        lines.append('git clone --bare https://github.com/%s '
                     '"$MIRRORS/%s"' % (repo, repo.replace('/', '+')))
    lines.append('python experiments/migration_proof.py "$CORPUS" '
                 '--manifest experiments/migration_corpus.json '
                 '--build-corpus "$MIRRORS"')
    return '\n'.join(lines)


def build_corpus(entries, mirrors_dir, corpus_dir):
    for entry in entries:
        base = os.path.join(mirrors_dir, entry['repo'].replace('/', '+'))
        git_dir = next((d for d in (base + '/repo/.git', base + '/repo',
                                    base) if os.path.isdir(d)), None)
        if git_dir is None:
            fail('no clone of %s under %s (see --fetch-help)'
                 % (entry['repo'], mirrors_dir))
        spec = '%s:%s' % (entry['commit'], entry['path'])
        result = subprocess.run(['git', '--git-dir', git_dir, 'show', spec],
                                capture_output=True)
        if result.returncode:
            fail('git show %s in %s: %s' % (
                spec, git_dir, result.stderr.decode().strip()))
        target = corpus_file(corpus_dir, entry)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'wb') as handle:
            handle.write(result.stdout)


# -- the checker ---------------------------------------------------------

def normalize_checker_output(data):
    """(uses, unreadable paths) from either JSON schema: uses carry path,
    line, name, status ('ok'/'breaks'/'changes meaning'), new (None when
    the checker printed no replacement) and a text for route detection."""
    uses = []
    for item in list(data.get('uses', [])) + [
            p for p in data.get('problems', []) if p.get('name')]:
        status = str(item.get('status', 'ok')).replace('_', ' ')
        status = {'error': 'breaks', 'silent': 'changes meaning',
                  'works': 'ok', 'changes': 'changes meaning'}.get(
                      status, status)
        new = item.get('new', item.get('replacement'))
        if item.get('unknown') is True:
            new = None
        text = ' '.join(str(item.get(key) or '') for key in (
            'new', 'replacement', 'section', 'detail', 'route', 'message'))
        uses.append({'path': os.path.abspath(item.get('path', '')),
                     'line': item.get('line', 0), 'name': item['name'],
                     'status': status, 'new': new, 'text': text})
    unreadable = {os.path.abspath(p['path']) for p in
                  data.get('problems', []) if p.get('path') and
                  not p.get('name')}
    return uses, unreadable


def run_checker(paths, root='.'):
    """Runs the first checker entry point that exists on `paths`, from
    the source tree `root` (a snapshot: `git archive REV | tar -x`)."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(root))
    for command in CHECKERS:
        result = subprocess.run(
            [sys.executable] + command + ['--format', 'json'] + paths,
            capture_output=True, text=True, timeout=1800, env=env,
            cwd=root)
        if 'No module named' in result.stderr and not result.stdout:
            continue
        try:
            return normalize_checker_output(json.loads(result.stdout)), \
                ' '.join(['python'] + command)
        except ValueError:
            fail('%s printed no JSON: %s' % (
                ' '.join(command), result.stderr.strip()[-300:]))
    fail('no checker: neither `python -m tf1_migrate` nor '
         '`python -m resnet_tf1 migrate-check` runs')


# -- an independent scan of the TF names each file uses ------------------

def _canonical_module(module):
    if module == 'tensorflow' or module.startswith('tensorflow.'):
        return 'tf' + module[len('tensorflow'):]
    if module == 'tf_slim' or module.startswith('tf_slim.'):
        return module
    return None


def _is_shape_item(node):
    """`x.shape[i]`, `x.get_shape()[i]`, `x.shape.dims[i]`."""
    if not isinstance(node, ast.Subscript):
        return False
    base = node.value
    if isinstance(base, ast.Call):
        base = base.func
    return isinstance(base, ast.Attribute) and base.attr in (
        'shape', 'get_shape', 'dims')


class NameScan(ast.NodeVisitor):
    """The dotted TF names a file uses (maximal attribute chains rooted
    at an alias of tensorflow or tf_slim), with each call's positional
    count and keywords; and the dataset/shape methods that broke."""

    def __init__(self):
        self.aliases, self.uses = {}, []

    def visit_Import(self, node):
        for alias in node.names:
            name = _canonical_module(alias.name)
            if name:
                if alias.asname:
                    self.aliases[alias.asname] = name
                    if '.' in name:  # a bare `import tensorflow` is fine
                        self.uses.append((name, node.lineno, None))
                else:
                    self.aliases[alias.name.split('.')[0]] = name.split(
                        '.')[0]

    def visit_ImportFrom(self, node):
        module = _canonical_module(node.module or '')
        for alias in node.names if module else ():
            name = module + '.' + alias.name
            self.aliases[alias.asname or alias.name] = name
            self.uses.append((name, node.lineno, None))

    def visit_Assign(self, node):
        name = self._dotted(node.value)
        if name and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            self.aliases[node.targets[0].id] = name
        self.generic_visit(node)

    def _dotted(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            name = '.'.join([self.aliases[node.id]] + parts[::-1])
            # a flag's value is the user's, not an API
            return re.sub(r'(\.FLAGS)\..*', r'\1', name)
        return None

    def visit_Call(self, node):
        name = self._dotted(node.func)
        if name:
            self.uses.append((name, node.lineno, (
                len(node.args), [k.arg for k in node.keywords if k.arg])))
            for child in node.args + [k.value for k in node.keywords]:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Attribute(self, node):
        name = self._dotted(node)
        if name:
            self.uses.append((name, node.lineno, None))
            return
        if node.attr in ('make_one_shot_iterator',
                         'make_initializable_iterator'):
            self.uses.append(('.' + node.attr, node.lineno, None))
        elif node.attr == 'value' and _is_shape_item(node.value):
            self.uses.append(('Dimension.value', node.lineno, None))
        self.generic_visit(node)

    def visit_Name(self, node):
        name = self.aliases.get(node.id)
        if name and isinstance(node.ctx, ast.Load) and '.' in name:
            self.uses.append((name, node.lineno, None))


def scan_file(path):
    """NameScan's uses of one file; None when Python cannot parse it."""
    try:
        with open(path, 'rb') as handle:
            tree = ast.parse(handle.read())
    except (SyntaxError, ValueError, OSError):
        return None
    scan = NameScan()
    scan.visit(tree)
    return scan.uses


def same_api(checker_name, scan_name):
    """Method names are matched on their last part ('.make_one_shot_
    iterator', 'Dimension.value' vs whatever label the checker uses)."""
    if scan_name.startswith('.') or scan_name == 'Dimension.value':
        return checker_name.split('.')[-1] == scan_name.split('.')[-1]
    return checker_name == scan_name


# -- probes on TensorFlow (in a child process per route) ----------------

def printed_names(new):
    """The dotted names a printed replacement text mentions, with the
    keywords printed in a call of each ('f(x, rate=...)' -> rate)."""
    names = []
    for match in DOTTED.finditer(new):
        rest = new[match.end():]
        keywords = []
        if rest.startswith('('):
            depth, end = 0, 0
            for end, char in enumerate(rest):
                depth += {'(': 1, ')': -1}.get(char, 0)
                if depth == 0:
                    break
            keywords = re.findall(r'\b([A-Za-z_]\w*)=(?!=)', rest[1:end])
        names.append((match.group(0), keywords))
    return names


def probe_code(name):
    for pattern, code in PROBES:
        if re.search(pattern, name):
            return code
    return None


def probe_main(tasks):
    """In the child: for each task (name, keywords, call) -> dict with
    resolves, error, same_as_v1 and called (None, 'ok' or the error)."""
    import importlib
    import inspect
    import tensorflow as tf
    tf.compat.v1.disable_eager_execution()

    def resolve(name):
        """As user code reaches it: public tf.* names by attribute access
        from `tensorflow` (the lazy loader's Keras 3 refusal included;
        importing the submodule itself would bypass it), private and
        other packages' names as an import statement would."""
        if name.startswith('tf.') and not name.startswith('tf.python.'):
            obj = tf
            try:
                for part in name.split('.')[1:]:
                    obj = getattr(obj, part)
                return obj, None
            except Exception as caught:  # AttributeError or the loader's
                return None, '%s: %s' % (type(caught).__name__, caught)
        if name.startswith('tf.'):
            name = 'tensorflow.' + name[3:]
        parts = name.split('.')
        obj, error = None, None
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module('.'.join(parts[:cut]))
            except Exception as caught:  # any import failure: try shorter
                error = error or caught
                continue
            try:
                for part in parts[cut:]:
                    obj = getattr(obj, part)
                return obj, None
            except AttributeError as caught:
                return None, 'AttributeError: %s' % caught
        return None, '%s: %s' % (type(error).__name__, error)

    results = []
    for name, keywords, call in tasks:
        obj, error = resolve(name)
        result = {'resolves': error is None, 'error': error,
                  'same_as_v1': None, 'called': None, 'bad_keywords': []}
        if error is None and name.startswith('tf.') and not \
                name.startswith(('tf.compat.', 'tf.contrib.')):
            twin, twin_error = resolve('tf.compat.v1.' + name[3:])
            result['same_as_v1'] = twin_error is None and twin is obj
        if error is None and keywords:
            try:
                parameters = inspect.signature(obj).parameters
                if not any(p.kind == p.VAR_KEYWORD
                           for p in parameters.values()):
                    result['bad_keywords'] = [
                        k for k in keywords if k not in parameters]
            except (TypeError, ValueError):
                pass
        if error is None and call and call.startswith('compare:'):
            result['called'] = compare_v1_v2(tf, name, call[8:])
        elif error is None and call:
            try:
                with tf.Graph().as_default():
                    exec(call, {'tf': tf, 'F': obj, 'N': name})
                result['called'] = 'ok'
            except Exception as caught:  # the point: record what it raised
                result['called'] = '%s: %s' % (
                    type(caught).__name__, str(caught).split('\n')[0][:160])
        results.append(result)
    return results


def compare_v1_v2(tf, name, code):
    """'same' when `code` gives equal values with F = tf.X and with
    F = tf.compat.v1.X, else what differed."""
    import numpy as np
    values = []
    for module in (tf, tf.compat.v1):
        target = module
        for part in name.split('.')[1:]:
            target = getattr(target, part)
        try:
            with tf.Graph().as_default(), tf.compat.v1.Session() as session:
                values.append(session.run(eval(code, {'tf': tf,
                                                      'F': target})))
        except Exception as caught:  # the point: report what it raised
            return '%s: %s' % (type(caught).__name__, caught)
    return 'same' if np.array_equal(values[0], values[1]) else \
        'different: %s vs %s' % (values[0], values[1])


def run_probes(tasks, route):
    """probe_main in a child; route 'tf-keras' sets the legacy Keras."""
    env = dict(os.environ)
    if route == 'tf-keras':
        env['PYTHONPATH'] = TF_KERAS_DIR + os.pathsep + env.get(
            'PYTHONPATH', '')
        env['TF_USE_LEGACY_KERAS'] = '1'
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--probe'],
        input=json.dumps(tasks), capture_output=True, text=True, env=env,
        timeout=600)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail('probe child (%s) failed: %s' % (route,
                                             result.stderr.strip()[-400:]))


# -- classification ------------------------------------------------------

def route_of(text):
    return 'tf-keras' if re.search(r'tf[-_]keras|TF_USE_LEGACY_KERAS',
                                   text or '') else 'default'


def replacement_verdict(new, original, probe):
    """'works', 'recipe' or 'fails' (with why) for a printed text.
    `probe(name, keywords, route)` returns probe_main's dict."""
    route = route_of(new)
    remark = re.fullmatch(r'([\w.]+(\([^)]*\))?)\s+\(.*\)', new.strip())
    if remark:  # 'tf.compat.v1.X (same numbers as TF1)'
        new = remark.group(1)
    names = printed_names(new)
    prose = not re.fullmatch(r'[\w.]+(\(.*\))?', new.strip())
    own = [n for n, _ in names if n.startswith('resnet_tf1')]
    if own and len(own) == len(names):
        return 'fails', '%s is this project\'s module, not a package ' \
            'a user installs' % own[0]
    for name, keywords in names:
        if name.startswith('resnet_tf1'):
            continue
        result = probe(name, keywords, route)
        if not result['resolves']:
            return 'fails', '%s: %s' % (name, result['error'])
        if result['bad_keywords']:
            return 'fails', '%s takes no %s=' % (
                name, result['bad_keywords'][0])
        if result['called'] not in (None, 'ok'):
            return 'fails', '%s(...) on route %s: %s' % (
                name, route, result['called'])
    if prose:
        modules = [n for n, _ in names if '.' not in n]
        if modules and len(modules) == len(names) and \
                not original.startswith('.'):
            tail = original.split('.')[-1]
            if not probe(modules[0] + '.' + tail, [], route)['resolves']:
                return 'fails', '%s has no %s' % (modules[0], tail)
        return 'recipe', ''
    if not names:
        return 'fails', 'no dotted name in %r' % new
    return 'works', ''


def analyze(entries, corpus_dir, checker_root='.'):
    paths = [corpus_file(corpus_dir, e) for e in entries]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        fail('corpus file missing: %s (rebuild with --build-corpus)'
             % missing[0])
    paths = [os.path.abspath(p) for p in paths]
    (uses, unreadable), checker = run_checker(paths, checker_root)
    scans = {p: scan_file(p) for p in paths}
    cache = {}

    def probe(name, keywords, route):
        key = (name, tuple(keywords), route)
        if key not in cache:
            cache[key] = run_probes(
                [(name, keywords, probe_code(name))], route)[0]
        return cache[key]

    # Resolve everything in two batched children first (speed).
    names = {u['name'] for u in uses if not u['name'].startswith('.')}
    names |= {n for s in scans.values() if s for n, _, _ in s
              if not n.startswith(('.', 'Dimension'))}
    batch = [(n, ()) for n in sorted(names)] + sorted(
        {(n, tuple(call[1])) for s in scans.values() if s
         for n, _, call in s if call and call[1]})
    for (name, keywords), result in zip(batch, run_probes(
            [(n, list(k), probe_code(n)) for n, k in batch], 'default')):
        cache[(name, keywords, 'default')] = result
    printed = sorted({(n, tuple(k), route_of(u['new']))
                      for u in uses if u['new']
                      for n, k in printed_names(u['new'])})
    for route in ('default', 'tf-keras'):
        todo = [p for p in printed if p[2] == route and p not in cache]
        for key, result in zip(todo, run_probes(
                [(n, list(k), probe_code(n)) for n, k, _ in todo], route)):
            cache[key] = result
    return judge(entries, corpus_dir, uses, unreadable, scans, probe,
                 checker)


def independent_break(name, call, result):
    """Why a use breaks on TF 2.21, decided without the checker, or ''."""
    if name.startswith('.') or name == 'Dimension.value':
        return ''
    if not result['resolves']:
        return result['error'] or 'does not resolve'
    if result['called'] not in (None, 'ok'):
        return result['called']
    return ''


_samples = {}


def sample_run(name, sample):
    if name not in _samples:
        _samples[name] = run_probes(
            [(name, [], 'compare:' + sample)], 'default')[0]['called']
    return _samples[name]


def false_alarm(use, result):
    """Why a flagged use in fact runs unchanged, or ''."""
    if result.get('same_as_v1') and use['status'] == 'breaks' and \
            not use['name'].startswith('tf.compat.'):
        return 'tf.%s is tf.compat.v1.%s (one object)' % (
            use['name'][3:], use['name'][3:])
    match = re.search(r'positional argument (\d+) is `(\w+)` in TF2, '
                      r'was `(\w+)`', use['text'])
    if match and use['status'] == 'changes meaning':
        from tensorflow.tools.compatibility import renames_v2, reorders_v2
        if use['name'] not in reorders_v2.reorders and \
                use['name'] not in renames_v2.renames:
            why = 'rename only (%s -> %s): tf_upgrade_v2 lists no ' \
                'reorder' % (match.group(3), match.group(2))
            sample = SAMPLES.get(use['name'])
            if sample is None:  # unverified: counted as the checker said
                return ''
            ran = sample_run(use['name'], sample)
            return why + '; ran a positional call: %s' % ran \
                if ran == 'same' else ''
    return ''


def translation(name, line, file_uses):
    """What the checker made of a name it did not flag: its own name for
    the same use (an import line it rewrote: `slim.conv2d` read as
    `tf_slim.conv2d`), or a flagged prefix's replacement plus the rest
    (`tf.flags` -> `absl.flags`, so `tf.flags.DEFINE_bool` ->
    `absl.flags.DEFINE_bool`); None when it made nothing of it."""
    tail = name.split('.')[-1]
    for use in file_uses:
        if use['line'] == line and use['name'].split('.')[-1] == tail \
                and use['name'] != name and use['status'] == 'ok':
            return use['name']
    for use in file_uses:
        prefix = use['name'] + '.'
        if use['status'] != 'ok' and use['new'] and name.startswith(
                prefix) and re.fullmatch(r'[\w.]+', use['new']):
            return use['new'] + '.' + name[len(prefix):]
    return None


def judge(entries, corpus_dir, uses, unreadable, scans, probe, checker):
    by_file = collections.defaultdict(list)
    for use in uses:
        by_file[use['path']].append(use)
    apis = {}  # name -> {'category', 'why', 'files', 'new'}
    files, alarms = [], []
    for entry in entries:
        path = os.path.abspath(corpus_file(corpus_dir, entry))
        scan, file_uses = scans[path], by_file.get(path, [])
        read = path not in unreadable and scan is not None and (
            file_uses or not scan)
        flagged = [u for u in file_uses if u['status'] != 'ok']
        breaking = {}
        for use in flagged:
            result = probe(use['name'], [], 'default') \
                if not use['name'].startswith('.') else {}
            why = false_alarm(use, result) if result else ''
            if why:
                alarms.append((entry, use, why))
                continue
            breaking.setdefault(use['name'], []).append(use)
        for name, line, call in scan or ():
            result = probe(name, [], 'default') if not name.startswith(
                ('.', 'Dimension')) else None
            why = independent_break(name, call, result) if result else ''
            if result and not why and call and call[1] and \
                    not result.get('same_as_v1'):
                bad = probe(name, call[1], 'default')['bad_keywords']
                why = bad and 'TF2 takes no %s=' % bad[0]
            if name.startswith('.') or name == 'Dimension.value':
                why = 'removed method/attribute on TF 2.21'
            if why and not any(same_api(n, name) for n in breaking):
                use = {'name': name, 'line': line, 'status': 'ok',
                       'new': translation(name, line, file_uses),
                       'text': why}
                if use['new'] and any(use['new'] == n for n in breaking):
                    continue  # the checker flagged it under that name
                breaking.setdefault(name, []).append(use)
        for name, name_uses in breaking.items():
            category, why = 'nothing', name_uses[0]['text']
            for use in name_uses:
                if use['status'] == 'ok' and use['new']:
                    candidate, reason = replacement_verdict(
                        use['new'], name, probe)
                elif use['status'] == 'ok':
                    candidate, reason = 'nothing', use['text']
                elif not use['new']:
                    candidate, reason = 'unknown', use['text']
                else:
                    candidate, reason = replacement_verdict(
                        use['new'], name, probe)
                if WORST_FIRST.index(candidate) < WORST_FIRST.index(
                        category) or category == 'nothing' and \
                        candidate != 'nothing':
                    category, why = candidate, reason
            record = apis.setdefault(name, {
                'category': category, 'why': why, 'files': set(),
                'new': next((u['new'] for u in name_uses if u['new']),
                            None)})
            if WORST_FIRST.index(category) < WORST_FIRST.index(
                    record['category']):
                record.update(category=category, why=why)
            record['files'].add(entry['path'])
        files.append({'entry': entry, 'read': read,
                      'flagged': len(flagged), 'apis': sorted(breaking)})
    return {'apis': apis, 'files': files, 'alarms': alarms,
            'flagged': sum(f['flagged'] for f in files),
            'checker': checker}


# -- the report ----------------------------------------------------------

def percent(part, whole):
    return '%d (%.1f%%)' % (part, 100.0 * part / whole) if whole else '0'


def render(result, manifest_path):
    apis, files = result['apis'], result['files']
    counts = collections.Counter(a['category'] for a in apis.values())
    total = len(apis)
    lines = [
        '| what the checker printed | distinct APIs |', '|---|---|']
    lines += ['| %s | %s |' % (CATEGORY_TITLES[c], percent(counts[c], total))
              for c in CATEGORIES]
    lines += ['| **total that break or change meaning** | %d |' % total,
              '',
              '| flagged uses | false alarms (run unchanged) | files '
              'not read |', '|---|---|---|',
              '| %d | %s | %d of %d |' % (
                  result['flagged'], percent(len(result['alarms']),
                                             result['flagged']),
                  sum(not f['read'] for f in files), len(files)),
              '', '### Per file', '',
              '| repository | path | domain | read | flagged uses | '
              + ' | '.join(CATEGORIES) + ' |',
              '|---|---|---|---|---|' + '---|' * len(CATEGORIES)]
    for item in files:
        entry = item['entry']
        per = collections.Counter(apis[n]['category'] for n in item['apis'])
        lines.append('| %s | `%s` | %s | %s | %d | %s |' % (
            entry['repo'], entry['path'], entry['domain'],
            'yes' if item['read'] else '**no**', item['flagged'],
            ' | '.join(str(per[c]) for c in CATEGORIES)))
    lines += ['', '### Every API that is not "works"', '',
              '| API | category | printed | why |', '|---|---|---|---|']
    for name in sorted(apis, key=lambda n: (
            WORST_FIRST.index(apis[n]['category']), n)):
        api = apis[name]
        if api['category'] != 'works':
            lines.append('| `%s` | %s | %s | %s |' % (
                name, api['category'],
                ('`%s`' % api['new'].replace('|', '/'))
                if api['new'] else '-',
                api['why'].replace('|', '/')[:140]))
    lines += ['', '### False alarms', '']
    lines += ['- `%s` %s:%s: %s' % (use['name'], entry['path'],
                                    use['line'], why)
              for entry, use, why in result['alarms']] or ['none']
    lines += ['', '### Corpus (%s)' % manifest_path, '',
              '| repository | path | commit |', '|---|---|---|']
    lines += ['| %s | `%s` | `%s` |' % (f['entry']['repo'],
                                        f['entry']['path'],
                                        f['entry']['commit'])
              for f in files]
    return '\n'.join(lines) + '\n'


def write_report(out, table, begin='<!-- proof table: begin -->',
                 end='<!-- proof table: end -->'):
    """Replaces the text between the markers in `out` (the page's prose
    stays), or writes the table alone when `out` has no markers."""
    text = ''
    if os.path.exists(out):
        with open(out, encoding='utf-8') as handle:
            text = handle.read()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + begin + '\n' + table + end + rest.split(end, 1)[1]
    else:
        text = table
    with open(out, 'w', encoding='utf-8') as handle:
        handle.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('corpus_dir', nargs='?')
    parser.add_argument('--manifest',
                        default='experiments/migration_corpus.json')
    parser.add_argument('--out', help='markdown page to write the table to')
    parser.add_argument('--build-corpus', metavar='MIRRORS_DIR')
    parser.add_argument('--fetch-help', action='store_true')
    parser.add_argument('--checker-root', default='.',
                        help='source tree whose checker to run')
    parser.add_argument('--probe', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe_main(json.load(sys.stdin))))
        return 0
    entries = load_manifest(args.manifest)
    if args.fetch_help:
        print(fetch_commands(entries))
        return 0
    if not args.corpus_dir:
        fail('give CORPUS_DIR (or --fetch-help)')
    if args.build_corpus:
        build_corpus(entries, args.build_corpus, args.corpus_dir)
        return 0
    result = analyze(entries, args.corpus_dir, args.checker_root)
    table = render(result, args.manifest)
    if args.out:
        write_report(args.out, table)
    print(table.split('\n### Per file')[0])
    print('checker:', result['checker'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
