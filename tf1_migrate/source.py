"""Reading the files `migrate-check` is given: every path is parsed, or
refused in one line, in bounded time and memory.

- Only regular files are opened (os.stat first, then the opened file is
  checked again): a FIFO or device is refused unopened, so it cannot block.
  Symbolic-link loops are refused with the system's error; directories are
  walked without following links.
- Files over `max_bytes` are refused before reading (2 MB by default:
  hand-written Python files are well under 1 MB; ast.parse holds the
  interpreter while it runs, so the size cap is what bounds parse time
  and memory: an 8 MB file took 84 s and 3 GB here, a 50 MB one 16 GB).
  Notebooks may be larger (outputs); their code cells are held to the
  same cap.
- Text is decoded as Python does (tokenize.detect_encoding: UTF-8, a
  byte-order mark, a PEP 263 coding declaration); the encoding and the BOM
  are kept so that a diff writes the file back as it was.
- ast.parse runs in a thread with a large stack and a raised, bounded
  recursion limit, so a 5000-term expression parses; deeper nesting is
  refused. A file whose walk exceeds the time budget is refused (the
  budget can stop a parse only after it returns).
- A file that does not parse is called Python 2 only when the error is a
  Python 2 construct (print or exec statement, `except X, e`, `raise X,
  msg`, 0777, backticks, `<>`, `ur''`, 10L).
- `.ipynb` notebooks: each code cell is parsed on its own (IPython `%`/`!`
  lines blanked, `%%` cell magics other than timing skipped), findings
  carry the cell number.
"""

import ast
import codecs
import dataclasses
import io
import json
import os
import re
import stat
import sys
import threading
import time
import tokenize

MAX_BYTES = 2 * 2 ** 20
MAX_NOTEBOOK_BYTES = 64 * 2 ** 20
TIME_BUDGET = 30.0  # seconds per file: parse and walk
PARSE_STACK = 256 * 2 ** 20  # the parse thread's stack (virtual memory)
PARSE_DEPTH = 40000  # recursion limit while parsing: nesting beyond is
#                      refused (C stack use measured far below PARSE_STACK)
SUFFIXES = ('.py', '.ipynb')
SKIPPED_DIRECTORIES = {'.git', '.hg', '.svn', '__pycache__',
                       '.ipynb_checkpoints', '.tox', '.venv'}
PYTHON2_MESSAGES = (
    ("Missing parentheses in call to 'print'", 'a print statement'),
    ("Missing parentheses in call to 'exec'", 'an exec statement'),
    ('multiple exception types must be parenthesized', '`except X, e`'),
    ('leading zeros in decimal integer literals', 'an octal literal 0777'),
    ('Function parameters cannot be parenthesized',
     'a tuple parameter'))
PYTHON2_LINES = (
    (re.compile(r'^\s*raise\s+[\w.]+\s*,'), '`raise X, message`'),
    (re.compile(r'`'), 'backticks'),
    (re.compile(r'<>'), '`<>`'),
    (re.compile(r'\b[uU][rR]["\']'), "a ur'' string"),
    (re.compile(r'\b\d+[lL]\b'), 'a long literal 10L'))
TIMING_MAGICS = ('%%time', '%%timeit', '%%capture')


class Refused(Exception):
    """A path or cell that is not checked: `kind` (an id), one line."""

    def __init__(self, kind, message, line=None, col=None, cell=None):
        super().__init__(message)
        self.kind, self.message = kind, message
        self.line, self.col, self.cell = line, col, cell


@dataclasses.dataclass
class Unit:
    """One parsed piece of a file: the file, or one notebook cell."""
    cell: object  # None for a .py file, else the 1-based code cell number
    text: str
    tree: ast.AST


@dataclasses.dataclass
class Source:
    path: str
    units: list
    encoding: str = 'utf-8'  # the codec the file is written back with
    bom: bool = False
    notebook: bool = False
    refused_cells: list = dataclasses.field(default_factory=list)

    @property
    def text(self):
        return self.units[0].text if self.units else ''


def paths_under(path, problems):
    """The .py and .ipynb files under a directory, sorted; unreadable
    subdirectories are added to `problems` as Refused."""
    found = []

    def on_error(error):
        problems.append((error.filename or path, Refused(
            'unreadable', 'cannot read directory: %s' % error.strerror)))

    for directory, subdirectories, names in os.walk(path, onerror=on_error):
        subdirectories[:] = sorted(name for name in subdirectories
                                   if name not in SKIPPED_DIRECTORIES)
        found.extend(os.path.join(directory, name) for name in sorted(names)
                     if name.endswith(SUFFIXES))
    return found


def read(path, max_bytes=MAX_BYTES, budget=TIME_BUDGET):
    """The Source of one file, or raises Refused."""
    notebook = path.endswith('.ipynb')
    raw = _read_bytes(path, MAX_NOTEBOOK_BYTES if notebook else max_bytes)
    deadline = time.monotonic() + budget
    if notebook:
        return _notebook(path, raw, max_bytes, deadline)
    text, encoding, bom = decode(raw)
    return Source(path, [Unit(None, text, parse(text, path, deadline))],
                  encoding, bom)


