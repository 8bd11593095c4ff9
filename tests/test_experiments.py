"""experiments/*.sh's plumbing, with a stand-in for Python.

Each study takes minutes to hours of training; what can break without
training is the scripts' own logic: which flags reach train.py, eval.py
and the `python -m resnet_tf1` tools, that work already done is not done
again, the tables they write, and one-line errors for bad arguments.
`PYTHON` is a shell stub that logs its arguments and answers as the real
commands would, so each test runs in a fraction of a second. (The recipe
study, experiments/recipes.py, has tests of its own.)
"""

import os
import stat
import subprocess

import pytest

EXPERIMENTS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'experiments')

# Answers like the real commands: train.py makes its model directory;
# eval.py prints one line per step of STUB_STEPS; plot a table and the
# "wrote" line; signal a stage table and its summary line; summary its
# last line; bench a timing line and a speedup; torch_peer a timing line.
STUB = """#!/bin/sh
echo "$*" >> "$STUB_LOG"
case "$1" in
    train.py) for argument in "$@"; do
                  case "$argument" in
                      --model_dir=*) mkdir -p "${argument#--model_dir=}" ;;
                  esac
              done ;;
    eval.py) for step in $STUB_STEPS; do
                 echo "step=$step accuracy=0.9800 examples=10000 weights=ema"
             done ;;
    -m) case "$3" in
            plot) echo "| network | test accuracy |"
                  echo "wrote somewhere.png" ;;
            signal) echo "| $4 at initialization | root mean square |"
                    echo "|---|---:|"
                    echo "| block1 | 0.5 |"
                    echo "| logits | 0.25 |"
                    echo "x logits_rms=0.25 median_gradient_ratio=0.125" ;;
            summary) echo "| layer | params |"
                     echo "params=1234 macs=5678" ;;
            bench) case "$*" in
                       *--profile*) echo "| stage | total |"
                                    echo "untraced step: 1000 ms" ;;
                   esac
                   echo "gemm_peak gflop/s=100.0 (numpy)"
                   # The path's name shows an environment switch.
                   name=project${TF_ENABLE_ONEDNN_OPTS:+_onednn_off}
                   echo "$name    batch=100 images/s=90.5 ms/step=1105" \
                        "(fastest 1000, slowest 1200) gflop/s=80.0" \
                        "peak_fraction=0.80"
                   echo "speedup project/plain_tf1=5.00" ;;
            *) echo "torch      batch=100 images/s=60.0 ms/step=1667" \
                    "(fastest 1600, slowest 1700) gflop/s=50.0" \
                    "peak_fraction=0.50" ;;
        esac ;;
esac
"""


@pytest.fixture
def stub(tmp_path):
    path = tmp_path / 'python-stub'
    path.write_text(STUB)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _script(name):
    return os.path.join(EXPERIMENTS, name)


def _run(script, arguments, stub, log, steps='40', **env):
    environment = dict(os.environ, PYTHON=str(stub), STUB_LOG=str(log),
                       STUB_STEPS=steps, **env)
    return subprocess.run(['sh', _script(script)] + [str(argument) for
                                                     argument in arguments],
                          env=environment, capture_output=True, text=True,
                          check=False)


def _calls(log, command):
    """The logged argument lists whose first words are `command`."""
    words = command.split()
    return [call.split() for call in log.read_text().splitlines()
            if call.split()[:len(words)] == words]


def _one_line_error(result, *parts):
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().count('\n') == 0, result.stderr
    for part in parts:
        assert part in result.stderr, (part, result.stderr)


# ------------------------------------------------------------ degradation

def _run_degradation(stub, out, log, script='degradation.sh', **env):
    return _run(script, [out, out.parent], stub, log,
                **dict(dict(STEPS='40', EVERY='20', BASE_DEPTH='8',
                            NETWORKS='plain18 resnet18'), **env))


