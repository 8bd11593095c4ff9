"""What each migration route does to variable names, measured: the same
small layer built on each route, its `tf.compat.v1.global_variables()`
names listed. tests/test_migration_rules.py runs every program (runner.py)
and asserts the names; docgen.py writes the table of docs/MIGRATION.md
from here. A checkpoint restores by name, so two rows with other names
need a map (`python -m tf1_migrate.checkpoint_diff` prints it).
"""

import dataclasses

_NAMES = 'result = [v.op.name for v in tf1.global_variables()]'


@dataclasses.dataclass(frozen=True)
class Row:
    layer: str      # what the TF1 code builds
    route: str      # how it is built on TF 2.21
    env: str        # runner.py environment
    code: str       # builds it; `result` is set to the names afterwards
    names: tuple    # the names it gives

    @property
    def program(self):
        return self.code + '\n' + _NAMES


_X2 = 'tf.ones([2, 3])'
_X4 = 'tf.ones([2, 4, 4, 3])'
_SEQ = 'tf.ones([2, 5, 3])'
_BN = ('beta', 'gamma', 'moving_mean', 'moving_variance')


def _rnn(cell):
    return ('tf1.nn.dynamic_rnn(%s, %s, dtype=tf.float32)' % (cell, _SEQ))


ROWS = (
    Row('dense layer', '`tf.layers.dense` on the tf-keras route',
        'legacy_keras', 'tf1.layers.dense(%s, 2)' % _X2,
        ('dense/kernel', 'dense/bias')),
    Row('dense layer', '`slim.fully_connected` (tf-slim)', 'graph',
        'tf_slim.fully_connected(%s, 2)' % _X2,
        ('fully_connected/weights', 'fully_connected/biases')),
    Row('convolution', '`tf.layers.conv2d` on the tf-keras route',
        'legacy_keras', 'tf1.layers.conv2d(%s, 2, 3)' % _X4,
        ('conv2d/kernel', 'conv2d/bias')),
    Row('convolution', '`slim.conv2d` (tf-slim)', 'graph',
        'tf_slim.conv2d(%s, 2, 3)' % _X4, ('Conv/weights', 'Conv/biases')),
    Row('batch norm', '`tf.layers.batch_normalization` on the tf-keras '
        'route', 'legacy_keras',
        'tf1.layers.batch_normalization(%s)' % _X4,
        tuple('batch_normalization/' + name for name in
              ('gamma', 'beta', 'moving_mean', 'moving_variance'))),
    Row('batch norm', '`tf1_migrate.compat_ops.batch_norm(scale=True)` '
        '(for slim.batch_norm)', 'graph',
        'from tf1_migrate.compat_ops import batch_norm\n'
        'batch_norm(%s, scale=True)' % _X4,
        tuple('BatchNorm/' + name for name in _BN)),
    Row('batch norm in a conv', '`slim.conv2d(normalizer_fn=batch_norm)` '
        'with the owned batch norm', 'graph',
        'from tf1_migrate.compat_ops import batch_norm\n'
        'tf_slim.conv2d(%s, 2, 3, normalizer_fn=batch_norm)' % _X4,
        ('Conv/weights', 'Conv/BatchNorm/beta', 'Conv/BatchNorm/moving_mean',
         'Conv/BatchNorm/moving_variance')),
    Row('LSTM', '`tf.nn.rnn_cell.LSTMCell` + `dynamic_rnn` on the tf-keras '
        'route', 'legacy_keras', _rnn('tf1.nn.rnn_cell.LSTMCell(4)'),
        ('rnn/lstm_cell/kernel', 'rnn/lstm_cell/bias')),
    Row('LSTM', '`tf.nn.rnn_cell.BasicLSTMCell` + `dynamic_rnn` on the '
        'tf-keras route', 'legacy_keras',
        _rnn('tf1.nn.rnn_cell.BasicLSTMCell(4)'),
        ('rnn/basic_lstm_cell/kernel', 'rnn/basic_lstm_cell/bias')),
    Row('GRU', '`tf.nn.rnn_cell.GRUCell` + `dynamic_rnn` on the tf-keras '
        'route', 'legacy_keras', _rnn('tf1.nn.rnn_cell.GRUCell(4)'),
        ('rnn/gru_cell/gates/kernel', 'rnn/gru_cell/gates/bias',
         'rnn/gru_cell/candidate/kernel', 'rnn/gru_cell/candidate/bias')),
    Row('stacked LSTM', '`tf.nn.rnn_cell.MultiRNNCell` of two LSTMCells on '
        'the tf-keras route', 'legacy_keras',
        _rnn('tf1.nn.rnn_cell.MultiRNNCell(\n'
             '    [tf1.nn.rnn_cell.LSTMCell(4) for _ in range(2)])'),
        ('rnn/multi_rnn_cell/cell_0/lstm_cell/kernel',
         'rnn/multi_rnn_cell/cell_0/lstm_cell/bias',
         'rnn/multi_rnn_cell/cell_1/lstm_cell/kernel',
         'rnn/multi_rnn_cell/cell_1/lstm_cell/bias')),
)
