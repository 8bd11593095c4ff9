"""The optional ways of computing a step (bf16, XLA, NCHW) and the bench
command, on tiny networks: each builds, and trains in agreement with the
default float32 NHWC path where TF's CPU kernels allow."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from resnet_tf1 import config
from resnet_tf1.model_dir import run_record
from resnet_tf1 import errors
from resnet_tf1.bench import bench
from resnet_tf1.bench import step_profile
from resnet_tf1.training import loop
from resnet_tf1.training import train_op

from conftest import REPO_DIR, tiny_train_config, with_compute

tf1 = tf.compat.v1


def quiet(_):
    pass


def losses_of(train_config, mnist_data, model_dir):
    result = loop.train(train_config, str(model_dir), mnist_data.train,
                        log=quiet)
    return np.array([loss for _, loss in result.losses])


def test_dataset_pipeline_trains_on_the_feed_paths_batches(mnist_data,
                                                           tmp_path):
    feed = tiny_train_config(steps=4, save_every=2)
    staged = with_compute(feed, input_pipeline='dataset')
    reference = losses_of(feed, mnist_data, tmp_path / 'feed')
    np.testing.assert_array_equal(
        losses_of(staged, mnist_data, tmp_path / 'dataset'), reference)
    # Resuming starts the pipeline at the restored step.
    interrupted = dataclasses.replace(staged, steps=2)
    losses_of(interrupted, mnist_data, tmp_path / 'resumed')
    np.testing.assert_array_equal(
        losses_of(staged, mnist_data, tmp_path / 'resumed'), reference[2:])


def test_bf16_keeps_float32_weights_and_follows_the_float32_curve(
        mnist_data, tmp_path):
    float32 = tiny_train_config(steps=5)
    bf16 = with_compute(float32, precision='bf16')
    graph = train_op.build_train_graph(bf16)
    dtypes = {v.dtype.base_dtype for v in graph.graph.get_collection(
        tf1.GraphKeys.GLOBAL_VARIABLES)}
    assert dtypes <= {tf.float32, tf.int64}, dtypes
    conv_dtypes = {op.outputs[0].dtype for op in graph.graph.get_operations()
                   if op.type == 'Conv2D'}
    assert conv_dtypes == {tf.bfloat16}
    reference = losses_of(float32, mnist_data, tmp_path / 'f32')
    reduced = losses_of(bf16, mnist_data, tmp_path / 'bf16')
    # bfloat16 has 8 bits of mantissa: close, not equal.
    assert not np.array_equal(reference, reduced)
    np.testing.assert_allclose(reduced, reference, rtol=0.05)


def test_bf16_checkpoint_restores_in_the_evaluator(mnist_data, tmp_path):
    from resnet_tf1.evaluation import evaluate
    train_config = tiny_train_config(steps=2, precision='bf16')
    loop.train(train_config, str(tmp_path), mnist_data.train, log=quiet)
    result = evaluate.Evaluator(run_record.load(str(tmp_path))).evaluate(
        str(tmp_path / 'model.ckpt-2'), mnist_data.validation, 1000)
    assert result.step == 2 and result.examples == 5000
    assert 0.0 <= result.accuracy <= 1.0


def test_xla_compiles_the_network_and_matches_float32(mnist_data, tmp_path):
    plain = tiny_train_config(steps=3)
    compiled = with_compute(plain, xla=True)
    graph = train_op.build_train_graph(compiled).graph
    assert any(op.get_attr('_XlaCompile') for op in graph.get_operations()
               if op.type == 'Conv2D' and '_XlaCompile' in op.node_def.attr)
    np.testing.assert_allclose(losses_of(compiled, mnist_data, tmp_path / 'x'),
                               losses_of(plain, mnist_data, tmp_path / 'p'),
                               rtol=1e-4)


def test_nchw_training_graph_builds_for_the_article_network():
    # Only built: TF's CPU kernels refuse NCHW Conv2D and MaxPool ("only
    # supports the NHWC tensor format on the CPU"), so NCHW runs on GPUs.
    # The option-A ops and batch norm in NCHW are checked in test_layers.
    train_config = tiny_train_config(data_format='NCHW', norm='batch')
    graph = train_op.build_train_graph(train_config).graph
    formats = {op.get_attr('data_format') for op in graph.get_operations()
               if op.type in ('Conv2D', 'MaxPool')}
    assert formats == {b'NCHW'}


def test_bench_times_training_and_evaluation():
    train_config = tiny_train_config(batch_size=4)
    timing = bench.time_training(train_config, steps=2, warmup=1)
    assert timing.batch_size == 4 and timing.fastest <= timing.seconds
    assert timing.seconds <= timing.slowest
    # 3 passes x 2 FLOPs per MAC x the summary's MACs x the batch.
    from resnet_tf1.tools import model_summary
    macs = model_summary.summarize_model(train_config.model).macs
    assert timing.flops == 3 * 2 * macs * 4
    evaluation = bench.time_evaluation(train_config, batch_size=6, steps=2)
    assert evaluation.flops == 2 * macs * 6
    assert bench.images_per_second(evaluation) > 0
    # Both inference graphs, alternating: one timing each, same work.
    fast, stock = bench.time_evaluations(train_config, batch_size=6, steps=3)
    assert (fast.label, stock.label) == ('eval_fast', 'eval_tf')
    assert fast.flops == stock.flops == evaluation.flops
    assert fast.fastest <= fast.seconds <= fast.slowest


def test_bench_layers_covers_every_conv():
    rows = bench.time_layers(tiny_train_config(batch_size=2), steps=1,
                             warmup=0)
    # ResNet-34: the stem and two convs in each of 16 units.
    assert len(rows) == 33
    assert rows[-1].input_shape == [2, 2, 32]
    assert [row.formulation for row in rows].count('winograd') == 11
    assert {row.formulation for row in rows[-5:]} == {'toeplitz'}
    # Every candidate that applies is timed, whether or not it is used.
    assert all(row.forward > 0 and row.stock_input_gradient > 0
               for row in rows)
    assert rows[0].dense_forward is None and rows[0].winograd_forward is None
    assert rows[1].winograd_forward > 0                 # 14x14, not used
    assert rows[-1].dense_forward > 0 and rows[-1].winograd_forward > 0
    assert rows[-1].toeplitz_forward > 0 and rows[1].toeplitz_forward is None
    # Training's own gradient forms: Toeplitz on the 2x2 maps.
    assert rows[-1].small_map_input_gradient > 0
    assert rows[-1].small_map_filter_gradient > 0
    forward_only = bench.time_layers(tiny_train_config(batch_size=2),
                                     steps=1, warmup=0, gradients=False)
    assert forward_only[-1].stock_input_gradient is None
    assert len(bench.format_layers(forward_only)) == 34


@pytest.mark.parametrize('field, value, message', [
    ('precision', 'fp16', '--precision must be one of float32|bf16'),
    ('conv_gradients', 'winograd', '--conv_gradients must be one of'),
    ('intra_op_threads', -1, '--intra_op_threads must be at least 0'),
])
def test_bad_speed_settings_name_the_flag(field, value, message):
    with pytest.raises(errors.ConfigError, match=message):
        with_compute(tiny_train_config(), **{field: value}).resolved()


@pytest.mark.parametrize('spelling', [
    ['--inference_convolutions', 'winograd'],
    # The old name still works, with one line saying what to write.
    ['--eval_convolutions', 'winograd']])
def test_bench_cli_refuses_unknown_inference_convolutions_in_one_line(
        spelling):
    process = subprocess.run(
        [sys.executable, '-m', 'resnet_tf1', 'bench', '--eval_only'] +
        spelling, capture_output=True, text=True, cwd=REPO_DIR, timeout=300)
    assert process.returncode == 1
    assert 'Traceback' not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert lines[-1] == (
        "error: --inference_convolutions must be one of fast|tf|both, got "
        "'winograd'")
    assert lines[:-1] == ([] if spelling[0] == '--inference_convolutions'
                          else ['warning: --eval_convolutions winograd is '
                                'deprecated; use --inference_convolutions '
                                'winograd'])


def test_step_profile_names_stages_and_kinds():
    assert step_profile.stage_of('resnet34/conv1/Relu') == 'stem'
    assert step_profile.stage_of(
        'resnet34/block3/unit_2/conv1/winograd/MatMul') == 'block3'
    assert step_profile.stage_of('resnet34/logits/MatMul') == 'head'
    assert step_profile.stage_of('ExponentialMovingAverage/mul') is None
    kind = step_profile.kind_of
    assert kind('resnet34/block1/unit_1/conv1/Relu',
                '_FusedConv2D') == 'forward conv'
    assert kind('gradients/resnet34/block4/unit_1/conv2/IdentityN_grad/'
                'input_gradient/MatMul', 'MatMul') == 'input gradient'
    # The formulations' transforms count with their forward conv.
    assert kind('resnet34/block4/unit_2/conv1/toeplitz/transpose',
                'Transpose') == 'forward conv'
    assert kind('gradients/resnet34/block1/unit_1/conv1/Conv2D_grad/'
                'Conv2DBackpropFilter', 'Conv2DBackpropFilter') == (
                    'filter gradient')
    assert kind('GradientDescent/update_resnet34/conv1/weights/'
                'ResourceApplyGradientDescent',
                'ResourceApplyGradientDescent') == 'gradient step'
    assert kind('ExponentialMovingAverage/AssignMovingAvg_3/mul',
                'Mul') == 'ema'
    assert kind('gradients/resnet34/conv1/kernel/Regularizer/'
                'l2_regularizer/L2Loss_grad/mul', 'Mul') == 'l2'


def test_bench_profile_accounts_for_a_step():
    profile, untraced = bench.profile_training(
        tiny_train_config(batch_size=4), steps=1, warmup=1)
    kinds = {kind for _, kind in profile.op_seconds}
    stages = {stage for stage, _ in profile.op_seconds}
    assert {'forward conv', 'input gradient', 'filter gradient',
            'gradient step', 'ema'} <= kinds
    assert {'stem', 'block1', 'block4'} <= stages
    assert untraced > 0 and profile.wall_seconds > 0
    lines = step_profile.format_profile(profile)
    assert lines[-1].startswith('share') and lines[-1].endswith('100%')


def test_bench_alternates_training_paths():
    fast, direct = bench.time_trainings(
        [tiny_train_config(batch_size=4),
         tiny_train_config(batch_size=4, conv_gradients='direct')],
        ['project', 'conv_direct'], steps=2, warmup=1)
    assert (fast.label, direct.label) == ('project', 'conv_direct')
    assert fast.flops == direct.flops
    assert fast.fastest <= fast.seconds <= fast.slowest


def test_bench_cli_refuses_an_unknown_compared_path_in_one_line():
    process = subprocess.run(
        [sys.executable, '-m', 'resnet_tf1', 'bench', '--compare',
         'winograd'], capture_output=True, text=True, cwd=REPO_DIR,
        timeout=300)
    assert process.returncode == 1
    assert 'Traceback' not in process.stderr
    assert process.stderr.strip().splitlines()[-1].startswith(
        "error: --compare takes keras or a --conv_gradients value")


def _inference(train_config, images, slices, device=None):
    """Logits of `images` from model_graph.inference_logits in `slices`
    slices, seeded weights; with the graph's variable and op counts."""
    from resnet_tf1.compute import model_graph
    from resnet_tf1.compute import fast_conv
    graph = tf.Graph()
    with graph.as_default(), tf.device(device):
        tf1.set_random_seed(3)
        placeholder = tf1.placeholder(tf.float32, [None, 28, 28, 1])
        compute = config.ComputeConfig(inference_convolutions='fast')
        logits = model_graph.inference_logits(
            train_config.model, compute, placeholder, slices=slices)
    counts = dict(
        variables=len(graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)),
        cached=len(graph.get_collection(fast_conv.CACHED_KERNELS)),
        convs=sum(op.type == 'Conv2D' for op in graph.get_operations()))
    if device:
        return None, counts
    with tf1.Session(graph=graph) as session:
        session.run(tf1.global_variables_initializer())
        session.run(fast_conv.refresh_op())
        return session.run(logits, {placeholder: images}), counts


