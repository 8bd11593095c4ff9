"""Builds the inventory of the TF 1.x public API (data/tf1_inventory.json)
from TensorFlow's own material, then the verdicts (data/tf1_api.json).

    pip download --no-deps --python-version 3.7 \\
        --platform manylinux2010_x86_64 --only-binary=:all: \\
        tensorflow==1.15.5 -d /work/tf115
    python -m tf1_migrate.build_inventory --wheel \\
        /work/tf115/tensorflow-1.15.5-cp37-cp37m-manylinux2010_x86_64.whl
    TF_KERAS_DIR=/work/tf_keras python -m tf1_migrate.build_inventory \\
        --verdicts

Step 1 (--wheel) reads the 1.15.5 wheel as text, never importing it:
every name the generated API files import (`tensorflow_core/__init__.py`
for `tf.*`, `tensorflow_core/_api/v1/**/__init__.py` for `tf.a.b.*`), the
TF1 parameter list of each, read from the source file that defines it, and
the `tensorflow_core/contrib/*` packages. It adds the tables tf_upgrade_v2
ships in the installed TensorFlow (tensorflow/tools/compatibility), or the
wheel's copy of a table the installed one lacks.

Step 2 (--verdicts, verdicts.py) decides a verdict per name by running the
installed TensorFlow; it needs TF_KERAS_DIR for the tf-keras route.
"""

import argparse
import ast
import json
import pathlib
import re
import sys
import zipfile

DATA_DIR = pathlib.Path(__file__).resolve().parent / 'data'
INVENTORY_PATH = DATA_DIR / 'tf1_inventory.json'
API_ROOT = 'tensorflow_core/_api/v1/'
ROOT_FILE = 'tensorflow_core/__init__.py'
CONTRIB_ROOT = 'tensorflow_core/contrib/'
COMPAT_ROOT = 'tensorflow_core/tools/compatibility/'
# Outside the inventory's names: the compat modules (TF1's own view of
# TF2 and back), contrib (listed as modules) and raw_ops (generated op
# wrappers, one per kernel, the same in TF2).
EXCLUDED = ('tf.compat', 'tf.contrib', 'tf.raw_ops')
# Names the root module sets without an import line.
ASSIGNED = {'tf.contrib': 'tensorflow.contrib',
            'tf.flags': 'tensorflow.python.platform.flags',
            'tf.app.flags': 'tensorflow.python.platform.flags'}


def excluded(name):
    return any(name == prefix or name.startswith(prefix + '.')
               for prefix in EXCLUDED)


class Wheel:
    """The files of a wheel, read as text."""

    def __init__(self, path):
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as error:
            raise SystemExit('--wheel %s: cannot read the wheel (%s)' %
                             (path, error))
        self.files = set(self.zip.namelist())
        if ROOT_FILE not in self.files:
            raise SystemExit('--wheel %s: no %s; not a TensorFlow 1.15 '
                             'wheel' % (path, ROOT_FILE))
        self.name = pathlib.Path(path).name
        self._trees, self._sources = {}, {}

    def text(self, path):
        return self.zip.read(path).decode('utf-8')

    def source(self, module):
        """The source of module `tensorflow.x.y`, or ''."""
        if module not in self._sources:
            path = module.replace('.', '/')
            path = re.sub(r'^tensorflow/', 'tensorflow_core/', path)
            self._sources[module] = ''
            for candidate in (path + '.py', path + '/__init__.py'):
                if candidate in self.files:
                    self._sources[module] = self.text(candidate)
                    break
        return self._sources[module]

    def tree(self, module, mentioning=''):
        """The parsed source of `tensorflow.x.y`; None when there is none
        or it never mentions `mentioning` (parsing is the slow part)."""
        source = self.source(module)
        if not source or mentioning not in source:
            return None
        if module not in self._trees:
            self._trees[module] = ast.parse(source)
        return self._trees[module]


def api_files(wheel):
    """(dotted module, file) of the generated tf.* API files."""
    yield 'tf', ROOT_FILE
    for path in sorted(wheel.files):
        # API_ROOT's own __init__.py is empty: the root is ROOT_FILE.
        if path.startswith(API_ROOT) and path.endswith('/__init__.py') and \
                path != API_ROOT + '__init__.py':
            inner = path[len(API_ROOT):-len('/__init__.py')]
            yield 'tf.' + inner.replace('/', '.'), path


