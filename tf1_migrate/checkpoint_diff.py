"""Which variables of a ported graph will not restore from a TF1 checkpoint.

    python -m tf1_migrate.checkpoint_diff --checkpoint CKPT \\
        --graph ported.py:build_graph
    python -m tf1_migrate.checkpoint_diff --checkpoint CKPT \\
        --meta_graph ported.meta

CKPT is a checkpoint prefix (`model.ckpt-1000`) or a directory holding a
`checkpoint` state file. `--graph FILE.py:FUNCTION` imports FILE and calls
FUNCTION() with a fresh tf.Graph as the default graph (FILE.py alone: its
top level builds the graph); `--meta_graph` imports a MetaGraphDef. Run it in
the environment the ported program runs in (on the tf-keras route, with
TF_USE_LEGACY_KERAS=1 and tf-keras importable).

It lists the graph's variables that a `tf.compat.v1.train.Saver` would not
restore by name: renamed (the checkpoint holds a variable of the same shape
and dtype under another name, guessed from the layer names TF1's routes give,
e.g. `dense/kernel` <-> `fully_connected/weights`), missing (nothing fits),
and other shape or dtype; then prints an `assignment_map` (checkpoint name
-> graph name) for `tf.compat.v1.train.init_from_checkpoint`, or a Saver's
`var_list`, that restores every variable it can. Exit status: 0 when every
variable restores by name, 1 when some do not, 2 when the checkpoint or the
graph cannot be read (one line naming it).
"""

import argparse
import collections
import dataclasses
import functools
import importlib.util
import os
import re
import sys

# TensorFlow's C++ start-up lines are noise in this command's output.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# Layer and variable names that TF1's routes give the same thing
# (tf.layers / Keras, tf-slim): compared after mapping through this table.
SYNONYMS = {
    'kernel': 'weights', 'bias': 'biases', 'dense': 'fully_connected',
    'conv2d': 'Conv', 'conv1d': 'Conv', 'conv3d': 'Conv',
    'conv2d_transpose': 'Conv2d_transpose',
    'separable_conv2d': 'SeparableConv2d',
    'batch_normalization': 'BatchNorm',
    'depthwise_kernel': 'depthwise_weights',
    'pointwise_kernel': 'pointwise_weights',
}
_INDEXED = re.compile(r'^(.*?)(?:_(\d+))?$')

Variable = collections.namedtuple('Variable', 'shape dtype')


class InputError(Exception):
    """A checkpoint or graph that cannot be read; its message is one line."""


@dataclasses.dataclass
class Diff:
    restores: list       # graph names found by name, same shape and dtype
    renamed: dict        # graph name -> checkpoint name
    missing: list        # graph names with nothing to restore from
    other_shape: list    # (graph name, graph shape, ckpt name, ckpt shape)
    other_dtype: list    # (graph name, graph dtype, ckpt dtype)
    unused: list         # checkpoint names no graph variable reads

    @property
    def ok(self):
        return not (self.renamed or self.missing or self.other_shape or
                    self.other_dtype)

    def assignment_map(self):
        """checkpoint name -> graph name, for every variable that can
        restore (by name or renamed)."""
        mapping = {name: name for name in self.restores}
        mapping.update({old: new for new, old in self.renamed.items()})
        return dict(sorted(mapping.items(), key=lambda item: item[1]))


def checkpoint_variables(path):
    """{name: Variable} of a checkpoint prefix or directory."""
    import tensorflow as tf
    prefix = path
    if os.path.isdir(path):
        prefix = tf.train.latest_checkpoint(path)
        if prefix is None:
            raise InputError('--checkpoint %s: a directory without a '
                             "'checkpoint' state file naming a checkpoint"
                             % path)
    elif not tf.io.gfile.exists(path + '.index'):
        raise InputError('--checkpoint %s: no such checkpoint (no %s.index)'
                         % (path, path))
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except Exception as error:  # DataLossError, NotFoundError, ...
        raise InputError('--checkpoint %s: cannot read it: %s: %s' % (
            path, type(error).__name__, _first_line(error))) from None
    return {name: Variable(tuple(shapes[name]), dtypes[name].name)
            for name in shapes}


