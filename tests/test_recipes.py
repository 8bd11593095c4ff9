"""experiments/recipes.py's plumbing, with a stand-in for Python.

The study takes hours of training; what can break without training is the
script's own logic: which flags reach train.py and eval.py, that the
selection reads the validation split and nothing else, that the test
split is read once per final run, and the minutes it reports. `--python`
is a stub that logs its arguments and answers as train.py (checkpoint
files, one second per step after its start) and eval.py (one line per
checkpoint, with accuracies the test chooses per recipe and split).
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_DIR, 'experiments', 'recipes.py')

STUB = """#!%s
import json, os, sys, time
arguments = sys.argv[1:]
with open(os.environ['STUB_LOG'], 'a') as log:
    log.write(json.dumps(arguments) + '\\n')
flags = dict(argument[2:].split('=', 1) for argument in arguments[1:]
             if argument.startswith('--') and '=' in argument)
model_dir = flags['model_dir']
if arguments[0] == 'train.py':
    if os.environ.get('STUB_FAIL'):
        print('train.py: the stub fails'); sys.exit(1)
    os.makedirs(model_dir, exist_ok=True)
    steps = int(flags['steps'])
    every = int(flags.get('keep_checkpoint_every', steps))
    start = time.time()
    for step in list(range(every, steps, every)) + [steps]:
        path = os.path.join(model_dir, 'model.ckpt-%%d.index' %% step)
        open(path, 'w').close()
        os.utime(path, (start + step, start + step))
elif arguments[0] == 'eval.py':
    recipe = os.path.basename(os.path.dirname(model_dir)).rsplit('_s', 1)[0]
    accuracy = json.loads(os.environ['STUB_ACCURACY'])[recipe][
        flags['split']]
    steps = sorted(int(name[len('model.ckpt-'):-len('.index')])
                   for name in os.listdir(model_dir)
                   if name.endswith('.index'))
    for step in steps:
        print('step=%%d accuracy=%%.4f examples=5000 weights=ema' %% (
            step, accuracy - 0.01 * (step != steps[-1])))