def api_names(wheel):
    """({tf name: (defining module, attribute)}, [module names])."""
    names, modules = {}, []
    for dotted, path in api_files(wheel):
        if excluded(dotted):
            continue
        if dotted != 'tf':
            modules.append(dotted)
        tree = ast.parse(wheel.text(path))
        deleted = {target.id for node in ast.walk(tree)
                   if isinstance(node, ast.Delete)
                   for target in node.targets
                   if isinstance(target, ast.Name)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module or \
                    node.module == '__future__' or \
                    node.module.startswith('tensorflow._api.'):
                continue
            for alias in node.names:
                public = alias.asname or alias.name
                name = dotted + '.' + public
                if not public.startswith('_') and not excluded(name) and \
                        public not in deleted:
                    names[name] = (node.module, alias.name)
    for name, module in ASSIGNED.items():
        if not excluded(name):
            names[name] = (module, '')
    return names, sorted(modules)


def contrib_modules(wheel):
    """The packages under tensorflow_core/contrib/."""
    return sorted({path.split('/')[2] for path in wheel.files
                   if path.startswith(CONTRIB_ROOT) and
                   path.endswith('/__init__.py') and path.count('/') == 3})


def _parameters(arguments):
    """[[name, default source or None], ...] of an ast.arguments; '*' and
    '**' prefix the variadic ones."""
    positional = arguments.posonlyargs + arguments.args
    defaults = [None] * (len(positional) - len(arguments.defaults)) + [
        ast.unparse(default) for default in arguments.defaults]
    out = [[arg.arg, default] for arg, default in zip(positional, defaults)]
    if arguments.vararg:
        out.append(['*' + arguments.vararg.arg, None])
    for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults):
        out.append([arg.arg, None if default is None
                    else ast.unparse(default)])
    if arguments.kwarg:
        out.append(['**' + arguments.kwarg.arg, None])
    return out


def _definition(source, attribute):
    """The parsed top-level `def attribute` / `class attribute` block of
    `source` alone, or None: parsing only that block is ~50x faster than
    parsing the module (the generated op modules are megabytes)."""
    match = re.search(r'^(?:def|class)\s+%s\b' % re.escape(attribute),
                      source, re.MULTILINE)
    if not match:
        return None
    end = re.compile(r'^[^\s#)]', re.MULTILINE).search(source, match.end())
    try:
        return ast.parse(source[match.start():end.start() if end else None])
    except SyntaxError:  # the block did not end where it seemed to
        return None


def signature(wheel, module, attribute, depth=0):
    """TF1's parameters of `module.attribute`, from the wheel's source;
    None when it is not a plain def or a class with __init__ there."""
    if depth > 5 or not attribute:
        return None
    tree = _definition(wheel.source(module), attribute) or \
        wheel.tree(module, attribute)
    if tree is None:
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.name == attribute:
            return _parameters(node.args)
        if isinstance(node, ast.ClassDef) and node.name == attribute:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and \
                        item.name == '__init__':
                    return _parameters(item.args)[1:]
            return None
    for node in tree.body:  # `name = other` and re-exports
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == attribute
                for target in node.targets):
            if isinstance(node.value, ast.Name):
                return signature(wheel, module, node.value.id, depth + 1)
            return None
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (alias.asname or alias.name) == attribute:
                    return signature(wheel, node.module, alias.name,
                                     depth + 1)
                if alias.name == '*':
                    found = signature(wheel, node.module, attribute,
                                      depth + 1)
                    if found is not None:
                        return found
    return None


TABLES = {
    # table: (module file, attribute of the module or of TFAPIChangeSpec)
    'symbol_renames': ('all_renames_v2', 'symbol_renames'),
    'renames': ('renames_v2', 'renames'),
    'reorders': ('reorders_v2', 'reorders'),
    'module_deprecations': ('module_deprecations_v2', 'MODULE_DEPRECATIONS'),
    'keyword_renames': ('tf_upgrade_v2', 'function_keyword_renames'),
    'function_warnings': ('tf_upgrade_v2', 'function_warnings'),
    'function_arg_warnings': ('tf_upgrade_v2', 'function_arg_warnings'),
    'function_transformers': ('tf_upgrade_v2', 'function_transformers'),
}


