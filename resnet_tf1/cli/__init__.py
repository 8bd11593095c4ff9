"""The command-line layer: what train.py, eval.py and `python -m resnet_tf1`
share (app.py: quiet TensorFlow import, flag parsing, one-line errors) and
the flag groups that turn flags into configs (flag_groups.py). Nothing in
the library imports this package.
"""
