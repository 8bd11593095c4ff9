"""The recipe study of issue 29: how good, how fast, how sure.

A recipe is a named set of train.py flags (experiments/recipes.json); a
run is one recipe with one seed, in <runs_dir>/<recipe>_s<seed>/ (the
model directory `model/`, the log `log.txt`, and eval.py's output for
each split, `eval_validation.txt` and `eval_test.txt`). Three commands,
thin wrappers around train.py and eval.py (no training loop here):

    python experiments/recipes.py run RECIPE --seeds 0 1 2   # one row
    python experiments/recipes.py select                     # validation
    python experiments/recipes.py report                     # table, figure

`run` trains each seed (train.py resumes a stopped run from its model
directory, bit for bit) and evaluates every kept checkpoint on the
validation split. `select` picks, in each group of recipes, the one with
the best mean validation accuracy over its seeds at the final step (within
the group's wall-clock budget); it reads eval_validation.txt files only.
`report` then evaluates the final runs, the selected recipes' and the
fixed reference rows', on the test split, once per run (kept in
eval_test.txt), and writes the markdown table and the time-to-accuracy
figure (test accuracy of the kept checkpoints against wall-clock minutes).

Wall-clock minutes come from the run's own records: each train.py start
is a `=== start <UTC time>` line in log.txt, and each checkpoint's time
is its .index file's modification time. A resumed run's minutes leave out
the time it was stopped (from its segment's last checkpoint to the next
start). Run trainings at low priority: `nice -n 19 python experiments/...`.
"""

import argparse
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys

EXPERIMENTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(EXPERIMENTS_DIR)
RECIPES_FILE = os.path.join(EXPERIMENTS_DIR, 'recipes.json')
SPLITS = ('validation', 'test')
START_MARK = '=== start '
_EVAL_LINE = re.compile(r'^step=(\d+) accuracy=([0-9.]+) ')
_LOAD = re.compile(r'load average: ([0-9.]+)')
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


class RecipeError(Exception):
    """Bad input: a one-line message naming the file, recipe or run."""


# ----------------------------------------------------------------- recipes

def load_recipes(path=RECIPES_FILE):
    """(groups, recipes) from the JSON file, checked."""
    try:
        with open(path) as stream:
            document = json.load(stream)
        groups, recipes = document['groups'], document['recipes']
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RecipeError('%s: not a recipes file (%s)' % (path, error))
    for name, recipe in recipes.items():
        if recipe.get('group') not in groups:
            raise RecipeError('%s: recipe %s: group %r is not one of %s' % (
                path, name, recipe.get('group'), ', '.join(groups)))
        flags = recipe.get('flags')
        if not (isinstance(flags, list) and
                all(isinstance(flag, str) and flag.startswith('--') and
                    '=' in flag for flag in flags)):
            raise RecipeError('%s: recipe %s: flags must be a list of '
                              '"--name=value" strings' % (path, name))
        names = [flag.split('=', 1)[0] for flag in flags]
        for reserved in ('--seed', '--model_dir', '--data_dir'):
            if reserved in names:
                raise RecipeError('%s: recipe %s: %s is set per run, not by '
                                  'the recipe' % (path, name, reserved))
        if '--steps' not in names:
            raise RecipeError('%s: recipe %s: flags must name --steps (its '
                              'final step)' % (path, name))
    return groups, recipes


def final_step(recipe):
    for flag in recipe['flags']:
        name, value = flag.split('=', 1)
        if name == '--steps':
            return int(value)
    raise AssertionError('load_recipes checks --steps')


def run_dir(runs_dir, name, seed):
    return os.path.join(runs_dir, '%s_s%d' % (name, seed))


def _recipe(recipes, name):
    if name not in recipes:
        raise RecipeError('no recipe %r; the recipes: %s' % (
            name, ', '.join(sorted(recipes))))
    return recipes[name]


# ------------------------------------------------------- runs' own records

