"""Breakages beyond a dotted name: attributes and methods of TF objects,
and argument values, each verified on TF 2.21 (tests/
test_migration_checker.py runs the old spelling and the replacement).

    x.shape[1].value, x.get_shape()[1].value,
    [d.value for d in x.get_shape()]   AttributeError: 'int' object has no
                                       attribute 'value' (TF2 shapes hold
                                       ints), unless the program calls
                                       disable_v2_behavior() or
                                       disable_v2_tensorshape();
                                       -> tf.compat.v1.dimension_value(d)
                                       (int or None, either shape kind).
                                       x.shape.dims[i].value still works.
    ds.make_one_shot_iterator(),
    ds.make_initializable_iterator()   AttributeError on a tf.data dataset
                                       (a tf.compat.v1.data one keeps them)
                                       -> tf.compat.v1.data.make_..._
                                       iterator(ds)
    ds.output_types/_shapes/_classes   the same; an iterator keeps them
                                       -> tf.compat.v1.data.get_output_
                                       types(ds) (datasets and iterators)
    tf.name_scope(None)                ValueError: name for name_scope must
                                       be a string (TF1: the root scope)
                                       -> tf.compat.v1.name_scope(None)

Each detector returns a dict of Finding fields or None; `model` is the
checker's view of the file (checker.FileModel).
"""

import ast

# key -> (status, replacement template, section, what happens on TF 2.21)
PATTERNS = {
    'Dimension.value': (
        'breaks', 'tf.compat.v1.dimension_value(%s)', 'graphs',
        "AttributeError: 'int' object has no attribute 'value' (TF2 "
        "shapes hold ints or None; `int(d)` also works for a known size)"),
    'make_one_shot_iterator': (
        'breaks', 'tf.compat.v1.data.make_one_shot_iterator(%s)', 'input',
        "AttributeError: '_RangeDataset' object has no attribute "
        "'make_one_shot_iterator'"),
    'make_initializable_iterator': (
        'breaks', 'tf.compat.v1.data.make_initializable_iterator(%s)',
        'input', "AttributeError: '_RangeDataset' object has no attribute "
        "'make_initializable_iterator'"),
    'output_types': (
        'breaks', 'tf.compat.v1.data.get_output_types(%s)', 'input',
        "AttributeError: '_RangeDataset' object has no attribute "
        "'output_types'"),
    'output_shapes': (
        'breaks', 'tf.compat.v1.data.get_output_shapes(%s)', 'input',
        "AttributeError: '_RangeDataset' object has no attribute "
        "'output_shapes'"),
    'output_classes': (
        'breaks', 'tf.compat.v1.data.get_output_classes(%s)', 'input',
        "AttributeError: '_RangeDataset' object has no attribute "
        "'output_classes'"),
    'name_scope(None)': (
        'breaks', 'tf.compat.v1.name_scope', 'graphs',
        'ValueError: name for name_scope must be a string.'),
}
ITERATOR_METHODS = ('make_one_shot_iterator', 'make_initializable_iterator')
DATASET_ATTRIBUTES = ('output_types', 'output_shapes', 'output_classes')
TENSORSHAPE_V1 = {'disable_v2_behavior', 'disable_v2_tensorshape'}
# Calls that return a device function (a TF1 tf.device argument).
DEVICE_FUNCTIONS = ('replica_device_setter', 'variables_device',
                    'optimizer_device', 'inputs_device', 'device_fn',
                    'device_function')
STRING_CALLS = ('format', 'join', 'str', 'replace', 'lower', 'upper',
                'strip', 'DeviceSpec', 'to_string')


def finding(key, receiver_text, wrap_node=None, status=None, message=''):
    status_default, template, section, happens = PATTERNS[key]
    return {'status': status or status_default, 'id': 'pattern/' + key,
            'source': 'pattern', 'section': section,
            'replacement': template % receiver_text if '%s' in template
            else template,
            'message': message or happens, 'wrap': wrap_node}


def is_shape(node, model):
    """`x.shape`, `x.get_shape()`, or a name assigned one of those."""
    if isinstance(node, ast.Attribute) and node.attr == 'shape':
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == 'get_shape' and not node.args:
        return True
    if isinstance(node, ast.Name):
        values = model.assigned.get(node.id, ())
        return bool(values) and all(
            is_shape(value, model) for value in values
            if not isinstance(value, ast.Name))
    return False


