"""Whether weights are fit to be saved: a diverged run's are not."""

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1

# A checkpoint is saved only if its weights are sane: all finite and none
# above this magnitude. He-initialized weights start below ~1 and stay
# there (the article's full run, `train.py --steps 8000 --seed 0`, at step
# 1000: largest |weight| 0.146, resnet34/logits/weights), while a
# diverging run's grow by orders of magnitude per step (--learning_rate 10
# reached 4.8e9 before the loss turned NaN): a checkpoint past the bound
# would only diverge again when resumed.
MAX_SANE_WEIGHT = 1e4


def weights_problem(session, graph):
    """None if the trainable variables of `graph` are sane (see
    MAX_SANE_WEIGHT), else what is wrong with them, in a few words."""
    variables = graph.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES)
    largest, name = 0.0, None
    for variable, value in zip(variables, session.run(variables)):
        if not np.all(np.isfinite(value)):
            return '%s is not finite' % variable.op.name
        if value.size and np.max(np.abs(value)) > largest:
            largest, name = float(np.max(np.abs(value))), variable.op.name
    if largest > MAX_SANE_WEIGHT:
        return '%s reaches %.3g' % (name, largest)
    return None
