"""Step 2 of the inventory: a verdict for every TF1 name, decided by running
the installed TensorFlow (and tf-slim; the tf-keras route in a child
interpreter), written to data/tf1_api.json.

    TF_KERAS_DIR=/work/tf_keras python -m tf1_migrate.build_inventory \\
        --verdicts

For each `tf.X` of data/tf1_inventory.json:
  tf.X resolves        TF1's parameters (read from the 1.15.5 source) are
                       compared with tf.X's: the same names in the same
                       positions and the same literal defaults -> unchanged;
                       else args_changed, replacement tf.compat.v1.X (TF1's
                       function), the differences in `note` and `args`.
  only tf.compat.v1.X  renamed, when tf_upgrade_v2's rename target is the
                       same function (same object or TF1's parameters);
                       else compat_v1.
  neither              tf_keras when tf.compat.v1.X resolves with
                       TF_USE_LEGACY_KERAS=1 and tf-keras; else moved (a
                       rename target that resolves) or gone, with what to
                       do (contrib_routes.TF_GONE, tf_upgrade_v2's words).
The contrib modules' verdicts are contrib_routes.CONTRIB, each replacement
resolved here as well; a verdict whose replacement does not resolve on its
route stops the build.
"""

import ast
import importlib
import importlib.util
import inspect
import json
import os
import sys

from tf1_migrate import build_inventory
from tf1_migrate import contrib_routes
from tf1_migrate import runner

API_PATH = build_inventory.DATA_DIR / 'tf1_api.json'
FIELDS = ('name', 'kind', 'replacement', 'route', 'args', 'note', 'section',
          'mechanical', 'changes')
MODULES = {'tf': 'tensorflow', 'tf_slim': 'tf_slim'}


def resolve(name):
    """(object, None) for a dotted tf.* / tf_slim.* name on the installed
    stack, or (None, 'Type: message')."""
    root, *parts = name.split('.')
    try:
        value = importlib.import_module(MODULES[root])
        for part in parts:
            try:
                value = getattr(value, part)
            except AttributeError:
                if not inspect.ismodule(value):
                    raise
                value = importlib.import_module(value.__name__ + '.' + part)
    except Exception as error:  # whatever a lazy module raises is the answer
        if isinstance(error, ImportError) and isinstance(
                error.__context__, AttributeError):
            error = error.__context__  # the missing attribute, not the path
        return None, '%s: %s' % (type(error).__name__,
                                 str(error).split('\n')[0])
    return value, None


