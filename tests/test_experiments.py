"""scripts/degradation.sh's plumbing, with a stand-in for Python.

The study itself takes an hour of training; what can break without
training is the script's own logic: which flags reach train.py, eval.py
and plot, that a finished run is not evaluated again, and the table it
writes. `PYTHON` is a shell stub that logs its arguments and answers as
eval.py and plot would, so this test runs in a fraction of a second.
"""

import os
import stat
import subprocess

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'scripts', 'degradation.sh')

# Answers like the real commands: train.py makes its model directory,
# eval.py prints one line per checkpoint, plot a table and the "wrote" line
# the script leaves out of table.md.
STUB = """#!/bin/sh
echo "$*" >> "$STUB_LOG"
case "$1" in
    train.py) for argument in "$@"; do
                  case "$argument" in
                      --model_dir=*) mkdir -p "${argument#--model_dir=}" ;;
                  esac
              done ;;
    eval.py) echo "step=$STEPS accuracy=0.9800 examples=10000 weights=ema" ;;
    -m) echo "| network | test accuracy |"; echo "wrote somewhere.png" ;;
esac
"""


@pytest.fixture
def stub(tmp_path):
    path = tmp_path / 'python-stub'
    path.write_text(STUB)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _run(stub, out, log, **env):
    environment = dict(os.environ, PYTHON=str(stub), STUB_LOG=str(log),
                       STEPS='40', EVERY='20', BASE_DEPTH='8',
                       NETWORKS='plain18 resnet18', **env)
    return subprocess.run(['sh', SCRIPT, str(out), str(out.parent)],
                          env=environment, capture_output=True, text=True,
                          check=False)


def test_flags_reach_each_command_and_the_table_is_written(stub, tmp_path):
    out, log = tmp_path / 'study', tmp_path / 'calls.log'
    result = _run(stub, out, log, TRAIN_FLAGS='--norm batch')
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    trains = [call for call in calls if call.startswith('train.py')]
    assert len(trains) == 2
    for network, call in zip(['plain18', 'resnet18'], trains):
        arguments = call.split()
        assert '--model=%s' % network in arguments
        assert '--model_dir=%s' % (out / network) in arguments
        for flag in ('--steps=40', '--base_depth=8', '--save_every=20',
                     '--keep_checkpoint_every=20', '--seed=0',
                     '--data_dir=%s' % tmp_path):
            assert flag in arguments, (flag, call)
        # TRAIN_FLAGS split into train.py's own arguments, last.
        assert arguments[-2:] == ['--norm', 'batch']
    evals = [call for call in calls if call.startswith('eval.py')]
    assert [call.split()[1] for call in evals] == [
        '--model_dir=%s' % (out / 'plain18'),
        '--model_dir=%s' % (out / 'resnet18')]
    assert all('--all_checkpoints' in call and '--split=test' in call
               for call in evals)
    plot = calls[-1].split()
    assert plot[:3] == ['-m', 'resnet_tf1', 'plot']
    assert '--out=%s' % (out / 'degradation.png') in plot
    assert (out / 'table.md').read_text() == '| network | test accuracy |\n'
    assert (out / 'resnet18' / 'eval_test.txt').read_text().startswith(
        'step=40 ')
    assert not list(out.glob('*.tmp')) and not list(out.glob('*/*.tmp'))


def test_a_second_run_trains_again_but_does_not_evaluate_again(stub,
                                                                tmp_path):
    out, log = tmp_path / 'study', tmp_path / 'calls.log'
    assert _run(stub, out, log).returncode == 0
    log.write_text('')
    result = _run(stub, out, log)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    # train.py is asked again (it resumes or finds the run finished)...
    assert sum(call.startswith('train.py') for call in calls) == 2
    # ...but a run evaluated at its final step is not evaluated again.
    assert not any(call.startswith('eval.py') for call in calls)
    assert result.stdout.count('evaluated already') == 2
    # Without TRAIN_FLAGS, train.py's last argument is the data directory.
    assert calls[0].split()[-1] == '--data_dir=%s' % tmp_path


def test_a_missing_output_directory_argument_is_one_usage_line(tmp_path):
    result = subprocess.run(['sh', SCRIPT], capture_output=True, text=True,
                            check=False, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0
    assert 'usage:' in result.stderr and 'OUT_DIR' in result.stderr


def test_a_missing_data_directory_is_one_line_and_makes_nothing(tmp_path):
    out = tmp_path / 'study'
    result = subprocess.run(['sh', SCRIPT, str(out), str(tmp_path / 'nope')],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0
    assert 'DATA_DIR %s: no such directory' % (tmp_path / 'nope') in (
        result.stderr)
    assert not out.exists()
