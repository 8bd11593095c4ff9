"""The network registry: name -> `Network`, and one entry point that builds
any registered network from a `ModelConfig` (tf-slim's nets_factory).

Every network function has the signature
`fn(images, num_classes, base_depth, stem_kind, shortcut_kind, data_format)`
and returns `(logits, end_points)`. Every family brings its arg_scope
function, `arg_scope(is_training, norm, weight_decay)`, the one place of its
layer defaults; `build()` (or `arg_scope()` then `network_fn()`) opens it
around the network, so `is_training` and the norm are injected in one place.

A network declares which `ModelConfig` fields it takes (`NETWORK_FIELDS`)
through its defaults: a field it has no default for does not apply to it
(`--shortcut` to AlexNet, DenseNet or a plain net), and `ModelConfig`
refuses it when set instead of ignoring it; the network function then gets
None for it.
"""

import collections
import functools

import tf_slim as slim

from resnet_tf1.nets import alexnet
from resnet_tf1.nets import densenet
from resnet_tf1.nets import resnet

# The ModelConfig fields whose meaning depends on the network.
NETWORK_FIELDS = ('norm', 'shortcut', 'base_depth', 'stem')
STEMS = resnet.STEMS

Network = collections.namedtuple('Network', [
    'fn',         # the network function (see the module docstring)
    'defaults',   # field of NETWORK_FIELDS -> value, for the fields it takes
    'arg_scope',  # arg_scope(is_training, norm, weight_decay)
    'fixed',      # field -> why its default is the only value it takes
])


def _no_shortcut(name, shortcut_kind):
    # ModelConfig refuses --shortcut for these first; this guards direct
    # calls from silently dropping the argument.
    if shortcut_kind is not None:
        raise ValueError('%s has no shortcut connections; got shortcut kind '
                         '%r' % (name, shortcut_kind))


def _residual_net(images, num_classes, blocks, name, plain, base_depth,
                  stem_kind, shortcut_kind, data_format):
    """What every ResNet and plain net shares once its blocks are known."""
    if plain:
        _no_shortcut(name, shortcut_kind)
    return resnet.resnet(images, blocks, num_classes, stem_kind=stem_kind,
                         stem_depth=base_depth, shortcut_kind=shortcut_kind,
                         data_format=data_format, scope=name)


def _imagenet_resnet(images, num_classes, base_depth, stem_kind,
                     shortcut_kind, data_format, depth, plain):
    unit_fn, units_per_stage = resnet.IMAGENET_DEPTHS[depth]
    return _residual_net(
        images, num_classes, resnet.stages(unit_fn, units_per_stage,
                                           base_depth),
        ('plain%d' if plain else 'resnet%d') % depth, plain, base_depth,
        stem_kind, shortcut_kind, data_format)


def _cifar_resnet(images, num_classes, base_depth, stem_kind, shortcut_kind,
                  data_format, depth, plain):
    units_per_stage = (resnet.CIFAR_DEPTHS[depth],) * 3
    return _residual_net(
        images, num_classes, resnet.stages(resnet.units.basic,
                                           units_per_stage, base_depth),
        ('cifar_plain%d' if plain else 'cifar_resnet%d') % depth, plain,
        base_depth, stem_kind, shortcut_kind, data_format)


def _densenet(images, num_classes, base_depth, stem_kind, shortcut_kind,
              data_format, depth):
    name = 'densenet%d' % depth
    _no_shortcut(name, shortcut_kind)
    return densenet.densenet(images, densenet.DEPTHS[depth], num_classes,
                             growth_rate=base_depth, stem_kind=stem_kind,
                             data_format=data_format, scope=name)


def _alexnet(images, num_classes, base_depth, stem_kind, shortcut_kind,
             data_format):
    _no_shortcut('alexnet', shortcut_kind)
    return alexnet.alexnet(images, num_classes, base_depth=base_depth,
                           stem_kind=stem_kind, data_format=data_format,
                           scope='alexnet')


