"""The verdict on one use of a dotted TensorFlow name, in this order:

1. a rule of rules.py names it (or a prefix of it) and the use meets the
   rule's `when`: the rule decides (semantics, silent changes, routes); a
   rule whose condition cannot be decided from the source says 'check';
   a name the rules know, used in a way no rule's condition meets, is ok;
2. the inventory's verdict on the name (inventory.lookup): unchanged,
   compat_v1, renamed, tf_keras, moved, gone; for args_changed the call
   itself is judged against what changed (inventory.changes): a
   positional argument at a changed position changes meaning, a removed
   or renamed keyword breaks, anything else binds as in TF1;
3. introspection of the installed TensorFlow, for names neither knows:
   a missing name breaks, a call that binds TF2's parameters under other
   names needs a check; these are marked `unknown`.

A replacement is printed only from a rule (whose programs the tests run)
or a verdict (whose replacements the inventory's tests resolve); a
replacement composed from a module's and a member's name is printed only
when it resolves here.
"""

import ast
import importlib
import inspect

from tf1_migrate import rules

STATUS = {'error': 'breaks', 'silent': 'changes meaning', 'works': 'ok'}
MODULE_NAME = {'tf': 'tensorflow', 'tf_slim': 'tf_slim'}
VERDICT_STATUS = {'unchanged': 'ok', 'compat_v1': 'breaks',
                  'renamed': 'breaks', 'tf_keras': 'breaks',
                  'moved': 'breaks', 'gone': 'breaks'}
ROUTES = {'tf_keras': 'tf-keras', 'tf_slim': 'tf-slim',
          'route-tf-keras': 'tf-keras', 'route-tf-slim': 'tf-slim',
          'route-estimator': 'estimator', 'route-seq2seq': 'seq2seq',
          'route-multi-gpu': 'multi-gpu'}


def _inventory():
    """tf1_migrate.inventory, or None where it is not there (imported
    lazily: the checker runs without it)."""
    try:
        return importlib.import_module('tf1_migrate.inventory')
    except ImportError:
        return None


_MISSING = object()
_resolved = {}


def resolve(name):
    """(object, None) for a dotted name of the installed TensorFlow or
    tf-slim ('tf.train.Saver', 'tf_slim.conv2d'), or (None, error text)."""
    if name not in _resolved:
        _resolved[name] = _resolve(name)
    return _resolved[name]


def _resolve(name):
    root, *parts = name.split('.')
    if root not in MODULE_NAME:
        return None, 'not a TensorFlow name'
    try:
        value = importlib.import_module(MODULE_NAME[root])
        for part in parts:
            try:
                value = getattr(value, part)
            except AttributeError:
                if not inspect.ismodule(value):
                    raise
                # Submodules TensorFlow does not export as attributes
                # (tensorflow.python.ops...) are still importable.
                value = importlib.import_module(value.__name__ + '.' + part)
    except (AttributeError, ImportError) as error:
        first = error.__context__ if isinstance(error, ImportError) and \
            isinstance(error.__context__, AttributeError) else error
        return None, '%s: %s' % (type(first).__name__, first)
    except Exception as error:  # a lazy module failing to load
        return None, '%s: %s' % (type(error).__name__, error)
    return value, None


def rules_for(name):
    """The rules of the longest rule name that is `name` or a prefix of it
    (routes excluded: they are not API uses)."""
    best = []
    for rule in rules.RULES:
        if rule.kind == 'route':
            continue
        if name == rule.name or name.startswith(rule.name + '.'):
            if not best or len(rule.name) > len(best[0].name):
                best = [rule]
            elif rule.name == best[0].name:
                best.append(rule)
    return best


def rule_id(rule):
    return 'rule/%s%s' % (rule.name, '@' + rule.when if rule.when else '')


# `when` conditions: each returns True (holds), False, or None (cannot be
# told from the source: the use is reported as 'check').
def _args_at_least(count):
    return lambda call, context: call is not None and \
        len(call.args) >= count


def _keyword(name):
    return lambda call, context: call is not None and any(
        keyword.arg == name for keyword in call.keywords)


def _arg0_not_str(call, context):
    if call is None:
        return False
    argument = call.args[0] if call.args else next(
        (keyword.value for keyword in call.keywords
         if keyword.arg == 'device_name_or_function'), None)
    if argument is None:
        return False
    is_function = context.device_function(argument)
    return None if is_function is None else is_function


