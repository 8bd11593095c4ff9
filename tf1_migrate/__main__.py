"""`migrate-check PATH...` (also `python -m tf1_migrate PATH...`): the TF1
API uses in Python files and notebooks that break or change meaning on the
installed TensorFlow. Exit status: 0 nothing found, 1 findings, 2 a usage
error or a path that could not be checked."""

import argparse
import os
import sys

DESCRIPTION = __doc__.split('\n\n')[0]
EPILOG = """\
Text output: path:line:col: ID status: name -> replacement [route] (doc).
JSON output: the schema "tf1_migrate/1" (tf1_migrate/report.py).
--diff writes a unified diff of the mechanical replacements to stdout and
the report to stderr; paths in it are relative to the current directory,
so apply it from here with `patch -p0 < fix.patch` (a file outside the
current directory keeps its absolute path)."""


def parser():
    from tf1_migrate import source
    arguments = argparse.ArgumentParser(
        prog='migrate-check', description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument('paths', nargs='+', metavar='PATH',
                           help='.py or .ipynb files, or directories')
    arguments.add_argument('--format', choices=('text', 'json'),
                           default='text')
    arguments.add_argument('--diff', action='store_true',
                           help='print a patch of the mechanical '
                                'replacements (apply with patch -p0)')
    arguments.add_argument('--max-mb', type=float,
                           default=source.MAX_BYTES / 2 ** 20,
                           help='refuse files larger than this (default '
                                '%(default)g)')
    arguments.add_argument('--timeout', type=float,
                           default=source.TIME_BUDGET,
                           help='seconds per file (default %(default)g)')
    return arguments


def _import_tensorflow_quietly():
    """TensorFlow's C++ runtime prints its start-up lines (oneDNN, CUDA
    probing) to file descriptor 2 while it loads, before any log level
    applies: stderr points at /dev/null for the import, so a user sees only
    the checker's lines. (resnet_tf1/cli/launch.py does the same for the
    training CLIs; this package imports nothing of resnet_tf1.)"""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv=None):
    options = parser().parse_args(argv)
    if options.max_mb <= 0 or options.timeout <= 0:
        print('migrate-check: --max-mb and --timeout must be positive',
              file=sys.stderr)
        return 2
    _import_tensorflow_quietly()
    from tf1_migrate import checker
    from tf1_migrate import diff
    report = checker.check(options.paths, int(options.max_mb * 2 ** 20),
                           options.timeout)
    output = report.json() if options.format == 'json' else report.text()
    if options.diff:
        patch, skipped = diff.unified(report)
        sys.stdout.flush()
        sys.stdout.buffer.write(patch)
        sys.stdout.buffer.flush()
        print(output, file=sys.stderr)
        for line in skipped:
            print(line, file=sys.stderr)
    else:
        print(output)
    return report.exit_status()


if __name__ == '__main__':
    sys.exit(main())
