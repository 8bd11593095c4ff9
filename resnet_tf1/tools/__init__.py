"""Commands over the networks and runs: the per-layer parameter and MAC
table (model_summary.py, `python -m resnet_tf1 summary`) and the training
curves of a run (plot.py, `python -m resnet_tf1 plot`).
"""
