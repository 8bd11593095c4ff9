"""`migrate-check --diff`: a unified diff of the mechanical, verified
replacements, which `patch -p0` applies from the directory migrate-check
ran in (paths are relative to it; absolute when the file is outside it).

Rewritten: dotted names a verdict marks mechanical (same callable, same
positional meaning: tf.log -> tf.math.log, tf.Session ->
tf.compat.v1.Session), rules that are a pure rename to a name that
resolves, keyword renames a verdict records (keep_dims= -> keepdims=),
and the patterns' wraps (`x.shape[1].value` ->
`tf.compat.v1.dimension_value(x.shape[1])`, `ds.make_one_shot_iterator()`
-> `tf.compat.v1.data.make_one_shot_iterator(ds)`). Only code nodes are
edited (positions come from the syntax tree), never strings or comments;
a name is written through the file's own alias (`tf.`, `tf1.`), and a
use with no alias to write it through is left alone. Each file is written
back in its encoding, with its BOM and line ends; a rewritten file that
would not parse is left out. Notebooks are not rewritten.
"""

import ast
import dataclasses
import difflib
import os

from tf1_migrate import source as source_lib


@dataclasses.dataclass(frozen=True)
class Edit:
    line: int  # 1-based
    col: int  # UTF-8 byte offset in the line, as ast gives it
    end_line: int
    end_col: int
    text: str


def _start(node):
    return node.lineno, node.col_offset


def _end(node):
    return node.end_lineno, node.end_col_offset


def written(model, node, new):
    """`new` (a canonical dotted name) spelled through one of the file's
    aliases, preferring the alias the use itself starts with; None when
    no alias reaches it."""
    root = node
    while isinstance(root, ast.Attribute):
        root = root.value
    own = root.id if isinstance(root, ast.Name) else None
    best = None
    for alias, canonical in model.aliases.items():
        if new != canonical and not new.startswith(canonical + '.'):
            continue
        key = (alias == own, len(canonical))
        if best is None or key > best[0]:
            best = (key, alias + new[len(canonical):])
    return best[1] if best else None


def edits_for(model, node, call, rewrite, wrap, use):
    """The Edits of one flagged use, or None."""
    if use.status not in ('breaks', 'changes meaning') or \
            isinstance(node, (ast.Import, ast.ImportFrom)):
        return None
    if wrap is not None:
        prefix = use.replacement.split('(', 1)[0]
        spelled = written(model, node, prefix)
        if spelled is None:
            return None
        end = node
        if call is not None:
            if call.args or call.keywords:
                return None
            end = call
        return (Edit(*_start(wrap), *_start(wrap), spelled + '('),
                Edit(*_end(wrap), *_end(end), ')'))
    if rewrite is None or not isinstance(node, ast.Attribute):
        return None
    kind, value = rewrite
    if kind == 'name':
        spelled = written(model, node, value)
        if spelled is None:
            return None
        return (Edit(*_start(node), *_end(node), spelled),)
    if kind == 'keywords' and call is not None:
        renames = dict(value)
        return tuple(
            Edit(keyword.lineno, keyword.col_offset, keyword.lineno,
                 keyword.col_offset + len(keyword.arg), renames[keyword.arg])
            for keyword in call.keywords if keyword.arg in renames)
    return None


def apply(text, edits):
    """`text` with the edits made (each position read in UTF-8 bytes per
    line); overlapping edits after the first are skipped."""
    lines = source_lib.split_lines(text)
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line)

    def position(line, col):
        row = lines[line - 1] if line <= len(lines) else ''
        return starts[line - 1] + len(row.encode('utf-8')[:col].decode(
            'utf-8', 'replace'))

    spans = sorted({(position(e.line, e.col), position(e.end_line,
                                                        e.end_col), e.text)
                    for e in edits}, key=lambda span: (span[0], span[1]))
    kept, last_end = [], -1
    for start, end, replacement in spans:
        if start < last_end:
            continue
        kept.append((start, end, replacement))
        last_end = max(last_end, end)
    for start, end, replacement in reversed(kept):
        text = text[:start] + replacement + text[end:]
    return text


def display_path(path, cwd=None):
    """The path as `patch -p0` run in `cwd` finds it."""
    relative = os.path.relpath(os.path.abspath(path), cwd or os.getcwd())
    return os.path.abspath(path) if relative.startswith('..') else relative


def unified(report, cwd=None):
    """(the diff as bytes, [one line per file left out])."""
    chunks, skipped = [], []
    by_path = {}
    for use in report.uses:
        if use.edits:
            by_path.setdefault(use.path, []).extend(use.edits)
    for source in report.sources:
        edits = by_path.get(source.path)
        if not edits or source.notebook:
            continue
        old = source.text
        new = apply(old, edits)
        try:
            ast.parse(new)
        except (SyntaxError, ValueError, RecursionError) as error:
            skipped.append('%s: not rewritten (the rewrite would not '
                           'parse: %s)' % (source.path, error))
            continue
        if source.bom:
            old, new = '\ufeff' + old, '\ufeff' + new
        name = display_path(source.path, cwd)
        lines = difflib.unified_diff(source_lib.split_lines(old),
                                     source_lib.split_lines(new), name, name)
        header = [next(lines), next(lines)]
        chunk = os.fsencode(''.join(header))
        for line in lines:
            if not line.endswith(('\n', '\r')):
                line += '\n\\ No newline at end of file\n'
            chunk += line.encode(source.encoding, 'surrogateescape')
        chunks.append(chunk)
    return b''.join(chunks), skipped
