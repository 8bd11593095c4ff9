"""Training: the ordered train op (train_op.py) and the loop that runs it,
logs and checkpoints (loop.py).
"""