def read_eval(path):
    """{step: accuracy} from an eval.py --all_checkpoints output file."""
    results = {}
    with open(path) as stream:
        for line in stream:
            match = _EVAL_LINE.match(line)
            if match:
                results[int(match.group(1))] = float(match.group(2))
    if not results:
        raise RecipeError('%s: no "step=N accuracy=A" line' % path)
    return results


def evaluated_to(path, step):
    """Whether eval.py's output at `path` reaches `step`."""
    try:
        return step in read_eval(path)
    except (OSError, RecipeError):
        return False


def cpu_name(cpuinfo='/proc/cpuinfo'):
    """'<model name>, <N> cores, <widest vector extension>'."""
    with open(cpuinfo) as stream:
        text = stream.read()
    model = re.search(r'^model name\s*:\s*(.+)$', text, re.M)
    flags = re.search(r'^flags\s*:\s*(.+)$', text, re.M)
    flags = set(flags.group(1).split()) if flags else set()
    vector = ('AVX-512' if 'avx512f' in flags else
              'AVX2' if 'avx2' in flags else 'no AVX2')
    cores = len(re.findall(r'^processor\s*:', text, re.M))
    return '%s, %d cores, %s' % (model.group(1).strip() if model else
                                 'unknown CPU', cores, vector)


def _log_values(log_path, prefix):
    try:
        with open(log_path) as stream:
            return [line[len(prefix):].strip() for line in stream
                    if line.startswith(prefix)]
    except OSError:
        return []


def segment_starts(log_path):
    """Epoch seconds of each `=== start` line of a run's log."""
    starts = []
    for value in _log_values(log_path, START_MARK):
        stamp = value.split()[0]
        try:
            moment = datetime.datetime.strptime(stamp, _TIME_FORMAT)
        except ValueError:
            raise RecipeError('%s: bad start line time %r' % (log_path, stamp))
        starts.append(moment.replace(
            tzinfo=datetime.timezone.utc).timestamp())
    return starts


def checkpoint_times(model_dir):
    """{step: modification time} of the checkpoints in `model_dir`."""
    times = {}
    for name in os.listdir(model_dir):
        match = re.match(r'^model\.ckpt-(\d+)\.index$', name)
        if match:
            times[int(match.group(1))] = os.path.getmtime(
                os.path.join(model_dir, name))
    return times


def active_minutes(starts, times, moment):
    """Wall-clock minutes of training up to `moment`: the time since each
    segment's start up to `moment`, or up to the segment's last
    checkpoint (`times`, epoch seconds) when a later segment resumed it."""
    if not starts or moment < starts[0]:
        raise ValueError('a checkpoint before the first start')
    total = 0.0
    for index, start in enumerate(starts):
        if start > moment:
            break
        following = (starts[index + 1] if index + 1 < len(starts)
                     else math.inf)
        if moment < following:
            total += moment - start
            break
        in_segment = [time for time in times if start <= time < following]
        total += (max(in_segment) - start) if in_segment else 0.0
    return total / 60.0


class Run:
    """One finished run's records: what it scored on `split` at each
    kept checkpoint and how many minutes each took."""

    def __init__(self, directory, steps):
        self.directory = directory
        self.steps = steps
        self.log = os.path.join(directory, 'log.txt')

    def eval_file(self, split):
        return os.path.join(self.directory, 'eval_%s.txt' % split)

    def finished(self, split):
        return evaluated_to(self.eval_file(split), self.steps)

    def accuracies(self, split):
        return read_eval(self.eval_file(split))

    def minutes(self):
        """{step: wall-clock minutes} of the checkpoints left on disk."""
        model_dir = os.path.join(self.directory, 'model')
        times = checkpoint_times(model_dir)
        starts = segment_starts(self.log)
        if not starts:
            raise RecipeError('%s: no "%s" line' % (self.log, START_MARK))
        return {step: active_minutes(starts, list(times.values()), time)
                for step, time in times.items()}

    def cpu(self):
        names = set(_log_values(self.log, 'cpu: '))
        if not names:
            raise RecipeError('%s: no "cpu:" line' % self.log)
        return ' / '.join(sorted(names))

    def loads(self):
        """The 1-minute load averages logged around the training."""
        return [float(match.group(1))
                for value in _log_values(self.log, 'uptime: ')
                for match in [_LOAD.search(value)] if match]