def graph_variables(graph):
    """{name: Variable} of a graph's global variables."""
    import tensorflow as tf
    with graph.as_default():
        variables = tf.compat.v1.global_variables()
    return {variable.op.name: Variable(
        tuple(variable.shape.as_list()), variable.dtype.base_dtype.name)
        for variable in variables}


def build_graph(spec):
    """The tf.Graph that `FILE.py[:FUNCTION]` builds."""
    import tensorflow as tf
    path, _, function = spec.partition(':')
    if not os.path.isfile(path):
        raise InputError('--graph %s: no such file' % path)
    graph = tf.Graph()
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)
    try:
        with graph.as_default():
            module_spec = importlib.util.spec_from_file_location(
                '_ported_graph', path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            if function:
                if not callable(getattr(module, function, None)):
                    raise InputError('--graph %s: %s has no function %r' %
                                     (spec, path, function))
                getattr(module, function)()
    except InputError:
        raise
    except BaseException as error:  # the user's code: report, do not crash
        raise InputError('--graph %s raised %s: %s' % (
            spec, type(error).__name__, _first_line(error))) from None
    finally:
        sys.path.remove(directory)
    return graph


def import_meta_graph(path):
    """The tf.Graph of a MetaGraphDef file."""
    import tensorflow as tf
    if not os.path.isfile(path):
        raise InputError('--meta_graph %s: no such file' % path)
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.compat.v1.train.import_meta_graph(path, clear_devices=True)
    except Exception as error:
        raise InputError('--meta_graph %s: cannot import it: %s: %s' % (
            path, type(error).__name__, _first_line(error))) from None
    return graph


def diff(graph_vars, ckpt_vars):
    """How each graph variable restores from the checkpoint's."""
    restores, missing, other_shape, other_dtype = [], [], [], []
    unmatched = []
    for name, variable in graph_vars.items():
        found = ckpt_vars.get(name)
        if found is None:
            unmatched.append(name)
        elif found.shape != variable.shape:
            other_shape.append((name, variable.shape, name, found.shape))
        elif found.dtype != variable.dtype:
            other_dtype.append((name, variable.dtype, found.dtype))
        else:
            restores.append(name)
    free = [name for name in ckpt_vars if name not in graph_vars]
    renamed = _match(unmatched, graph_vars, free, ckpt_vars)
    taken = set(renamed.values())
    for name in unmatched:
        if name in renamed:
            continue
        # Same canonical name, other shape: a changed layer, not a new one.
        same = [old for old in free if old not in taken and
                _canonical(old) == _canonical(name)]
        if same:
            taken.add(same[0])
            other_shape.append((name, graph_vars[name].shape, same[0],
                                ckpt_vars[same[0]].shape))
        else:
            missing.append(name)
    unused = sorted(name for name in free if name not in taken)
    return Diff(restores, renamed, missing, other_shape, other_dtype, unused)


def _match(names, graph_vars, free, ckpt_vars):
    """graph name -> checkpoint name for the renamed variables: same shape
    and dtype, same variable kind (the last name component), the most
    trailing components alike; ties go by the layers' order of creation."""
    graph_order = _orders(names, graph_vars)
    ckpt_order = _orders(free, ckpt_vars)
    candidates = []
    for name in names:
        for old in free:
            if (ckpt_vars[old] != graph_vars[name] or
                    _canonical(old)[-1] != _canonical(name)[-1]):
                continue
            score = _common_suffix(_canonical(old), _canonical(name))
            distance = abs(ckpt_order[old] - graph_order[name])
            candidates.append((-score, distance, name, old))
    renamed, used = {}, set()
    for _, _, name, old in sorted(candidates):
        if name not in renamed and old not in used:
            renamed[name] = old
            used.add(old)
    return renamed


def _orders(names, variables):
    """name -> its rank among the names of the same kind (last component)
    and the same shape and dtype, layers in creation order (`dense` <
    `dense_1` < `dense_2` ...)."""
    groups = collections.defaultdict(list)
    for name in names:
        groups[_canonical(name)[-1], variables[name]].append(name)
    return {name: rank for group in groups.values()
            for rank, name in enumerate(sorted(group, key=_natural))}


def _natural(name):
    """Sort key: each component as (base, index), so `dense_10` follows
    `dense_9` and `dense` comes first."""
    key = []
    for part in name.split('/'):
        base, index = _INDEXED.match(part).groups()
        key.append((base, int(index or -1)))
    return key


@functools.lru_cache(maxsize=None)
def _canonical(name):
    """The name's components, synonyms mapped to one spelling."""
    parts = []
    for part in name.split('/'):
        base, index = _INDEXED.match(part).groups()
        base = SYNONYMS.get(base, base)
        parts.append(base if index is None else '%s_%s' % (base, index))
    return tuple(parts)


def _common_suffix(a, b):
    count = 0
    while count < min(len(a), len(b)) and a[-1 - count] == b[-1 - count]:
        count += 1
    return count


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else ''


def report(result, checkpoint, graph_label):
    """The diff as text: the lists, then the map to restore with."""
    lines = ['%s: %d variables restore by name' % (
        graph_label, len(result.restores))]
    if result.renamed:
        lines.append('renamed (%d): the checkpoint has them under another '
                     'name (guessed by shape and layer names; check them)' %
                     len(result.renamed))
        lines += ['  %s <- %s' % (new, old)
                  for new, old in sorted(result.renamed.items())]
    if result.missing:
        lines.append('missing (%d): nothing in the checkpoint fits; they '
                     'keep their initial values' % len(result.missing))
        lines += ['  %s' % name for name in result.missing]
    if result.other_shape:
        lines.append('other shape (%d):' % len(result.other_shape))
        lines += ['  %s %s <- %s %s' % (name, list(shape), old,
                                          list(old_shape))
                  for name, shape, old, old_shape in result.other_shape]
    if result.other_dtype:
        lines.append('other dtype (%d):' % len(result.other_dtype))
        lines += ['  %s %s <- %s' % item for item in result.other_dtype]
    if result.unused:
        lines.append('unused checkpoint entries (%d): %s' % (
            len(result.unused), ', '.join(result.unused)))
    if result.renamed:
        lines += [
            '# checkpoint name -> graph variable name, every variable that '
            'can restore:',
            'assignment_map = {']
        lines += ['    %r: %r,' % item
                  for item in result.assignment_map().items()]
        lines += [
            '}',
            '# before the variables are initialized:',
            '#   tf.compat.v1.train.init_from_checkpoint(%r, assignment_map)'
            % checkpoint,
            '# or, as a Saver var_list (checkpoint name -> variable):',
            '#   by_name = {v.op.name: v for v in '
            'tf.compat.v1.global_variables()}',
            '#   saver = tf.compat.v1.train.Saver({old: by_name[new] for '
            'old, new in assignment_map.items()})']
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tf1_migrate.checkpoint_diff',
        description='List the variables of a ported graph that will not '
                    'restore from a TF1 checkpoint.')
    parser.add_argument('--checkpoint', required=True,
                        help='checkpoint prefix or directory')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--graph', help='FILE.py[:FUNCTION] that builds '
                        'the ported graph')
    source.add_argument('--meta_graph', help='a .meta file of the ported '
                        'graph')
    args = parser.parse_args(argv)
    try:
        ckpt_vars = checkpoint_variables(args.checkpoint)
        if args.graph:
            graph, label = build_graph(args.graph), args.graph
        else:
            graph = import_meta_graph(args.meta_graph)
            label = args.meta_graph
    except InputError as error:
        print('checkpoint_diff: %s' % error, file=sys.stderr)
        return 2
    result = diff(graph_variables(graph), ckpt_vars)
    print(report(result, args.checkpoint, label))
    return 0 if result.ok else 1


if __name__ == '__main__':
    sys.exit(main())
