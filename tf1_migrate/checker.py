"""`migrate-check PATH...`: the TF1 API uses in Python files and notebooks
that break or change meaning on the installed TensorFlow.

Each file is read by source.py (encodings, BOM, notebooks, size and time
bounds, non-regular files refused unopened), its import aliases resolved
(`import tensorflow as tf`, `import tensorflow.compat.v1 as tf`, `slim =
tf.contrib.slim`, `from tensorflow.contrib import slim`, `flags =
tf.app.flags`, `from tensorflow.python.ops import ...`), and every dotted
TensorFlow name it uses judged by judge.py (rules, then the inventory's
verdict, then introspection); patterns.py adds what a name cannot show
(`Dimension.value`, dataset iterator methods, `tf.name_scope(None)`).
report.py prints the result; diff.py turns the mechanical replacements
into a patch.

The walk is iterative (ast.walk), so deeply nested expressions cost no
recursion, and checks the file's time budget as it goes.

Known limits: aliases and assignments are per file, not per scope; names
reached through objects (`session.run`, `dataset.batch`) are not judged
except the patterns; the 'eager' and 'default-graph' conditions look at
the whole file.
"""

import ast
import inspect
import os
import time

from tf1_migrate import diff
from tf1_migrate import judge
from tf1_migrate import patterns
from tf1_migrate import report as report_lib
from tf1_migrate import rules
from tf1_migrate import source as source_lib

TOP_LEVEL = {'tensorflow': 'tf', 'tf_slim': 'tf_slim'}
METHOD_RULES = {rule.name for rule in rules.RULES
                if rule.name.startswith('.')}
Report = report_lib.Report
resolve = judge.resolve


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
    for rule in judge.rules_for(name):
        if rules.DOTTED.match(rule.new) and rule.kind == 'error':
            name = rule.new + name[len(rule.name):]
            break
    value, error = resolve(name) if name.split('.')[0] in \
        judge.MODULE_NAME else (None, 'other')
    return name if not error and inspect.ismodule(value) else None