def finished_runs(runs_dir, name, recipe, split):
    """The seeds' runs of `recipe` evaluated on `split` at the final step,
    by seed."""
    runs = {}
    pattern = re.compile(r'^%s_s(\d+)$' % re.escape(name))
    if not os.path.isdir(runs_dir):
        raise RecipeError('--runs_dir %s: no such directory' % runs_dir)
    for entry in sorted(os.listdir(runs_dir)):
        match = pattern.match(entry)
        if match:
            run = Run(os.path.join(runs_dir, entry), final_step(recipe))
            if run.finished(split):
                runs[int(match.group(1))] = run
    return runs


# ---------------------------------------------------------------- commands

def _stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        _TIME_FORMAT)


def _uptime():
    try:
        return subprocess.run(['uptime'], capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        return 'unknown'


def evaluate(python, code_dir, data_dir, run, split):
    """eval.py over every kept checkpoint of `run` on `split`, into
    run.eval_file(split) (written whole, or not at all)."""
    target = run.eval_file(split)
    temporary = target + '.tmp'
    with open(temporary, 'w') as out, open(run.log, 'a') as log:
        result = subprocess.run(
            [python, 'eval.py',
             '--model_dir=%s' % os.path.join(run.directory, 'model'),
             '--data_dir=%s' % data_dir, '--split=%s' % split,
             '--all_checkpoints'],
            cwd=code_dir, stdout=out, stderr=log, check=False)
    if result.returncode != 0:
        os.remove(temporary)
        raise RecipeError('eval.py --split=%s failed on %s (exit %d; see %s)'
                          % (split, run.directory, result.returncode,
                             run.log))
    os.replace(temporary, target)
    with open(run.log, 'a') as log:
        log.write('=== %s evaluated %s\nuptime: %s\n' % (split, _stamp(),
                                                         _uptime()))


def run_recipe(name, seeds, runs_dir, data_dir, code_dir, python,
               recipes_file=RECIPES_FILE, out=sys.stdout):
    """Trains (or resumes) `name` with each seed, then evaluates the kept
    checkpoints on the validation split. Never reads the test split."""
    _, recipes = load_recipes(recipes_file)
    recipe = _recipe(recipes, name)
    if not os.path.isfile(os.path.join(code_dir, 'train.py')):
        raise RecipeError('--code_dir %s: no train.py there' % code_dir)
    cpu = cpu_name()
    for seed in seeds:
        run = Run(run_dir(runs_dir, name, seed), final_step(recipe))
        model_dir = os.path.join(run.directory, 'model')
        os.makedirs(run.directory, exist_ok=True)
        command = ([python, 'train.py'] + recipe['flags'] +
                   ['--seed=%d' % seed, '--model_dir=%s' % model_dir,
                    '--data_dir=%s' % data_dir])
        with open(run.log, 'a') as log:
            log.write('%s%s code=%s\ncpu: %s\nuptime: %s\ncmd: %s\n' % (
                START_MARK, _stamp(), code_dir, cpu, _uptime(),
                ' '.join(command[1:])))
        print('%s seed %d: training in %s' % (name, seed, run.directory),
              file=out, flush=True)
        with open(run.log, 'a') as log:
            result = subprocess.run(command, cwd=code_dir, stdout=log,
                                    stderr=subprocess.STDOUT, check=False)
        with open(run.log, 'a') as log:
            log.write('=== train end %s exit %d\nuptime: %s\n' % (
                _stamp(), result.returncode, _uptime()))
        if result.returncode != 0:
            raise RecipeError('%s seed %d: train.py failed (exit %d; see %s)'
                              % (name, seed, result.returncode, run.log))
        if run.finished('validation'):
            print('%s seed %d: validation evaluated already' % (name, seed),
                  file=out)
            continue
        evaluate(python, code_dir, data_dir, run, 'validation')
        accuracy = run.accuracies('validation')[run.steps]
        print('%s seed %d: validation %.4f at step %d' % (
            name, seed, accuracy, run.steps), file=out, flush=True)


def _mean_std(values):
    values = list(values)
    if len(values) < 2:
        return values[0], float('nan')
    return statistics.mean(values), statistics.stdev(values)


def row_of(name, recipe, runs, split):
    """Mean and sample standard deviation over the seeds of `runs` of the
    final-step accuracy on `split` and of the minutes to the final step."""
    accuracy = _mean_std(run.accuracies(split)[run.steps]
                         for run in runs.values())
    minutes = _mean_std(run.minutes()[run.steps] for run in runs.values())
    return {'recipe': name, 'group': recipe['group'],
            'seeds': sorted(runs), split: accuracy, 'minutes': minutes,
            'runs': runs}


def select(groups, recipes, runs_dir, min_seeds=3):
    """{group: recipe name} for every selecting group: the recipe with the
    highest mean validation accuracy at its final step over at least
    `min_seeds` seeds, among those whose mean minutes fit the group's
    budget (ties: the fewer minutes). Reads eval_validation.txt files and
    the runs' logs and checkpoint times only, never the test split.
    Also returns every recipe's validation row."""
    rows = {}
    for name, recipe in recipes.items():
        runs = finished_runs(runs_dir, name, recipe, 'validation')
        if runs:
            rows[name] = row_of(name, recipe, runs, 'validation')
    chosen = {}
    for group, spec in groups.items():
        if not spec.get('select'):
            continue
        budget = spec.get('budget_minutes')
        eligible = [row for row in rows.values()
                    if row['group'] == group and
                    len(row['seeds']) >= min_seeds and
                    (budget is None or row['minutes'][0] <= budget)]
        if eligible:
            best = max(eligible, key=lambda row: (row['validation'][0],
                                                  -row['minutes'][0]))
            chosen[group] = best['recipe']
    return chosen, rows


def _format(mean_std, digits=4):
    mean, std = mean_std
    if math.isnan(std):
        return '%.*f' % (digits, mean)
    return '%.*f ± %.*f' % (digits, mean, digits, std)


def report(runs_dir, data_dir, code_dir, python, table_path, figure_path,
           recipes_file=RECIPES_FILE, min_seeds=3, out=sys.stdout):
    """Selects on validation, evaluates the final runs on the test split
    (each once), and writes the table and the figure."""
    groups, recipes = load_recipes(recipes_file)
    chosen, rows = select(groups, recipes, runs_dir, min_seeds)
    finals = [name for name, recipe in recipes.items()
              if not groups[recipe['group']].get('select')]
    finals += [chosen[group] for group in groups if group in chosen]
    tested = {}
    for name in finals:
        runs = finished_runs(runs_dir, name, recipes[name], 'validation')
        for run in runs.values():
            if not run.finished('test'):
                evaluate(python, code_dir, data_dir, run, 'test')
        if runs:
            tested[name] = runs
    lines = _table(groups, recipes, rows, tested, chosen)
    with open(table_path, 'w') as stream:
        stream.write('\n'.join(lines) + '\n')
    print('\n'.join(lines), file=out)
    _figure(recipes, tested, figure_path)
    print('wrote %s and %s' % (table_path, figure_path), file=out)


def _table(groups, recipes, rows, tested, chosen):
    lines = [
        '| recipe | group | seeds | validation (mean ± std) | '
        'test (mean ± std) | minutes to the last step | CPU | '
        'load (1-min, during) |',
        '|---|---|---|---:|---:|---:|---|---|']
    for name in recipes:
        if name not in rows:
            continue
        row = rows[name]
        runs = tested.get(name)
        if runs:
            test = _format(_mean_std(run.accuracies('test')[run.steps]
                                     for run in runs.values()))
        else:
            test = 'not read'
        label = name + (' (selected)' if name in chosen.values() else '')
        loads = [load for run in row['runs'].values() for load in run.loads()]
        cpus = sorted({run.cpu() for run in row['runs'].values()})
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            label, row['group'], ','.join(map(str, row['seeds'])),
            _format(row['validation']), test,
            _format(row['minutes'], 1), '; '.join(cpus),
            '%.1f-%.1f' % (min(loads), max(loads)) if loads else '-'))
    return lines


