"""How a graph is computed faster, never what it computes: Conv2D
gradients rewritten for CPUs (conv_gradients.py), inference convolutions
with fewer multiplications (fast_conv.py), both using TensorFlow's padding
arithmetic (conv_padding.py), bfloat16 compute (precision.py); compute.py
installs them. Also the benchmark (bench.py), its step profile
(step_profile.py), its Keras 3 peer (keras_peer.py), its PyTorch peer
(torch_peer.py, optional: runs without TensorFlow) and the GEMM peak
both measure against (gemm.py).
"""
