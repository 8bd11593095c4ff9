"""resnet-tf1: ResNets in TensorFlow-1 style (tf.compat.v1 graphs, tf-slim,
Session) on today's TensorFlow.

The packages, from the bottom layer up (docs/design.md; an import-linter
contract in setup.cfg keeps every import pointing down):

  errors.py    one-line user errors
  nets/        what is computed: the networks, plain tf-slim, and the
               registry that builds any of them by name
  config.py    ModelConfig, ComputeConfig, TrainConfig, EvalConfig
  data/        MNIST files, batches, feeding the graph
  compute/     how a graph is computed: logits under a compute config,
               towers, precision, fast convolutions and their gradients
  model_dir/   what is written in a --model_dir: checkpoints, the lock,
               the run record, weight sanity, summaries
  training/    the train op, the loop, distributed training
  evaluation/  accuracy of a checkpoint, export for serving, predict
  tools/       commands over networks and runs (summary, plot, signal)
  bench/       speed measurements and their peers, apart from the library
  cli/         what the command lines share: start-up, flags -> configs

The migration reference is its own package, tf1_migrate/, beside this one.
"""
