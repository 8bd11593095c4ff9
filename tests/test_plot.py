"""`python -m resnet_tf1 plot` on a tiny run's event files: what it reads,
the PNG it writes, and one line for every bad input with nothing written."""

import json
import os
import shutil
import struct
import subprocess
import sys

import pytest
import tensorflow as tf

from resnet_tf1 import errors
from resnet_tf1.tools import plot

from conftest import REPO_DIR

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def png_size(path):
    """(width, height) from the PNG's IHDR chunk, the first after the
    signature."""
    with open(path, 'rb') as png:
        header = png.read(24)
    assert header[:8] == PNG_SIGNATURE and header[12:16] == b'IHDR', header
    return struct.unpack('>II', header[16:24])


def event_file(directory):
    names = [name for name in os.listdir(directory)
             if name.startswith('events.out.tfevents')]
    assert len(names) == 1, names
    return os.path.join(directory, names[0])


def write_events(path, events):
    """An event file of (wall_time, step, tag, value) scalars."""
    with tf.io.TFRecordWriter(path) as writer:
        for wall_time, step, tag, value in events:
            writer.write(tf.compat.v1.Event(
                wall_time=wall_time, step=step,
                summary=tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(
                    tag=tag, simple_value=value)])).SerializeToString())


def run_plot(*args):
    return subprocess.run(
        [sys.executable, '-m', 'resnet_tf1', 'plot'] + [str(arg)
                                                        for arg in args],
        capture_output=True, text=True, cwd=REPO_DIR, timeout=600)


def test_reads_training_and_eval_scalars_by_step(tiny_run):
    training, evals = plot.read_run(str(tiny_run))
    for tag in ('loss', 'cross_entropy', 'learning_rate'):
        assert training[tag][0] == (1, 2, 3, 4), tag
    assert training['learning_rate'][1][0] == pytest.approx(0.03)
    assert sorted(evals) == ['eval_test', 'eval_test_raw', 'eval_validation']
    for scalars in evals.values():
        steps, accuracies = scalars['accuracy']
        assert steps == (2, 4)
        assert all(0 <= accuracy <= 1 for accuracy in accuracies)


def test_a_step_written_twice_keeps_the_newer_value(tmp_path):
    # A resumed run rewrites the steps after its checkpoint in a new file;
    # file names sort by second, the events' wall times decide.
    write_events(str(tmp_path / 'events.out.tfevents.2.b'),
                 [(20.0, 2, 'loss', 0.5), (21.0, 3, 'loss', 0.4)])
    write_events(str(tmp_path / 'events.out.tfevents.1.a'),
                 [(10.0, 1, 'loss', 2.0), (11.0, 2, 'loss', 1.0),
                  (12.0, 3, 'loss', 0.9), (13.0, 4, 'loss', 0.8)])
    steps, values = plot.read_scalars(str(tmp_path))['loss']
    assert steps == (1, 2, 3, 4)
    assert values == pytest.approx((2.0, 0.5, 0.4, 0.8))


def test_writes_a_png_of_the_figure_size(tiny_run, tmp_path):
    out = tmp_path / 'curves.png'
    assert plot.plot(str(tiny_run), str(out)) == str(out)
    assert png_size(out) == (plot.FIGURE_INCHES[0] * plot.DPI,
                             plot.FIGURE_INCHES[1] * plot.DPI)
    assert os.listdir(tmp_path) == ['curves.png']  # no temporary left


def test_a_truncated_last_record_is_a_writer_still_writing(tiny_run,
                                                           tmp_path):
    model_dir = tmp_path / 'run'
    shutil.copytree(tiny_run, model_dir)
    path = event_file(model_dir / 'train')
    os.truncate(path, os.path.getsize(path) - 5)
    training, _ = plot.read_run(str(model_dir))
    # The last record, step 4's scalars, is lost; the rest stands.
    assert training['loss'][0] == (1, 2, 3)
    plot.plot(str(model_dir), str(tmp_path / 'curves.png'))
    assert png_size(tmp_path / 'curves.png')[0] > 0


