"""The input pipeline: MNIST files read, verified and split (mnist.py), and
the batches of each step and how they reach the graph (inputs.py).
"""