def test_degradation_flags_reach_each_command_and_the_table_is_written(
        stub, tmp_path):
    out, log = tmp_path / 'study', tmp_path / 'calls.log'
    result = _run_degradation(stub, out, log, TRAIN_FLAGS='--norm batch')
    assert result.returncode == 0, result.stderr
    trains = _calls(log, 'train.py')
    assert len(trains) == 2
    for network, arguments in zip(['plain18', 'resnet18'], trains):
        assert '--model=%s' % network in arguments
        assert '--model_dir=%s' % (out / network) in arguments
        for flag in ('--steps=40', '--base_depth=8', '--save_every=20',
                     '--keep_checkpoint_every=20', '--seed=0',
                     '--data_dir=%s' % tmp_path):
            assert flag in arguments, (flag, arguments)
        # TRAIN_FLAGS split into train.py's own arguments, last.
        assert arguments[-2:] == ['--norm', 'batch']
    evals = _calls(log, 'eval.py')
    assert [arguments[1] for arguments in evals] == [
        '--model_dir=%s' % (out / 'plain18'),
        '--model_dir=%s' % (out / 'resnet18')]
    assert all('--all_checkpoints' in arguments and
               '--split=test' in arguments for arguments in evals)
    plot, = _calls(log, '-m resnet_tf1 plot')
    assert '--out=%s' % (out / 'degradation.png') in plot
    assert (out / 'table.md').read_text() == (
        '| network | test accuracy |\n\n'
        '| network | test accuracy (EMA) at each kept checkpoint |\n'
        '|---|---|\n'
        '| plain18 | 0.9800 (40) |\n'
        '| resnet18 | 0.9800 (40) |\n')
    assert (out / 'resnet18' / 'eval_test.txt').read_text().startswith(
        'step=40 ')
    assert not list(out.glob('*.tmp')) and not list(out.glob('*/*.tmp'))


def test_degradation_run_again_trains_again_but_does_not_evaluate_again(
        stub, tmp_path):
    out, log = tmp_path / 'study', tmp_path / 'calls.log'
    assert _run_degradation(stub, out, log).returncode == 0
    log.write_text('')
    result = _run_degradation(stub, out, log)
    assert result.returncode == 0, result.stderr
    # train.py is asked again (it resumes or finds the run finished)...
    assert len(_calls(log, 'train.py')) == 2
    # ...but a run evaluated at its final step is not evaluated again.
    assert not _calls(log, 'eval.py')
    assert result.stdout.count('evaluated already') == 2
    # Without TRAIN_FLAGS, train.py's last argument is the data directory.
    assert _calls(log, 'train.py')[0][-1] == '--data_dir=%s' % tmp_path


def test_degradation_bn_is_the_study_with_batch_norm_and_1000_steps(
        stub, tmp_path):
    out, log = tmp_path / 'study', tmp_path / 'calls.log'
    result = _run('degradation_bn.sh', [out, tmp_path], stub, log,
                  steps='1000', NETWORKS='plain34', TRAIN_FLAGS='--seed=3')
    assert result.returncode == 0, result.stderr
    train, = _calls(log, 'train.py')
    assert '--steps=1000' in train and '--keep_checkpoint_every=250' in train
    assert train[-3:] == ['--norm', 'batch', '--seed=3']
    plot, = _calls(log, '-m resnet_tf1 plot')
    assert '--out=%s' % (out / 'degradation_bn.png') in plot


# ------------------------------------------------------------ the article