def corrupt_copy(tiny_run, tmp_path):
    model_dir = tmp_path / 'run'
    shutil.copytree(tiny_run, model_dir)
    path = event_file(model_dir / 'train')
    with open(path, 'r+b') as events:
        events.seek(os.path.getsize(path) // 2)
        events.write(b'\xff' * 16)
    return model_dir


@pytest.mark.parametrize('case,message', [
    ('missing', '--model_dir .*missing: No such file or directory'),
    ('a_file', '--model_dir .*a_file: Not a directory'),
    ('empty', '--model_dir .*empty: no TensorBoard scalars'),
    ('corrupt',
     'event file .*run/train/events.out.tfevents.*corrupted record'),
    ('out_in_missing_dir', '--out .*nowhere/c.png: No such file'),
    ('out_under_a_file', '--out .*a_file/c.png: Not a directory'),
    ('out_not_png', '--out .*curves.jpg: must be a .png file'),
    ('out_is_a_png_dir', '--out .*dir.png: Is a directory'),
])
def test_bad_input_is_one_line_and_writes_nothing(tiny_run, tmp_path, case,
                                                  message):
    (tmp_path / 'a_file').write_text('not a directory')
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'dir.png').mkdir()
    model_dir, out = str(tiny_run), str(tmp_path / 'out.png')
    if case in ('missing', 'a_file', 'empty'):
        model_dir = str(tmp_path / case)
    elif case == 'corrupt':
        model_dir = str(corrupt_copy(tiny_run, tmp_path))
    else:
        out = str(tmp_path / {'out_in_missing_dir': 'nowhere/c.png',
                              'out_under_a_file': 'a_file/c.png',
                              'out_not_png': 'curves.jpg',
                              'out_is_a_png_dir': 'dir.png'}[case])
    before = sorted(os.walk(tmp_path))
    with pytest.raises(errors.ConfigError, match=message) as error:
        plot.plot(model_dir, out)
    assert '\n' not in str(error.value)
    assert sorted(os.walk(tmp_path)) == before


def test_without_matplotlib_says_what_to_install(tiny_run, tmp_path,
                                                 monkeypatch):
    for module in ('matplotlib', 'matplotlib.figure',
                   'matplotlib.backends', 'matplotlib.backends.backend_agg'):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(errors.ConfigError,
                       match=r'^plot needs matplotlib: pip install -e '
                             r'"\.\[plot\]"'):
        plot.plot(str(tiny_run), str(tmp_path / 'c.png'))
    assert os.listdir(tmp_path) == []


def test_command_writes_model_dir_curves_png(tiny_run, tmp_path):
    model_dir = tmp_path / 'run'
    shutil.copytree(tiny_run, model_dir)
    process = run_plot('--model_dir', model_dir)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip().splitlines()[-1] == 'wrote %s' % (
        model_dir / 'curves.png')
    assert png_size(model_dir / 'curves.png') == (
        plot.FIGURE_INCHES[0] * plot.DPI, plot.FIGURE_INCHES[1] * plot.DPI)


def test_command_error_is_one_line(tmp_path):
    process = run_plot('--model_dir', tmp_path)
    assert process.returncode == 1
    assert 'Traceback' not in process.stderr, process.stderr
    assert process.stderr.strip().splitlines()[-1] == (
        'error: --model_dir %s: no TensorBoard scalars '
        '(events.out.tfevents.* files) in it or its train/ and eval_* '
        'directories'
        % tmp_path)
    assert os.listdir(tmp_path) == []


# Several runs in one figure: `plot --model_dir A --model_dir B --out F`.

def run_copy(tiny_run, directory, network=None):
    """A copy of the tiny run in `directory`; with `network`, its
    train_config.json names that network instead (the figure reads only
    the name, never the checkpoints)."""
    shutil.copytree(tiny_run, directory)
    if network:
        path = directory / 'train_config.json'
        fields = json.loads(path.read_text())
        fields['model'].update(name=network, shortcut=None)
        path.write_text(json.dumps(fields))
    return directory