def condition(when):
    """The test of a rule's `when`; None for a condition this checker does
    not know (tests/test_migration_checker.py checks there is none)."""
    if not when:
        return lambda call, context: True
    if when in ('eager', 'default-graph'):
        return lambda call, context: when in context.mode
    if when.startswith('args>='):
        return _args_at_least(int(when[len('args>='):]))
    if when.startswith('kw='):
        return _keyword(when[len('kw='):])
    if when == 'arg0-not-str':
        return _arg0_not_str
    return None


CONDITION_WHY = {
    'arg0-not-str': 'breaks only if the argument is a device function '
                    '(a string or None works)',
}


def composed(new, rule_name, name):
    """The rule's replacement for the rest of the name too when the rule
    names a module (tf.app.run -> tf.compat.v1.app.run)."""
    if name.startswith('tf.compat.v1.') and not name.startswith(rule_name):
        name = 'tf.' + name[len('tf.compat.v1.'):]  # a tf.X rule
    if name.startswith(rule_name + '.') and rules.DOTTED.match(new):
        return new + name[len(rule_name):]
    return new


def _twin(name):
    """The TF1 name a tf.compat.v1 spelling stands for."""
    if name.startswith('tf.compat.v1.'):
        return 'tf.' + name[len('tf.compat.v1.'):]
    return name


def judge(name, call, context):
    """A dict of Finding fields for one use of dotted `name`; `call` is
    the ast.Call when the use is called; `context` the file's (mode,
    device_function)."""
    candidates = rules_for(name)
    if not candidates and name.startswith('tf.compat.v1.') and \
            resolve(name)[1]:
        # Gone from compat.v1 as well: the tf.X rule (contrib, estimator).
        candidates = rules_for(_twin(name))
    undecided = None
    for rule in candidates:
        test = condition(rule.when)
        held = test(call, context) if test else None
        if held:
            return from_rule(rule, name, STATUS[rule.kind])
        if held is None and undecided is None:
            undecided = rule
    if undecided is not None:
        found = from_rule(undecided, name, 'check')
        found['message'] = CONDITION_WHY.get(
            undecided.when, 'the rule applies when %s' % undecided.when)
        return found
    if candidates:  # the rules know this name; this use is unaffected
        return {'status': 'ok', 'id': rule_id(candidates[0]),
                'source': 'rule', 'rule': candidates[0]}
    if name.startswith('tf.compat.v1.') and not resolve(name)[1]:
        return {'status': 'ok', 'id': 'live/ok', 'source': 'introspection'}
    inventory = _inventory()
    verdict = inventory.lookup(_twin(name)) if inventory else None
    if verdict is not None and not (
            verdict.name != _twin(name) and
            verdict.kind in ('unchanged', 'args_changed')):
        return from_verdict(verdict, _twin(name), call, inventory)
    return introspect(name, call)


def from_rule(rule, name, status):
    new = composed(rule.new, rule.name, name)
    message = rule.note or rule.happens
    if new != rule.new and not rule.section.startswith('route-tf-keras') \
            and resolve(new)[1]:
        # A module's replacement plus a member that is not there.
        message = '`%s` does not exist; %s' % (new, message)
        new = None
    return {'status': status, 'id': rule_id(rule), 'source': 'rule',
            'rule': rule, 'replacement': new,
            'route': ROUTES.get(rule.section), 'section': rule.section,
            'message': message if status != 'ok' else '',
            'rewrite': _rule_rewrite(rule, new, name)}


def _rule_rewrite(rule, new, name):
    """('name', NEW) when the rule is a pure rename: it raises (kind
    error) or is the compat.v1 twin of a silent change, and `new` is a
    dotted name that is its compat.v1 twin or the inventory's mechanical
    replacement, and resolves here."""
    if not new or not rules.DOTTED.match(new) or resolve(new)[1] or \
            rule.kind not in ('error', 'silent') or rule.when not in (
                '', 'arg0-not-str', 'eager', 'default-graph'):
        return None
    twin = 'tf.compat.v1.' + name[len('tf.'):] if name.startswith('tf.') \
        else None
    if new == twin:
        return ('name', new)
    inventory = _inventory()
    verdict = inventory.lookup(name) if inventory else None
    if rule.kind == 'error' and verdict is not None and \
            verdict.mechanical and verdict.name == name and \
            verdict.replacement == new:
        return ('name', new)
    return None