@pytest.mark.parametrize('batch', [1, 2, 7])
def test_inference_slices_share_variables_and_predict_alike(mnist_data,
                                                            batch):
    train_config = tiny_train_config(base_depth=8)
    images = mnist_data.test.images[:batch]
    whole, whole_counts = _inference(train_config, images, 1)
    halves, halves_counts = _inference(train_config, images, 2)
    # Same variables and one rearranged kernel per weight, shared by the
    # slices; each slice has its own ops.
    assert halves_counts['variables'] == whole_counts['variables']
    assert halves_counts['cached'] == whole_counts['cached'] > 0
    assert halves_counts['convs'] == 2 * whole_counts['convs']
    # A batch of 1 is padded with a zero image so that no slice is empty.
    assert halves.shape == whole.shape == (batch, 10)
    np.testing.assert_allclose(halves, whole, rtol=0,
                               atol=1e-5 * np.abs(whole).max())
    np.testing.assert_array_equal(halves.argmax(1), whole.argmax(1))


def test_inference_graph_on_a_gpu_is_one_slice():
    train_config = tiny_train_config(base_depth=8)
    _, on_cpu = _inference(train_config, None, 2, device='/device:CPU:0')
    _, on_gpu = _inference(train_config, None, 2, device='/device:GPU:0')
    assert on_cpu['convs'] == 2 * on_gpu['convs']
