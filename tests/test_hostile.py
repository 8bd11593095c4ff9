"""The standing hostile-input suite (issue 28): planted links, full disks,
readers racing a trainer, FIFOs, nonsense flags. Each probe of the issue
is a test here; the cluster's are in test_hostile_cluster.py, the random
faults in test_chaos.py.

Full disks are real write failures, not mocks, where the OS can make them
without root: `file_size_limit` lowers RLIMIT_FSIZE (the soft limit, which
any process may raise again), so every writer, TensorFlow's included, gets
EFBIG ("File too large") past a size, through its real code path. ENOSPC's
own wording is checked on safe_io with an injected error.
"""

import contextlib
import errno
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1 import errors
from resnet_tf1.data import mnist
from resnet_tf1.evaluation import evaluate
from resnet_tf1.evaluation import export
from resnet_tf1.evaluation import predict
from resnet_tf1.model_dir import checkpoints
from resnet_tf1.model_dir import lock
from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import safe_io
from resnet_tf1.tools import plot
from resnet_tf1.training import loop

from conftest import MNIST_DIR
from conftest import REPO_DIR
from conftest import tiny_train_config
from test_training import checkpoint_tensors
from test_training import quiet

tf1 = tf.compat.v1

VICTIM = b'must stay byte-identical\n'


def _small(split, count=200):
    return mnist.Split(split.images[:count], split.labels[:count])


def _evaluate_and_write(model_dir, mnist_data, checkpoint_path=None):
    checkpoint, train_config = evaluate.resolve_checkpoint(
        str(model_dir), checkpoint_path)
    evaluator = evaluate.Evaluator(train_config)
    try:
        result = evaluator.evaluate(checkpoint, _small(mnist_data.test), 100)
    finally:
        evaluator.close()
    evaluate.write_summary(result, 'test')
    return result


@pytest.fixture(scope='module')
def real_run(mnist_data, tmp_path_factory):
    """A workspace holding what a real tiny run writes: model/ after train
    (steps 1-2, a checkpoint at each), eval (eval_test/) and plot
    (curves.png), and export/2/. Returns (root, every file and directory
    written, relative to root)."""
    root = tmp_path_factory.mktemp('real_run')
    model_dir = root / 'model'
    loop.train(tiny_train_config(steps=2, save_every=1, log_every=1),
               str(model_dir), mnist_data.train, log=quiet)
    _evaluate_and_write(model_dir, mnist_data)
    plot.plot(str(model_dir))
    checkpoint, train_config = evaluate.resolve_checkpoint(str(model_dir))
    export.export(checkpoint, train_config, str(root / 'export'))
    written = sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, subdirectories, names in os.walk(root)
        for name in subdirectories + names)
    return root, written


def test_a_real_run_writes_the_files_the_link_checks_cover(real_run):
    _, written = real_run
    top = {path.split(os.sep)[1] for path in written
           if path.startswith('model' + os.sep)}
    # What the checks below plant links at: if a run starts writing
    # another name, this test says so.
    kinds = {re.sub(r'\d+', 'N', name.split('.')[0] if name.startswith(
        'events') else name) for name in top}
    assert kinds == {
        'checkpoint', 'curves.png', 'eval_test', 'model.ckpt-N.index',
        'model.ckpt-N.meta',
        'model.ckpt-N.data-N-of-N', 'train', 'train.lock',
        'train_config.json'}, sorted(top)
    assert 'export/2/saved_model.pb' in written
    assert 'export/2/%s' % export.FROZEN_GRAPH_NAME in written
    assert any(re.match(r'model/eval_test/events\.out\.tfevents\.', path)
               for path in written)
    assert any(re.match(r'model/train/events\.out\.tfevents\.', path)
               for path in written)


def _copy(root, destination):
    shutil.copytree(root, destination, symlinks=True)
    return destination


