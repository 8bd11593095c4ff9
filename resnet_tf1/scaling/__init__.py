"""Training on more than one device: in-graph towers (towers.py) and
parameter servers with synchronous workers (distributed.py).
"""
