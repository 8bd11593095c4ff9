"""The verdict of every TF 1.x public name on TensorFlow 2.21: the lookup
the checker uses, and the generated page docs/migration/api-verdicts.md.

    from tf1_migrate import inventory
    inventory.lookup('tf.layers.dense')      # Verdict(kind='tf_keras', ...)
    python -m tf1_migrate.inventory          # rewrites the page

The data (data/tf1_api.json) is built by
`python -m tf1_migrate.build_inventory` (build_inventory.py, verdicts.py):
every `tf.*` name and module of the TF 1.15.5 wheel and every
`tf.contrib` module, each judged by running the installed TensorFlow.
tests/test_migration_inventory.py resolves every replacement and checks
this page against the data.
"""

import collections
import dataclasses
import functools
import json
import pathlib

DATA_PATH = pathlib.Path(__file__).resolve().parent / 'data' / 'tf1_api.json'
PAGE_PATH = (pathlib.Path(__file__).resolve().parents[1] / 'docs' /
             'migration' / 'api-verdicts.md')
KINDS = ('unchanged', 'compat_v1', 'renamed', 'args_changed', 'tf_keras',
         'moved', 'gone')
BREAKING = KINDS[1:]
ROUTES = {'': 'TF 2.21 (+ tf-slim)', 'tf_slim': 'pip install tf-slim',
          'tf_keras': 'pip install tf-keras~=2.21.0, TF_USE_LEGACY_KERAS=1'}
DOC = '../MIGRATION.md'


@dataclasses.dataclass(frozen=True)
class Verdict:
    name: str         # TF1 dotted name: 'tf.layers.dense', 'tf.contrib.rnn'
    kind: str         # one of KINDS
    replacement: str  # what to write instead, resolves on its route; or ''
    route: str        # '' (TF 2.21 + tf-slim), 'tf_keras', 'tf_slim'
    args: tuple       # ((old_keyword, new_keyword), ...) keyword renames
    note: str         # one line: what changed, or for 'gone' what to do
    section: str      # anchor in docs/MIGRATION.md
    mechanical: bool  # replacement is a verified drop-in (same callable,
    #                   same positional meaning): --diff may rewrite it


@functools.lru_cache(maxsize=1)
def _data():
    data = json.loads(DATA_PATH.read_text())
    verdicts, changes = {}, {}
    for (name, kind, replacement, route, args, note, section, mechanical,
         changed) in data['verdicts']:
        verdicts[name] = Verdict(name, kind, replacement, route,
                                 tuple(tuple(pair) for pair in args), note,
                                 section, mechanical)
        changes[name] = changed
    parents = {name.rpartition('.')[0] for name in verdicts}
    return data['verified_on'], verdicts, changes, parents


def verified_on():
    """{package: version} the verdicts were decided on."""
    return dict(_data()[0])


def all_verdicts():
    """Every verdict, sorted by name."""
    verdicts = _data()[1]
    return iter([verdicts[name] for name in sorted(verdicts)])


def lookup(name):
    """The verdict of TF1 dotted `name`; else of its nearest listed parent
    (tf.contrib.seq2seq.AttentionWrapper -> tf.contrib.seq2seq,
    tf.data.Dataset.from_tensors -> tf.data.Dataset); None when `name` is
    not a TF 1.x public name (an unlisted member of a module whose members
    are listed, e.g. tf.train.NoSuchThing)."""
    _, verdicts, _, parents = _data()
    if name in verdicts:
        return verdicts[name]
    parent = name.rpartition('.')[0]
    while parent:
        if parent in verdicts:
            # A module whose members are listed vouches for none else.
            if parent in parents and parent != 'tf.contrib':
                return None
            return verdicts[parent]
        parent = parent.rpartition('.')[0]
    return None


def changes(name):
    """How TF2's tf.X differs from TF1's parameters, for an args_changed
    verdict: {'renamed': [[old, new]], 'removed': [...], 'positions':
    [[position (1-based), TF1 name, TF2 name]], 'defaults': [[name, TF1,
    TF2]], 'required': [...]}; {} otherwise. A call with fewer positional
    arguments than the first changed position and none of the removed or
    renamed keywords binds TF2's function as it bound TF1's."""
    return dict(_data()[2].get(name, {}))


def counts(names=None):
    """{kind: number of verdicts}, over `names` (default: all)."""
    chosen = [verdict for verdict in all_verdicts()
              if names is None or verdict.name in names]
    return collections.Counter(verdict.kind for verdict in chosen)


