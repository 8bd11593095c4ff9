"""ComputeConfig: how a graph is computed is apart from what is trained.

A resumed run may change it (the history says so, as 'compute.<field>'),
evaluation uses its own rather than the run's (a run trained NCHW on a GPU
is evaluated NHWC on a CPU), and train_config.json files written before it
existed still load.
"""

import json

import numpy as np
import pytest

from resnet_tf1 import config
from resnet_tf1 import errors
from resnet_tf1.evaluation import evaluate
from resnet_tf1.model_dir import run_record
from resnet_tf1.training import loop

from conftest import tiny_train_config


def quiet(_):
    pass


@pytest.fixture(scope='module')
def two_steps(mnist_data, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp('two_steps')
    loop.train(tiny_train_config(steps=2, save_every=2), str(model_dir),
               mnist_data.train, log=quiet)
    return model_dir


def test_a_resume_may_change_the_compute_and_records_it(
        mnist_data, two_steps, tmp_path):
    import shutil
    model_dir = tmp_path / 'run'
    shutil.copytree(two_steps, model_dir)
    loop.train(tiny_train_config(steps=3, input_pipeline='dataset',
                                 conv_gradients='tf', save_every=2),
               str(model_dir), mnist_data.train, log=quiet)
    saved = json.loads((model_dir / 'train_config.json').read_text())
    assert saved['compute']['input_pipeline'] == 'dataset'
    assert saved['history'] == [{'step': 2, 'changed': {
        'compute.conv_gradients': ['auto', 'tf'],
        'compute.input_pipeline': ['feed', 'dataset'],
        'steps': [2, 3]}}]


def test_a_config_written_before_compute_config_loads(two_steps, tmp_path):
    """The old layout: compute fields flat, data_format in the model."""
    fields = json.loads((two_steps / 'train_config.json').read_text())
    compute = fields.pop('compute')
    fields.update(compute)
    fields['model']['data_format'] = fields.pop('data_format')
    fields['precision'] = 'bf16'
    (tmp_path / 'train_config.json').write_text(json.dumps(fields))
    loaded = run_record.load(str(tmp_path))
    assert loaded.compute == config.ComputeConfig(**{**compute,
                                                     'precision': 'bf16'})
    assert loaded.model == run_record.load(str(two_steps)).model


def test_a_run_recorded_nchw_is_evaluated_nhwc_on_a_cpu(
        mnist_data, two_steps, tmp_path):
    """Evaluation computes as its own ComputeConfig says: a run whose
    record says NCHW (trained on a GPU) gives the same accuracy as the
    NHWC run it equals, on a machine that has no NCHW kernels."""
    import shutil
    recorded_nchw = tmp_path / 'nchw'
    shutil.copytree(two_steps, recorded_nchw)
    path = recorded_nchw / 'train_config.json'
    fields = json.loads(path.read_text())
    fields['compute']['data_format'] = 'NCHW'
    path.write_text(json.dumps(fields))
    split = mnist_data.validation
    results = []
    for model_dir in (two_steps, recorded_nchw):
        checkpoint, train_config = evaluate.resolve_checkpoint(str(model_dir))
        evaluator = evaluate.Evaluator(train_config)
        try:
            results.append(evaluator.evaluate(checkpoint, split, 1000))
        finally:
            evaluator.close()
    assert results[0].accuracy == results[1].accuracy
    np.testing.assert_allclose(results[0].loss, results[1].loss, rtol=1e-6)


def test_an_evaluation_that_asks_for_nchw_on_a_cpu_is_one_line(two_steps):
    import tensorflow as tf
    if tf.config.list_physical_devices('GPU'):
        pytest.skip('NCHW runs where there is a GPU')
    _, train_config = evaluate.resolve_checkpoint(str(two_steps))
    with pytest.raises(errors.ConfigError, match='--data_format NCHW needs'):
        evaluate.Evaluator(train_config,
                           compute=config.ComputeConfig(data_format='NCHW'))


@pytest.mark.parametrize('field, value, message', [
    ('inference_convolutions', 'winograd',
     '--inference_convolutions must be one of fast|tf'),
    ('data_format', 'NWHC', '--data_format must be one of NHWC|NCHW'),
    ('num_devices', 0, '--num_devices must be at least 1'),
])
def test_bad_compute_values_name_the_flag(field, value, message):
    with pytest.raises(errors.ConfigError, match=message):
        config.ComputeConfig(**{field: value}).validate()
