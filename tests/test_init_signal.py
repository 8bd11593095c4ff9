"""`python -m resnet_tf1 signal`: the signal and gradient sizes at
initialization behind docs/results.md's degradation finding (with the article's
recipe, the plain networks' signal vanishes with depth; the residual ones'
does not)."""

import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import MNIST_DIR, REPO_DIR


def _signal(mnist_data, name, norm=None):
    from resnet_tf1 import config
    from resnet_tf1.tools import init_signal
    model = config.ModelConfig(name=name, base_depth=4, norm=norm).resolved()
    return init_signal.measure(model, mnist_data.train.images[:16],
                               mnist_data.train.labels[:16], seed=0)


@pytest.fixture(scope='module')
def signals(mnist_data):
    return {name: _signal(mnist_data, name)
            for name in ('plain34', 'resnet34')}


def test_stages_are_measured_from_input_to_logits(signals, mnist_data):
    for name, signal in signals.items():
        assert [stage for stage, _ in signal.rms] == [
            'input', 'stem', 'block1', 'block2', 'block3', 'block4', 'pool',
            'logits'], name
        # One ratio per conv and FC weight: 33 convs (option A: no
        # projections) and the classifier.
        assert len(signal.gradient_ratio) == 34
        assert signal.gradient_ratio[0][0].endswith('weights')
        assert all(np.isfinite(ratio) and ratio >= 0
                   for _, ratio in signal.gradient_ratio)
    images = mnist_data.train.images[:16]
    assert dict(signals['resnet34'].rms)['input'] == pytest.approx(
        np.sqrt(np.mean(np.square(images))), rel=1e-6)


def test_the_plain_network_loses_its_signal_and_the_residual_one_keeps_it(
        signals):
    plain = dict(signals['plain34'].rms)
    residual = dict(signals['resnet34'].rms)
    # Same stem (same initializer and seed): the same start.
    assert plain['stem'] == pytest.approx(residual['stem'], rel=1e-5)
    # Each plain stage shrinks the signal; the residual stages do not.
    plain_stages = [plain['block%d' % index] for index in range(1, 5)]
    assert all(later < earlier / 2 for earlier, later in
               zip([plain['stem']] + plain_stages, plain_stages))
    assert residual['logits'] > 0.1 * residual['stem']
    assert plain['logits'] < 1e-4 * residual['logits']
    plain_ratio = np.median([r for _, r in signals['plain34'].gradient_ratio])
    residual_ratio = np.median(
        [r for _, r in signals['resnet34'].gradient_ratio])
    assert plain_ratio < 1e-4 * residual_ratio


def test_batch_norm_keeps_the_plain_signal(mnist_data):
    signal = _signal(mnist_data, 'plain34', norm='batch')
    rms = dict(signal.rms)
    assert all(rms['block%d' % index] > 0.3 for index in range(1, 5))


def run_signal(*args):
    return subprocess.run(
        [sys.executable, '-m', 'resnet_tf1', 'signal',
         '--data_dir', str(MNIST_DIR)] + list(args),
        capture_output=True, text=True, cwd=REPO_DIR, timeout=300)


def test_cli_prints_the_table_and_a_summary_line():
    process = run_signal('--model', 'plain18', '--base_depth', '4',
                         '--batch_size', '8')
    assert process.returncode == 0, process.stderr
    lines = process.stdout.strip().splitlines()
    assert lines[0] == '| plain18 at initialization | root mean square |'
    assert re.match(r'^\| block4 \| \d', lines[7]), lines[7]
    last = re.match(r'^plain18 logits_rms=(\S+) median_gradient_ratio=(\S+)$',
                    lines[-1])
    assert last, lines[-1]
    assert 0 < float(last.group(1)) < 1e-2


def test_seed_means_what_it_means_in_train_py():
    """--seed: default drawn and reported, given: the same numbers again."""
    drawn = run_signal('--model', 'plain18', '--base_depth', '4',
                       '--batch_size', '8')
    seed = re.search(r'drew (\d+)', drawn.stderr)
    assert drawn.returncode == 0 and seed, drawn.stderr
    again = run_signal('--model', 'plain18', '--base_depth', '4',
                       '--batch_size', '8', '--seed', seed.group(1))
    assert again.returncode == 0, again.stderr
    assert 'drew' not in again.stderr
    assert again.stdout == drawn.stdout


@pytest.mark.parametrize('flags, message', [
    (('--image_size', '32'), 'signal measures on MNIST: --image_size 28'),
    (('--batch_size', '0'), '--batch_size must be at least 1'),
])
def test_bad_flags_are_one_line(flags, message):
    process = run_signal('--model', 'resnet18', *flags)
    assert process.returncode == 1
    assert process.stdout == ''
    error_lines = [line for line in process.stderr.splitlines()
                   if line.startswith('error:')]
    assert len(error_lines) == 1 and message in error_lines[0], (
        process.stderr)