def _plain(value):
    """A table as JSON: dicts with string keys, callables by name."""
    if isinstance(value, dict):
        return {(key if isinstance(key, str) else '.'.join(map(str, key))):
                _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        items = [_plain(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set) else items
    if callable(value):
        return getattr(value, '__name__', 'callable')
    return value if isinstance(value, (str, int, float, bool)) or \
        value is None else str(value)


def upgrade_tables(wheel):
    """({table: data}, {table: where it was read}). The installed
    TensorFlow's tables first; a missing one from the wheel's copy,
    read as literal Python."""
    tables, origin = {}, {}
    spec = None
    for table, (module_name, attribute) in TABLES.items():
        try:
            module = __import__('tensorflow.tools.compatibility.' +
                                module_name, fromlist=['_'])
            if module_name == 'tf_upgrade_v2':
                spec = spec or module.TFAPIChangeSpec()
                value = getattr(spec, attribute)
            else:
                value = getattr(module, attribute)
            import tensorflow
            origin[table] = 'tensorflow %s: tensorflow/tools/compatibility/' \
                '%s.py' % (tensorflow.__version__, module_name)
        except (ImportError, AttributeError):
            value = _literal_table(wheel, module_name, attribute)
            origin[table] = '%s: %s%s.py' % (wheel.name, COMPAT_ROOT,
                                            module_name)
        tables[table] = _plain(value)
    return tables, origin


def _literal_table(wheel, module_name, attribute):
    path = COMPAT_ROOT + module_name + '.py'
    for node in ast.walk(ast.parse(wheel.text(path))):
        if isinstance(node, ast.Assign) and any(
                ast.unparse(target).split('.')[-1] == attribute
                for target in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                break
    raise SystemExit('%s: no literal %s in %s' % (wheel.name, attribute,
                                                  path))


def inventory(wheel):
    names, modules = api_names(wheel)
    entries = {}
    for name, (module, attribute) in sorted(names.items()):
        entries[name] = {'from': module + ('.' + attribute
                                           if attribute else ''),
                         'params': signature(wheel, module, attribute)}
    tables, origin = upgrade_tables(wheel)
    return {'wheel': wheel.name, 'names': entries, 'modules': modules,
            'contrib': contrib_modules(wheel), 'tables': tables,
            'tables_from': origin}


def dumps(data):
    """Sorted JSON, one entry per line at the second level, for diffs."""
    lines = ['{']
    keys = sorted(data)
    for index, key in enumerate(keys):
        value = data[key]
        comma = ',' if index < len(keys) - 1 else ''
        if isinstance(value, dict) and value:
            lines.append(' %s: {' % json.dumps(key))
            inner = sorted(value)
            for position, item in enumerate(inner):
                lines.append('  %s: %s%s' % (
                    json.dumps(item), json.dumps(value[item], sort_keys=True),
                    ',' if position < len(inner) - 1 else ''))
            lines.append(' }' + comma)
        elif isinstance(value, list) and value:
            lines.append(' %s: [' % json.dumps(key))
            for position, item in enumerate(value):
                lines.append('  %s%s' % (
                    json.dumps(item, sort_keys=True),
                    ',' if position < len(value) - 1 else ''))
            lines.append(' ]' + comma)
        else:
            lines.append(' %s: %s%s' % (json.dumps(key),
                                        json.dumps(value, sort_keys=True),
                                        comma))
    return '\n'.join(lines + ['}']) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--wheel', help='the tensorflow 1.15.5 wheel: '
                        'rebuild data/tf1_inventory.json from it')
    parser.add_argument('--verdicts', action='store_true',
                        help='rebuild data/tf1_api.json by running the '
                        'installed TensorFlow on every name')
    args = parser.parse_args(argv)
    if not args.wheel and not args.verdicts:
        parser.error('give --wheel PATH, --verdicts, or both')
    if args.wheel:
        data = inventory(Wheel(args.wheel))
        DATA_DIR.mkdir(exist_ok=True)
        INVENTORY_PATH.write_text(dumps(data))
        print('wrote %s: %d names, %d modules, %d contrib modules' % (
            INVENTORY_PATH, len(data['names']), len(data['modules']),
            len(data['contrib'])))
    if args.verdicts:
        from tf1_migrate import verdicts
        verdicts.main()


if __name__ == '__main__':
    sys.exit(main())
