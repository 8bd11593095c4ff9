"""The PyTorch peer of the speed comparison (speed/torch_peer.py) is the
project's default network: its layer spec equals the TF graph's summary
(needs TensorFlow, not torch), and the PyTorch model and training step
follow the spec (need torch, which the project does not depend on: those
skip without it, as in CI). The peer imports without TensorFlow, so it
runs in a venv that has torch only."""

import subprocess
import sys

import pytest

from resnet_tf1.bench import torch_peer

from conftest import REPO_DIR


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


HAS_TORCH = _has('torch')
needs_torch = pytest.mark.skipif(
    not HAS_TORCH, reason='torch is not installed (an optional peer, not a '
                          'dependency; see resnet_tf1/bench/torch_peer.py)')


def run_peer(*args):
    return subprocess.run(
        [sys.executable, '-m', 'resnet_tf1.bench.torch_peer'] + list(args),
        cwd=REPO_DIR, capture_output=True, text=True)


@pytest.mark.parametrize('overrides, spec_args', [
    ({}, {}),
    # Odd maps and another width: 'SAME' padding on every map size.
    (dict(image_size=33, channels=3, base_depth=8),
     dict(image_size=33, channels=3, base_depth=8)),
])
def test_spec_is_the_projects_default_network_layer_by_layer(overrides,
                                                             spec_args):
    pytest.importorskip('tensorflow')
    from resnet_tf1 import config
    from resnet_tf1.tools import model_summary
    model = config.ModelConfig(**overrides).resolved()
    # The peer is written for the default network's settings.
    assert (model.name, model.norm, model.shortcut, model.stem) == (
        torch_peer.MODEL, 'none', 'A', 'mnist')
    summary = model_summary.summarize_model(model)
    spec = torch_peer.layer_spec(**spec_args)
    assert [tuple(row) for row in summary.rows] == (
        torch_peer.summary_rows(spec))
    assert (summary.parameters, summary.macs) == (
        torch_peer.parameters_and_macs(spec))


def test_spec_pads_as_tensorflows_same():
    spec = torch_peer.layer_spec()
    strided = [unit.conv1 for unit in spec.units if unit.conv1.stride == 2]
    # 14 -> 7 and 4 -> 2 pad the bottom and right only; 7 -> 4 both sides.
    assert [(conv.input_size, conv.output_size, conv.pads)
            for conv in strided] == [(14, 7, (0, 1)), (7, 4, (1, 1)),
                                     (4, 2, (0, 1))]
    assert spec.stem.pads == (3, 3) and spec.pooled_size == 14


def test_peer_imports_without_tensorflow():
    result = subprocess.run(
        [sys.executable, '-c', 'import sys; '
         'import resnet_tf1.bench.torch_peer; '
         'print(sorted(m for m in sys.modules if m.startswith("tensor")))'],
        cwd=REPO_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'


def test_bad_flag_is_one_line():
    result = run_peer('--steps', '0')
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: argument --steps: must be a positive integer, got '0'"]


@pytest.mark.skipif(HAS_TORCH, reason='torch is installed')
def test_without_torch_one_line_says_how_to_install_it():
    result = run_peer('--steps', '1', '--warmup', '0')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        'error: ' + torch_peer.INSTALL_HINT]
    assert result.stdout == ''


@needs_torch
@pytest.mark.parametrize('channels_last', [False, True])
def test_torch_model_has_the_specs_parameters_and_shapes(channels_last):
    import torch
    spec = torch_peer.layer_spec()
    model = torch_peer.build_model(spec)
    images = torch.rand(2, 1, 28, 28)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    parameters, _ = torch_peer.parameters_and_macs(spec)
    assert sum(p.numel() for p in model.parameters()) == parameters
    outputs = {}
    for layer in torch_peer.layers_of(spec):
        module = torch_peer.module_of(model, layer.scope)
        if isinstance(layer, torch_peer.Conv):
            assert tuple(module.weight.shape) == (
                layer.depth, layer.in_channels, layer.kernel_size,
                layer.kernel_size)
        module.register_forward_hook(
            lambda _, __, output, scope=layer.scope: outputs.__setitem__(
                scope, tuple(output.shape[1:])))
    logits = model(images)
    assert tuple(logits.shape) == (2, 10)
    assert outputs == {
        layer.scope: ((layer.depth, layer.output_size, layer.output_size)
                      if isinstance(layer, torch_peer.Conv)
                      else (layer.width,))
        for layer in torch_peer.layers_of(spec)}


@needs_torch
def test_training_step_is_sgd_with_l2_then_the_ema():
    import torch
    torch.manual_seed(0)
    spec = torch_peer.layer_spec(units_per_stage=(1, 1), base_depth=4,
                                 image_size=8)
    model = torch_peer.build_model(spec)
    step = torch_peer.TrainingStep(model, learning_rate=0.1,
                                   weight_decay=0.01, steps_per_epoch=1)
    images, labels = torch.rand(3, 1, 8, 8), torch.tensor([0, 3, 9])
    before = {name: p.detach().clone()
              for name, p in model.named_parameters()}
    loss = torch.nn.functional.cross_entropy(model(images), labels)
    grads = dict(zip(before, torch.autograd.grad(loss, list(
        model.parameters()))))
    step(images, labels)
    # After one step: EMA decay min(0.99, 2 / 11).
    decay = 2 / 11
    for (name, p), average in zip(model.named_parameters(), step.averages):
        l2 = 0.01 * before[name] if name.endswith('weight') else 0
        expected = before[name] - 0.1 * (grads[name] + l2)
        torch.testing.assert_close(p.detach(), expected)
        torch.testing.assert_close(
            average, decay * before[name] + (1 - decay) * expected)
    # Staircase decay once per epoch (one step here).
    assert step.current_learning_rate() == pytest.approx(
        0.1 * torch_peer.data_set.LEARNING_RATE_DECAY)
