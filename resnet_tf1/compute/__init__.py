"""How a graph is computed, never what it computes.

model_graph.py builds the logits of a network under a compute config (the
formulations below, precision, devices) and the session config; towers.py
splits a batch over devices; precision.py is bfloat16 compute;
conv_gradients.py rewrites Conv2D gradients for CPUs; fast_conv/ holds the
convolution formulations with fewer multiplications; conv_padding.py is
TensorFlow's padding arithmetic they share.
"""
