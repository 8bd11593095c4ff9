"""`python -m resnet_tf1 plot --model_dir D [--out F.png]`: training loss,
learning rate and eval.py's accuracies against the step, from D's
TensorBoard event files (default --out: D/curves.png; needs matplotlib).
`--model_dir D1 --model_dir D2 ... --out F.png`: the runs side by side, and
a markdown table of where each ended. See resnet_tf1/tools/plot.py."""

from absl import flags

FLAGS = flags.FLAGS
TAKES_ARGUMENTS = False


def define_flags():
    flag_groups_help = ('A training directory; repeat it to draw several '
                        'runs in one figure.')
    from resnet_tf1.cli import flag_groups
    flag_groups.define_model_dir(flag_groups_help, multi=True)
    flags.DEFINE_string('out', None,
                        'The PNG to write; default, for one --model_dir: '
                        '<model_dir>/curves.png.')


def main(_):
    from resnet_tf1.tools import plot  # imports matplotlib only when asked
    if len(FLAGS.model_dir) == 1:
        print('wrote %s' % plot.plot(FLAGS.model_dir[0], FLAGS.out))
        return
    out, table = plot.compare(FLAGS.model_dir, FLAGS.out)
    print('\n'.join(table))
    print('wrote %s' % out)
