"""A per-layer table of a built network: output shape, parameters and
multiply-accumulates (MACs) of every layer, read from the graph itself.

Nothing here knows a formula of any architecture, so the numbers check the
builders instead of restating them:

* a layer is a variable scope owning trainable variables ('resnet34/conv1'),
    with a slim normalizer's '<layer>/BatchNorm' folded into its layer;
* parameters are the sizes of those variables, and the total is the sum
    over all of the graph's trainable variables;
* MACs are counted on the Conv2D and MatMul ops, per image, from their
    static shapes: output elements x (kernel height x width x input
    channels) for a convolution, output elements x input width for a
    matrix product. Batch norm, pooling, additions and activations are not
    counted, as in the papers' FLOP figures (which are multiply-adds);
* a layer's output shape is that of the last conv, matmul, bias-add or
    batch-norm op reading its variables.

Summarize inference graphs: a training graph's gradient ops read the same
weights and would be counted again.
"""

import collections

import numpy as np
import tensorflow as tf

from resnet_tf1.nets import registry

tf1 = tf.compat.v1

LayerRow = collections.namedtuple(
    'LayerRow', ['scope', 'output_shape', 'parameters', 'macs'])
Summary = collections.namedtuple('Summary', ['rows', 'parameters', 'macs'])

MAC_OPS = ('Conv2D', 'MatMul')
# Ops whose output is a layer's output; the last one of a layer wins (a
# conv's BN or bias-add comes after the conv).
OUTPUT_OPS = MAC_OPS + ('BiasAdd', 'FusedBatchNorm', 'FusedBatchNormV3')
_READ_OPS = ('ReadVariableOp', 'Identity', 'Cast')
_VARIABLE_OPS = ('VarHandleOp', 'VariableV2', 'Variable')


def _variable_name(tensor):
    """The name of the variable that `tensor` reads, or None."""
    op = tensor.op
    while op.type in _READ_OPS and op.inputs:
        op = op.inputs[0].op
    return op.name if op.type in _VARIABLE_OPS else None


def layer_scope(variable_name):
    """'a/conv1/weights' and 'a/conv1/BatchNorm/gamma' -> 'a/conv1'."""
    scope = variable_name.rsplit('/', 1)[0]
    suffix = '/BatchNorm'
    # slim nests a conv's normalizer under the conv's scope.
    return scope[:-len(suffix)] if scope.endswith(suffix) else scope


def _per_image(shape):
    dims = shape.as_list()[1:]
    if None in dims:
        raise ValueError('summary needs static shapes, got %s' % shape)
    return int(np.prod(dims, dtype=np.int64))


def macs_of(op):
    """Multiply-accumulates of one Conv2D or MatMul op, per image (rows of
    the matmul's first operand and the conv's batch axis are images)."""
    if op.type == 'Conv2D':
        kernel_height, kernel_width, in_channels, _ = (
            op.inputs[1].shape.as_list())
        return (_per_image(op.outputs[0].shape) * kernel_height *
                kernel_width * in_channels)
    if op.type == 'MatMul':
        if op.get_attr('transpose_a'):
            raise ValueError('%s: a transposed first operand has no image '
                             'rows' % op.name)
        return _per_image(op.outputs[0].shape) * op.inputs[0].shape[1]
    raise ValueError('no MAC count for a %s op (%s)' % (op.type, op.name))


def _format_shape(shape):
    return 'x'.join(str(dim) for dim in shape.as_list()[1:])


def summarize(graph):
    """The `Summary` of the inference graph `graph`: one `LayerRow` per
    layer, in the order the graph computes them, and the totals."""
    variables = graph.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES)
    sizes = {variable.op.name: int(np.prod(variable.shape.as_list(),
                                           dtype=np.int64))
             for variable in variables}
    parameters = collections.Counter()
    for name, size in sizes.items():
        parameters[layer_scope(name)] += size
    macs = collections.Counter()
    outputs = {}
    first_seen = {}
    for index, op in enumerate(graph.get_operations()):
        if op.type not in OUTPUT_OPS:
            continue
        read = [_variable_name(tensor) for tensor in op.inputs]
        scopes = {layer_scope(name) for name in read if name in sizes}
        if not scopes:
            if op.type not in MAC_OPS:
                continue
            # A product with no trainable operand still costs MACs; it is
            # its own row, named by the op's name scope.
            scopes = {op.name.rsplit('/', 1)[0]}
        for scope in scopes:
            first_seen.setdefault(scope, index)
            outputs[scope] = op.outputs[0].shape
            if op.type in MAC_OPS:
                macs[scope] += macs_of(op)
    scopes = sorted(set(parameters) | set(macs),
                    key=lambda scope: (first_seen.get(scope, len(first_seen)),
                                       scope))
    rows = [LayerRow(scope,
                     _format_shape(outputs[scope]) if scope in outputs
                     else '?',
                     parameters[scope], macs[scope])
            for scope in scopes]
    return Summary(rows, sum(sizes.values()), sum(macs.values()))


def build_inference_graph(model):
    """The inference graph of `model` (a resolved config.ModelConfig) on one
    image; returns (graph, logits, end_points)."""
    graph = tf.Graph()
    with graph.as_default():
        images = tf1.placeholder(
            tf.float32, [1, model.image_size, model.image_size,
                         model.channels], name='images')
        logits, end_points = registry.build(model, images, is_training=False)
    return graph, logits, end_points


def summarize_model(model):
    """The `Summary` of the network `model` (a resolved ModelConfig)."""
    graph, _, _ = build_inference_graph(model)
    return summarize(graph)


def format_summary(summary):
    """The table as lines of text; the last is `params=<N> macs=<M>`."""
    width = max([len('layer')] + [len(row.scope) for row in summary.rows])
    line = '%-*s  %-14s  %12s  %15s'
    lines = [line % (width, 'layer', 'output', 'params', 'MACs')]
    lines += [line % (width, row.scope, row.output_shape,
                      '{:,}'.format(row.parameters), '{:,}'.format(row.macs))
              for row in summary.rows]
    lines.append('params=%d macs=%d' % (summary.parameters, summary.macs))
    return lines