def _figure(recipes, tested, path):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 5))
    for name, runs in tested.items():
        steps = sorted(set.intersection(*[
            set(run.accuracies('test')) & set(run.minutes())
            for run in runs.values()]))
        minutes = [_mean_std(run.minutes()[step] for run in runs.values())
                   for step in steps]
        accuracy = [_mean_std(run.accuracies('test')[step]
                              for run in runs.values()) for step in steps]
        axes.errorbar([mean for mean, _ in minutes],
                      [mean for mean, _ in accuracy],
                      xerr=[0 if math.isnan(std) else std
                            for _, std in minutes],
                      yerr=[0 if math.isnan(std) else std
                            for _, std in accuracy],
                      marker='o', capsize=3,
                      label='%s (%d seed%s)' % (name, len(runs),
                                               's' * (len(runs) > 1)))
    axes.axhline(0.997, color='grey', linestyle='--', linewidth=0.8)
    axes.axvline(30, color='grey', linestyle=':', linewidth=0.8)
    axes.set_ylim(0.985, 1.0)
    axes.set_xlabel('wall-clock minutes of training (2 cores)')
    axes.set_ylabel('test accuracy (EMA weights)')
    axes.set_title('Time to accuracy on MNIST: kept checkpoints, '
                   'mean ± std over seeds')
    axes.grid(alpha=0.3)
    axes.legend(loc='lower right')
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