def parameters(value):
    """[[name, default], ...] of a callable on the installed stack, in the
    wheel's notation ('*args', '**kwargs'); None when not introspectable."""
    if inspect.ismodule(value) or not callable(value):
        return None
    try:
        found = list(inspect.signature(value).parameters.values())
        if inspect.isclass(value) and _only_variadic(found):
            # A metaclass __call__ hides the constructor's parameters.
            found = list(inspect.signature(
                value.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    if _only_variadic(found):
        return None
    out = []
    for parameter in found:
        prefix = {parameter.VAR_POSITIONAL: '*',
                  parameter.VAR_KEYWORD: '**'}.get(parameter.kind, '')
        default = (parameter.default
                   if parameter.default is not parameter.empty else _NONE)
        out.append([prefix + parameter.name, default])
    return out


_NONE = object()  # no default


def _only_variadic(parameters_found):
    return bool(parameters_found) and all(parameter.kind in (
        parameter.VAR_POSITIONAL,
        parameter.VAR_KEYWORD) for parameter in parameters_found)


def _literal(source):
    try:
        return True, ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return False, None


def _default_text(value):
    return repr(value) if isinstance(value, (int, float, str, bool,
                                             type(None))) else None


def compare(old, new, keyword_renames=()):
    """The differences between TF1's parameters `old` (wheel notation, default
    sources) and TF2's `new` (parameters()): a dict of lists, empty when a
    TF1 call binds TF2's function identically."""
    old_names = [name for name, _ in old]
    new_names = [name for name, _ in new]
    plain_old = [n for n in old_names if not n.startswith('*')]
    plain_new = [n for n in new_names if not n.startswith('*')]
    # Keyword renames come from tf_upgrade_v2's table only: pairing
    # parameters by position guesses wrong (dtype= is not input_axes=).
    renames = dict(keyword_renames)
    renames = {a: b for a, b in renames.items()
               if a in plain_old and b and b in plain_new}
    changes = {'renamed': sorted(renames.items()),
               'removed': [n for n in plain_old
                           if n not in plain_new and n not in renames],
               'positions': [], 'defaults': [], 'required': []}
    if any(name.startswith('**') for name in new_names):
        changes['removed'] = []  # **kwargs takes them
    positional_new = [n for n, d in new if not n.startswith('*')]
    for index, name in enumerate(plain_old):
        if index >= len(positional_new):
            break
        if positional_new[index] not in (name, renames.get(name)):
            changes['positions'].append(
                (index + 1, name, positional_new[index]))
    old_defaults = dict(old)
    for name, default in new:
        source = renames.get(name, name)
        reverse = {b: a for a, b in renames.items()}.get(name, name)
        if reverse in old_defaults:
            old_source = old_defaults[reverse]
            if old_source is None or default is _NONE:
                if (old_source is None) != (default is _NONE) and \
                        not name.startswith('*'):
                    if default is _NONE:
                        changes['required'].append(name)
                    else:
                        pass  # TF2 gives a default TF1 did not: harmless
                continue
            known, value = _literal(old_source)
            if known and _default_text(default) is not None and \
                    (value != default or type(value) is bool and
                     type(default) is not bool):
                changes['defaults'].append((name, old_source,
                                            _default_text(default)))
        elif default is _NONE and not name.startswith('*') and \
                source not in old_defaults:
            changes['required'].append(name)
    return {key: value for key, value in changes.items() if value}


def describe(changes):
    """One line for compare()'s dict."""
    parts = []
    if 'renamed' in changes:
        parts.append('renamed ' + ', '.join(
            '%s= -> %s=' % pair for pair in changes['renamed']))
    if 'removed' in changes:
        parts.append('removed ' + ', '.join(
            '%s=' % name for name in changes['removed']))
    if 'positions' in changes:
        parts.append('positional ' + ', '.join(
            'argument %d is %s (was %s)' % (index, new, old)
            for index, old, new in changes['positions']))
    if 'defaults' in changes:
        parts.append('defaults ' + ', '.join(
            '%s=%s -> %s' % item for item in changes['defaults']))
    if 'required' in changes:
        parts.append('new required ' + ', '.join(changes['required']))
    return '; '.join(parts)


def verdict(name, kind, replacement='', route='', args=(), note='',
            section='api-verdicts', mechanical=False, changes=None):
    """One verdict; `changes` is compare()'s dict of TF2's tf.X against
    TF1's parameters (args_changed only)."""
    return {'name': name, 'kind': kind, 'replacement': replacement,
            'route': route, 'args': [list(pair) for pair in args],
            'note': ' '.join(note.split()), 'section': section,
            'mechanical': mechanical,
            'changes': {key: [list(item) if isinstance(item, tuple) else item
                              for item in value]
                        for key, value in (changes or {}).items()}}


def _warning(tables, name):
    for table in ('function_warnings', 'module_deprecations'):
        entry = tables[table].get(name)
        if entry:
            return entry[1].replace('<function name>', name)
    return ''


def decide(name, entry, tables, legacy):
    """The verdict of one tf.* name; `legacy` is {tf.compat.v1.X: bool} of
    the tf-keras route."""
    rest = name[len('tf.'):]
    compat = 'tf.compat.v1.' + rest
    if name in contrib_routes.TF_OVERRIDES:
        return verdict(name, **contrib_routes.TF_OVERRIDES[name])
    old = entry['params']
    new_value, new_error = resolve(name)
    v1_value, v1_error = resolve(compat)
    keyword_renames = tables['keyword_renames'].get(name, {}).items()
    if new_error is None:
        if new_value is v1_value and old is None:
            return verdict(name, 'unchanged', name, mechanical=True)
        reference = old
        if reference is None and v1_error is None:
            reference = parameters(v1_value)
            if reference is not None:
                reference = [[n, None if d is _NONE else repr(d)]
                             for n, d in reference]
        new = parameters(new_value)
        if reference is None or new is None:
            note = '' if new_value is v1_value else (
                'tf.X is not tf.compat.v1.X on TF 2.21 (no parameters to '
                'compare)')
            return verdict(name, 'unchanged', name, note=note,
                           mechanical=True)
        changes = compare(reference, new, keyword_renames)
        if not changes:
            note = '' if new_value is v1_value or v1_error else (
                "TF2's own object, TF1's parameters")
            return verdict(name, 'unchanged', name, note=note,
                           mechanical=True)
        replacement = compat if v1_error is None else ''
        note = 'TF2 %s: %s.' % (name, describe(changes))
        keeps = bool(replacement) and _keeps_tf1(old, v1_value)
        if keeps:
            note += ' %s keeps TF1\'s.' % compat
        elif replacement:
            note += ' %s differs from TF1 too: %s.' % (compat, describe(
                compare(old, parameters(v1_value))))
        return verdict(name, 'args_changed', replacement,
                       args=changes.get('renamed', ()), note=note,
                       mechanical=keeps, changes=changes)
    target = tables['symbol_renames'].get(name, '')
    if v1_error is None:
        if target and not target.startswith('tf.compat.v1.'):
            target_value, target_error = resolve(target)
            if target_error is None:
                same = target_value is v1_value
                if not same and old is not None:
                    target_params = parameters(target_value)
                    same = target_params is not None and not compare(
                        old, target_params)
                if same:
                    return verdict(name, 'renamed', target,
                                   note='tf_upgrade_v2 rename; the same '
                                   'function', mechanical=True)
                note = ('%s is TF2\'s version (%s)' % (target, describe(
                    compare(old, parameters(target_value) or [])) or
                    'another object'))
                return _compat_v1(name, old, v1_value, note)
        return _compat_v1(name, old, v1_value)
    if legacy.get(compat):
        return verdict(name, 'tf_keras', compat, route='tf_keras',
                       note='needs `pip install tf-keras~=2.21.0` and '
                       'TF_USE_LEGACY_KERAS=1 before TensorFlow is '
                       'imported (Keras 3: %s)' % v1_error,
                       section='route-tf-keras', mechanical=True)
    if target:
        target_value, target_error = resolve(target)
        if target_error is None:
            return verdict(name, 'moved', target,
                           note='tf_upgrade_v2 rename; check the call: '
                           'not compared', mechanical=False)
    if name in contrib_routes.TF_GONE:
        return verdict(name, **contrib_routes.TF_GONE[name])
    note = _warning(tables, name) or (
        'removed from TF 2.21, tf.compat.v1 included (%s)' % new_error)
    return verdict(name, 'gone', note=note)


def _keeps_tf1(old, v1_value):
    """Whether tf.compat.v1.X on TF 2.21 takes TF1's parameters (True
    when either side has no parameter list to compare)."""
    new = parameters(v1_value)
    return old is None or new is None or not compare(old, new)


def _compat_v1(name, old, v1_value, note=''):
    compat = 'tf.compat.v1.' + name[len('tf.'):]
    keeps = _keeps_tf1(old, v1_value)
    if not keeps:
        note = ('%s differs from TF1: %s. ' % (compat, describe(
            compare(old, parameters(v1_value)))) + note).strip()
    return verdict(name, 'compat_v1', compat, note=note, mechanical=keeps)


def _initializer_sample(factory):
    """5000 numbers drawn by `factory(seed=1)` (or `factory()`) in a
    graph, as float64, or None when it is not an initializer."""
    import numpy as np
    import tensorflow as tf
    try:
        accepts_seed = 'seed' in inspect.signature(factory).parameters
        made = factory(seed=1) if accepts_seed else factory()
        with tf.Graph().as_default():
            tensor = made([100, 50], dtype=tf.float32)
            with tf.compat.v1.Session() as session:
                return np.asarray(session.run(tensor), np.float64)
    except Exception:  # not an initializer with this protocol
        return None


def _resize_sample(function):
    """A 1x4x5x1 ramp resized to 3x3 by `function`, or None."""
    import numpy as np
    import tensorflow as tf
    image = np.arange(20, dtype=np.float32).reshape(1, 4, 5, 1)
    for arguments in (([3, 3],), (3, 3)):
        try:
            with tf.Graph().as_default():
                tensor = function(tf.constant(image), *arguments)
                with tf.compat.v1.Session() as session:
                    return np.asarray(session.run(tensor), np.float64)
        except Exception:  # try the next calling convention
            continue
    return None


def measure(name):
    """{'silent': bool, 'tf1': ..., 'tf2': ...} comparing the numbers of
    TF2's tf.X with tf.compat.v1.X (TF1's), for initializers and image
    resizing; None for other names or when either side does not run."""
    import numpy as np
    rest = name[len('tf.'):]
    new, new_error = resolve(name)
    old, old_error = resolve('tf.compat.v1.' + rest)
    if new_error or old_error or new is old:
        return None
    if 'initializer' in rest or rest.startswith('initializers.'):
        a, b = _initializer_sample(old), _initializer_sample(new)
        if a is None or b is None:
            return None
        summary = [[round(float(x.mean()), 4), round(float(x.std()), 4),
                    round(float(x.min()), 4), round(float(x.max()), 4)]
                   for x in (a, b)]
        spread = max(a.std(), b.std(), 1e-12)
        silent = abs(a.std() - b.std()) > 0.05 * spread or \
            abs(a.mean() - b.mean()) > 0.05 * spread + 1e-6
        return {'silent': bool(silent), 'what': 'mean std min max of '
                '5000 draws, seed 1', 'tf1': summary[0],
                'tf2': summary[1], 'same_bits': bool(np.array_equal(a, b))}
    if rest.startswith('image.resize'):
        a, b = _resize_sample(old), _resize_sample(new)
        if a is None or b is None or a.shape != b.shape:
            return None
        return {'silent': not np.allclose(a, b, atol=1e-5),
                'what': 'a 4x5 ramp resized to 3x3, first row',
                'tf1': [round(float(x), 4) for x in a[0, 0, :, 0]],
                'tf2': [round(float(x), 4) for x in b[0, 0, :, 0]],
                'same_bits': bool(np.array_equal(a, b))}
    return None


def _with_measurement(item):
    """`item` with the measured numbers (measure()) in changes and note."""
    found = measure(item['name'])
    if found is None or item['kind'] not in ('unchanged', 'args_changed'):
        return item
    item['changes']['measured'] = found
    if found['silent']:
        text = ('silent: other numbers for the same call (%s: TF1 %s, '
                'TF2 %s); tf.compat.v1 keeps TF1\'s.' % (
                    found['what'], found['tf1'], found['tf2']))
    elif not found['same_bits']:
        text = ('same distribution, other draws for a given seed (%s: '
                'TF1 %s, TF2 %s).' % (found['what'], found['tf1'],
                                      found['tf2']))
    else:
        return item
    item['note'] = (item['note'] + ' ' + text).strip()
    return item


def legacy_resolutions(names):
    """{name: resolves} for tf.* names in a tf-keras-route interpreter;
    {} when tf-keras is not available."""
    if not (os.environ.get(runner.TF_KERAS_DIR_VARIABLE) or
            importlib.util.find_spec('tf_keras')):
        return {}
    programs = ['result = %s is not None' % name for name in names]
    children = runner.start_subprocesses({'legacy_keras': programs})
    outcomes = runner.collect(children)['legacy_keras']
    return {name: outcome == ('ok', True)
            for name, outcome in zip(names, outcomes)}


def versions():
    import importlib.metadata as metadata
    import keras
    import tensorflow
    found = {'tensorflow': tensorflow.__version__,
             'tf_slim': metadata.version('tf-slim'),
             'keras': keras.__version__,
             'python': '%d.%d' % sys.version_info[:2]}
    extra = os.environ.get(runner.TF_KERAS_DIR_VARIABLE)
    for distribution in metadata.distributions(
            path=[extra] if extra else None):
        if distribution.metadata['Name'] in ('tf-keras', 'tf_keras'):
            found['tf_keras'] = distribution.version
    return found


def build():
    inventory = json.loads(build_inventory.INVENTORY_PATH.read_text())
    tables = inventory['tables']
    names = inventory['names']
    missing = []
    for name in list(names) + inventory['modules']:
        rest = name[len('tf.'):]
        if resolve(name)[1] and resolve('tf.compat.v1.' + rest)[1]:
            missing.append('tf.compat.v1.' + rest)
    routes = contrib_routes.route_names()
    modules = {'tf.compat.v1.' + name[3:] for name in inventory['modules']}
    legacy = legacy_resolutions(sorted(set(missing) | routes['tf_keras'] |
                                       modules))
    if not legacy:
        raise SystemExit('the tf-keras route is not available: set %s to a '
                         '`pip install --target DIR tf-keras~=2.21.0`' %
                         runner.TF_KERAS_DIR_VARIABLE)
    out = [_with_measurement(decide(name, names[name], tables, legacy))
           for name in sorted(names)]
    kinds = {item['name']: item['kind'] for item in out}
    for name in sorted(inventory['modules']):
        value, error = resolve(name)
        members = [kinds[member] for member in kinds
                   if member.rpartition('.')[0] == name]
        if error and members and set(members) == {'tf_keras'}:
            # tf.compat.v1.layers imports on Keras 3; its members raise.
            out.append(verdict(
                name, 'tf_keras', 'tf.compat.v1.' + name[3:],
                route='tf_keras', note='every member needs the tf-keras '
                'route: pip install tf-keras~=2.21.0 and '
                'TF_USE_LEGACY_KERAS=1', section='route-tf-keras',
                mechanical=True))
        elif name in contrib_routes.TF_OVERRIDES:
            out.append(verdict(name, **contrib_routes.TF_OVERRIDES[name]))
        elif error is None:
            out.append(verdict(name, 'unchanged', name, mechanical=True))
        elif resolve('tf.compat.v1.' + name[3:])[1] is None:
            out.append(verdict(name, 'compat_v1', 'tf.compat.v1.' + name[3:],
                               mechanical=True))
        else:
            out.append(decide(name, {'params': None}, tables, legacy))
    for module in inventory['contrib']:
        out.append(verdict('tf.contrib.' + module,
                           **contrib_routes.CONTRIB[module]))
    for module, item in contrib_routes.CONTRIB_BEFORE_1_15.items():
        out.append(verdict('tf.contrib.' + module, **item))
    out.append(verdict('tf.contrib', **contrib_routes.CONTRIB_ROOT))
    failing = [item for item in out if item['replacement'] and not (
        legacy.get(item['replacement']) if item['route'] == 'tf_keras'
        else resolve(item['replacement'])[1] is None)]
    if failing:
        raise SystemExit('replacements that do not resolve: %s' % ', '.join(
            '%(name)s -> %(replacement)s' % item for item in failing))
    return {'verified_on': versions(), 'verdicts': out}


def dumps(data):
    lines = ['{"verified_on": %s,' % json.dumps(data['verified_on'],
                                                sort_keys=True),
             ' "verdicts": [']
    items = sorted(data['verdicts'], key=lambda item: item['name'])
    for index, item in enumerate(items):
        lines.append('  %s%s' % (json.dumps([item[field] for field in FIELDS]),
                                 ',' if index < len(items) - 1 else ''))
    return '\n'.join(lines + [' ]}']) + '\n'


def main():
    data = build()
    API_PATH.write_text(dumps(data))
    counts = {}
    for item in data['verdicts']:
        counts[item['kind']] = counts.get(item['kind'], 0) + 1
    print('wrote %s: %d verdicts %s' % (API_PATH, len(data['verdicts']),
                                        counts))
