"""Training survives interruptions: resumption replays the uninterrupted
run, a killed process leaves a restorable checkpoint, a diverged loss
stops training without touching the last good checkpoint."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from resnet_tf1 import checkpoints
from resnet_tf1 import errors
from resnet_tf1.training import loop

from conftest import MNIST_DIR
from conftest import REPO_DIR
from conftest import tiny_train_config
from test_training import checkpoint_tensors
from test_training import quiet


@pytest.mark.parametrize('overrides', [
    {},
    {'norm': 'batch', 'optimizer': 'momentum'},  # moving stats + slots
])
def test_resumed_run_ends_with_the_uninterrupted_checkpoint(
        mnist_data, tmp_path, overrides):
    full = tiny_train_config(seed=5, steps=4, save_every=2, **overrides)
    straight = loop.train(full, str(tmp_path / 'straight'), mnist_data.train,
                          log=quiet)
    first = tiny_train_config(seed=5, steps=2, save_every=2, **overrides)
    loop.train(first, str(tmp_path / 'resumed'), mnist_data.train, log=quiet)
    # No seed given on resumption: the run keeps the one it started with.
    resumed = loop.train(tiny_train_config(seed=None, steps=4,
                                               save_every=2, **overrides),
                         str(tmp_path / 'resumed'), mnist_data.train,
                         log=quiet)
    assert resumed.losses == straight.losses[2:]
    a = checkpoint_tensors(str(tmp_path / 'straight'))
    b = checkpoint_tensors(str(tmp_path / 'resumed'))
    assert a.keys() == b.keys()
    assert any('ExponentialMovingAverage' in name for name in a)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_diverging_loss_stops_and_keeps_the_last_good_checkpoint(
        mnist_data, tmp_path):
    good = tiny_train_config(steps=2, save_every=2)
    loop.train(good, str(tmp_path), mnist_data.train, log=quiet)
    before = checkpoint_tensors(str(tmp_path))
    exploding = tiny_train_config(steps=40, save_every=1,
                                  learning_rate=10.0)
    with pytest.raises(errors.TrainingError,
                       match=r'loss is (nan|inf) at step \d+; stopping'):
        loop.train(exploding, str(tmp_path), mnist_data.train, log=quiet)
    newest = checkpoints.latest_checkpoint(str(tmp_path))
    for name, value in checkpoint_tensors(str(tmp_path)).items():
        assert np.all(np.isfinite(value)), name
    # Checkpoints written before the loss went bad are finite; the one that
    # would hold bad weights was never written.
    assert newest.endswith(tuple('-%d' % step for step in range(2, 40)))
    assert before.keys() == checkpoint_tensors(str(tmp_path)).keys()


def _train_command(model_dir, steps):
    return [sys.executable, 'train.py', '--steps', str(steps), '--seed', '1',
            '--base_depth', '4', '--batch_size', '8', '--save_every', '1',
            '--log_every', '1', '--data_dir', str(MNIST_DIR),
            '--model_dir', str(model_dir)]


def _evaluated_step(model_dir):
    """eval.py on `model_dir` must succeed; returns the step it restored."""
    run = subprocess.run(
        [sys.executable, 'eval.py', '--model_dir', str(model_dir),
         '--data_dir', str(MNIST_DIR), '--split', 'validation'],
        cwd=REPO_DIR, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return int(run.stdout.split()[0].split('=')[1])


def _kill_after(model_dir, log_lines, extra_seconds):
    """Starts train.py, kills it with SIGKILL `extra_seconds` after its
    `log_lines`-th step line: with a checkpoint every step (written just
    after the line), the kill lands in a save or in the next step."""
    process = subprocess.Popen(_train_command(model_dir, 10000),
                               cwd=REPO_DIR, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    seen = 0
    for line in process.stdout:
        if line.startswith('step '):
            seen += 1
            if seen == log_lines:
                break
    time.sleep(extra_seconds)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.returncode


def test_kill_9_while_saving_keeps_the_previous_checkpoint(tmp_path):
    model_dir = tmp_path / 'run'
    # Full width (a 250 MB checkpoint with the EMA shadows), so that a save
    # lasts long enough to be caught in the act.
    command = _train_command(model_dir, 10000)
    command[command.index('--base_depth') + 1] = '64'
    process = subprocess.Popen(command, cwd=REPO_DIR,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    # The Saver writes model.ckpt-<N>.data-*.tempstate<random> (then the
    # index the same way) and renames each when complete: kill the process
    # the moment such a file appears, once one checkpoint is complete.
    deadline = time.time() + 300
    caught = None
    while time.time() < deadline and caught is None:
        names = os.listdir(model_dir) if model_dir.exists() else []
        if any(name.endswith('.index') for name in names):
            caught = next((name for name in names
                           if '.tempstate' in name), None)
        time.sleep(0.001)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert caught, 'never saw a save in progress'
    step = _evaluated_step(model_dir)
    interrupted = int(caught[len('model.ckpt-'):].split('.')[0])
    assert step == interrupted - 1, caught


@pytest.mark.parametrize('log_lines, extra_seconds', [
    (2, 0.0), (3, 0.013), (5, 0.029), (8, 0.047)])
def test_kill_9_leaves_a_checkpoint_eval_restores(tmp_path, log_lines,
                                                  extra_seconds):
    model_dir = tmp_path / 'run'
    assert _kill_after(model_dir, log_lines, extra_seconds) == -signal.SIGKILL
    step = _evaluated_step(model_dir)
    # Step k's line is printed before step k's checkpoint is written, so
    # step k - 1's was complete when the kill came.
    assert step >= log_lines - 1
    # And training resumes from it.
    resumed = subprocess.run(_train_command(model_dir, step + 1),
                             cwd=REPO_DIR, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert 'resuming from step %d' % step in resumed.stdout


def _checkpoint_steps(model_dir):
    return sorted(int(name[len('model.ckpt-'):-len('.index')])
                  for name in os.listdir(model_dir)
                  if name.startswith('model.ckpt-')
                  and name.endswith('.index'))


def test_milestone_checkpoints_survive_rotation_and_resumption(
        mnist_data, tmp_path):
    config = tiny_train_config(steps=8, save_every=1, keep_checkpoint_every=3)
    loop.train(config, str(tmp_path), mnist_data.train, log=quiet)
    # The milestones (3, 6) and the 5 newest others.
    assert _checkpoint_steps(tmp_path) == [2, 3, 4, 5, 6, 7, 8]
    resumed = tiny_train_config(seed=None, steps=13, save_every=1,
                                keep_checkpoint_every=3)
    loop.train(resumed, str(tmp_path), mnist_data.train, log=quiet)
    # The resumed run goes on rotating the checkpoints the first one left.
    assert _checkpoint_steps(tmp_path) == [3, 6, 7, 8, 9, 10, 11, 12, 13]
