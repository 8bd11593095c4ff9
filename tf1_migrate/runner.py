"""Runs the small programs of the migration rules (rules.py) on the
installed TensorFlow and reports what each did: ('ok', result) or
('error', 'Type: message').

'graph' and 'eager' programs run in this process. 'v1' (eager execution
disabled for the whole process) and 'legacy_keras' (TF_USE_LEGACY_KERAS=1,
read when TensorFlow is imported) need a fresh interpreter, so
`start_subprocesses` runs all the programs of one environment in one child:
`python -m tf1_migrate.runner ENV FILE` reads a JSON list of
programs from FILE and prints a JSON list of outcomes as its last line.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

REPO_DIR = pathlib.Path(__file__).resolve().parents[1]
# Where `pip install --target DIR tf-keras~=2.21.0` put tf-keras, for the
# legacy_keras environment (not installed in the project's venv on purpose:
# importing it changes what tf.keras is for every other test).
TF_KERAS_DIR_VARIABLE = 'TF_KERAS_DIR'


def outcome(code, env='graph'):
    """Runs one program; ('ok', plain result) or ('error', 'Type: msg')."""
    import absl.flags
    import numpy as np
    import tensorflow as tf
    import tf_slim
    namespace = {'tf': tf, 'tf1': tf.compat.v1, 'np': np, 'tf_slim': tf_slim,
                 'tempfile': tempfile, 'absl': absl}
    try:
        if env == 'eager':
            exec(code, namespace)
            return ('ok', _plain(namespace.get('result'), None))
        with tf.Graph().as_default() as graph:
            exec(code, namespace)
            return ('ok', _plain(namespace.get('result'), graph))
    except Exception as error:  # the point: report whatever it raised
        return ('error', '%s: %s' % (type(error).__name__, error))


def _plain(value, graph):
    """The result as JSON-able numbers/bools, or None for other objects.

    Tensors and variables are evaluated: with a Session after the
    initializers in a graph, with .numpy() in eager mode."""
    import numpy as np
    import tensorflow as tf
    graph_types = (tf.Tensor, tf.Variable, tf.Operation)
    if graph is not None and any(isinstance(item, graph_types)
                                 for item in tf.nest.flatten(value)):
        with tf.compat.v1.Session(graph=graph) as session:
            session.run([tf.compat.v1.global_variables_initializer(),
                         tf.compat.v1.local_variables_initializer()])
            value = session.run(value)
    elif isinstance(value, (tf.Tensor, tf.Variable)):
        value = value.numpy()
    if isinstance(value, (bool, int, float, list, tuple, np.ndarray,
                          np.generic)):
        return np.asarray(value).tolist()
    return None


def start_subprocesses(jobs):
    """Starts, for {env: programs}, one fresh interpreter per environment
    ('v1' or 'legacy_keras') that runs its programs one after another;
    `collect` waits for their outcomes. Started first, they run while this
    process runs the in-process programs."""
    children = {}
    for env, programs in jobs.items():
        child_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
        if env == 'legacy_keras':
            child_env['TF_USE_LEGACY_KERAS'] = '1'
            extra = os.environ.get(TF_KERAS_DIR_VARIABLE)
            if extra:
                child_env['PYTHONPATH'] = os.pathsep.join(
                    filter(None, [extra, child_env.get('PYTHONPATH')]))
        programs_file = tempfile.NamedTemporaryFile(
            'w', suffix='.json', delete=False)
        with programs_file:
            json.dump(programs, programs_file)
        children[env] = (programs_file.name, subprocess.Popen(
            [sys.executable, '-m', 'tf1_migrate.runner', env,
             programs_file.name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=REPO_DIR, env=child_env))
    return children


def collect(children):
    """{env: outcomes} of the interpreters `start_subprocesses` started."""
    results = {}
    for env, (programs_path, child) in children.items():
        stdout, stderr = child.communicate()
        os.unlink(programs_path)
        lines = stdout.strip().splitlines()
        if child.returncode or not lines:
            raise RuntimeError('runner %s failed: %s' % (env, stderr[-2000:]))
        results[env] = [tuple(item) for item in json.loads(lines[-1])]
    return results


def main(env, programs_path):
    import warnings
    warnings.filterwarnings('ignore')
    import tensorflow as tf
    tf.get_logger().setLevel('ERROR')
    if env == 'v1':
        tf.compat.v1.disable_eager_execution()
    with open(programs_path) as stream:
        programs = json.load(stream)
    print(json.dumps([outcome(code) for code in programs]))


if __name__ == '__main__':
    main(*sys.argv[1:])