def _plant(path, victim):
    """Replaces `path` (a file or directory, or nothing) with a link to
    `victim`."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
    os.symlink(victim, path)


def _victim(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_bytes(VICTIM)
    return victim


def _victim_directory(tmp_path):
    directory = tmp_path / 'victim_dir'
    directory.mkdir()
    (directory / 'kept').write_bytes(VICTIM)
    return directory


def _assert_untouched(victim, victim_directory):
    assert victim.read_bytes() == VICTIM
    assert sorted(os.listdir(victim_directory)) == ['kept']
    assert (victim_directory / 'kept').read_bytes() == VICTIM


def _assert_refused(error, link):
    message = str(error.value)
    assert '\n' not in message
    assert message.startswith('%s is a symbolic link (to ' % link), message


def _plant_cases(written):
    """Every name under model/ a run writes, plus the temporary names it
    (or TensorFlow) writes on the way: what a hostile user would plant."""
    names = [path for path in written if path.startswith('model' + os.sep)
             and path != os.path.join('model', 'curves.png')]
    names += [os.path.join('model', name) for name in (
        'train_config.json.tmp', 'checkpoint.tmp', 'model.ckpt-3_temp',
        'model.ckpt-3.index', 'model.ckpt-3.data-00000-of-00001')]
    return names


def test_a_link_planted_at_any_name_a_run_writes_is_refused(
        real_run, mnist_data, tmp_path):
    root, written = real_run
    victim = _victim(tmp_path)
    victim_directory = _victim_directory(tmp_path)
    for case, name in enumerate(_plant_cases(written)):
        work = _copy(root, tmp_path / ('case%d' % case))
        link = work / name
        _plant(link, victim_directory if os.path.isdir(root / name)
               else victim)
        model_dir = work / 'model'
        if name.startswith(os.path.join('model', 'eval_test')):
            # eval.py writes there: it refuses, after the result.
            with pytest.raises(safe_io.LinkError) as error:
                _evaluate_and_write(model_dir, mnist_data)
        else:
            # A trainer resuming the directory refuses before writing.
            with pytest.raises(safe_io.LinkError) as error:
                loop.train(tiny_train_config(steps=3, save_every=1),
                           str(model_dir), mnist_data.train, log=quiet)
        _assert_refused(error, link)
        _assert_untouched(victim, victim_directory)
        assert os.path.islink(link)


def test_links_planted_in_a_new_model_dir_are_refused(mnist_data, tmp_path):
    """The issue's probe: links at train_config.json.tmp and train.lock of
    a directory not trained yet."""
    victim = _victim(tmp_path)
    model_dir = tmp_path / 'D'
    model_dir.mkdir()
    for name in ('train.lock', 'train_config.json.tmp', 'checkpoint',
                 'train_config.json', 'train', 'eval_test'):
        link = model_dir / name
        os.symlink(victim, link)
        with pytest.raises(safe_io.LinkError) as error:
            loop.train(tiny_train_config(steps=1), str(model_dir),
                       mnist_data.train, log=quiet)
        _assert_refused(error, link)
        assert victim.read_bytes() == VICTIM
        assert os.listdir(model_dir) == [name]
        os.remove(link)


def test_links_at_export_and_plot_outputs_are_refused(real_run, tmp_path):
    root, _ = real_run
    work = _copy(root, tmp_path / 'work')
    victim = _victim(tmp_path)
    victim_directory = _victim_directory(tmp_path)
    checkpoint, train_config = evaluate.resolve_checkpoint(
        str(work / 'model'))
    export_dir = tmp_path / 'exports'
    export_dir.mkdir()
    for target in (victim_directory, tmp_path / 'nowhere'):
        # A version directory linked elsewhere, or dangling.
        link = export_dir / '2'
        _plant(link, target)
        with pytest.raises(safe_io.LinkError) as error:
            export.export(checkpoint, train_config, str(export_dir))
        _assert_refused(error, link)
        assert sorted(os.listdir(export_dir)) == ['2']
    out = work / 'model' / 'curves.png'
    _plant(out, victim)
    with pytest.raises(safe_io.LinkError) as error:
        plot.plot(str(work / 'model'))
    _assert_refused(error, out)
    _assert_untouched(victim, victim_directory)


def test_the_issue_probe_on_the_command_line(tmp_path):
    """`ln -s V1 D/train_config.json.tmp; ln -s V2 D/train.lock; T`."""
    victim = _victim(tmp_path)
    model_dir = tmp_path / 'D'
    model_dir.mkdir()
    os.symlink(victim, model_dir / 'train_config.json.tmp')
    os.symlink(victim, model_dir / 'train.lock')
    process = _train_py(model_dir, '--steps', '5')
    assert process.returncode == 1
    assert process.stderr == (
        'error: %s is a symbolic link (to %s): refusing to write through '
        'it; remove it\n' % (model_dir / 'train.lock', victim))
    assert victim.read_bytes() == VICTIM


def _train_py(model_dir, *arguments, timeout=300):
    return subprocess.run(
        [sys.executable, str(REPO_DIR / 'train.py'), '--base_depth', '4',
         '--batch_size', '8', '--log_every', '1', '--data_dir',
         str(MNIST_DIR), '--model_dir', str(model_dir), *arguments],
        cwd=REPO_DIR, capture_output=True, text=True, timeout=timeout)


# -- Full disks ------------------------------------------------------------

@contextlib.contextmanager
def file_size_limit(size):
    """Files of this process cannot grow past `size` bytes (EFBIG, a real
    write failure in every writer) while in the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@pytest.fixture()
