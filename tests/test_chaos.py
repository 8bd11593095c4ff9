"""Chaos (issue 28): one tiny run hit by random faults (SIGKILL, a full
disk, SIGINT, an evaluator reading beside it) and resumed until done
ends with the very checkpoint an uninterrupted run ends with: every
tensor, bit for bit.

The faults' steps come from a seeded random.Random (CHAOS_SEED, or the
environment's RESNET_TF1_CHAOS_SEED to explore), so a failure is
reproduced by its seed, which the assertion messages name.
"""

import dataclasses
import os
import random
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from resnet_tf1 import config as config_lib
from resnet_tf1 import errors
from resnet_tf1.evaluation import evaluate
from resnet_tf1.model_dir import checkpoints
from resnet_tf1.model_dir import run_record
from resnet_tf1.training import loop

from conftest import MNIST_DIR
from conftest import REPO_DIR
from test_hostile import file_size_limit
from test_hostile import _small
from test_training import checkpoint_tensors
from test_training import quiet

CHAOS_SEED = int(os.environ.get('RESNET_TF1_CHAOS_SEED', '28'))
STEPS = 12


def _kill_during_a_first_run(model_dir, kill_after, seed):
    """train.py from scratch (saving every step), SIGKILLed once it has
    logged step `kill_after`; returns the last step it logged."""
    process = subprocess.Popen(
        [sys.executable, str(REPO_DIR / 'train.py'), '--base_depth', '4',
         '--batch_size', '8', '--log_every', '1', '--save_every', '1',
         '--steps', str(STEPS), '--seed', str(seed), '--data_dir',
         str(MNIST_DIR), '--model_dir', str(model_dir)],
        cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    last = 0
    try:
        for line in process.stdout:
            if line.startswith('step '):
                last = int(line.split()[1].split('/')[0])
                if last >= kill_after:
                    process.send_signal(signal.SIGKILL)
                    break
    finally:
        process.kill()
        process.wait(timeout=60)
    return last


class _Reader(threading.Thread):
    """An evaluator beside the trainer: evaluates the newest checkpoint
    again and again (each may be rotated away while it is read)."""

    def __init__(self, model_dir, split):
        super().__init__(daemon=True)
        self._model_dir = str(model_dir)
        self._split = split
        self.stop = threading.Event()
        self.results, self.failures = [], []

    def run(self):
        train_config = run_record.load(self._model_dir)
        # TensorFlow's Conv2D, not fast_conv's cached kernels: those are
        # resource variables, and sessions of one process share their
        # container, so an evaluator in the trainer's process would share
        # (and reset) the trainer's. eval.py is a process of its own.
        evaluator = evaluate.Evaluator(
            train_config, compute=config_lib.ComputeConfig(
                inference_convolutions='tf'))
        try:
            while not self.stop.is_set():
                checkpoint = checkpoints.latest_checkpoint(self._model_dir)
                try:
                    self.results.append(evaluator.evaluate(
                        checkpoint, self._split, 100).step)
                except errors.UserError as error:
                    self.failures.append(str(error))
        finally:
            evaluator.close()


def test_a_run_hit_by_random_faults_ends_bit_identical(
        mnist_data, tmp_path, monkeypatch):
    chaos = random.Random(CHAOS_SEED)
    label = 'chaos seed %d' % CHAOS_SEED
    seed = chaos.randrange(1000)
    kill_after = chaos.randint(1, 3)
    model_dir = tmp_path / 'chaos'

    # 1. SIGKILL: the first run, as a user starts it, killed mid-way.
    killed_at = _kill_during_a_first_run(model_dir, kill_after, seed)
    assert killed_at >= kill_after, label
    recorded = run_record.load(str(model_dir))
    config = dataclasses.replace(recorded, steps=STEPS)
    step = checkpoints.checkpoint_step(
        checkpoints.latest_checkpoint(str(model_dir)))

    # The uninterrupted run, from the same recorded config.
    straight = tmp_path / 'straight'
    loop.train(config, str(straight), mnist_data.train, log=quiet)

    # 2. A full disk when one checkpoint is written (a real write failure:
    # RLIMIT_FSIZE), with an evaluator reading beside the trainer.
    full_at = chaos.randint(step + 1, step + 3)
    save = checkpoints.save

    def save_on_a_full_disk(session, saver, directory, at, keep_every=0):
        if at != full_at:
            return save(session, saver, directory, at, keep_every)
        with file_size_limit(1000):
            return save(session, saver, directory, at, keep_every)

    monkeypatch.setattr(checkpoints, 'save', save_on_a_full_disk)
    reader = _Reader(model_dir, _small(mnist_data.test, 100))
    reader.start()
    try:
        with pytest.raises(errors.ConfigError, match=(
                'cannot write the checkpoint of step %d' % full_at)):
            loop.train(config, str(model_dir), mnist_data.train, log=quiet)
    finally:
        monkeypatch.setattr(checkpoints, 'save', save)
    assert checkpoints.checkpoint_step(checkpoints.latest_checkpoint(
        str(model_dir))) == full_at - 1, label

    # 3. SIGINT (Ctrl-C) at a random step: the loop saves it and stops.
    interrupt_at = chaos.randint(full_at + 1, STEPS - 1)
    report = loop.Progress.report

    def report_then_interrupt(progress, at, *values):
        report(progress, at, *values)
        if at == interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(loop.Progress, 'report', report_then_interrupt)
    try:
        with pytest.raises(errors.TrainingError, match=(
                r'^SIGINT: stopped at step %d; ' % interrupt_at)):
            loop.train(config, str(model_dir), mnist_data.train, log=quiet)
    finally:
        monkeypatch.setattr(loop.Progress, 'report', report)

    # 4. Resumed until done, the reader still at it.
    result = loop.train(config, str(model_dir), mnist_data.train, log=quiet)
    reader.stop.set()
    reader.join(timeout=120)
    assert result.step == STEPS, label
    assert reader.results and not reader.failures, (label, reader.failures)

    a = checkpoint_tensors(str(straight))
    b = checkpoint_tensors(str(model_dir))
    assert a.keys() == b.keys(), label
    different = [name for name in a if not np.array_equal(a[name], b[name])]
    assert not different, (label, different)
