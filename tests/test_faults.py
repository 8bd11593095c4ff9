"""Training survives interruptions: resumption replays the uninterrupted
run, a killed process leaves a restorable checkpoint, a diverged loss
stops training without touching the last good checkpoint."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1.model_dir import sanity
from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import lock
from resnet_tf1.model_dir import checkpoints
from resnet_tf1 import errors
from resnet_tf1.data import mnist
from resnet_tf1.evaluation import evaluate
from resnet_tf1.evaluation import export
from resnet_tf1.training import distributed
from resnet_tf1.training import loop
from resnet_tf1.training import train_op

from conftest import MNIST_DIR
from conftest import REPO_DIR
from conftest import evaluate_newest
from conftest import tiny_train_config
from test_training import checkpoint_tensors
from test_training import quiet

tf1 = tf.compat.v1


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
                       match=r'(loss is (nan|inf)|the weights diverge: .*) '
                       r'at step \d+; stopping'):
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


def _evaluated_step(model_dir, mnist_data):
    """What eval.py does with `model_dir` (resolve_checkpoint, then an
    Evaluator of the EMA weights), in-process on a few validation images:
    must succeed; returns the step it restored. (eval.py itself is
    tests/test_cli.py's; here what counts is what the files on disk hold.)
    """
    return evaluate_newest(model_dir, mnist.Split(
        mnist_data.validation.images[:100],
        mnist_data.validation.labels[:100]), 100).step


def _kill_after(model_dir, log_lines, extra_seconds):
    """Starts train.py, kills it with SIGKILL `extra_seconds` after its
    `log_lines`-th step line: with a checkpoint every step (written just
    after the line), the kill lands in a save or in the next step."""
    with open(model_dir.parent / 'stderr.txt', 'w+') as errors:
        process = subprocess.Popen(_train_command(model_dir, 10000),
                                   cwd=REPO_DIR, stdout=subprocess.PIPE,
                                   stderr=errors, text=True)
        seen = 0
        for line in process.stdout:
            if line.startswith('step '):
                seen += 1
                if seen == log_lines:
                    break
        time.sleep(extra_seconds)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        # What train.py printed, for the assertion message of a run that
        # ended before the kill.
        errors.seek(0)
        return process.returncode, errors.read()[-2000:]


def test_kill_9_while_saving_keeps_the_previous_checkpoint(mnist_data,
                                                           tmp_path):
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
        complete = any(name.endswith('.index') for name in names)
        if complete:
            caught = next((name for name in names
                           if '.tempstate' in name), None)
        # Until the first checkpoint is complete (TensorFlow's start-up, a
        # graph build, a first step and save: seconds) this loop would
        # only take a core from train.py; then it watches closely.
        time.sleep(0.001 if complete else 0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert caught, 'never saw a save in progress'
    step = _evaluated_step(model_dir, mnist_data)
    interrupted = int(caught[len('model.ckpt-'):].split('.')[0])
    # The save in progress is not used, unless the kill came after its
    # index was in place (then it was complete: found from the files even
    # if the state file did not list it yet).
    assert step in (interrupted - 1, interrupted), caught


@pytest.mark.parametrize('log_lines, extra_seconds', [
    (2, 0.0), (3, 0.013), (5, 0.029), (8, 0.047)])
def test_kill_9_leaves_a_checkpoint_eval_restores(mnist_data, tmp_path,
                                                  log_lines, extra_seconds):
    model_dir = tmp_path / 'run'
    returncode, errors = _kill_after(model_dir, log_lines, extra_seconds)
    assert returncode == -signal.SIGKILL, errors
    step = _evaluated_step(model_dir, mnist_data)
    # Step k's line is printed before step k's checkpoint is written, so
    # step k - 1's was complete when the kill came.
    assert step >= log_lines - 1
    # And training resumes from it (train.py's flags, as a config).
    lines = []
    resumed = loop.train(tiny_train_config(seed=1, steps=step + 1,
                                           save_every=1, log_every=1),
                         str(model_dir), mnist_data.train, log=lines.append)
    assert 'resuming from step %d in %s' % (step, model_dir) in lines
    assert resumed.step == step + 1


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


# --------------------------------------------------------------------------
# Nothing written is lost: the model directory's checkpoints, lock and
# config (checkpoints.py).


@pytest.fixture(scope='module')
def four_steps(mnist_data, tmp_path_factory):
    """A tiny run of 4 steps with checkpoints 2 and 4; copy it to damage."""
    model_dir = tmp_path_factory.mktemp('four_steps')
    loop.train(tiny_train_config(steps=4, save_every=2), str(model_dir),
               mnist_data.train, log=quiet)
    return model_dir


def _copy(source, tmp_path, name='run'):
    target = tmp_path / name
    shutil.copytree(source, target)
    return target


def _write_state(model_dir, newest, paths):
    (model_dir / 'checkpoint').write_text(
        'model_checkpoint_path: "%s"\n' % newest + ''.join(
            'all_model_checkpoint_paths: "%s"\n' % path for path in paths))


def _delete_checkpoint(model_dir, step):
    for name in os.listdir(model_dir):
        if name.startswith('model.ckpt-%d.' % step):
            os.remove(model_dir / name)


@pytest.mark.parametrize('damage, newest, note', [
    ('no_state_file', 4, 'checkpoint is missing or unreadable'),
    ('corrupt_state_file', 4, 'checkpoint is missing or unreadable'),
    ('empty_state_file', 4, 'checkpoint is missing or unreadable'),
    ('newest_deleted', 2, 'names model.ckpt-4, which is gone'),
    ('moved_absolute', 4, 'lists /elsewhere/model/model.ckpt-4'),
    ('older_listed', 4, 'names model.ckpt-2, an older one'),
])
def test_newest_checkpoint_is_found_without_the_state_file(
        mnist_data, four_steps, tmp_path, damage, newest, note):
    model_dir = _copy(four_steps, tmp_path)
    state = model_dir / 'checkpoint'
    if damage == 'no_state_file':
        state.unlink()
    elif damage == 'corrupt_state_file':
        state.write_bytes(b'\x00\xffnot a text proto {')
    elif damage == 'empty_state_file':
        state.write_text('')
    elif damage == 'newest_deleted':
        _delete_checkpoint(model_dir, 4)
    elif damage == 'moved_absolute':
        _write_state(model_dir, '/elsewhere/model/model.ckpt-4',
                     ['/elsewhere/model/model.ckpt-2',
                      '/elsewhere/model/model.ckpt-4'])
    elif damage == 'older_listed':
        _write_state(model_dir, 'model.ckpt-2', ['model.ckpt-2'])
    checkpoint, found_note = checkpoints.find_latest(str(model_dir))
    assert checkpoint == str(model_dir / ('model.ckpt-%d' % newest))
    assert note in found_note and '\n' not in found_note
    # eval finds the same one.
    assert evaluate.resolve_checkpoint(str(model_dir))[0] == checkpoint
    # Training resumes from it, saying why, and never from step 0...
    lines = []
    resumed = loop.train(tiny_train_config(steps=newest + 1),
                         str(model_dir), mnist_data.train, log=lines.append)
    assert resumed.losses[0][0] == newest + 1
    assert note in lines[0]
    assert any('resuming from step %d' % newest in line for line in lines)
    # ... and the state file it then writes leads to the newest again.
    assert checkpoints.find_latest(str(model_dir)) == (
        str(model_dir / ('model.ckpt-%d' % (newest + 1))), None)


def test_another_network_is_refused_without_the_state_file(
        mnist_data, four_steps, tmp_path):
    """The issue's reproduction: the state file deleted, then a wider
    network on the same directory. Nothing may be rewritten."""
    model_dir = _copy(four_steps, tmp_path)
    (model_dir / 'checkpoint').unlink()
    before = {name: (model_dir / name).read_bytes()
              for name in os.listdir(model_dir)
              if (model_dir / name).is_file()}
    with pytest.raises(errors.ConfigError, match=r'holds checkpoints of '
                       r'another model: base_depth=4 \(this run: 8\)'):
        loop.train(tiny_train_config(steps=6, base_depth=8),
                   str(model_dir), mnist_data.train, log=quiet)
    after = {name: (model_dir / name).read_bytes()
             for name in os.listdir(model_dir)
             if (model_dir / name).is_file()}
    assert after == before


def test_unusable_checkpoint_files_are_refused_not_overwritten(
        mnist_data, four_steps, tmp_path):
    model_dir = _copy(four_steps, tmp_path)
    (model_dir / 'checkpoint').unlink()
    for name in os.listdir(model_dir):
        if '.data-' in name:
            (model_dir / name).write_bytes(b'garbage')
    with pytest.raises(errors.CheckpointError, match='none of its checkpoints '
                       r'\(model.ckpt-2, model.ckpt-4\) reads back'):
        loop.train(tiny_train_config(steps=6), str(model_dir),
                   mnist_data.train, log=quiet)
    assert (model_dir / 'model.ckpt-4.data-00000-of-00001').read_bytes() == \
        b'garbage'


def test_a_moved_directory_resumes_from_its_relative_state_file(
        mnist_data, four_steps, tmp_path):
    model_dir = _copy(four_steps, tmp_path, 'before')
    assert 'model_checkpoint_path: "model.ckpt-4"' in (
        model_dir / 'checkpoint').read_text()
    moved = tmp_path / 'after'
    shutil.move(str(model_dir), str(moved))
    assert checkpoints.find_latest(str(moved)) == (
        str(moved / 'model.ckpt-4'), None)


def test_milestones_outside_the_state_file_are_legitimate(mnist_data,
                                                          tmp_path):
    config_ = tiny_train_config(steps=8, save_every=1, keep_checkpoint_every=3)
    loop.train(config_, str(tmp_path), mnist_data.train, log=quiet)
    # 3 and 6 are on disk, not in the state file: no note, newest is 8.
    assert checkpoints.find_latest(str(tmp_path)) == (
        str(tmp_path / 'model.ckpt-8'), None)
    (tmp_path / 'checkpoint').unlink()
    _delete_checkpoint(tmp_path, 8)
    _delete_checkpoint(tmp_path, 7)
    checkpoint, note = checkpoints.find_latest(str(tmp_path))
    assert checkpoint == str(tmp_path / 'model.ckpt-6') and note


def test_a_second_trainer_is_refused(mnist_data, four_steps, tmp_path):
    model_dir = _copy(four_steps, tmp_path)
    with lock.exclusive(str(model_dir)):
        with pytest.raises(errors.ConfigError,
                           match='another trainer .pid %d. is using it' %
                           os.getpid()):
            loop.train(tiny_train_config(steps=6), str(model_dir),
                       mnist_data.train, log=quiet)
        # The cluster's chief takes the same lock.
        task = distributed.ClusterTask(
            {'ps': ['127.0.0.1:1'], 'worker': ['127.0.0.1:2']}, 'worker', 0)
        with pytest.raises(errors.ConfigError, match='another trainer'):
            distributed.train_worker(tiny_train_config(steps=6),
                                     str(model_dir), mnist_data.train, task)
    assert checkpoints.latest_checkpoint(str(model_dir)).endswith('-4')


def test_a_killed_trainers_lock_does_not_block(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, '-c',
         'import sys, time\n'
         'from resnet_tf1.model_dir import lock\n'
         'with lock.exclusive(sys.argv[1]):\n'
         '    print("locked", flush=True)\n'
         '    time.sleep(3600)\n', str(tmp_path)],
        cwd=REPO_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        with pytest.raises(errors.ConfigError, match='pid %d' % holder.pid):
            with lock.exclusive(str(tmp_path)):
                pass
    finally:
        holder.kill()
        holder.wait()
    # kill -9 gave the lock back: the kernel drops flock locks with the
    # process.
    with lock.exclusive(str(tmp_path)):
        pass


@pytest.mark.parametrize('overrides, message', [
    ({'optimizer': 'momentum'}, '--optimizer momentum: the run in'),
    ({'seed': 2}, '--seed 2: the run in'),
    ({'batch_size': 16}, '--batch_size 16: the run in'),
    ({'steps': 3}, '--steps 3: the run in .* is already at step 4'),
    # The checkpoint-vs-network check, after the config's own.
    ({'norm': 'batch', 'edit_config': True},
     'does not hold the variables of the network being trained'),
])
def test_a_refused_resume_rewrites_nothing(mnist_data, four_steps, tmp_path,
                                           overrides, message):
    model_dir = _copy(four_steps, tmp_path)
    config_path = model_dir / 'train_config.json'
    overrides = dict(overrides)
    edit_config = overrides.pop('edit_config', False)
    if edit_config:
        # A config that says batch norm over checkpoints without it.
        config_path.write_text(config_path.read_text().replace(
            '"norm": "none"', '"norm": "batch"'))
    before = config_path.read_bytes()
    names = sorted(os.listdir(model_dir))
    # The flags' conflicts are ConfigErrors, a checkpoint that is not the
    # network's a CheckpointError: both are one line (errors.UserError).
    with pytest.raises(errors.CheckpointError if edit_config
                       else errors.ConfigError, match=message):
        loop.train(tiny_train_config(**{'steps': 6, **overrides}),
                   str(model_dir), mnist_data.train, log=quiet)
    assert config_path.read_bytes() == before
    assert sorted(os.listdir(model_dir)) == names


def test_a_resume_records_what_it_changed(mnist_data, four_steps, tmp_path):
    model_dir = _copy(four_steps, tmp_path)
    loop.train(tiny_train_config(steps=5, seed=None, save_every=2,
                                     learning_rate=0.01),
               str(model_dir), mnist_data.train, log=quiet)
    saved = json.loads((model_dir / 'train_config.json').read_text())
    assert saved['learning_rate'] == 0.01 and saved['seed'] == 1
    assert saved['history'] == [{'step': 4, 'changed': {
        'learning_rate': [0.03, 0.01], 'steps': [4, 5]}}]
    # Still a config eval reads.
    assert run_record.load(str(model_dir)).learning_rate == 0.01


def test_a_damaged_config_value_is_one_line(four_steps, tmp_path):
    model_dir = _copy(four_steps, tmp_path)
    path = model_dir / 'train_config.json'
    path.write_text(path.read_text().replace('"batch_size": 8',
                                             '"batch_size": "8"'))
    with pytest.raises(errors.ConfigError,
                       match="batch_size is '8', not int"):
        run_record.load(str(model_dir))


@pytest.mark.parametrize('damage', ['missing', 'truncated', 'corrupt'])
def test_a_damaged_data_file_is_one_line_in_train_eval_and_export(
        mnist_data, four_steps, tmp_path, damage):
    model_dir = _copy(four_steps, tmp_path)
    data_file = model_dir / 'model.ckpt-4.data-00000-of-00001'
    content = data_file.read_bytes()
    if damage == 'missing':
        data_file.unlink()
    elif damage == 'truncated':
        data_file.write_bytes(content[:len(content) // 2])
    else:
        data_file.write_bytes(bytes(255 - byte for byte in content))
    checkpoint = str(model_dir / 'model.ckpt-4')
    if damage == 'missing':
        # Not a complete checkpoint any more: the older one is used.
        assert checkpoints.latest_checkpoint(str(model_dir)).endswith('-2')
    pattern = r'model.ckpt-4: cannot read its data file \(.*\); it is ' \
        r'missing or damaged'
    train_config = run_record.load(str(model_dir))
    train_graph = train_op.build_train_graph(train_config)
    with tf1.Session(graph=train_graph.graph) as session:
        with pytest.raises(errors.CheckpointError, match=pattern) as error:
            checkpoints.restore_or_initialize(
                session, train_graph.saver, str(model_dir),
                checkpoint=checkpoint)
    assert 'variable' not in str(error.value).lower()
    assert '\n' not in str(error.value)
    evaluator = evaluate.Evaluator(train_config)
    try:
        with pytest.raises(errors.CheckpointError, match=pattern):
            evaluator.evaluate(checkpoint, mnist_data.validation, 1000)
    finally:
        evaluator.close()
    with pytest.raises(errors.CheckpointError, match=pattern):
        export.export(checkpoint, train_config, str(tmp_path / 'export'))
    if damage != 'missing':
        # The newest checkpoint is damaged: training says so, never
        # starts over.
        with pytest.raises(errors.CheckpointError, match=pattern):
            loop.train(tiny_train_config(steps=6), str(model_dir),
                       mnist_data.train, log=quiet)


def test_a_full_disk_is_one_line_naming_the_checkpoint_kept(
        mnist_data, four_steps, tmp_path, monkeypatch):
    model_dir = _copy(four_steps, tmp_path)
    saves = []

    def full_disk(self, session, path, global_step=None, **kwargs):
        saves.append(global_step)
        raise tf.errors.ResourceExhaustedError(
            None, None, '%s-%d.data-00000-of-00001.tempstate1; No space left '
            'on device' % (path, global_step))

    monkeypatch.setattr(tf1.train.Saver, 'save', full_disk)
    with pytest.raises(errors.ConfigError, match=(
            r'cannot write the checkpoint of step 6 \(.*No space left on '
            r'device\); the run is in .*model.ckpt-4$')):
        loop.train(tiny_train_config(steps=6, save_every=2),
                   str(model_dir), mnist_data.train, log=quiet)
    assert saves == [6]
    assert checkpoints.latest_checkpoint(str(model_dir)).endswith('-4')


def test_a_diverged_run_keeps_a_sane_checkpoint_and_can_go_on(
        mnist_data, tmp_path):
    loop.train(tiny_train_config(steps=2, save_every=2), str(tmp_path),
               mnist_data.train, log=quiet)
    with pytest.raises(errors.TrainingError) as error:
        loop.train(tiny_train_config(steps=40, save_every=1,
                                     learning_rate=10.0),
                   str(tmp_path), mnist_data.train, log=quiet)
    message = str(error.value)
    newest = checkpoints.latest_checkpoint(str(tmp_path))
    assert 'the newest sane checkpoint is %s' % newest in message
    assert 'with a lower --learning_rate (this run: 10)' in message
    for name, value in checkpoint_tensors(str(tmp_path)).items():
        assert np.all(np.isfinite(value)), name
        if 'global_step' not in name:
            assert np.max(np.abs(value)) <= sanity.MAX_SANE_WEIGHT, name
    # A checkpoint whose weights gave the diverged loss is set aside.
    assert not any(name.endswith('.diverged') and name.startswith(
        os.path.basename(newest) + '.') for name in os.listdir(tmp_path))
    assert checkpoints.find_latest(str(tmp_path)) == (newest, None)
    # What the message advises works: the run goes on from there.
    step = checkpoints.checkpoint_step(newest)
    resumed = loop.train(tiny_train_config(steps=step + 5,
                                           learning_rate=0.01),
                         str(tmp_path), mnist_data.train, log=quiet)
    assert resumed.step == step + 5
    assert all(np.isfinite(loss) for _, loss in resumed.losses)


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_with_a_line_naming_the_checkpoint(
        mnist_data, tmp_path, signum):
    model_dir = tmp_path / 'run'
    command = _train_command(model_dir, 10000)
    # Checkpoints every 1000 steps: the one on the way out is the stop's.
    command[command.index('--save_every') + 1] = '1000'
    process = subprocess.Popen(command, cwd=REPO_DIR, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith('step 3/'):
            break
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 1
    assert 'Traceback' not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    match = re.match(r'^error: %s: stopped at step (\d+); the run is in '
                     r'(\S+)$' % signal.Signals(signum).name, last)
    assert match, last
    step = int(match.group(1))
    assert step >= 3
    assert match.group(2) == str(model_dir / ('model.ckpt-%d' % step))
    assert _evaluated_step(model_dir, mnist_data) == step
