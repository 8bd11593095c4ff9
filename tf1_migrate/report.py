"""What `migrate-check` prints: findings as linters print them, and a
stable JSON document.

Text, one line per flagged use or unread path:

    path:line:col: ID status: name -> replacement [route] (doc#anchor)
    nb.ipynb:cell 3:2:5: ...          (a notebook's code cell 3, line 2)
    path: input/too-large unreadable: 52428800 bytes, over the ...

JSON (`--format json`), schema "tf1_migrate/1":

    {"schema": "tf1_migrate/1",
     "verified_on": {"tensorflow": "2.21.0", ...},
     "summary": {"files": int, "uses": int, "breaking": int, ...},
     "uses": [RECORD, ...],       every TensorFlow API use, ok ones too
     "problems": [RECORD, ...]}   every path or cell not checked

    RECORD = {
     "path": str, "cell": int|null (notebook code cell, 1-based),
     "line": int|null, "col": int|null (1-based, characters),
     "id": str,          what judged: "rule/NAME[@WHEN]" (rules.py),
                         "api/KIND" (the inventory's verdict on
                         "verdict"), "pattern/KEY" (patterns.py:
                         attributes, methods, argument values),
                         "live/missing|signature|ok" (introspection of
                         the installed TensorFlow), "input/KIND" (a
                         problem: unreadable, not-a-file, too-large,
                         encoding, python2, syntax, too-deep, timeout,
                         notebook, binary, not-python)
     "source": "rule"|"verdict"|"pattern"|"introspection"|"input",
     "status": "ok"|"breaks"|"changes meaning"|"check"|"unreadable",
     "name": str|null (dotted TF1 name; ".method" for a method),
     "verdict": str|null (the inventory name that judged it),
     "replacement": str|null (only from a rule, a verdict or a pattern:
                    each executed or resolved by the tests),
     "route": str|null ("tf-keras", "tf-slim", ...: what the replacement
              needs installed), "mechanical": bool (--diff rewrites it),
     "unknown": bool (no rule, verdict or pattern knows the name),
     "section": str|null, "doc": str|null (the guide's section),
     "message": str (why)}

A new field may be added within one schema version; a changed or removed
field changes the version.
"""

import dataclasses
import json

SCHEMA = 'tf1_migrate/1'
FLAGGED = ('breaks', 'changes meaning', 'check')
GUIDE = 'docs/MIGRATION.md'
VERDICT_PAGE = 'docs/migration/api-verdicts.md'
ROUTE_SETUP = {
    'tf-keras': 'pip install tf-keras~=2.21.0; TF_USE_LEGACY_KERAS=1 '
                'before TensorFlow is imported',
    'tf-slim': 'pip install tf-slim',
}


@dataclasses.dataclass
class Finding:
    path: str
    line: object
    col: object
    id: str
    source: str
    status: str
    name: object = None
    replacement: object = None
    route: object = None
    section: object = None
    message: str = ''
    unknown: bool = False
    verdict: object = None
    cell: object = None
    # Text edits for --diff (diff.Edit), set only for a verified
    # mechanical replacement.
    edits: tuple = ()
    rule: object = None  # the rules.Rule that judged it, if one did

    @property
    def mechanical(self):
        return bool(self.edits)

    # The names older callers use.
    @property
    def known(self):
        return self.replacement is not None

    @property
    def new(self):
        return self.replacement

    @property
    def detail(self):
        return self.message

    @property
    def doc(self):
        if not self.section:
            return None
        if self.section == 'api-verdicts':
            return VERDICT_PAGE
        return '%s#%s' % (GUIDE, self.section)

    def where(self):
        where = self.path
        if self.cell is not None:
            where += ':cell %d' % self.cell
        if self.line is not None:
            where += ':%d' % self.line
            if self.col is not None:
                where += ':%d' % self.col
        return where

    def format(self):
        text = '%s: %s %s: ' % (self.where(), self.id, self.status)
        if self.name is None:
            return text + self.message
        text += self.name
        if self.replacement is not None:
            text += ' -> ' + self.replacement
        if self.route:
            text += ' [%s route]' % self.route
        if self.doc:
            text += ' (%s)' % self.doc
        if self.message and (self.replacement is None or
                             self.status == 'check'):
            text += ': ' + self.message
        return text

    def record(self):
        return {'path': self.path, 'cell': self.cell, 'line': self.line,
                'col': self.col, 'id': self.id, 'source': self.source,
                'status': self.status, 'name': self.name,
                'verdict': self.verdict, 'replacement': self.replacement,
                'route': self.route, 'mechanical': self.mechanical,
                'unknown': self.unknown, 'section': self.section,
                'doc': self.doc, 'message': self.message}


