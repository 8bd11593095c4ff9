"""train.py and eval.py as a user runs them: subprocesses on the shared MNIST
copy, and one clear line for every bad input."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import MNIST_DIR, REPO_DIR
from conftest import evaluate_newest

TINY = ['--base_depth', '4', '--batch_size', '8', '--seed', '3',
        '--data_dir', str(MNIST_DIR)]
RESULT_LINE = re.compile(r'^step=(\d+) accuracy=(0\.\d{4}|1\.0000) '
                         r'examples=(\d+) weights=(ema|raw) '
                         r'loss=(\d+\.\d{4})$')
# eval.py's start line, on stderr before the graph is built.
EVAL_START = re.compile(r'^eval checkpoint=\S+ split=(test|validation) '
                        r'images=(\d+) weights=(ema|raw)$')


def run(script, *args):
    # As a user runs it: TensorFlow's log level is the CLI's own choice.
    environ = {name: value for name, value in os.environ.items()
               if name != 'TF_CPP_MIN_LOG_LEVEL'}
    return subprocess.run([sys.executable, str(REPO_DIR / script)] +
                          [str(arg) for arg in args],
                          capture_output=True, text=True, cwd=REPO_DIR,
                          env=environ, timeout=600)


def assert_one_line_error(process, *fragments):
    assert process.returncode != 0
    assert 'Traceback' not in process.stderr, process.stderr
    last = process.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last


@pytest.fixture(scope='module')
def trained_dir(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp('model')
    process = run('train.py', '--steps', 3, '--save_every', 2,
                  '--log_every', 1, '--model_dir', model_dir, *TINY)
    assert process.returncode == 0, process.stderr
    assert 'step 3/3 epoch 0.00 loss' in process.stdout
    assert process.stdout.startswith('train resnet34 (base_depth 4')
    return model_dir


def test_train_then_eval(trained_dir):
    process = run('eval.py', '--model_dir', trained_dir,
                  '--data_dir', MNIST_DIR)
    assert process.returncode == 0, process.stderr
    match = RESULT_LINE.match(process.stdout.strip().splitlines()[-1])
    assert match, process.stdout
    assert match.group(1) == '3' and match.group(3) == '10000'
    assert match.group(4) == 'ema'
    # TF's Conv2D everywhere instead of fast_conv's formulations: the same
    # line (tests/test_fast_conv.py compares them on a trained model).
    stock = run('eval.py', '--model_dir', trained_dir, '--data_dir',
                MNIST_DIR, '--inference_convolutions', 'tf')
    assert stock.returncode == 0, stock.stderr
    assert stock.stdout.strip().splitlines()[-1] == match.group(0)
    # Nothing but the project's start line: TensorFlow's start-up lines
    # ("Could not find cuda drivers ...") are kept out unless --verbose.
    for stderr in (process.stderr, stock.stderr):
        start, = stderr.splitlines()
        assert EVAL_START.match(start).groups() == ('test', '10000', 'ema')
        assert str(trained_dir / 'model.ckpt-3') in start
    # The old spelling of the switch still works, with one line saying
    # what to write instead.
    old = run('eval.py', '--model_dir', trained_dir, '--data_dir',
              MNIST_DIR, '--nofast_convolutions')
    assert old.returncode == 0, old.stderr
    assert old.stdout.strip().splitlines()[-1] == match.group(0)
    assert old.stderr.splitlines()[0] == (
        'warning: --nofast_convolutions is deprecated; use '
        '--inference_convolutions tf')


def test_eval_options(trained_dir):
    lines = {}
    for name, args in {
            'validation_raw': ['--split', 'validation', '--noema'],
            'validation_raw_old_flag': ['--split', 'validation', '--no_ema'],
            'step_2': ['--checkpoint_path', trained_dir / 'model.ckpt-2'],
            # A file of the checkpoint stands for its prefix.
            'step_2_index': ['--checkpoint_path',
                             trained_dir / 'model.ckpt-2.index'],
            'watch': ['--watch', '--watch_timeout', 5]}.items():
        process = run('eval.py', '--model_dir', trained_dir,
                      '--data_dir', MNIST_DIR, '--eval_batch_size', 999,
                      *args)
        assert process.returncode == 0, process.stderr
        lines[name] = process.stdout.strip().splitlines()
    assert RESULT_LINE.match(lines['validation_raw'][-1]).group(3, 4) == (
        '5000', 'raw')
    assert lines['validation_raw_old_flag'] == lines['validation_raw']
    assert RESULT_LINE.match(lines['step_2'][-1]).group(1) == '2'
    assert lines['step_2_index'][-1] == lines['step_2'][-1]
    # --watch evaluates what is there and stops at the run's final step.
    assert [RESULT_LINE.match(line).group(1)
            for line in lines['watch']] == ['3']


def test_eval_old_batch_size_flag_still_works(trained_dir):
    """eval.py's --batch_size is --eval_batch_size now (--batch_size means
    a training batch everywhere); the old spelling says so and works."""
    new, old = (run('eval.py', '--model_dir', trained_dir, '--data_dir',
                    MNIST_DIR, '--split', 'validation', flag, 2500)
                for flag in ('--eval_batch_size', '--batch_size'))
    assert new.returncode == old.returncode == 0, old.stderr
    assert old.stdout == new.stdout
    assert ('warning: --batch_size 2500 is deprecated; use '
            '--eval_batch_size 2500') in old.stderr


def test_eval_all_checkpoints(trained_dir):
    from resnet_tf1.model_dir import summaries
    process = run('eval.py', '--model_dir', trained_dir, '--data_dir',
                  MNIST_DIR, '--eval_batch_size', 999, '--all_checkpoints',
                  '--split', 'validation', '--noema')
    assert process.returncode == 0, process.stderr
    results = [RESULT_LINE.match(line).groups()
               for line in process.stdout.strip().splitlines()]
    # Every checkpoint the run kept (--save_every 2 and the end), oldest
    # first, each into the TensorBoard summary.
    assert [(step, examples, weights)
            for step, _, examples, weights, _ in results] == [
        ('2', '5000', 'raw'), ('3', '5000', 'raw')]
    written = summaries.read_scalars(
        str(trained_dir / 'eval_validation_raw'))['accuracy']
    for step, accuracy, _, _, _ in results:
        assert '%.4f' % dict(written)[int(step)] == accuracy


@pytest.mark.parametrize('flags,fragments', [
    (['--batch_size', '0'], ['--batch_size must be at least 1']),
    (['--model', 'resnet35'], ['--model', 'valid models:', 'resnet34']),
    (['--learning_rate', '-1'], ['--learning_rate must be in']),
    (['--norm', 'group'], ['--norm must be one of']),
    (['--steps', '0'], ['--steps must be at least 1']),
    (['--learning_rate_decay', '1.5'], ['--learning_rate_decay must be in']),
    (['--ema_decay', '1'], ['--ema_decay must be in [0, 1)']),
    (['--precision', 'fp8'], ['--precision must be one of float32|bf16']),
    (['--model_dir', '/dev/null/model'], ['--model_dir /dev/null/model']),
    (['--model', 'alexnet', '--stem', 'imagenet'],
     ['cannot build alexnet with these flags', 'pool2']),
    (['--base_depth', '100000'], ['out of memory', '--base_depth']),
    (['stray'], ['unexpected argument stray']),
])
def test_train_bad_flags(flags, fragments, tmp_path):
    # A model directory of the test's own, named before the case's flags so
    # the --model_dir case overrides it: the default MNIST_model in the
    # repository may hold a user's run (the README's own first command makes
    # one), which train.py would refuse before reaching the flag at fault.
    process = run('train.py', '--steps', 1, '--model_dir', tmp_path / 'model',
                  *TINY, *flags)
    assert_one_line_error(process, *fragments)


def test_train_corrupt_data_file(tmp_path):
    data_dir = tmp_path / 'data'
    shutil.copytree(MNIST_DIR, data_dir)
    labels = data_dir / 'train-labels-idx1-ubyte.gz'
    os.chmod(labels, 0o644)
    labels.write_bytes(b'not a gzip file at all')
    process = run('train.py', '--steps', 1, '--model_dir', tmp_path / 'm',
                  *TINY[:-2], '--data_dir', data_dir)
    assert_one_line_error(process, str(labels))


def test_eval_bad_inputs(tmp_path, trained_dir):
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert_one_line_error(run('eval.py', '--model_dir', empty),
                          '--model_dir', 'holds no checkpoint')
    assert_one_line_error(run('eval.py', '--model_dir', tmp_path / 'missing'),
                          'no such directory')
    assert_one_line_error(
        run('eval.py', '--checkpoint_path', trained_dir / 'model.ckpt-9'),
        '--checkpoint_path', 'no such checkpoint')
    corrupt = tmp_path / 'corrupt'
    shutil.copytree(trained_dir, corrupt)
    (corrupt / 'train_config.json').write_text('{"model": ')
    assert_one_line_error(run('eval.py', '--model_dir', corrupt),
                          'train_config.json', 'not a valid training config')
    assert_one_line_error(run('eval.py', '--model_dir', trained_dir,
                              '--eval_batch_size', 0),
                          '--eval_batch_size must be at least 1')
    # A config that is not the checkpoint's own: no partial restore.
    swapped = tmp_path / 'swapped'
    shutil.copytree(trained_dir, swapped)
    config_path = swapped / 'train_config.json'
    config_path.write_text(config_path.read_text().replace(
        '"base_depth": 4', '"base_depth": 8'))
    assert_one_line_error(run('eval.py', '--model_dir', swapped,
                              '--data_dir', MNIST_DIR),
                          'model.ckpt-3: does not hold the resnet34 that '
                          'train_config.json describes')


def test_checkpoints_open_in_tensorflows_tools(trained_dir):
    inspected = subprocess.run(
        [sys.executable, '-m', 'tensorflow.python.tools.inspect_checkpoint',
         '--file_name=%s' % (trained_dir / 'model.ckpt-3')],
        capture_output=True, text=True, timeout=600)
    assert inspected.returncode == 0, inspected.stderr
    for name in ('global_step', 'resnet34/conv1/weights',
                 'resnet34/block4/unit_3/conv2/biases',
                 'resnet34/logits/weights/ExponentialMovingAverage'):
        assert re.search(r'^%s \(DT_' % re.escape(name), inspected.stdout,
                         re.M), name


def test_train_nchw_on_a_cpu_is_one_line_and_writes_nothing(tmp_path):
    process = run('train.py', '--steps', 1, '--data_format', 'NCHW',
                  '--model_dir', tmp_path / 'm', *TINY)
    assert_one_line_error(process, '--data_format NCHW needs a GPU')
    assert not (tmp_path / 'm').exists()


@pytest.mark.parametrize('train_count', [4000, 5000])
def test_train_too_few_training_images_is_one_line(tmp_path, train_count):
    from test_data import write_synthetic_mnist
    write_synthetic_mnist(tmp_path / 'data', train_count=train_count)
    process = run('train.py', '--steps', 1, '--model_dir', tmp_path / 'm',
                  *TINY[:-2], '--data_dir', tmp_path / 'data')
    assert_one_line_error(process, 'images')
    assert not (tmp_path / 'm').exists()


@pytest.mark.parametrize('args, fragments', [
    (['--watch', '--watch_timeout', 'nan'], ['--watch_timeout must be']),
    (['--watch', '--watch_timeout', '-1'], ['--watch_timeout must be']),
    (['stray'], ['unexpected argument stray']),
    (['--all_checkpoints', '--watch'],
     ['--all_checkpoints evaluates every checkpoint', 'drop --watch']),
    (['--all_checkpoints', '--checkpoint_path', 'model.ckpt-2'],
     ['drop --checkpoint_path']),
])
def test_eval_bad_flags(trained_dir, args, fragments):
    assert_one_line_error(run('eval.py', '--model_dir', trained_dir, *args),
                          *fragments)


def test_eval_prints_its_result_when_the_summary_cannot_be_written(
        trained_dir, mnist_data, monkeypatch, capsys):
    from resnet_tf1.model_dir import summaries
    from resnet_tf1.evaluation import evaluate

    def read_only(directory, graph=None):
        raise tf_errors().PermissionDeniedError(
            None, None, '%s: Permission denied' % directory)

    result = evaluate_newest(trained_dir, mnist_data.validation, 5000)
    monkeypatch.setattr(summaries, 'ScalarWriter', read_only)
    warnings = []
    evaluate.write_summary(result, 'validation', warn=warnings.append)
    assert len(warnings) == 1 and 'Permission denied' in warnings[0]
    assert 'eval_validation' in warnings[0]


def tf_errors():
    import tensorflow as tf
    return tf.errors