def test_article_run_trains_evaluates_four_ways_and_writes_its_table(
        stub, tmp_path):
    out, log = tmp_path / 'article', tmp_path / 'calls.log'
    result = _run('article_8000.sh', [out, tmp_path], stub, log,
                  steps='20 40', STEPS='40')
    assert result.returncode == 0, result.stderr
    train, = _calls(log, 'train.py')
    assert sorted(train[1:]) == sorted([
        '--steps=40', '--seed=0', '--model_dir=%s' % (out / 'run'),
        '--data_dir=%s' % tmp_path])
    evals = [arguments[3:] for arguments in _calls(log, 'eval.py')]
    assert evals == [['--all_checkpoints'], ['--noema'],
                     ['--split=validation'],
                     ['--split=validation', '--noema']]
    plot, = _calls(log, '-m resnet_tf1 plot')
    assert plot[3:] == ['--model_dir=%s' % (out / 'run'),
                        '--out=%s' % (out / 'full8000.png')]
    table = (out / 'table.md').read_text()
    assert '| EMA weights | 0.9800 | 0.9800 |' in table
    assert '| 20 | 0.9800 |\n| 40 | 0.9800 |' in table
    # Run again: train.py resumes, nothing is evaluated twice.
    log.write_text('')
    assert _run('article_8000.sh', [out, tmp_path], stub, log,
                steps='20 40', STEPS='40').returncode == 0
    assert len(_calls(log, 'train.py')) == 1 and not _calls(log, 'eval.py')


def test_an_evaluation_that_fails_leaves_no_file_to_be_taken_as_done(
        stub, tmp_path):
    out, log = tmp_path / 'article', tmp_path / 'calls.log'
    # eval.py prints nothing for step 40: the table says '-', and the
    # next run evaluates again.
    result = _run('article_8000.sh', [out], stub, log, steps='20',
                  STEPS='40')
    assert result.returncode == 0, result.stderr
    assert '| EMA weights | - | - |' in (out / 'table.md').read_text()
    log.write_text('')
    _run('article_8000.sh', [out], stub, log, steps='20', STEPS='40')
    assert len(_calls(log, 'eval.py')) == 4


# --------------------------------------------------------------- recipes

def test_recipe_steps_runs_three_recipes_and_draws_them_with_the_article(
        stub, tmp_path):
    out, log = tmp_path / 'recipes', tmp_path / 'calls.log'
    article = tmp_path / 'article'
    article.mkdir()
    result = _run('recipe_steps.sh', [out, tmp_path], stub, log,
                  steps='500 3000 4000', ARTICLE=str(article))
    assert result.returncode == 0, result.stderr
    trains = _calls(log, 'train.py')
    assert [arguments[1] for arguments in trains] == [
        '--steps=3000', '--steps=4000', '--steps=4000']
    momentum, bn_shift, slow = [set(arguments) for arguments in trains]
    assert {'--optimizer=momentum', '--learning_rate_decay=0.5',
            '--seed=0', '--keep_checkpoint_every=500'} <= momentum
    assert '--norm=batch' not in momentum
    assert {'--learning_rate_decay=0.5', '--norm=batch',
            '--random_shift=2'} <= bn_shift
    assert {'--learning_rate_decay=0.6', '--norm=batch',
            '--random_shift=2'} <= slow
    assert len(_calls(log, 'eval.py')) == 12
    plot, = _calls(log, '-m resnet_tf1 plot')
    assert plot[3] == '--model_dir=%s' % article
    assert plot[-1] == '--out=%s' % (out / 'momentum.png')
    table = (out / 'table.md').read_text()
    assert '| momentum | 3000 | 0.9800 | 0.9800 | 0.9800 | 0.9800 |' in table
    assert '| bn_shift_slow | 0.9800 (500), 0.9800 (3000), ' in table
    assert table.endswith('\n\n| network | test accuracy |\n')


def test_recipe_steps_names_a_missing_article_directory(stub, tmp_path):
    result = _run('recipe_steps.sh', [tmp_path / 'out'], stub,
                  tmp_path / 'log', ARTICLE=str(tmp_path / 'nope'))
    _one_line_error(result, 'ARTICLE %s' % (tmp_path / 'nope'))
    assert not (tmp_path / 'out').exists()


# ------------------------------------------------------ 300 steps, signal