def two_steps(real_run, tmp_path):
    """A copy of the real run's model directory (checkpoints 1 and 2)."""
    root, _ = real_run
    return _copy(root / 'model', tmp_path / 'model')


def _assert_resumable(model_dir, mnist_data, before):
    """The checkpoint of step 2 is the newest, unchanged, and a run goes on
    from it."""
    assert checkpoints.latest_checkpoint(str(model_dir)).endswith('-2')
    after = checkpoint_tensors(str(model_dir))
    assert all(np.array_equal(before[name], after[name]) for name in before)
    result = loop.train(tiny_train_config(steps=3, save_every=1),
                        str(model_dir), mnist_data.train, log=quiet)
    assert result.step == 3


def _file_sizes(model_dir):
    return {name: os.path.getsize(model_dir / name)
            for name in os.listdir(model_dir)
            if os.path.isfile(model_dir / name)}


def test_a_full_disk_at_the_events_file_is_one_line(two_steps, mnist_data):
    before = checkpoint_tensors(str(two_steps))
    # Larger than the config, smaller than the graph the events file
    # starts with.
    sizes = _file_sizes(two_steps)
    assert sizes['train_config.json'] < 4000
    with file_size_limit(4000):
        with pytest.raises(errors.ConfigError) as error:
            loop.train(tiny_train_config(steps=3, save_every=1),
                       str(two_steps), mnist_data.train, log=quiet)
    assert str(error.value) == (
        '%s: cannot write the TensorBoard events (File too large)' %
        (two_steps / 'train')) or re.match(
            r'^%s: cannot write the TensorBoard events \(.*File too large'
            % re.escape(str(two_steps / 'train')), str(error.value)), str(
                error.value)
    assert '\n' not in str(error.value)
    _assert_resumable(two_steps, mnist_data, before)


def test_a_full_disk_at_the_checkpoint_is_one_line(two_steps, mnist_data,
                                                  monkeypatch):
    before = checkpoint_tensors(str(two_steps))
    data = os.path.getsize(two_steps / 'model.ckpt-2.data-00000-of-00001')
    save = checkpoints.save

    def save_on_a_full_disk(*arguments, **keywords):
        # The limit while the checkpoint is written: the Saver's own
        # writes fail (the events file, with its graph, is larger).
        with file_size_limit(data - 1):
            return save(*arguments, **keywords)

    monkeypatch.setattr(checkpoints, 'save', save_on_a_full_disk)
    with pytest.raises(errors.ConfigError) as error:
        loop.train(tiny_train_config(steps=3, save_every=1),
                   str(two_steps), mnist_data.train, log=quiet)
    monkeypatch.setattr(checkpoints, 'save', save)
    assert re.match(
        r'^--model_dir %s: cannot write the checkpoint of step 3 \(.*File '
        r'too large.*\); the run is in %s$' % (
            re.escape(str(two_steps)),
            re.escape(str(two_steps / 'model.ckpt-2'))),
        str(error.value)), str(error.value)
    _assert_resumable(two_steps, mnist_data, before)


def test_a_full_disk_at_the_config_is_one_line(two_steps, mnist_data,
                                               monkeypatch):
    before = checkpoint_tensors(str(two_steps))
    config_before = (two_steps / 'train_config.json').read_bytes()
    # A resumed run that changed a hyper-parameter rewrites the config with
    # its history: past the limit.
    with file_size_limit(len(config_before) + 10):
        with pytest.raises(errors.ConfigError) as error:
            loop.train(tiny_train_config(steps=3, save_every=1,
                                         learning_rate=0.02),
                       str(two_steps), mnist_data.train, log=quiet)
    assert str(error.value) == '%s: cannot write it (File too large)' % (
        two_steps / 'train_config.json')
    assert (two_steps / 'train_config.json').read_bytes() == config_before
    assert not [name for name in os.listdir(two_steps)
                if name.endswith('.tmp')]
    _assert_resumable(two_steps, mnist_data, before)