def test_smoothed_starts_at_the_first_value_and_follows_a_step():
    assert plot.smoothed([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    # Debiased: the second point is (0.9 * 0 + 0.1 * 1) / (1 - 0.9 ** 2).
    assert plot.smoothed([0.0, 1.0], weight=0.9) == pytest.approx(
        [0.0, 0.1 / 0.19])


def test_compare_labels_runs_by_network_and_tabulates_their_ends(
        tiny_run, tmp_path):
    plain = run_copy(tiny_run, tmp_path / 'a', network='plain34')
    residual = run_copy(tiny_run, tmp_path / 'b')
    out = tmp_path / 'compare.png'
    written, table = plot.compare([str(plain), str(residual)], str(out))
    assert written == str(out)
    assert png_size(out) == (plot.COMPARE_FIGURE_INCHES[0] * plot.DPI,
                             plot.COMPARE_FIGURE_INCHES[1] * plot.DPI)
    assert sorted(os.listdir(tmp_path)) == ['a', 'b', 'compare.png']
    training, evals = plot.read_run(str(tiny_run))
    loss = sum(training['loss'][1]) / 4  # 4 logged points < TABLE_POINTS
    cross_entropy = sum(training['cross_entropy'][1]) / 4
    accuracy = evals['eval_test']['accuracy'][1][-1]
    row = '| %%s | 4 | %.4f | %.4f | %.4f (step 4) |' % (
        loss, cross_entropy, accuracy)
    assert table[:4] == [
        '| network | steps | training loss | cross-entropy | '
        'test accuracy (EMA) |',
        '|---|---:|---:|---:|---:|',
        row % 'plain34', row % 'resnet34']
    assert table[4] == '' and 'last 10 logged batches' in table[5]


def test_compare_tells_runs_of_one_network_apart_by_directory(tiny_run,
                                                               tmp_path):
    # By as little of each path as tells them apart: the full paths of
    # pytest's directories alone outgrew the figure.
    runs = plot.read_runs([
        str(run_copy(tiny_run, tmp_path / 'a')),
        str(run_copy(tiny_run, tmp_path / 'x' / 'run')),
        str(run_copy(tiny_run, tmp_path / 'plain', network='plain34')),
        str(run_copy(tiny_run, tmp_path / 'y' / 'run'))])
    assert [run.label for run in runs] == [
        'resnet34 (a)', 'resnet34 (x/run)', 'plain34', 'resnet34 (y/run)']


def test_compare_of_many_long_named_runs_stays_inside_the_figure(tiny_run,
                                                                 tmp_path):
    # Four runs of one network: the joined labels are three times wider
    # than the figure on one line, and each legend entry is long.
    runs = plot.read_runs([
        str(run_copy(tiny_run, tmp_path / (
            'a_run_with_a_rather_long_directory_name_%d' % index)))
        for index in range(4)])
    from matplotlib import figure
    from matplotlib.backends import backend_agg
    fig = figure.Figure(figsize=plot.COMPARE_FIGURE_INCHES, dpi=plot.DPI,
                        layout='constrained')
    canvas = backend_agg.FigureCanvasAgg(fig)
    plot._draw_comparison(fig, runs)
    canvas.draw()
    renderer = canvas.get_renderer()
    title, = fig.texts
    assert title.get_text().count('\n') >= 2
    for artist in [title] + [axes.get_legend() for axes in fig.axes]:
        extent = artist.get_window_extent(renderer)
        assert 0 <= extent.x0 and extent.x1 <= fig.bbox.width, extent
    # The panels keep most of the height (the layout did not collapse them
    # to make room).
    assert sum(axes.get_window_extent(renderer).height
               for axes in fig.axes) > 0.6 * fig.bbox.height


@pytest.mark.parametrize('case,message', [
    ('no_out', '--out is required with several --model_dir \\(2 given\\)'),
    ('out_not_png', '--out .*c.jpg: must be a .png file'),
    ('twice', '--model_dir .*a/: given twice'),
    ('twice_relative', '--model_dir .*a: given twice'),
    ('one_missing', '--model_dir .*missing: No such file or directory'),
    ('no_config', '.*b/train_config.json: cannot read the training config'),
    ('out_in_missing_dir', '--out .*nowhere/c.png: No such file'),
])
def test_compare_bad_input_is_one_line_and_writes_nothing(tiny_run, tmp_path,
                                                          case, message):
    a = str(run_copy(tiny_run, tmp_path / 'a'))
    c = str(run_copy(tiny_run, tmp_path / 'c'))
    b = str(run_copy(tiny_run, tmp_path / 'b'))
    os.remove(os.path.join(b, 'train_config.json'))
    model_dirs = {'twice': [a, a + '/'],
                  'twice_relative': [a, os.path.relpath(a)],
                  'one_missing': [a, str(tmp_path / 'missing')],
                  'no_config': [a, b]}.get(case, [a, c])
    out = {'no_out': None, 'out_not_png': str(tmp_path / 'c.jpg'),
           'out_in_missing_dir': str(tmp_path / 'nowhere' / 'c.png')}.get(
               case, str(tmp_path / 'c.png'))
    before = sorted(os.walk(tmp_path))
    with pytest.raises(errors.ConfigError, match=message) as error:
        plot.compare(model_dirs, out)
    assert '\n' not in str(error.value)
    assert sorted(os.walk(tmp_path)) == before


def test_command_draws_several_runs_and_prints_the_table(tiny_run, tmp_path):
    plain = run_copy(tiny_run, tmp_path / 'plain', network='plain34')
    residual = run_copy(tiny_run, tmp_path / 'residual')
    out = tmp_path / 'compare.png'
    process = run_plot('--model_dir', plain, '--model_dir', residual,
                       '--out', out)
    assert process.returncode == 0, process.stderr
    lines = process.stdout.strip().splitlines()
    assert lines[-1] == 'wrote %s' % out
    assert [line.split(' | ')[0] for line in lines[2:4]] == [
        '| plain34', '| resnet34']
    assert png_size(out) == (plot.COMPARE_FIGURE_INCHES[0] * plot.DPI,
                             plot.COMPARE_FIGURE_INCHES[1] * plot.DPI)
    # Without --out there is no one directory to write into: one line.
    process = run_plot('--model_dir', plain, '--model_dir', residual)
    assert process.returncode == 1
    assert 'Traceback' not in process.stderr, process.stderr
    assert process.stderr.strip().splitlines()[-1] == (
        'error: --out is required with several --model_dir (2 given)')