def from_verdict(verdict, name, call, inventory):
    found = {'id': 'api/' + verdict.kind, 'source': 'verdict',
             'verdict': verdict.name, 'section': verdict.section,
             'route': ROUTES.get(verdict.route), 'message': verdict.note}
    if verdict.kind == 'args_changed':
        found.update(_call_against(verdict, call, inventory))
        return found
    found['status'] = VERDICT_STATUS[verdict.kind]
    if found['status'] == 'ok':
        found.update(message='', route=None)
        return found
    new = verdict.replacement or None
    exact = verdict.name == name
    if new and not exact:
        member = new + name[len(verdict.name):]
        if verdict.route == 'tf_keras' or resolve(member)[1]:
            found['message'] = '%s (for the module `%s`)' % (
                verdict.note, verdict.name)
        else:
            new = member
    found['replacement'] = new
    if exact and verdict.mechanical and new:
        found['rewrite'] = ('name', new)
    return found


def _call_against(verdict, call, inventory):
    """Status of a call of an args_changed name, from what changed."""
    name = verdict.name
    changed = inventory.changes(name)
    ok = {'status': 'ok', 'message': ''}
    if call is None:
        return ok  # a reference: its callers bind TF2's parameters
    renamed = dict(changed.get('renamed', ()))
    removed = set(changed.get('removed', ()))
    positions = [position for position, _, _ in
                 changed.get('positions', ())]
    keywords = [keyword.arg for keyword in call.keywords]
    if any(isinstance(argument, ast.Starred) for argument in call.args) \
            or None in keywords:
        if renamed or removed or positions:
            return {'status': 'check', 'replacement': verdict.replacement,
                    'message': '*args/**kwargs: ' + verdict.note}
        return ok
    compat = {'replacement': verdict.replacement,
              'rewrite': ('name', verdict.replacement)
              if verdict.mechanical else None}
    bad = [keyword for keyword in keywords if keyword in removed]
    if bad:
        return dict(compat, status='breaks', message='TF2 has no `%s=`; '
                    '%s' % (bad[0], verdict.note))
    if positions and len(call.args) >= min(positions):
        return dict(compat, status='changes meaning', message=(
            'positional argument %d: %s' % (min(positions), verdict.note)))
    old = [keyword for keyword in keywords if keyword in renamed]
    if old:
        pairs = tuple((keyword, renamed[keyword]) for keyword in old)
        new = '%s(%s)' % (_twin(name), ', '.join(
            '%s=' % new for _, new in pairs))
        rewrite = ('keywords', pairs) if verdict.mechanical and \
            dict(verdict.args).items() >= dict(pairs).items() else None
        return {'status': 'breaks', 'replacement': new, 'rewrite': rewrite,
                'message': 'TF2 renamed %s; %s' % (', '.join(
                    '`%s=` to `%s=`' % pair for pair in pairs),
                    verdict.note)}
    return ok


def introspect(name, call):
    """Names no rule or verdict knows: what the installed TensorFlow
    says."""
    value, error = resolve(name)
    if error:
        return {'status': 'breaks', 'id': 'live/missing',
                'source': 'introspection', 'unknown': True,
                'message': error}
    if call is not None and name.startswith('tf.') and \
            not name.startswith('tf.compat.'):
        v1, v1_error = resolve('tf.compat.v1.' + name[len('tf.'):])
        if not v1_error and v1 is not value:
            change = signature_change(v1, value, call)
            if change:
                return {'status': change[0], 'id': 'live/signature',
                        'source': 'introspection', 'unknown': True,
                        'message': change[1]}
    return {'status': 'ok', 'id': 'live/ok', 'source': 'introspection'}


def signature_change(v1, v2, call):
    """('breaks' | 'check', why) when `call`, written for TF1's `v1`, does
    not bind TF2's `v2` by the same parameter names. A positional argument
    under another name is 'check': a rename keeps the meaning, and the
    names alone cannot tell."""
    try:
        old = inspect.signature(v1).parameters
        new = inspect.signature(v2).parameters
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if any(parameter.kind in kinds for parameter in new.values()) or any(
            isinstance(argument, ast.Starred) for argument in call.args):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY,
                  inspect.Parameter.POSITIONAL_OR_KEYWORD)
    old_names = [name for name, parameter in old.items()
                 if parameter.kind in positional]
    new_names = [name for name, parameter in new.items()
                 if parameter.kind in positional]
    if len(call.args) > len(new_names):
        return 'breaks', 'TF2 takes %d positional arguments, given %d' % (
            len(new_names), len(call.args))
    for keyword in call.keywords:
        if keyword.arg and keyword.arg not in new:
            return 'breaks', 'TF2 has no `%s=` argument' % keyword.arg
    for index in range(len(call.args)):
        if index < len(old_names) and old_names[index] != new_names[index]:
            return 'check', (
                'positional argument %d is `%s` in TF2, was `%s`' % (
                    index + 1, new_names[index], old_names[index]))
    return None
