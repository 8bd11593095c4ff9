"""The event files training and eval.py write, as TensorBoard reads them:
through its own server stack (data ingester, scalars plugin, HTTP routes),
in process, without a socket."""

import json

import pytest

from resnet_tf1.model_dir import summaries

TRAINING_TAGS = {'accuracy', 'loss', 'loss/cross_entropy',
                 'optimizer/learning_rate', 'speed/images_per_second'}
# Evaluation writes the training tags it shares, so the two overlay.
EVAL_TAGS = {'accuracy', 'loss', 'loss/cross_entropy'}


def tensorboard_client(logdir):
    """A test client of the WSGI app `tensorboard --logdir` serves, its
    data loaded once before the first request (reload_task blocking)."""
    from tensorboard import program
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_ingester
    from werkzeug import test as werkzeug_test
    board = program.TensorBoard()
    board.configure(logdir=str(logdir), load_fast='false',
                    reload_task='blocking', reload_interval=0)
    ingester = data_ingester.LocalDataIngester(board.flags)
    ingester.start()
    return werkzeug_test.Client(application.TensorBoardWSGIApp(
        board.flags, board.plugin_loaders, ingester.data_provider,
        board.assets_zip_provider, ingester.deprecated_multiplexer))


def get_json(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status)
    return json.loads(response.get_data(as_text=True))


def test_tensorboard_serves_training_and_eval_scalars(tiny_run):
    client = tensorboard_client(tiny_run)
    tags = get_json(client, '/data/plugin/scalars/tags')
    # Keras' layout: a "train" run beside the eval runs, none named ".".
    assert {run: set(run_tags) for run, run_tags in tags.items()} == {
        'train': TRAINING_TAGS, 'eval_test': EVAL_TAGS,
        'eval_test_raw': EVAL_TAGS, 'eval_validation': EVAL_TAGS}
    for run, tag, directory in (('train', 'loss', tiny_run / 'train'),
                                ('train', 'optimizer/learning_rate',
                                 tiny_run / 'train'),
                                ('eval_test', 'loss',
                                 tiny_run / 'eval_test'),
                                ('eval_test', 'accuracy',
                                 tiny_run / 'eval_test'),
                                ('eval_test_raw', 'accuracy',
                                 tiny_run / 'eval_test_raw')):
        served = get_json(client, '/data/plugin/scalars/scalars?run=%s&tag=%s'
                          % (run, tag))
        written = summaries.read_scalars(str(directory))[tag]
        assert [(step, pytest.approx(value)) for _, step, value in served] \
            == written
    assert [step for _, step, _ in get_json(
        client, '/data/plugin/scalars/scalars?run=train&tag=loss')] == [
            1, 2, 3, 4]
    assert [step for _, step, _ in get_json(
        client, '/data/plugin/scalars/scalars?run=eval_validation&'
        'tag=accuracy')] == [2, 4]


def test_writers_in_one_second_keep_each_others_points(tmp_path):
    # Three evaluations back to back, as eval.py --watch on a small model:
    # FileWriter's default name would have the last erase the others.
    for step in (1, 2, 3):
        with summaries.ScalarWriter(str(tmp_path)) as writer:
            writer.write(step, {'accuracy': step / 10})
    assert summaries.read_scalars(str(tmp_path))['accuracy'] == [
        (1, pytest.approx(0.1)), (2, pytest.approx(0.2)),
        (3, pytest.approx(0.3))]
