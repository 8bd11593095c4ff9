"""`python -m resnet_tf1 migrate-check PATH...`: the TF1 API uses in Python
files that break or change meaning on the installed TensorFlow.

It parses each file (a directory: its .py files, recursively), resolves the
import aliases (`import tensorflow as tf`, `import tensorflow.compat.v1 as
tf`, `slim = tf.contrib.slim`, `from tensorflow.contrib import slim`,
`flags = tf.app.flags`, `from tensorflow.python.ops import ...`, ...), and
judges every dotted TensorFlow name it uses, in this order:

1. a rule of rules.py names it (or a prefix of it) and the use meets the
   rule's `when`: the rule says whether it breaks, changes meaning or works;
2. the name does not exist in the installed TensorFlow (or tf-slim):
   it breaks, and the rules do not know it;
3. it is TF2's own variant of a TF1 function (`tf.X` is not
   `tf.compat.v1.X`) and the call passes a positional argument whose
   parameter is named differently in TF1 (a changed meaning), or more
   positional arguments or a keyword TF2 does not take (an error): unknown;
4. otherwise it is unchanged: the same object as TF1's, or a call that binds
   TF2's parameters by TF1's names.

Known limits: aliases are per file, not per scope; names reached through
objects (`session.run`, `dataset.batch`) are not judged, except the method
rules ('.make_one_shot_iterator'); the 'eager' and 'default-graph'
conditions look at the whole file.
"""

import ast
import dataclasses
import importlib
import inspect
import json
import os

from tf1_migrate import rules

STATUS = {'error': 'breaks', 'silent': 'changes meaning', 'works': 'ok'}
TOP_LEVEL = {'tensorflow': 'tf', 'tf_slim': 'tf_slim'}
MODULE_NAME = {'tf': 'tensorflow', 'tf_slim': 'tf_slim'}


@dataclasses.dataclass
class Use:
    path: str
    line: int
    name: str
    status: str  # 'ok', 'breaks', 'changes meaning'
    rule: object = None  # the rules.Rule that judged it, if any
    detail: str = ''  # why, when no rule judged it

    @property
    def known(self):
        return self.rule is not None

    @property
    def new(self):
        """The rule's replacement, for the rest of the name too when the
        rule names a module (tf.app.run -> tf.compat.v1.app.run)."""
        new, name = self.rule.new, self.name
        if name.startswith('tf.compat.v1.') and \
                not name.startswith(self.rule.name):  # a tf.X rule
            name = 'tf.' + name[len('tf.compat.v1.'):]
        if name.startswith(self.rule.name + '.') and rules.DOTTED.match(new):
            return new + name[len(self.rule.name):]
        return new

    def format(self):
        if self.rule is not None:
            return '%s:%d: %s -> %s (%s: %s)' % (
                self.path, self.line, self.name, self.new, self.status,
                rules.SECTIONS[self.rule.section])
        return '%s:%d: %s -> ? (%s, unknown to the rules: %s)' % (
            self.path, self.line, self.name, self.status, self.detail)


@dataclasses.dataclass
class Report:
    uses: list = dataclasses.field(default_factory=list)
    problems: list = dataclasses.field(default_factory=list)
    files: int = 0

    @property
    def flagged(self):
        return [use for use in self.uses if use.status != 'ok']

    @property
    def failed(self):
        return bool(self.flagged or self.problems)

    def summary(self):
        flagged = self.flagged
        names = {use.name for use in self.uses}
        ruled = {use.name for use in self.uses if use.known}
        unknown = {use.name for use in flagged if not use.known}
        known = sum(use.known for use in flagged)
        return {
            'files': self.files, 'uses': len(self.uses),
            'breaking': len(flagged), 'known_fix': known,
            'unknown': len(flagged) - known, 'apis': len(names),
            'apis_with_rule': len(ruled),
            'apis_unchanged': len(names - ruled - unknown),
            'apis_unknown': len(unknown), 'unreadable': len(self.problems)}

    def text(self):
        lines = self.problems + [use.format() for use in self.flagged]
        counts = self.summary()
        lines.append(
            'summary: %(uses)d uses of TensorFlow APIs in %(files)d files; '
            '%(breaking)d break or change meaning: %(known_fix)d with a '
            'known fix, %(unknown)d unknown to the rules' % counts)
        lines.append(
            'apis: %(apis)d distinct; %(apis_with_rule)d matched by a rule, '
            '%(apis_unchanged)d unchanged in TF2, %(apis_unknown)d unknown; '
            '%(unreadable)d paths not checked' % counts)
        return '\n'.join(lines)

    def json(self):
        return json.dumps({
            'summary': self.summary(), 'problems': self.problems,
            'uses': [{'path': use.path, 'line': use.line, 'name': use.name,
                      'status': use.status,
                      'new': use.new if use.known else None,
                      'section': (rules.SECTIONS[use.rule.section]
                                  if use.known else None),
                      'detail': use.detail} for use in self.uses]},
            indent=1)