# --------------------------------------------------------------------- CLI

def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--recipes', default=RECIPES_FILE,
                        help='the recipes file (default: %(default)s)')
    parser.add_argument('--runs_dir', default='runs/recipes',
                        help='one directory per run (default: %(default)s)')
    commands = parser.add_subparsers(dest='command', required=True)
    run = commands.add_parser('run', help='train one recipe with seeds, '
                              'evaluate on validation')
    run.add_argument('recipe')
    run.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    selection = commands.add_parser(
        'select', help='each group\'s best recipe, by validation only')
    final = commands.add_parser('report', help='test the final runs, write '
                                'the table and the figure')
    final.add_argument('--table', default=os.path.join(
        REPO_DIR, 'docs', 'recipes_table.md'))
    final.add_argument('--figure', default=os.path.join(
        REPO_DIR, 'docs', 'images', 'time_to_accuracy.png'))
    for command in (run, final):
        command.add_argument('--data_dir', default='MNIST_data')
        command.add_argument(
            '--code_dir', default=REPO_DIR,
            help='where train.py and eval.py are (default: this checkout)')
        command.add_argument(
            '--python', default=os.environ.get('PYTHON', sys.executable),
            help='the interpreter for train.py and eval.py')
    for command in (selection, final):
        command.add_argument('--min_seeds', type=int, default=3)
    args = parser.parse_args(argv)
    runs_dir = os.path.abspath(args.runs_dir)
    try:
        if args.command == 'run':
            run_recipe(args.recipe, args.seeds, runs_dir,
                       os.path.abspath(args.data_dir),
                       os.path.abspath(args.code_dir), args.python,
                       args.recipes)
        elif args.command == 'select':
            groups, recipes = load_recipes(args.recipes)
            chosen, rows = select(groups, recipes, runs_dir, args.min_seeds)
            for name, row in rows.items():
                print('%s: seeds %s, validation %s, %s minutes' % (
                    name, ','.join(map(str, row['seeds'])),
                    _format(row['validation']), _format(row['minutes'], 1)))
            for group, name in chosen.items():
                print('selected for %s: %s' % (group, name))
        else:
            report(runs_dir, os.path.abspath(args.data_dir),
                   os.path.abspath(args.code_dir), args.python, args.table,
                   args.figure, args.recipes, args.min_seeds)
    except RecipeError as error:
        print('recipes.py: %s' % error, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