# Every network defaults to the stem of the 28x28 MNIST images train.py
# feeds (the article's for the ResNets); --stem picks another. The ResNets
# default to the article's setting: no batch norm, zero-padding shortcuts
# (the paper's option A).
NETWORKS = {}
for _depth in resnet.IMAGENET_DEPTHS:
    NETWORKS['resnet%d' % _depth] = Network(
        functools.partial(_imagenet_resnet, depth=_depth, plain=False),
        dict(norm='none', shortcut='A', base_depth=resnet.IMAGENET_BASE_DEPTH,
             stem='mnist'),
        resnet.resnet_arg_scope, {})
for _depth in (18, 34):
    NETWORKS['plain%d' % _depth] = Network(
        functools.partial(_imagenet_resnet, depth=_depth, plain=True),
        dict(norm='none', base_depth=resnet.IMAGENET_BASE_DEPTH,
             stem='mnist'),
        resnet.resnet_arg_scope, {})
for _depth in resnet.CIFAR_DEPTHS:
    NETWORKS['cifar_resnet%d' % _depth] = Network(
        functools.partial(_cifar_resnet, depth=_depth, plain=False),
        dict(norm='none', shortcut='A', base_depth=resnet.CIFAR_BASE_DEPTH,
             stem='cifar'),
        resnet.resnet_arg_scope, {})
    NETWORKS['cifar_plain%d' % _depth] = Network(
        functools.partial(_cifar_resnet, depth=_depth, plain=True),
        dict(norm='none', base_depth=resnet.CIFAR_BASE_DEPTH, stem='cifar'),
        resnet.resnet_arg_scope, {})
# base_depth is DenseNet's growth rate k (the stem outputs 2k).
NETWORKS['densenet121'] = Network(
    functools.partial(_densenet, depth=121),
    dict(norm='batch', base_depth=densenet.GROWTH_RATE, stem='mnist'),
    densenet.densenet_arg_scope,
    dict(norm='DenseNet is pre-activation (BN-ReLU-conv) and always uses '
              'batch norm'))
# base_depth is conv1's width; every AlexNet width scales with it.
NETWORKS['alexnet'] = Network(
    _alexnet,
    dict(norm='none', base_depth=alexnet.BASE_DEPTH, stem='mnist'),
    alexnet.alexnet_arg_scope, {})


def network(name):
    """The registered `Network` called `name`; ValueError listing the valid
    names for an unknown one."""
    if name not in NETWORKS:
        raise ValueError('unknown model %r; valid models: %s' %
                         (name, ', '.join(sorted(NETWORKS))))
    return NETWORKS[name]


def arg_scope(model, is_training, weight_decay=0.0):
    """The arg_scope of `model`'s family (a resolved config.ModelConfig):
    every layer default, `is_training` and the norm injected once."""
    return network(model.name).arg_scope(
        is_training=is_training, norm=model.norm, weight_decay=weight_decay)


def network_fn(model, data_format='NHWC'):
    """images -> (logits, end_points) of the network `model` (a resolved
    config.ModelConfig) on images in `data_format`, to call inside
    `arg_scope(model, ...)`."""
    return functools.partial(
        network(model.name).fn, num_classes=model.num_classes,
        base_depth=model.base_depth, stem_kind=model.stem,
        shortcut_kind=model.shortcut, data_format=data_format)


def build(model, images, is_training, weight_decay=0.0, data_format='NHWC'):
    """Builds the network `model` (a resolved config.ModelConfig) on
    `images`, with an L2 penalty of `weight_decay` on every conv and FC
    weight, inside its family's arg_scope.

    Returns (logits, end_points). Regularization losses go to the graph's
    REGULARIZATION_LOSSES collection, BN updates (when training with batch
    norm) to UPDATE_OPS. (compute/model_graph.py opens the arg_scope and calls
    the network itself, to install how the graph is computed between the two.)
    """
    with slim.arg_scope(arg_scope(model, is_training, weight_decay)):
        return network_fn(model, data_format)(images)