_MISSING = object()
_resolved = {}


def resolve(name):
    """(object, None) for a dotted name of the installed TensorFlow or
    tf-slim ('tf.train.Saver', 'tf_slim.conv2d'), or (None, error text)."""
    if name not in _resolved:
        _resolved[name] = _resolve(name)
    return _resolved[name]


def _resolve(name):
    root, *parts = name.split('.')
    try:
        value = importlib.import_module(MODULE_NAME[root])
        for part in parts:
            try:
                value = getattr(value, part)
            except AttributeError:
                if not inspect.ismodule(value):
                    raise
                # Submodules TensorFlow does not export as attributes
                # (tensorflow.python.ops...) are still importable.
                value = importlib.import_module(value.__name__ + '.' + part)
    except (AttributeError, ImportError) as error:
        first = error.__context__ if isinstance(error, ImportError) and \
            isinstance(error.__context__, AttributeError) else error
        return None, '%s: %s' % (type(first).__name__, first)
    return value, None


def _rules_for(name):
    """The rules of the longest rule name that is `name` or a prefix of it
    (routes excluded: they are not API uses)."""
    best = []
    for rule in rules.RULES:
        if rule.kind == 'route':
            continue
        if name == rule.name or name.startswith(rule.name + '.'):
            if not best or len(rule.name) > len(best[0].name):
                best = [rule]
            elif rule.name == best[0].name:
                best.append(rule)
    return best


def _holds(when, call, mode):
    if not when:
        return True
    if when in ('eager', 'default-graph'):
        return when in mode
    if call is None:
        return False
    if when.startswith('args>='):
        return len(call.args) >= int(when[len('args>='):])
    if when.startswith('kw='):
        return any(keyword.arg == when[len('kw='):]
                   for keyword in call.keywords)
    if when == 'arg0-not-str':
        return bool(call.args) and not (
            isinstance(call.args[0], ast.Constant) and
            isinstance(call.args[0].value, str))
    raise ValueError('unknown rule condition %r' % when)


def _signature_change(v1, v2, call):
    """('breaks' | 'changes meaning', why) when `call`, written for TF1's
    `v1`, does not bind TF2's `v2` by the same parameter names."""
    try:
        old = inspect.signature(v1).parameters
        new = inspect.signature(v2).parameters
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if any(parameter.kind in kinds for parameter in new.values()) or any(
            isinstance(argument, ast.Starred) for argument in call.args):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY,
                  inspect.Parameter.POSITIONAL_OR_KEYWORD)
    old_names = [name for name, parameter in old.items()
                 if parameter.kind in positional]
    new_names = [name for name, parameter in new.items()
                 if parameter.kind in positional]
    if len(call.args) > len(new_names):
        return 'breaks', 'TF2 takes %d positional arguments, given %d' % (
            len(new_names), len(call.args))
    for index in range(len(call.args)):
        if index < len(old_names) and old_names[index] != new_names[index]:
            return 'changes meaning', (
                'positional argument %d is `%s` in TF2, was `%s`' % (
                    index + 1, new_names[index], old_names[index]))
    for keyword in call.keywords:
        if keyword.arg and keyword.arg not in new:
            return 'breaks', 'TF2 has no `%s=` argument' % keyword.arg
    return None


def judge(name, call, mode):
    """(status, rule, detail) for one use of dotted `name`; `call` is the
    ast.Call when the use is called, `mode` the file's graph conditions."""
    candidates = _rules_for(name)
    if not candidates and name.startswith('tf.compat.v1.') and \
            resolve(name)[1]:
        # Gone from compat.v1 as well: the tf.X rule (contrib, estimator).
        candidates = _rules_for('tf.' + name[len('tf.compat.v1.'):])
    for rule in candidates:
        if _holds(rule.when, call, mode):
            return STATUS[rule.kind], rule, ''
    value, error = resolve(name)
    if error:
        if candidates:  # the rules know this name; this use is unaffected
            return 'ok', None, ''
        return 'breaks', None, error
    if call is not None and name.startswith('tf.') and \
            not name.startswith('tf.compat.'):
        v1, v1_error = resolve('tf.compat.v1.' + name[len('tf.'):])
        if not v1_error and v1 is not value:
            change = _signature_change(v1, value, call)
            if change and not candidates:
                return change[0], None, change[1]
    return 'ok', None, ''


def _canonical(module):
    """'tensorflow.compat.v1' -> 'tf.compat.v1'; None for other modules."""
    root, _, rest = module.partition('.')
    if root not in TOP_LEVEL:
        return None
    return TOP_LEVEL[root] + ('.' + rest if rest else '')