def _read_bytes(path, limit):
    try:
        status = os.stat(path)
    except OSError as error:
        raise Refused('unreadable', 'cannot read: %s' % (
            error.strerror or error)) from None
    if stat.S_ISDIR(status.st_mode):
        raise Refused('unreadable', 'a directory')
    if not stat.S_ISREG(status.st_mode):
        raise Refused('not-a-file', 'not a regular file (%s): not opened'
                      % _file_kind(status.st_mode))
    if status.st_size > limit:
        raise Refused('too-large', '%d bytes, over the %d MB limit '
                      '(--max-mb): not read' % (status.st_size,
                                                limit // 2 ** 20))
    try:
        # O_NONBLOCK: should the path be swapped for a FIFO after the
        # stat, opening it still returns at once.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK |
                             getattr(os, 'O_CLOEXEC', 0))
    except OSError as error:
        raise Refused('unreadable', 'cannot read: %s' % error.strerror) \
            from None
    with os.fdopen(descriptor, 'rb') as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise Refused('not-a-file', 'not a regular file: not read')
        try:
            raw = stream.read(limit + 1)
        except OSError as error:
            raise Refused('unreadable', 'cannot read: %s' % error.strerror) \
                from None
    if len(raw) > limit:
        raise Refused('too-large', 'over the %d MB limit (--max-mb): not '
                      'read' % (limit // 2 ** 20))
    return raw


def _file_kind(mode):
    for test, name in ((stat.S_ISFIFO, 'a FIFO'), (stat.S_ISCHR,
                       'a character device'), (stat.S_ISBLK,
                       'a block device'), (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return name
    return 'mode %o' % mode


def decode(raw):
    """(text, codec to write it back with, had a BOM) as Python reads a
    source file; raises Refused."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as error:
        raise Refused('encoding', 'cannot read: %s' % error.msg) from None
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise Refused('encoding', 'cannot read: not %s text (byte %d); '
                      'declare the encoding (PEP 263: # -*- coding: '
                      'latin-1 -*-)' % (encoding, error.start)) from None
    if text.startswith('\ufeff'):
        text = text[1:]
    writer = 'utf-8' if encoding == 'utf-8-sig' else encoding
    return text, writer, bom


def parse(text, path, deadline, cell=None):
    """ast.parse in a thread with a large stack; raises Refused."""
    outcome = {}

    def work():
        try:
            outcome['tree'] = ast.parse(text, path)
        except BaseException as error:  # reported below, in this thread
            outcome['error'] = error

    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, PARSE_DEPTH))
    stack = threading.stack_size(PARSE_STACK)
    try:
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
    finally:
        threading.stack_size(stack)
    worker.join(max(deadline - time.monotonic(), 0.1))
    sys.setrecursionlimit(previous)
    if worker.is_alive():
        raise Refused('timeout', 'parsing took over the time budget '
                      '(--timeout): not checked', cell=cell)
    error = outcome.get('error')
    if error is None:
        return outcome['tree']
    if isinstance(error, RecursionError):
        raise Refused('too-deep', 'expressions nested deeper than %d '
                      'levels: not parsed' % PARSE_DEPTH, cell=cell)
    if isinstance(error, MemoryError):
        raise Refused('too-deep', 'too large to parse (MemoryError)',
                      cell=cell)
    if isinstance(error, SyntaxError) and 'null bytes' in error.msg:
        raise Refused('binary', 'cannot parse: %s' % error.msg, cell=cell)
    if isinstance(error, SyntaxError):
        raise _syntax(error, text, cell)
    if isinstance(error, ValueError):  # NUL bytes
        raise Refused('binary', 'cannot parse: %s' % error, cell=cell)
    raise error


def _syntax(error, text, cell):
    message = error.msg
    construct = next((what for start, what in PYTHON2_MESSAGES
                      if message.startswith(start)), None)
    lines = text.splitlines()
    line = lines[error.lineno - 1] if error.lineno and \
        error.lineno <= len(lines) else ''
    if construct is None and (message == 'invalid syntax' or
                              message.startswith('invalid decimal')):
        construct = next((what for pattern, what in PYTHON2_LINES
                          if pattern.search(line)), None)
    if construct:
        return Refused('python2', 'Python 2 code (%s): run 2to3 first, '
                       'then check again' % construct, error.lineno,
                       error.offset, cell)
    return Refused('syntax', 'cannot parse: %s' % message, error.lineno,
                   error.offset, cell)


def _notebook(path, raw, max_bytes, deadline):
    try:
        document = json.loads(raw.decode('utf-8-sig'))
        cells = document['cells'] if 'cells' in document else [
            cell for sheet in document.get('worksheets', [])
            for cell in sheet.get('cells', [])]
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise Refused('notebook', 'not a readable notebook: %s' % (
            str(error).splitlines()[0][:120])) from None
    source = Source(path, [], notebook=True)
    number, total = 0, 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get('cell_type') != 'code':
            continue
        number += 1
        text = cell.get('source', cell.get('input', ''))
        text = ''.join(text) if isinstance(text, list) else str(text)
        total += len(text)
        if total > max_bytes:
            raise Refused('too-large', 'code cells over the %d MB limit '
                          '(--max-mb): not read' % (max_bytes // 2 ** 20))
        text = python_of_cell(text)
        if text is None:
            continue
        try:
            source.units.append(Unit(number, text, parse(
                text, path, deadline, number)))
        except Refused as refused:
            source.refused_cells.append(refused)
    return source


LINE_END = re.compile(r'\r\n|\r|\n')


def split_lines(text):
    """Lines with their ends, as Python numbers them (\\n, \\r\\n, \\r)."""
    lines, start = [], 0
    for match in LINE_END.finditer(text):
        lines.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def python_of_cell(text):
    """A code cell's Python, line numbers kept: IPython `%` and `!` lines
    blanked; None for a cell magic (%%bash, %%writefile, ...)."""
    lines = text.split('\n')
    if lines and lines[0].startswith('%%'):
        if lines[0].split()[0] not in TIMING_MAGICS:
            return None
        lines[0] = ''
    return '\n'.join('' if line.lstrip().startswith(('%', '!')) else line
                     for line in lines)
