"""Measuring speed, apart from the library: the benchmark (bench.py), its
step profile (step_profile.py), its Keras 3 peer (keras_peer.py), its
PyTorch peer (torch_peer.py, optional: runs without TensorFlow) and the
GEMM peak both are measured against (gemm.py).
"""