def test_enospc_is_named_as_a_full_disk(tmp_path, monkeypatch):
    path = tmp_path / 'record.json'
    path.write_text('old\n')

    def full(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safe_io.os, 'fsync', full)
    with pytest.raises(errors.ConfigError) as error:
        safe_io.write_text(str(path), 'new\n')
    assert str(error.value) == (
        '%s: cannot write it (no space left on the device)' % path)
    assert path.read_text() == 'old\n'
    assert os.listdir(tmp_path) == ['record.json']


def test_a_full_disk_at_eval_events_is_one_warning(two_steps, mnist_data):
    lines = []
    checkpoint, train_config = evaluate.resolve_checkpoint(str(two_steps))
    evaluator = evaluate.Evaluator(train_config)
    try:
        result = evaluator.evaluate(checkpoint, _small(mnist_data.test), 100)
    finally:
        evaluator.close()
    shutil.rmtree(two_steps / 'eval_test')
    with file_size_limit(10):
        evaluate.write_summary(result, 'test', warn=lines.append)
    assert len(lines) == 1
    assert re.match(r'^%s: cannot write the TensorBoard summary \(.*: '
                    r'cannot write the TensorBoard events \(.*File too '
                    r'large' % re.escape(str(two_steps / 'eval_test')),
                    lines[0]), lines


def test_a_full_disk_at_export_is_one_line(two_steps, tmp_path):
    checkpoint, train_config = evaluate.resolve_checkpoint(str(two_steps))
    export_dir = tmp_path / 'exports'
    with file_size_limit(4000):
        with pytest.raises(errors.ConfigError) as error:
            export.export(checkpoint, train_config, str(export_dir))
    assert re.match(r'^--export_dir %s: cannot write version 2 \(.*File too '
                    r'large.*\); nothing was exported$' % re.escape(
                        str(export_dir)), str(error.value)), str(error.value)
    assert os.listdir(export_dir) == []


# -- Readers beside a trainer ----------------------------------------------

def _rotate(model_dir, old_step, new_step):
    """What a trainer's rotation does between a reader's choice and its
    read: a new checkpoint appears (a copy of `old_step`'s files under
    `new_step`'s name) and `old_step`'s files are deleted."""
    for name in os.listdir(model_dir):
        prefix = 'model.ckpt-%d.' % old_step
        if name.startswith(prefix):
            shutil.copy(model_dir / name, model_dir / name.replace(
                prefix, 'model.ckpt-%d.' % new_step))
            os.remove(model_dir / name)


def test_eval_reads_the_newest_when_rotation_deletes_its_checkpoint(
        two_steps, mnist_data):
    checkpoint, train_config = evaluate.resolve_checkpoint(str(two_steps))
    assert checkpoint.endswith('model.ckpt-2')
    _rotate(two_steps, 2, 3)
    evaluator = evaluate.Evaluator(train_config)
    try:
        result = evaluator.evaluate(checkpoint, _small(mnist_data.test), 100)
    finally:
        evaluator.close()
    assert result.checkpoint == str(two_steps / 'model.ckpt-3')
    assert result.step == 2  # the copied weights


def test_export_reads_the_newest_when_rotation_deletes_its_checkpoint(
        two_steps, tmp_path):
    checkpoint, train_config = evaluate.resolve_checkpoint(str(two_steps))
    _rotate(two_steps, 2, 3)
    version = export.export(checkpoint, train_config,
                            str(tmp_path / 'exports'))
    assert os.path.exists(os.path.join(version, 'saved_model.pb'))


def test_a_checkpoint_deleted_for_good_is_not_called_damaged(
        two_steps, mnist_data):
    _, train_config = evaluate.resolve_checkpoint(str(two_steps))
    for name in os.listdir(two_steps):
        if name.startswith('model.ckpt-'):
            os.remove(two_steps / name)
    evaluator = evaluate.Evaluator(train_config)
    try:
        with pytest.raises(checkpoints.CheckpointGone) as error:
            evaluator.evaluate(str(two_steps / 'model.ckpt-2'),
                               _small(mnist_data.test), 100)
    finally:
        evaluator.close()
    assert 'delete this' not in str(error.value)
    assert 'removed while being read' in str(error.value)