def _dotted(node):
    """'a.b.c' for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return '.'.join([node.id] + parts[::-1])


def _binding(name):
    """What an alias of `name` stands for: `name`, or a rule's dotted
    replacement when the rule moved the module (tf.contrib.slim ->
    tf_slim); None unless it is a module."""
    for rule in _rules_for(name):
        if rules.DOTTED.match(rule.new) and rule.kind == 'error':
            name = rule.new + name[len(rule.name):]
            break
    value, error = resolve(name) if name.split('.')[0] in MODULE_NAME \
        else (None, 'other')
    return name if not error and inspect.ismodule(value) else None


class _FileChecker(ast.NodeVisitor):
    """Collects the uses of one parsed file."""

    def __init__(self, path, tree):
        self.path = path
        self.aliases = {}
        self.uses = []
        self.parents = {}
        names = set()
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
        graph = {'disable_eager_execution', 'disable_v2_behavior'} & names
        self.mode = set() if graph else (
            {'eager'} if 'Graph' in names else {'eager', 'default-graph'})
        self.tree = tree

    def run(self):
        # Aliases first (per file, not per scope: TF1 code imports at the
        # top), then every use.
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._import(node)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                self._assign(node)
        self.visit(self.tree)
        self.uses.sort(key=lambda use: use.line)
        return self.uses

    def _add(self, node, name, call=None):
        status, rule, detail = judge(name, call, self.mode)
        self.uses.append(Use(self.path, node.lineno, name, status, rule,
                             detail))

    def _import(self, node):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = _canonical(alias.name)
                if name is None:
                    continue
                if name not in TOP_LEVEL.values():
                    self._add(node, name)
                if alias.asname:
                    self.aliases[alias.asname] = _binding(name) or name
                else:  # `import tensorflow.x` binds `tensorflow`
                    top = alias.name.split('.')[0]
                    self.aliases[top] = TOP_LEVEL[top]
        elif node.module and not node.level:
            module = _canonical(node.module)
            if module is None:
                return
            for alias in node.names:
                name = module + '.' + alias.name
                self._add(node, name)
                self.aliases[alias.asname or alias.name] = (
                    _binding(name) or name)

    def _assign(self, node):
        name = self._name(node.value)
        if name and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            binding = _binding(name)
            if binding:
                self.aliases[node.targets[0].id] = binding

    def _name(self, node):
        """The canonical dotted name of a chain rooted at an alias."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        root, _, rest = dotted.partition('.')
        if root not in self.aliases:
            return None
        return self.aliases[root] + ('.' + rest if rest else '')

    def visit_Attribute(self, node):
        parent = self.parents.get(node)
        call = parent if isinstance(parent, ast.Call) and \
            parent.func is node else None
        name = self._name(node)
        if name is not None:
            if not (isinstance(parent, ast.Attribute)):  # longest chain
                self._add(node, name, call)
            return
        if call is not None and '.' + node.attr in METHOD_RULES:
            self._add(node, '.' + node.attr, call)
        self.generic_visit(node)

    def visit_Name(self, node):
        parent = self.parents.get(node)
        if node.id in self.aliases and not isinstance(parent, ast.Attribute) \
                and isinstance(node.ctx, ast.Load):
            call = parent if isinstance(parent, ast.Call) and \
                parent.func is node else None
            if self.aliases[node.id] not in TOP_LEVEL.values():
                self._add(node, self.aliases[node.id], call)


METHOD_RULES = {rule.name for rule in rules.RULES
                if rule.name.startswith('.')}


def python_files(path):
    """The .py files under a directory, sorted."""
    found = []
    for directory, subdirectories, names in os.walk(path):
        subdirectories.sort()
        found.extend(os.path.join(directory, name) for name in sorted(names)
                     if name.endswith('.py'))
    return found


def check(paths):
    """A Report over files and directories; bad paths become problems
    (one line each) and the other files are still checked."""
    report = Report()
    for path in paths:
        if os.path.isdir(path):
            files = python_files(path)
        elif not os.path.exists(path):
            report.problems.append('%s: no such file or directory' % path)
            continue
        elif not path.endswith('.py'):
            report.problems.append('%s: not a Python file (.py)' % path)
            continue
        else:
            files = [path]
        for name in files:
            check_file(name, report)
    return report


def check_file(path, report):
    try:
        with open(path, encoding='utf-8') as stream:
            source = stream.read()
        tree = ast.parse(source, path)
    except SyntaxError as error:
        report.problems.append('%s:%s: cannot parse (%s); Python 2 code: '
                               'run 2to3 first' % (path, error.lineno,
                                                   error.msg))
        return
    except (OSError, UnicodeDecodeError, ValueError) as error:
        report.problems.append('%s: cannot read: %s' % (path, error))
        return
    report.files += 1
    report.uses.extend(_FileChecker(path, tree).run())
