"""Writes the rule tables of docs/MIGRATION.md from rules.py.

    python -m tf1_migrate.docgen

The doc's prose is written by hand; each table sits between a
`<!-- rules: KEY -->` line and an `<!-- end rules -->` line, and is replaced
by the table of the rules of section KEY ('silent': every silent rule,
'versions': the versions the rules were verified on, 'variable-names':
the table of variable_names.py, 'recipe:NAME': the replacement program of
the rule named NAME, with the imports the runner gives it).
tests/test_migration_rules.py fails when the committed doc differs from
what this writes.
"""

import pathlib
import re

from tf1_migrate import rules
from tf1_migrate import variable_names

DOC_PATH = (pathlib.Path(__file__).resolve().parents[1] / 'docs' /
            'MIGRATION.md')
BLOCK = re.compile(r'(<!-- rules: (\S+) -->\n)(.*?)(<!-- end rules -->)',
                   re.DOTALL)
WHEN = {'eager': 'in a process that never disables eager execution',
        'default-graph': 'outside any tf.Graph',
        'arg0-not-str': 'given a device function'}


def describe_when(when):
    """Words for a rule's `when`."""
    if when.startswith('args>='):
        return 'with %s+ positional arguments' % when[len('args>='):]
    if when.startswith('kw='):
        return 'with `%s=`' % when[len('kw='):]
    return WHEN[when]


def _cell(text):
    return ' '.join(text.split()).replace('|', '\\|')


def _code(text):
    return '`%s`' % text if rules.DOTTED.match(text) else text


def _span(text):
    """A Markdown code span of `text`, which may hold backticks."""
    return '`` %s ``' % text if '`' in text else '`%s`' % text


def row(rule):
    old = '`%s`' % rule.name
    if rule.when:
        old += ' ' + describe_when(rule.when)
    if rule.kind == 'error':
        happens = _span(rule.happens)
    elif rule.kind == 'silent':
        happens = '**silent**: ' + rule.happens
    else:
        happens = rule.happens
    return '| %s |' % ' | '.join(_cell(text) for text in (
        old, happens, _code(rule.new), rule.note))


# The names runner.py gives every program, as a reader's file spells them.
RECIPE_HEADER = ('import tempfile\n\nimport numpy as np\nimport tensorflow '
                 'as tf\nimport tf_slim\n\ntf1 = tf.compat.v1\n\n')


def recipe(name):
    """The replacement program of the rule `name`, as a Python block."""
    chosen = [rule for rule in rules.RULES
              if rule.name == name and rule.new_code]
    if not chosen:
        raise ValueError('no rule %r with a replacement program' % name)
    code = chosen[0].new_code.rstrip('\n')
    return '```python\n%s%s\n```\n' % (RECIPE_HEADER, code)


def names_table():
    lines = ['| Layer | Route | Variables |', '|---|---|---|']
    for row in variable_names.ROWS:
        lines.append('| %s | %s | %s |' % (
            row.layer, _cell(row.route),
            ', '.join('`%s`' % name for name in row.names)))
    return '\n'.join(lines) + '\n'


def table(key):
    if key.startswith('recipe:'):
        return recipe(key[len('recipe:'):])
    if key == 'variable-names':
        return names_table()
    if key == 'versions':
        return ', '.join('%s %s' % pair for pair in rules.VERIFIED_ON) + '\n'
    if key == 'silent':
        chosen = [rule for rule in rules.RULES if rule.kind == 'silent']
    elif key in rules.SECTIONS:
        chosen = [rule for rule in rules.RULES if rule.section == key]
    else:
        raise ValueError('unknown rules block %r' % key)
    lines = ['| TF1 spelling | On the installed TensorFlow | Write instead '
             '| Note |', '|---|---|---|---|']
    return '\n'.join(lines + [row(rule) for rule in chosen]) + '\n'


def render(text):
    """`text` with every rules block regenerated."""
    return BLOCK.sub(lambda match: match.group(1) + table(match.group(2)) +
                     match.group(4), text)


def main():
    text = DOC_PATH.read_text()
    DOC_PATH.write_text(render(text))
    print('wrote %s (%d tables)' % (DOC_PATH, len(BLOCK.findall(text))))


if __name__ == '__main__':
    main()