def test_two_exports_of_one_step_one_succeeds_the_other_says_so(
        two_steps, tmp_path):
    checkpoint, train_config = evaluate.resolve_checkpoint(str(two_steps))
    export_dir = tmp_path / 'exports'
    export_dir.mkdir()
    # The second export's check came before the first one's rename: it
    # finds the version there only when it moves its own into place.
    first = export.export(checkpoint, train_config, str(export_dir))
    staged = tmp_path / 'staged'
    staged.mkdir()
    (staged / 'saved_model.pb').write_bytes(b'second')
    with pytest.raises(errors.ConfigError) as error:
        export._move_into_place(str(staged), first, str(export_dir), 2)
    assert str(error.value) == (
        '--export_dir %s: version 2 exists already (another export wrote it '
        'meanwhile?); remove it or export elsewhere' % export_dir)
    assert (staged / 'saved_model.pb').read_bytes() == b'second'
    assert (export_dir / '2' / 'saved_model.pb').read_bytes() != b'second'


def test_two_concurrent_export_commands(two_steps, tmp_path):
    export_dir = tmp_path / 'exports'
    command = [sys.executable, '-m', 'resnet_tf1', 'export', '--model_dir',
               str(two_steps), '--export_dir', str(export_dir)]
    processes = [subprocess.Popen(command, cwd=REPO_DIR,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    codes = sorted(process.returncode for process in processes)
    assert codes == [0, 1], outputs
    errors_ = [stderr for _, stderr in outputs if stderr.strip()]
    assert len(errors_) == 1 and errors_[0].count('\n') == 1, outputs
    assert re.match(r'^error: --export_dir %s: version 2 exists already' %
                    re.escape(str(export_dir)), errors_[0]), errors_
    assert sorted(os.listdir(export_dir)) == ['2']


# -- The state file, the seed, --steps, the notes ---------------------------

def test_set_aside_writes_the_state_file_relative_to_the_model_dir(
        two_steps, tmp_path, monkeypatch):
    elsewhere = tmp_path / 'a' / 'b'
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    relative = os.path.relpath(two_steps)
    assert relative.startswith('..')
    assert checkpoints.set_aside(relative, 2)
    state = (two_steps / 'checkpoint').read_text()
    assert state == ('model_checkpoint_path: "model.ckpt-1"\n'
                     'all_model_checkpoint_paths: "model.ckpt-1"\n')
    assert tf1.train.latest_checkpoint(str(two_steps)) == str(
        two_steps / 'model.ckpt-1')


def test_the_recorded_seed_stays_without_a_seed_flag(mnist_data, tmp_path):
    # A run that diverges at once leaves its config and no checkpoint.
    with pytest.raises(errors.TrainingError):
        loop.train(tiny_train_config(seed=3, steps=20, save_every=1,
                                     learning_rate=10.0),
                   str(tmp_path), mnist_data.train, log=quiet)
    assert not checkpoints.all_checkpoints(str(tmp_path))
    assert run_record.load(str(tmp_path)).seed == 3
    loop.train(tiny_train_config(seed=None, steps=1), str(tmp_path),
               mnist_data.train, log=quiet)
    assert run_record.load(str(tmp_path)).seed == 3
    # --seed says otherwise: then it changes.
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    run_record.save(tiny_train_config(seed=3), str(tmp_path))
    loop.train(tiny_train_config(seed=4, steps=1), str(tmp_path),
               mnist_data.train, log=quiet)
    assert run_record.load(str(tmp_path)).seed == 4


def test_steps_beyond_int64_are_refused():
    with pytest.raises(errors.ConfigError, match=(
            r'^--steps must be at most 2\*\*62, got 99999999999999999999$')):
        tiny_train_config(steps=99999999999999999999)
    assert tiny_train_config(steps=2 ** 62).steps == 2 ** 62


def test_a_deleted_newest_data_file_is_named_in_the_note(two_steps):
    os.remove(two_steps / 'model.ckpt-2.data-00000-of-00001')
    checkpoint, note = checkpoints.find_latest(str(two_steps))
    assert checkpoint == str(two_steps / 'model.ckpt-1')
    assert note == (
        '%s names model.ckpt-2, whose data files are missing; using '
        'model.ckpt-1, the newest complete checkpoint' % (
            two_steps / 'checkpoint'))


# -- eval.py --watch and a trainer that stopped -----------------------------

def test_watch_reports_a_trainer_that_stopped(two_steps, mnist_data,
                                              monkeypatch):
    # The run's config says --steps 2; raise it: a run that stopped short.
    train_config = run_record.load(str(two_steps))
    run_record.save(tiny_train_config(steps=10, save_every=1,
                                      seed=train_config.seed),
                    str(two_steps))
    monkeypatch.setattr(evaluate, 'STOPPED_TRAINER_SECONDS', 2)
    lines = []
    started = time.time()
    with pytest.raises(errors.TrainingError) as error:
        evaluate.watch(str(two_steps), _small(mnist_data.test), 100,
                       timeout=600, report=lines.append)
    assert time.time() - started < 60
    assert str(error.value) == (
        '--model_dir %s: the trainer stopped (train.lock is free) and no new '
        'checkpoint came; the last step seen is 2 of --steps 10 '
        '(model.ckpt-2)' % two_steps)
    assert len(lines) == 1 and lines[0].startswith('step=2 ')


def test_watch_waits_while_a_trainer_holds_the_directory(two_steps,
                                                         mnist_data,
                                                         monkeypatch):
    train_config = run_record.load(str(two_steps))
    run_record.save(tiny_train_config(steps=10, save_every=1,
                                      seed=train_config.seed),
                    str(two_steps))
    monkeypatch.setattr(evaluate, 'STOPPED_TRAINER_SECONDS', 1)
    with lock.exclusive(str(two_steps)):
        assert lock.is_held(str(two_steps))
        started = time.time()
        with pytest.raises(errors.TrainingError) as error:
            evaluate.watch(str(two_steps), _small(mnist_data.test), 100,
                           timeout=4, report=quiet)
        # Not given up at 1 s: a trainer holds it; at the timeout.
        assert time.time() - started >= 4
    assert 'a trainer holds it but wrote no new checkpoint within 4 s' in (
        str(error.value))
    assert not lock.is_held(str(two_steps))


# -- Files that are not regular files ----------------------------------------

def test_a_fifo_is_refused_where_a_file_is_read(two_steps, tmp_path):
    fifo = tmp_path / 'fifo.png'
    os.mkfifo(fifo)
    with pytest.raises(errors.ImageError, match=(
            r'^%s: not a regular file \(a FIFO\)$' % re.escape(str(fifo)))):
        predict.load_image(str(fifo))
    events = tmp_path / 'run'
    events.mkdir()
    os.mkfifo(events / 'events.out.tfevents.1.host')
    with pytest.raises(errors.ConfigError, match=r'not a regular file'):
        plot.read_scalars(str(events))
    # A FIFO named like the newest checkpoint's index: not a checkpoint.
    os.remove(two_steps / 'model.ckpt-2.index')
    os.mkfifo(two_steps / 'model.ckpt-2.index')
    assert checkpoints.find_latest(str(two_steps))[0] == str(
        two_steps / 'model.ckpt-1')
    with pytest.raises(errors.CheckpointError, match=(
            r'^--checkpoint_path .*model.ckpt-2.index: not a regular file '
            r'\(a FIFO\)$')):
        evaluate.resolve_checkpoint(None, str(two_steps / 'model.ckpt-2'))


def test_plot_of_a_tfrecord_of_other_records_is_one_line(tmp_path):
    path = tmp_path / 'events.out.tfevents.1.host'
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(b'\xff\xff not an event')
    with pytest.raises(errors.ConfigError) as error:
        plot.read_scalars(str(tmp_path))
    assert str(error.value) == (
        'event file %s: a record is not a TensorBoard event (a TFRecord '
        'file of something else?)' % path)


# -- Ctrl-C at start-up ---------------------------------------------------

def test_ctrl_c_while_tensorflow_imports_is_one_line(tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(REPO_DIR / 'train.py'), '--model_dir',
         str(tmp_path / 'run')], cwd=REPO_DIR, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    # train.py imports launch at once; TensorFlow's import takes seconds.
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert (process.returncode, stdout, stderr) == (
        130, '', 'error: interrupted (Ctrl-C)\n')
    assert not os.path.exists(tmp_path / 'run')
