"""Commands over the networks: the per-layer parameter and MAC table
(model_summary.py, `python -m resnet_tf1 summary`).
"""
