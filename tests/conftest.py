"""Shared test fixtures: where the shared MNIST copy is, and tiny configs.

Tests never download: CI runs on a clean clone with ../shared beside it.
"""

import os
import pathlib
import warnings

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
warnings.filterwarnings('ignore', message='`layer.apply` is deprecated')

REPO_DIR = pathlib.Path(__file__).resolve().parents[1]
MNIST_DIR = REPO_DIR.parent / 'shared' / 'data' / 'mnist'


@pytest.fixture(scope='session')
def mnist_data():
    from resnet_tf1.data import mnist
    return mnist.load_mnist(str(MNIST_DIR), download=False)


def tiny_train_config(**overrides):
    """ResNet-34's layout at width 4 and batch 8: the real graph, ~1/250 of
    the compute."""
    from resnet_tf1 import config
    model_fields = {key: overrides.pop(key) for key in
                    ('name', 'norm', 'shortcut', 'base_depth', 'data_format')
                    if key in overrides}
    model = config.ModelConfig(**{'base_depth': 4, **model_fields})
    fields = dict(model=model, batch_size=8, steps=3, seed=1, save_every=100,
                  log_every=1000)
    fields.update(overrides)
    return config.TrainConfig(**fields).resolved()
