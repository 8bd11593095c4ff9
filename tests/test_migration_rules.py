"""Every migration rule, executed on the installed TensorFlow.

For each rule of tf1_migrate/rules.py: its old spelling does what
the table (and so docs/MIGRATION.md) says, the exact error or the measured
silent change; its replacement runs, and gives TF1's numbers where
`same_code` spells TF1's meaning. The programs run once per module, grouped:
in this process for 'graph' and 'eager', and one child interpreter per other
environment ('v1': eager execution disabled; 'legacy_keras': tf-keras with
TF_USE_LEGACY_KERAS=1, skipped unless `TF_KERAS_DIR` names a
`pip install --no-deps --target DIR tf-keras~=2.21.0` or tf_keras is
importable; CI sets it).
"""

import collections
import importlib.metadata
import importlib.util
import os
import re

import numpy as np
import pytest

from tf1_migrate import docgen
from tf1_migrate import rules
from tf1_migrate import runner
from tf1_migrate import variable_names

IN_PROCESS = ('graph', 'eager')
RULE_IDS = ['%s %s' % (rule.name, rule.when or rule.kind)
            for rule in rules.RULES]


def tf_keras_available():
    return bool(os.environ.get(runner.TF_KERAS_DIR_VARIABLE) or
                importlib.util.find_spec('tf_keras'))


def programs(rule):
    """(role, code, env) of each program a rule has."""
    yield 'old', rule.old, rule.env
    if rule.replacement:
        yield 'new', rule.replacement, rule.new_env or rule.env
    if rule.same_code:
        yield 'same', rule.same_code, rule.env


@pytest.fixture(scope='module')
def outcomes():
    """(rule index, role) -> outcome, every program run once."""
    results = {}
    pending = collections.defaultdict(list)
    for index, rule in enumerate(rules.RULES):
        for role, code, env in programs(rule):
            if env not in IN_PROCESS:
                pending[env].append(((index, role), code))
    if not tf_keras_available():
        pending.pop('legacy_keras', None)
    children = runner.start_subprocesses(
        {env: [code for _, code in items] for env, items in pending.items()})
    for index, rule in enumerate(rules.RULES):
        for role, code, env in programs(rule):
            if env in IN_PROCESS:
                results[index, role] = runner.outcome(code, env)
    done = runner.collect(children)
    for env, items in pending.items():
        results.update(zip([key for key, _ in items], done[env]))
    return results


def get(outcomes, index, role):
    if (index, role) not in outcomes:
        pytest.skip('tf-keras not available: set %s to a directory made by '
                    '`pip install --no-deps --target DIR tf-keras~=2.21.0`' %
                    runner.TF_KERAS_DIR_VARIABLE)
    return outcomes[index, role]


def matches(expected, actual):
    """Whether `actual` is `expected`, '[...]' matching anything."""
    pattern = '.*'.join(re.escape(part) for part in expected.split('[...]'))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


def same(a, b):
    return np.allclose(np.asarray(a, float), np.asarray(b, float),
                       rtol=1e-6, atol=0)


@pytest.mark.parametrize('index', range(len(rules.RULES)), ids=RULE_IDS)
def test_old_spelling_does_what_the_rule_says(outcomes, index):
    rule = rules.RULES[index]
    status, value = get(outcomes, index, 'old')
    if rule.kind == 'error':
        assert status == 'error', 'no longer fails: returned %r' % (value,)
        assert matches(rule.happens, value), value
    elif rule.kind == 'silent':
        assert status == 'ok', value
        new_status, new_value = get(outcomes, index, 'new')
        assert new_status == 'ok', new_value
        assert value is not None and not same(value, new_value), (
            'old and new spellings now agree: %r' % (value,))
    else:
        assert status == 'ok', value


@pytest.mark.parametrize('index', range(len(rules.RULES)), ids=RULE_IDS)
def test_new_spelling_works_with_tf1_numbers(outcomes, index):
    rule = rules.RULES[index]
    if not rule.replacement:
        pytest.skip('no runnable replacement: %s' % rule.new)
    status, value = get(outcomes, index, 'new')
    assert status == 'ok', value
    if rule.same_code:
        same_status, same_value = get(outcomes, index, 'same')
        assert same_status == 'ok', same_value
        assert value is not None and same(value, same_value), (
            value, same_value)


def test_the_silent_changes_measured():
    """The numbers behind two silent rules' words: dropout's second argument
    drops 90% instead of keeping 90%; TF1's meaning keeps 90%."""
    dropout = [rule for rule in rules.RULES
               if rule.name == 'tf.nn.dropout' and rule.kind == 'silent'][0]
    assert abs(runner.outcome(dropout.old)[1] - 0.9) < 0.05
    assert abs(runner.outcome(dropout.replacement)[1] - 0.1) < 0.05


