"""The networks, written in plain tf-slim: the owned layers (layers.py),
residual units (units.py), the ResNet builder (resnet.py), DenseNet and
AlexNet, and the registry that builds any of them by name (registry.py).

These modules import TensorFlow, tf-slim and each other only: how a graph
is computed for speed is installed around them by compute/model_graph.py.
"""