def problem(path, refused):
    """The Finding of a path or cell that was not checked."""
    return Finding(path, refused.line, refused.col, 'input/' + refused.kind,
                   'input', 'unreadable', message=refused.message,
                   cell=refused.cell)


@dataclasses.dataclass
class Report:
    uses: list = dataclasses.field(default_factory=list)
    problems: list = dataclasses.field(default_factory=list)
    files: int = 0
    sources: list = dataclasses.field(default_factory=list)  # for --diff

    @property
    def flagged(self):
        return [use for use in self.uses if use.status in FLAGGED]

    @property
    def failed(self):
        return bool(self.flagged or self.problems)

    def exit_status(self):
        """0 clean, 1 findings, 2 a path not checked."""
        return 2 if self.problems else 1 if self.flagged else 0

    def summary(self):
        flagged = self.flagged
        names = {use.name for use in self.uses}
        judged = {use.name for use in self.uses
                  if use.source in ('rule', 'pattern')}
        unknown = {use.name for use in self.uses if use.unknown}
        unchanged = {use.name for use in self.uses
                     if use.status == 'ok'} - judged - unknown
        return {
            'files': self.files, 'uses': len(self.uses),
            'breaking': len(flagged),
            'known_fix': sum(use.known for use in flagged),
            'check': sum(use.status == 'check' for use in flagged),
            'mechanical': sum(use.mechanical for use in flagged),
            'unknown': sum(use.unknown for use in flagged),
            'apis': len(names), 'apis_with_rule': len(judged),
            'apis_unchanged': len(unchanged),
            'apis_unknown': len(unknown),
            'unreadable': len(self.problems)}

    def routes(self):
        return sorted({use.route for use in self.flagged if use.route})

    def text(self):
        lines = [finding.format() for finding in self.problems + sorted(
            self.flagged, key=_position)]
        counts = self.summary()
        lines.append(
            'summary: %(uses)d uses of TensorFlow APIs in %(files)d files; '
            '%(breaking)d break, change meaning or need a check: '
            '%(known_fix)d with a replacement (%(mechanical)d mechanical: '
            '--diff), %(unknown)d unknown' % counts)
        lines.append(
            'apis: %(apis)d distinct; %(apis_with_rule)d judged by a rule '
            'or pattern, %(apis_unchanged)d unchanged in TF2, '
            '%(apis_unknown)d unknown; %(unreadable)d paths not checked'
            % counts)
        for route in self.routes():
            lines.append('route %s: %s' % (
                route, ROUTE_SETUP.get(route, 'see %s' % GUIDE)))
        return '\n'.join(lines)

    def document(self):
        from tf1_migrate import rules
        return {'schema': SCHEMA, 'verified_on': dict(rules.VERIFIED_ON),
                'summary': self.summary(),
                'uses': [use.record() for use in
                         sorted(self.uses, key=_position)],
                'problems': [finding.record() for finding in self.problems]}

    def json(self):
        return json.dumps(self.document(), indent=1)


def _position(finding):
    return (finding.path, finding.cell or 0, finding.line or 0,
            finding.col or 0)
