"""resnet-tf1: ResNets in TensorFlow-1 style (tf.compat.v1 graphs, tf-slim,
Session) on today's TensorFlow.

Where things are (README.md's "Layout" has the full map):

  nets/        the networks, plain tf-slim: layers, units, resnet, densenet,
               alexnet, and the registry that builds any of them by name
  data/        the input pipeline: MNIST files, batches, feeding the graph
  training/    the train op and the training loop
  evaluation/  accuracy of a checkpoint, export for serving, predict
  scaling/     towers (several devices) and distributed training
  speed/       how a graph is computed faster, and the benchmark
  tools/       commands over the networks and runs (summary table, plot)
  migration/   the TF1 -> TF 2.21 rule table, its runner, migrate-check

  config.py, errors.py, checkpoints.py, summaries.py, compute.py: shared by
  the above; cli.py and flags_core.py: what the command lines share.
"""
