"""This machine's practical float32 peak, from NumPy's matrix product.

The yardstick every speed number of the project is read against (the
fraction of it a path reaches). A module of its own that imports NumPy
only, so that speed/torch_peer.py measures the peak the same way in a
venv without TensorFlow.
"""

import time

import numpy as np


def gemm_peak(size=4096, repeats=3):
    """GFLOP/s of NumPy's float32 matrix product (the practical peak of
    this machine's BLAS), best of `repeats`."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    best = float('inf')
    for _ in range(repeats):
        started = time.perf_counter()
        np.matmul(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size ** 3 / best / 1e9
