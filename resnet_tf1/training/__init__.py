"""Training: the ordered train op (train_op.py), the loop that runs it,
logs and checkpoints (loop.py), and the same loop on a cluster of
parameter servers and synchronous workers (distributed.py).
"""