def test_steps300_runs_the_three_flags_with_seed_1(stub, tmp_path):
    out, log = tmp_path / 'short', tmp_path / 'calls.log'
    result = _run('steps300.sh', [out, tmp_path], stub, log, steps='300')
    assert result.returncode == 0, result.stderr
    trains = _calls(log, 'train.py')
    assert [arguments[4:] for arguments in trains] == [
        ['--data_dir=%s' % tmp_path],
        ['--data_dir=%s' % tmp_path, '--optimizer=momentum'],
        ['--data_dir=%s' % tmp_path, '--norm=batch']]
    assert all(arguments[1:3] == ['--steps=300', '--seed=1']
               for arguments in trains)
    assert (out / 'table.md').read_text().splitlines()[2:] == [
        "| (the article's recipe) | 0.9800 |",
        '| --optimizer=momentum | 0.9800 |',
        '| --norm=batch | 0.9800 |']


def test_init_signal_measures_three_networks_into_one_table(stub, tmp_path):
    out, log = tmp_path / 'signal', tmp_path / 'calls.log'
    result = _run('init_signal.sh', [out, tmp_path], stub, log)
    assert result.returncode == 0, result.stderr
    calls = _calls(log, '-m resnet_tf1 signal')
    assert [arguments[6:] for arguments in calls] == [
        ['--model=plain34'], ['--model=resnet34'],
        ['--model=plain34', '--norm=batch']]
    # The seed is given: signal draws one otherwise.
    assert all(arguments[3:6] == ['--base_depth=16', '--seed=0',
                                  '--data_dir=%s' % tmp_path]
               for arguments in calls)
    assert (out / 'table.md').read_text().splitlines() == [
        '| at initialization, --base_depth 16 | plain34 | resnet34 | '
        'plain34_bn |',
        '|---|---:|---:|---:|',
        '| block1 | 0.5 | 0.5 | 0.5 |',
        '| logits | 0.25 | 0.25 | 0.25 |',
        '| median over the weights of d xent/d w / w | 0.125 | 0.125 | '
        '0.125 |']


# ---------------------------------------------------------- models, speed

def test_models_counts_every_row_of_the_models_table(stub, tmp_path):
    out, log = tmp_path / 'models', tmp_path / 'calls.log'
    result = _run('models.sh', [out], stub, log)
    assert result.returncode == 0, result.stderr
    calls = _calls(log, '-m resnet_tf1 summary')
    assert len(calls) == 15
    resnet50 = next(arguments for arguments in calls
                    if '--model=resnet50' in arguments)
    for flag in ('--image_size=224', '--channels=3', '--num_classes=1000',
                 '--stem=imagenet', '--norm=batch', '--shortcut=B'):
        assert flag in resnet50, flag
    rows = (out / 'table.md').read_text().splitlines()
    assert len(rows) == 2 + 15
    assert rows[2] == ("| resnet34 | 28x28x1, 10 classes, the article's | "
                       "1234 | 5678 |")


def test_models_takes_no_data_directory(stub, tmp_path):
    _one_line_error(_run('models.sh', [tmp_path, tmp_path], stub,
                         tmp_path / 'log'), 'usage:', 'OUT_DIR')