def dimension_value(node, model):
    """`.value` of a Dimension (node: the ast.Attribute)."""
    if node.attr != 'value' or not isinstance(node.ctx, ast.Load) or \
            TENSORSHAPE_V1 & model.attribute_names:
        return None
    target = node.value
    if isinstance(target, ast.Subscript) and is_shape(target.value, model):
        return finding('Dimension.value', model.segment(target), target)
    if isinstance(target, ast.Name) and \
            target.id in model.dimension_names(node):
        return finding('Dimension.value', target.id, target)
    return None


def dataset_kind(node, model, depth=0):
    """'v1' (a tf.compat.v1.data dataset, or an iterator: both keep the
    TF1 methods), 'v2' (a tf.data dataset) or None (cannot tell)."""
    if depth > 8:
        return None
    while isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            name = model.name_of(node.func)
            if name is not None:
                return 'v1' if name.startswith('tf.compat.v1.') or \
                    'Iterator' in name or 'iterator' in name else 'v2' \
                    if name.startswith('tf.data.') else None
            if node.func.attr in ITERATOR_METHODS + ('from_structure',
                                                     'from_string_handle'):
                return 'v1'
            node = node.func.value  # ds.map(...).batch(...): the receiver
        else:
            return None
    if isinstance(node, ast.Name):
        kinds = {dataset_kind(value, model, depth + 1)
                 for value in model.assigned.get(node.id, ())}
        return kinds.pop() if len(kinds) == 1 else None
    name = model.name_of(node)
    if name is not None and name.startswith('tf.compat.v1.data'):
        return 'v1'
    return None


def dataset_method(node, model):
    """`.make_*_iterator()` and `.output_*` of a dataset (node: the
    ast.Attribute)."""
    called = model.is_called(node)
    if not ((node.attr in ITERATOR_METHODS and called) or
            (node.attr in DATASET_ATTRIBUTES and not called and
             isinstance(node.ctx, ast.Load))):
        return None
    kind = dataset_kind(node.value, model)
    if kind == 'v1':
        return None
    if kind is None and model.data_world == 'v1':
        return finding(node.attr, model.segment(node.value), node.value,
                       status='check', message='breaks if this is a '
                       'tf.data dataset (a tf.compat.v1.data dataset or an '
                       'iterator keeps it)')
    return finding(node.attr, model.segment(node.value), node.value)


def name_scope_none(call, model):
    """tf.name_scope(None), or with a parameter whose default is None."""
    argument = call.args[0] if call.args else next(
        (keyword.value for keyword in call.keywords
         if keyword.arg == 'name'), None)
    if isinstance(argument, ast.Constant) and argument.value is None:
        return finding('name_scope(None)', '')
    if isinstance(argument, ast.Name) and \
            model.defaults_to_none(argument, call):
        return finding('name_scope(None)', '', status='check',
                       message='breaks when `%s` is None (TF2: ValueError: '
                       'name for name_scope must be a string)'
                       % argument.id)
    return None


def device_function(argument, model, depth=0):
    """Whether a tf.device argument is a device function: True, False (a
    string, None, a DeviceSpec) or None (cannot tell)."""
    if depth > 8:
        return None
    if isinstance(argument, ast.Constant):
        return False
    if isinstance(argument, ast.JoinedStr):
        return False
    if isinstance(argument, ast.BinOp):  # '/gpu:%d' % i, 'a' + b
        return False if any(device_function(side, model, depth + 1) is False
                            for side in (argument.left, argument.right)) \
            else None
    if isinstance(argument, ast.IfExp):
        sides = {device_function(argument.body, model, depth + 1),
                 device_function(argument.orelse, model, depth + 1)}
        return sides.pop() if len(sides) == 1 else None
    if isinstance(argument, ast.Lambda):
        return True
    if isinstance(argument, ast.Call):
        callee = argument.func
        called = callee.attr if isinstance(callee, ast.Attribute) else \
            callee.id if isinstance(callee, ast.Name) else ''
        if called in DEVICE_FUNCTIONS or called in model.returns_function:
            return True
        if called in STRING_CALLS or called in model.returns_string:
            return False
        return None
    if isinstance(argument, ast.Name):
        if argument.id in model.functions:
            return True
        kinds = {device_function(value, model, depth + 1)
                 for value in model.assigned.get(argument.id, ())}
        return kinds.pop() if len(kinds) == 1 else None
    return None