def draw_std(initializer):
    """The standard deviation of a [200, 300] variable `initializer`
    draws in a fresh graph."""
    code = ('result = tf1.get_variable("w", [200, 300], initializer=%s)'
            % initializer)
    status, value = runner.outcome(code)
    assert status == 'ok', value
    return float(np.std(value))


@pytest.mark.parametrize('name', sorted(rules.INITIALIZER_CHANGES))
def test_the_initializer_changes_measured(name):
    """The words of each tf.initializers.X rule: a changed default gives
    TF2's and TF1's spread; otherwise the distribution is the same."""
    old = draw_std('tf.initializers.%s(seed=2)' % name)
    tf1_std = draw_std('tf1.initializers.%s(seed=2)' % name)
    # The spread each default gives: uniform (b - a) / sqrt(12); a normal
    # truncated at two deviations 0.8796 of its deviation.
    spreads = {'stddev 1.0': 1.0, 'stddev 0.05': 0.05,
               'range [0, 1)': 1 / 12 ** 0.5,
               'range [-0.05, 0.05)': 0.1 / 12 ** 0.5}
    # The rules' note: tf.keras.initializers.X is the same Keras 3 object.
    keras = draw_std('tf.keras.initializers.%s(seed=2)' % name)
    assert keras == old, (keras, old)
    change = rules.INITIALIZER_CHANGES[name]
    if change is None:
        assert abs(old / tf1_std - 1) < 0.02, (old, tf1_std)
    else:
        factor = 0.8796 if name == 'truncated_normal' else 1.0
        assert abs(tf1_std / (factor * spreads[change[0]]) - 1) < 0.02
        assert abs(old / (factor * spreads[change[1]]) - 1) < 0.02


def test_the_tf2_initializers_with_tf1_arguments_draw_the_same_spread():
    """tf.random_*_initializer's rules: given the same arguments, only the
    numbers change."""
    for kind, args in (('random_normal', '0.0, 2.0'),
                       ('random_uniform', '-3.0, 3.0')):
        new = draw_std('tf.%s_initializer(%s, seed=2)' % (kind, args))
        old = draw_std('tf1.%s_initializer(%s, seed=2)' % (kind, args))
        assert abs(new / old - 1) < 0.02, (kind, new, old)


@pytest.fixture(scope='module')
def name_outcomes():
    """variable_names.ROWS' programs, run in their environments."""
    pending = [(index, row.program)
               for index, row in enumerate(variable_names.ROWS)
               if row.env == 'legacy_keras']
    children = {}
    if tf_keras_available():
        children = runner.start_subprocesses(
            {'legacy_keras': [code for _, code in pending]})
    results = {index: runner.outcome(row.program, row.env)
               for index, row in enumerate(variable_names.ROWS)
               if row.env != 'legacy_keras'}
    done = runner.collect(children)
    if done:
        results.update(zip([index for index, _ in pending],
                           done['legacy_keras']))
    return results


@pytest.mark.parametrize('index', range(len(variable_names.ROWS)),
                         ids=[row.route for row in variable_names.ROWS])
def test_each_route_gives_the_variable_names_the_doc_says(name_outcomes,
                                                          index):
    if index not in name_outcomes:
        pytest.skip('tf-keras not available: set %s' %
                    runner.TF_KERAS_DIR_VARIABLE)
    status, names = name_outcomes[index]
    assert status == 'ok', names
    assert tuple(names) == variable_names.ROWS[index].names


def test_every_section_has_its_anchor_in_the_doc():
    text = docgen.DOC_PATH.read_text()
    for key in rules.SECTIONS:
        assert '<a id="%s"></a>' % key in text, key


def test_the_doc_points_into_this_package_only():
    """The guide's replacements are things a user can have: nothing in
    this repository's training library."""
    text = docgen.DOC_PATH.read_text()
    assert 'resnet_tf1.' not in text
    for rule in rules.RULES:
        for code in (rule.old_code, rule.new_code, rule.same_code):
            assert 'resnet_tf1' not in code, rule.name


def test_rules_are_well_formed():
    for rule in rules.RULES:
        assert rule.section in rules.SECTIONS, rule
        assert rule.kind in rules.KINDS, rule
        assert {rule.env, rule.new_env or rule.env} <= set(rules.ENVS), rule
        if rule.when:
            assert docgen.describe_when(rule.when), rule
        if rule.kind == 'silent':
            assert rule.same_code and rule.replacement, rule


def test_verified_versions_are_the_installed_ones():
    for package, version in rules.VERIFIED_ON:
        if package == 'tf_keras':
            continue  # not installed in the project's environment
        distribution = {'tf_slim': 'tf-slim'}.get(package, package)
        assert importlib.metadata.version(distribution) == version


def test_committed_doc_tables_are_generated_from_the_rules():
    text = docgen.DOC_PATH.read_text()
    assert docgen.BLOCK.search(text), 'no rules tables in the doc'
    assert docgen.render(text) == text, (
        'docs/MIGRATION.md is stale: run '
        'python -m tf1_migrate.docgen')