""" % sys.executable

RECIPES = {
    'groups': {
        'reference': {'about': 'fixed', 'select': False},
        'fast': {'about': 'fast ones', 'select': True, 'budget_minutes': 30},
    },
    'recipes': {
        'baseline': {'group': 'reference', 'about': 'defaults',
                     'flags': ['--steps=40', '--keep_checkpoint_every=20']},
        'fast_a': {'group': 'fast', 'about': 'a',
                   'flags': ['--model=cifar_resnet20', '--norm=batch',
                             '--steps=40', '--keep_checkpoint_every=20']},
        'fast_b': {'group': 'fast', 'about': 'b',
                   'flags': ['--model=cifar_resnet20',
                             '--learning_rate=0.1', '--steps=60',
                             '--keep_checkpoint_every=20']},
        # The best validation, but 50 minutes (3000 stub seconds): over
        # the group's budget.
        'slow': {'group': 'fast', 'about': 'slow',
                 'flags': ['--steps=3000', '--keep_checkpoint_every=1000']},
    },
}
# Test accuracies rank the recipes the other way round from validation:
# a selection that looked at them would pick fast_a.
ACCURACY = {
    'baseline': {'validation': 0.9900, 'test': 0.9910},
    'fast_a': {'validation': 0.9950, 'test': 0.9990},
    'fast_b': {'validation': 0.9960, 'test': 0.9940},
    'slow': {'validation': 0.9990, 'test': 0.9995},
}


@pytest.fixture
def study(tmp_path):
    stub = tmp_path / 'python-stub'
    stub.write_text(STUB)
    stub.chmod(0o755)
    recipes = tmp_path / 'recipes.json'
    recipes.write_text(json.dumps(RECIPES))
    code = tmp_path / 'code'
    code.mkdir()
    (code / 'train.py').write_text('')
    data = tmp_path / 'data'
    data.mkdir()
    log = tmp_path / 'calls.log'
    log.write_text('')
    return dict(stub=stub, recipes=recipes, code=code, data=data, log=log,
                runs=tmp_path / 'runs', tmp=tmp_path)


def _recipes_py(study, *arguments, **env):
    command = [sys.executable, SCRIPT, '--recipes=%s' % study['recipes'],
               '--runs_dir=%s' % study['runs']] + list(arguments)
    if arguments[0] in ('run', 'report'):
        command += ['--data_dir=%s' % study['data'],
                    '--code_dir=%s' % study['code'],
                    '--python=%s' % study['stub']]
    environment = dict(os.environ, STUB_LOG=str(study['log']),
                       STUB_ACCURACY=json.dumps(ACCURACY), MPLBACKEND='Agg',
                       **env)
    return subprocess.run(command, env=environment, capture_output=True,
                          text=True, check=False)


def _calls(study):
    calls = [json.loads(line)
             for line in study['log'].read_text().splitlines()]
    study['log'].write_text('')
    return calls


def _run_all(study):
    for name in RECIPES['recipes']:
        result = _recipes_py(study, 'run', name, '--seeds', '0', '1', '2')
        assert result.returncode == 0, result.stderr


def test_each_row_reaches_train_and_eval_with_its_flags(study):
    result = _recipes_py(study, 'run', 'fast_b', '--seeds', '3', '5')
    assert result.returncode == 0, result.stderr
    calls = _calls(study)
    assert [call[0] for call in calls] == ['train.py', 'eval.py'] * 2
    for seed, (train, evaluate) in zip((3, 5), (calls[:2], calls[2:])):
        model_dir = str(study['runs'] / ('fast_b_s%d' % seed) / 'model')
        assert train[1:] == RECIPES['recipes']['fast_b']['flags'] + [
            '--seed=%d' % seed, '--model_dir=%s' % model_dir,
            '--data_dir=%s' % study['data']]
        assert evaluate[1:] == [
            '--model_dir=%s' % model_dir, '--data_dir=%s' % study['data'],
            '--split=validation', '--all_checkpoints']
        run_dir = study['runs'] / ('fast_b_s%d' % seed)
        assert (run_dir / 'eval_validation.txt').read_text().splitlines()[
            -1] == 'step=60 accuracy=0.9960 examples=5000 weights=ema'
        assert not (run_dir / 'eval_test.txt').exists()
        log = (run_dir / 'log.txt').read_text()
        assert log.startswith('=== start ')
        assert '\ncpu: ' in log and 'load average' in log
    assert 'fast_b seed 5: validation 0.9960 at step 60' in result.stdout

    # Again: train.py is asked again (it resumes, or finds the run done),
    # eval.py is not.
    assert _recipes_py(study, 'run', 'fast_b', '--seeds', '3').returncode == 0
    assert [call[0] for call in _calls(study)] == ['train.py']


def test_the_selection_never_reads_the_test_split(study):
    _run_all(study)
    _calls(study)
    # Test results that cannot be parsed: reading any of them fails.
    for run_dir in study['runs'].iterdir():
        (run_dir / 'eval_test.txt').write_text('not an evaluation\n')
    result = _recipes_py(study, 'select')
    assert result.returncode == 0, result.stderr
    # fast_b: the best validation within the budget (test says fast_a;
    # slow is better on validation but takes 50 minutes).
    assert 'selected for fast: fast_b' in result.stdout
    assert 'slow: seeds 0,1,2, validation 0.9990' in result.stdout
    assert _calls(study) == []


def test_the_report_tests_each_final_run_once(study):
    _run_all(study)
    _calls(study)
    table = study['tmp'] / 'table.md'
    figure = study['tmp'] / 'figure.png'
    arguments = ('report', '--table=%s' % table, '--figure=%s' % figure)
    result = _recipes_py(study, *arguments)
    assert result.returncode == 0, result.stderr
    calls = _calls(study)
    assert all(call[0] == 'eval.py' and '--split=test' in call
               for call in calls)
    tested = sorted(call[1].split('=', 1)[1] for call in calls)
    assert tested == sorted(
        str(study['runs'] / ('%s_s%d' % (name, seed)) / 'model')
        for name in ('baseline', 'fast_b') for seed in (0, 1, 2))
    lines = table.read_text().splitlines()
    rows = {line.split(' | ')[0].lstrip('| '): line for line in lines[2:]}
    assert set(rows) == {'baseline', 'fast_a', 'fast_b (selected)', 'slow'}
    assert '| 0.9960 ± 0.0000 | 0.9940 ± 0.0000 |' in rows['fast_b (selected)']
    assert '| not read |' in rows['fast_a'] and '| not read |' in rows['slow']
    # Minutes: the stub's last checkpoint is `steps` seconds after start
    # (plus the second the start line's time is truncated by).
    minutes = float(rows['slow'].split(' | ')[5].split(' ± ')[0])
    assert 50.0 <= minutes <= 50.1
    assert figure.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # Once: a second report evaluates nothing.
    assert _recipes_py(study, *arguments).returncode == 0
    assert _calls(study) == []


def test_a_failed_training_is_one_line_and_keeps_the_log(study):
    result = _recipes_py(study, 'run', 'fast_a', '--seeds', '0',
                         STUB_FAIL='1')
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1
    assert 'fast_a seed 0: train.py failed (exit 1' in result.stderr
    log = (study['runs'] / 'fast_a_s0' / 'log.txt').read_text()
    assert 'train.py: the stub fails' in log


@pytest.mark.parametrize('change, message', [
    ({'flags': ['--model=resnet34']}, 'must name --steps'),
    ({'flags': ['--steps=10', '--seed=3']}, '--seed is set per run'),
    ({'flags': ['--steps', '10']}, '"--name=value" strings'),
    ({'group': 'nowhere'}, "group 'nowhere' is not one of"),
])
def test_a_bad_recipe_is_one_line_naming_it(study, change, message):
    recipes = json.loads(json.dumps(RECIPES))
    recipes['recipes']['fast_a'].update(change)
    study['recipes'].write_text(json.dumps(recipes))
    result = _recipes_py(study, 'select')
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1
    assert 'recipe fast_a' in result.stderr and message in result.stderr


def test_an_unknown_recipe_lists_the_recipes(study):
    result = _recipes_py(study, 'run', 'fast_c')
    assert result.returncode == 2
    assert "no recipe 'fast_c'; the recipes: baseline, fast_a" in (
        result.stderr)


def _module():
    spec = importlib.util.spec_from_file_location('recipes', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_minutes_leave_out_the_time_a_run_was_stopped():
    active_minutes = _module().active_minutes
    # Started at 0, checkpoints at 60 and 120 s, stopped; resumed at 1000,
    # checkpoints at 1060 and 1180.
    starts, times = [0.0, 1000.0], [60.0, 120.0, 1060.0, 1180.0]
    assert active_minutes(starts, times, 60.0) == 1.0
    assert active_minutes(starts, times, 120.0) == 2.0
    assert active_minutes(starts, times, 1060.0) == 3.0
    assert active_minutes(starts, times, 1180.0) == 5.0
    with pytest.raises(ValueError):
        active_minutes(starts, times, -1.0)


def test_the_cpu_is_named_with_its_vector_extension(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nmodel name\t: AMD EPYC\n'
                       'flags\t\t: fpu avx2 avx512f\n\n'
                       'processor\t: 1\nmodel name\t: AMD EPYC\n'
                       'flags\t\t: fpu avx2 avx512f\n')
    assert _module().cpu_name(str(cpuinfo)) == 'AMD EPYC, 2 cores, AVX-512'