def test_speed_runs_bench_per_table_and_writes_each_table(stub, tmp_path):
    out, log = tmp_path / 'speed', tmp_path / 'calls.log'
    result = _run('speed.sh', [out, 'training', 'forms', 'profile', 'flags',
                               'towers', 'torch'],
                  stub, log, TORCH_PYTHON=str(stub))
    assert result.returncode == 0, result.stderr
    benches = [arguments[3:] for arguments in
               _calls(log, '-m resnet_tf1 bench')]
    assert benches == [
        [], ['--compare=direct', '--nopeer', '--steps=6', '--warmup=2'],
        ['--profile', '--nopeer'],
        ['--profile', '--nopeer', '--conv_gradients=direct'],
        ['--nopeer'], ['--nopeer', '--input_pipeline=dataset'],
        ['--nopeer', '--precision=bf16'], ['--nopeer', '--xla'],
        ['--nopeer', '--inter_op_threads=1', '--intra_op_threads=2'],
        ['--nopeer', '--intra_op_threads=1', '--inter_op_threads=2'],
        ['--nopeer'],
        ['--nopeer', '--num_devices=1', '--steps=6', '--warmup=2'],
        ['--nopeer', '--num_devices=2', '--steps=6', '--warmup=2']]
    torch = _calls(log, '-m resnet_tf1.bench.torch_peer')
    assert [arguments[-1] for arguments in torch] == ['--channels_last', '3']
    assert (out / 'training.md').read_text().splitlines()[2:] == [
        '| project | 100 | 90.5 | 1105 | 0.80 |',
        'speedup project/plain_tf1=5.00']
    assert (out / 'profile.md').read_text().splitlines() == [
        '| stage | total |', 'untraced step: 1000 ms'] * 2
    flags = (out / 'flags.md').read_text().splitlines()
    assert flags[2] == '| (default) | project | 100 | 90.5 | 1105 | 0.80 |'
    assert flags[4] == ('| --precision=bf16 | project | 100 | 90.5 | 1105 '
                        '| 0.80 |')
    # The environment switch reaches its run only.
    assert flags[-1].startswith(
        '| TF_ENABLE_ONEDNN_OPTS=0 | project_onednn_off |')
    assert not any('onednn' in row for row in flags[:-1])
    assert len((out / 'towers.md').read_text().splitlines()) == 4
    assert 'torch | 100 | 60.0' in (out / 'torch.md').read_text()


def test_speed_names_an_unknown_table_before_running_anything(stub,
                                                              tmp_path):
    result = _run('speed.sh', [tmp_path / 'out', 'training', 'fastest'],
                  stub, tmp_path / 'log')
    _one_line_error(result, "unknown table 'fastest'")
    assert not (tmp_path / 'out').exists()


def test_speed_torch_needs_a_python_with_torch(stub, tmp_path):
    result = _run('speed.sh', [tmp_path / 'out', 'torch'], stub,
                  tmp_path / 'log')
    _one_line_error(result, 'TORCH_PYTHON')


# ---------------------------------------------------------- bad arguments

@pytest.mark.parametrize('script', [
    'article_8000.sh', 'degradation.sh', 'degradation_bn.sh',
    'recipe_steps.sh', 'steps300.sh', 'init_signal.sh', 'models.sh',
    'speed.sh'])
def test_no_arguments_is_one_usage_line(script, stub, tmp_path):
    log = tmp_path / 'calls.log'
    _one_line_error(_run(script, [], stub, log), 'usage:', 'OUT_DIR')
    assert not log.exists()


@pytest.mark.parametrize('script', [
    'article_8000.sh', 'degradation.sh', 'recipe_steps.sh', 'steps300.sh',
    'init_signal.sh'])
def test_a_missing_data_directory_is_one_line_and_makes_nothing(
        script, stub, tmp_path):
    out, log = tmp_path / 'study', tmp_path / 'calls.log'
    result = _run(script, [out, tmp_path / 'nope'], stub, log)
    _one_line_error(result,
                    'DATA_DIR %s: no such directory' % (tmp_path / 'nope'))
    assert not out.exists() and not log.exists()


@pytest.mark.parametrize('script,variable', [
    ('article_8000.sh', 'STEPS'), ('degradation.sh', 'EVERY'),
    ('steps300.sh', 'SEED'), ('recipe_steps.sh', 'SEED'),
    ('init_signal.sh', 'BASE_DEPTH'), ('init_signal.sh', 'SEED')])
def test_a_bad_count_in_the_environment_is_one_line(script, variable, stub,
                                                    tmp_path):
    log = tmp_path / 'calls.log'
    result = _run(script, [tmp_path / 'out'], stub, log,
                  **{variable: 'ten'})
    _one_line_error(result, '%s must be' % variable, "'ten'")
    assert not (tmp_path / 'out').exists() and not log.exists()
