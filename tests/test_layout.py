"""The package's layout rules that no linter checks: a module over
MAX_LINES lines says at its top why it is long. (The import layers are
checked by `lint-imports`, .importlinter, which .ci/run runs.)"""

import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
MAX_LINES = 500
# The phrase a long module's docstring carries, with its reason.
REASON = 'Why this module is long:'


def _modules():
    for package in ('resnet_tf1', 'tf1_migrate'):
        yield from sorted((REPO / package).rglob('*.py'))


@pytest.mark.parametrize('path', list(_modules()),
                         ids=lambda path: str(path.relative_to(REPO)))
def test_long_modules_say_why(path):
    text = path.read_text()
    lines = text.count('\n')
    if lines > MAX_LINES:
        head = text[:3000]
        assert REASON in head, (
            '%s has %d lines (more than %d) and its docstring does not say '
            '%r' % (path.relative_to(REPO), lines, MAX_LINES, REASON))


def test_the_rule_is_checked_on_something():
    assert len(list(_modules())) > 40
