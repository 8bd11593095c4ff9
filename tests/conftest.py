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


# The modules whose tests train networks, start the CLIs or a local cluster:
# each test of these took 10 s and more in a full run (`--durations=40`, AMD
# EPYC, 2 cores), together most of the suite's 19 minutes. They are marked
# `slow`; `python -m pytest -m "not slow"` leaves them out.
SLOW_MODULES = {
    'test_chaos', 'test_cli', 'test_distributed', 'test_faults',
    'test_first_contact', 'test_hostile', 'test_hostile_cluster',
    'test_optimizers', 'test_recipe_parts', 'test_speed_paths',
    'test_towers', 'test_training', 'test_train_formulations',
    'test_fast_conv', 'test_export', 'test_init_signal',
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope='session')
def mnist_data():
    from resnet_tf1.data import mnist
    return mnist.load_mnist(str(MNIST_DIR), download=False)


def tiny_train_config(**overrides):
    """ResNet-34's layout at width 4 and batch 8: the real graph, ~1/250 of
    the compute."""
    from resnet_tf1 import config
    model_fields = {key: overrides.pop(key) for key in
                    ('name', 'norm', 'shortcut', 'base_depth')
                    if key in overrides}
    compute_fields = {key: overrides.pop(key) for key in
                      config.COMPUTE_FIELDS if key in overrides}
    model = config.ModelConfig(**{'base_depth': 4, **model_fields})
    fields = dict(model=model, compute=config.ComputeConfig(**compute_fields),
                  batch_size=8, steps=3, seed=1, save_every=100,
                  log_every=1000)
    fields.update(overrides)
    return config.TrainConfig(**fields).resolved()


def with_compute(train_config, **fields):
    """`train_config` computed otherwise: its ComputeConfig with `fields`
    replaced."""
    import dataclasses
    return dataclasses.replace(train_config, compute=dataclasses.replace(
        train_config.compute, **fields))


@pytest.fixture(scope='session')
def tiny_run(mnist_data, tmp_path_factory):
    """A tiny run's model directory with every event file a real one gets:
    training scalars at steps 1-4 (checkpoints at 2 and 4), and eval.py's
    accuracy of both checkpoints under eval_test/ (EMA), eval_test_raw/ and
    eval_validation/ (EMA), each measured on the split's first 1000 images."""
    from resnet_tf1.data import mnist
    from resnet_tf1.evaluation import evaluate
    from resnet_tf1.training import loop
    model_dir = tmp_path_factory.mktemp('tiny_run')
    train_config = tiny_train_config(steps=4, save_every=2, log_every=1)
    loop.train(train_config, str(model_dir), mnist_data.train,
               log=lambda _: None)
    for use_ema, split_names in ((True, ('test', 'validation')),
                                 (False, ('test',))):
        evaluator = evaluate.Evaluator(train_config, use_ema)
        try:
            for split_name in split_names:
                split = getattr(mnist_data, split_name)
                for step in (2, 4):
                    result = evaluator.evaluate(
                        str(model_dir / ('model.ckpt-%d' % step)),
                        mnist.Split(split.images[:1000],
                                    split.labels[:1000]),
                        1000)
                    evaluate.write_summary(result, split_name)
        finally:
            evaluator.close()
    return model_dir


def evaluate_newest(model_dir, split, batch_size):
    """What eval.py does with `model_dir`, in this process: its newest
    checkpoint (as resolve_checkpoint finds it) restored into a new
    inference graph of the EMA weights and evaluated on `split`; the
    EvalResult."""
    from resnet_tf1.evaluation import evaluate
    checkpoint, train_config = evaluate.resolve_checkpoint(str(model_dir))
    evaluator = evaluate.Evaluator(train_config)
    try:
        return evaluator.evaluate(checkpoint, split, batch_size)
    finally:
        evaluator.close()