class FileModel:
    """One file (all its notebook cells together): aliases, assignments,
    functions, and the uses found in it."""

    def __init__(self, source, deadline):
        self.source = source
        self.deadline = deadline
        self.aliases = {}
        self.parents = {}
        self.unit_of = {}
        self.assigned = {}  # name -> [value nodes], per file
        self.functions = {}  # name -> FunctionDef
        self.returns_function, self.returns_string = set(), set()
        self.attribute_names = set()
        self.uses = []
        self.nodes = []
        for unit in source.units:
            for node in ast.walk(unit.tree):
                self._tick()
                self.nodes.append(node)
                self.unit_of[node] = unit
                for child in ast.iter_child_nodes(node):
                    self.parents[child] = node
                if isinstance(node, ast.Attribute):
                    self.attribute_names.add(node.attr)
        graph = {'disable_eager_execution', 'disable_v2_behavior'} & \
            self.attribute_names
        self.mode = set() if graph else (
            {'eager'} if 'Graph' in self.attribute_names
            else {'eager', 'default-graph'})
        self.data_world = 'v2'

    def _tick(self, every=[0]):
        every[0] += 1
        if every[0] % 4096 == 0 and time.monotonic() > self.deadline:
            raise source_lib.Refused('timeout', 'checking took over the '
                                     'time budget (--timeout): stopped')

    # -- what patterns.py asks --------------------------------------------
    def segment(self, node):
        unit = self.unit_of.get(node)
        text = ast.get_source_segment(unit.text, node) if unit else None
        return text if text and '\n' not in text else 'x'

    def name_of(self, node):
        """The canonical dotted name of a chain rooted at an alias."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        root, _, rest = dotted.partition('.')
        if root not in self.aliases:
            return None
        return self.aliases[root] + ('.' + rest if rest else '')

    def is_called(self, node):
        parent = self.parents.get(node)
        return isinstance(parent, ast.Call) and parent.func is node

    def device_function(self, argument):
        return patterns.device_function(argument, self)

    def dimension_names(self, node):
        """Names bound by a comprehension or for loop over a shape that
        encloses `node`."""
        names = set()
        parent = self.parents.get(node)
        while parent is not None:
            loops = parent.generators if isinstance(parent, (
                ast.ListComp, ast.SetComp, ast.GeneratorExp,
                ast.DictComp)) else [parent] if isinstance(
                    parent, ast.For) else []
            for loop in loops:
                if isinstance(loop.target, ast.Name) and \
                        patterns.is_shape(loop.iter, self):
                    names.add(loop.target.id)
            parent = self.parents.get(parent)
        return names

    def defaults_to_none(self, name, node):
        """Whether `name` is a parameter, defaulting to None, of the
        function enclosing `node`."""
        parent = self.parents.get(node)
        while parent is not None and not isinstance(
                parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parent = self.parents.get(parent)
        if parent is None:
            return False
        arguments = parent.args
        positional = arguments.posonlyargs + arguments.args
        pairs = list(zip(positional[len(positional) -
                                    len(arguments.defaults):],
                         arguments.defaults)) + list(zip(
                             arguments.kwonlyargs, arguments.kw_defaults))
        return any(argument.arg == name.id and isinstance(
            default, ast.Constant) and default.value is None
            for argument, default in pairs)

    # -- the walk ----------------------------------------------------------
    def run(self):
        # Aliases first (per file, not per scope: TF1 code imports at the
        # top), then assignments and functions, then every use.
        for node in self.nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._import(node)
        for node in self.nodes:
            self._tick()
            if isinstance(node, ast.Assign):
                self._assign(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(node)
        v1_data = [node for node in self.nodes
                   if isinstance(node, ast.Attribute) and (
                       self.name_of(node) or '').startswith(
                           'tf.compat.v1.data')]
        if v1_data or any(alias.startswith('tf.compat.v1')
                          for alias in self.aliases.values()):
            self.data_world = 'v1'
        for node in self.nodes:
            self._tick()
            if isinstance(node, ast.Attribute):
                self._attribute(node)
            elif isinstance(node, ast.Name):
                self._name_use(node)
        self.uses.sort(key=lambda use: (use.cell or 0, use.line, use.col))
        return self.uses

    def _add(self, node, name, call=None, found=None):
        found = found or judge.judge(name, call, self)
        unit = self.unit_of[node]
        line_text = self._line(unit, node.lineno)
        col = len(line_text.encode('utf-8')[:node.col_offset].decode(
            'utf-8', 'replace')) + 1
        rewrite, wrap = found.pop('rewrite', None), found.pop('wrap', None)
        use = report_lib.Finding(self.source.path, node.lineno, col,
                                 cell=unit.cell, name=name, **found)
        if use.status != 'ok' and not self.source.notebook:
            use.edits = diff.edits_for(self, node, call, rewrite, wrap,
                                       use) or ()
        self.uses.append(use)

    def _line(self, unit, number, cache={}):
        if cache.get('unit') is not unit:  # split each unit once
            cache.update(unit=unit, lines=source_lib.split_lines(unit.text))
        lines = cache['lines']
        return lines[number - 1] if 0 < number <= len(lines) else ''

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
                if alias.name == '*':
                    continue
                name = module + '.' + alias.name
                self._add(node, name)
                self.aliases[alias.asname or alias.name] = (
                    _binding(name) or name)

    def _assign(self, node):
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.assigned.setdefault(target.id, []).append(node.value)
        name = self.name_of(node.value)
        if name and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            binding = _binding(name)
            if binding:
                self.aliases[node.targets[0].id] = binding

    def _function(self, node):
        self.functions[node.name] = node
        inner = {child.name for child in ast.walk(node) if child is not node
                 and isinstance(child, (ast.FunctionDef, ast.Lambda)) and
                 hasattr(child, 'name')}
        returns = [child.value for child in ast.walk(node)
                   if isinstance(child, ast.Return) and child.value]
        if any(isinstance(value, ast.Lambda) or isinstance(
                value, ast.Name) and value.id in inner for value in returns):
            self.returns_function.add(node.name)
        elif returns and all(isinstance(value, (ast.JoinedStr, ast.BinOp))
                             or isinstance(value, ast.Constant) and
                             isinstance(value.value, str)
                             for value in returns):
            self.returns_string.add(node.name)

    def _attribute(self, node):
        parent = self.parents.get(node)
        call = parent if self.is_called(node) else None
        name = self.name_of(node)
        if name is not None:
            if not isinstance(parent, ast.Attribute):  # longest chain
                found = None
                if name == 'tf.name_scope' and call is not None:
                    found = patterns.name_scope_none(call, self)
                    if found and found['status'] == 'breaks':
                        found['rewrite'] = ('name', found['replacement'])
                self._add(node, name, call, found)
            return
        method = '.' + node.attr
        if node.attr in patterns.ITERATOR_METHODS + \
                patterns.DATASET_ATTRIBUTES:
            found = patterns.dataset_method(node, self)
            if found is None:
                return  # a tf.compat.v1.data dataset or an iterator
            if method in METHOD_RULES and call is not None:
                ruled = judge.judge(method, call, self)
                if ruled['status'] != 'ok':
                    # The rule's text; the pattern's certainty and rewrite.
                    ruled.update(status=found['status'], wrap=found['wrap'])
                    if found['status'] == 'check':
                        ruled['message'] = found['message']
                    found = ruled
            self._add(node, method, call, found)
            return
        if call is not None and method in METHOD_RULES:
            self._add(node, method, call)
            return
        found = patterns.dimension_value(node, self)
        if found:
            self._add(node, '.value', None, found)

    def _name_use(self, node):
        parent = self.parents.get(node)
        if node.id in self.aliases and not isinstance(parent, ast.Attribute) \
                and isinstance(node.ctx, ast.Load):
            call = parent if isinstance(parent, ast.Call) and \
                parent.func is node else None
            if self.aliases[node.id] not in TOP_LEVEL.values():
                self._add(node, self.aliases[node.id], call)


def python_files(path):
    """The .py and .ipynb files under a directory, sorted."""
    return source_lib.paths_under(path, [])


def check(paths, max_bytes=source_lib.MAX_BYTES,
          budget=source_lib.TIME_BUDGET):
    """A Report over files and directories; a path that cannot be checked
    becomes one problem line and the others are still checked."""
    report = Report()
    for path in paths:
        try:
            is_directory = os.path.isdir(path)
        except (OSError, ValueError):
            is_directory = False
        if is_directory:
            refused = []
            files = source_lib.paths_under(path, refused)
            report.problems.extend(report_lib.problem(name, why)
                                   for name, why in refused)
        elif not os.path.lexists(path):
            report.problems.append(report_lib.problem(
                path, source_lib.Refused('unreadable',
                                         'no such file or directory')))
            continue
        elif not path.endswith(source_lib.SUFFIXES):
            report.problems.append(report_lib.problem(
                path, source_lib.Refused('not-python', 'not a Python file '
                                         '(.py or .ipynb)')))
            continue
        else:
            files = [path]
        for name in files:
            check_file(name, report, max_bytes, budget)
    return report


def check_file(path, report, max_bytes=source_lib.MAX_BYTES,
               budget=source_lib.TIME_BUDGET):
    try:
        source = source_lib.read(path, max_bytes, budget)
        for refused in source.refused_cells:
            report.problems.append(report_lib.problem(path, refused))
        deadline = time.monotonic() + budget
        uses = FileModel(source, deadline).run()
    except source_lib.Refused as refused:
        report.problems.append(report_lib.problem(path, refused))
        return
    report.files += 1
    report.uses.extend(uses)
    report.sources.append(source)
