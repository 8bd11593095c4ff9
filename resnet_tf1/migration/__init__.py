"""The TF1 -> TensorFlow 2.21 migration reference, as code.

rules.py holds the one table of rules (old spelling, what happens on the
installed TensorFlow, the replacement, the doc section); runner.py executes
a rule's old and new spelling (the tests assert the table with it);
checker.py is `python -m resnet_tf1 migrate-check`; docgen.py writes the
tables of docs/MIGRATION.md from the rules.
"""