def _row(verdict):
    replacement = '`%s`' % verdict.replacement if verdict.replacement \
        else '—'
    if verdict.route:
        replacement += ' (%s route)' % verdict.route.replace('_', '-')
    note = verdict.note.replace('|', '\\|')
    if verdict.mechanical:
        note = ('drop-in. ' + note).strip()
    return '| `%s` | %s | %s |' % (verdict.name, replacement, note)


def _share(verdicts):
    breaking = [v for v in verdicts if v.kind in BREAKING]
    working = [v for v in breaking if v.replacement]
    return len(working), len(breaking)


def render():
    """The text of docs/migration/api-verdicts.md."""
    verdicts = list(all_verdicts())
    contrib = [v for v in verdicts if v.name.startswith('tf.contrib')]
    api = [v for v in verdicts if not v.name.startswith('tf.contrib')]
    versions = ', '.join('%s %s' % item for item in
                         sorted(verified_on().items()))
    lines = [
        '# Every TF 1.x API on TensorFlow 2.21: the verdicts',
        '',
        '<!-- Generated by `python -m tf1_migrate.inventory` from '
        'tf1_migrate/data/tf1_api.json; do not edit. -->',
        '',
        'Every public `tf.*` name and module of TensorFlow 1.15.5 (read '
        'from the wheel\'s API files, outside `tf.compat` and '
        '`tf.raw_ops`) and every `tf.contrib` module, each judged by '
        'running the installed stack: %s, and tf-keras 2.21.0 for the '
        'tf-keras route. Rebuild with '
        '`python -m tf1_migrate.build_inventory --wheel WHEEL --verdicts` '
        '(see tf1_migrate/build_inventory.py); the routes are explained '
        'in [the guide](%s).' % (versions, DOC),
        '',
        'Kinds: **unchanged** (tf.X is TF1\'s function or takes TF1\'s '
        'parameters the same way), **compat_v1** (only as '
        '`tf.compat.v1.X`), **renamed** (tf_upgrade_v2\'s TF2 name, the '
        'same function), **args_changed** (tf.X exists with other '
        'parameters or defaults: `tf.compat.v1.X` keeps TF1\'s), '
        '**tf_keras** (only on the tf-keras route), **moved** (another '
        'module or package; not a drop-in), **gone** (no form on TF 2.21; '
        'the note says what to do). "drop-in" marks a replacement the '
        'checker\'s `--diff` may write mechanically.',
        '',
        '| | ' + ' | '.join(KINDS) + ' | breaking with a working '
        'replacement |',
        '|---|' + '---|' * (len(KINDS) + 1)]
    for label, group in (('`tf.*` names and modules', api),
                         ('`tf.contrib` modules', contrib)):
        count = counts({v.name for v in group})
        working, breaking = _share(group)
        lines.append('| %s (%d) | %s | %d of %d (%.1f%%) |' % (
            label, len(group), ' | '.join(str(count[kind])
                                          for kind in KINDS),
            working, breaking, 100.0 * working / max(breaking, 1)))
    lines.append('')
    for kind in BREAKING:
        chosen = [v for v in api if v.kind == kind]
        lines += ['## %s (%d)' % (kind, len(chosen)), '',
                  '| TF1 name | Write instead | Note |', '|---|---|---|']
        lines += [_row(v) for v in chosen] + ['']
    lines += ['## tf.contrib (%d)' % len(contrib), '',
              '| TF1 module | Write instead | Note |', '|---|---|---|']
    lines += [_row(v) for v in contrib] + ['']
    unchanged = [v for v in api if v.kind == 'unchanged']
    lines += ['## unchanged (%d)' % len(unchanged), '',
              'Grouped by module; a note marks TF2\'s own object with '
              'TF1\'s parameters (same call, possibly other internals, '
              'e.g. `tf.where` broadcasts).', '']
    modules = collections.defaultdict(list)
    for verdict in unchanged:
        modules[verdict.name.rpartition('.')[0]].append(verdict)
    for module in sorted(modules):
        names = ', '.join('`%s`%s' % (v.name.rpartition('.')[2],
                                      '*' if v.note else '')
                          for v in modules[module])
        lines.append('- `%s`: %s' % (module, names))
    lines += ['', '\\* TF2\'s own object with TF1\'s parameters.', '']
    return '\n'.join(lines)


def main():
    PAGE_PATH.write_text(render())
    print('wrote %s' % PAGE_PATH)


if __name__ == '__main__':
    main()
