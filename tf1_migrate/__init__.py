"""tf1_migrate: the TF1 -> TensorFlow 2.21 migration reference, as code.

Its own package beside resnet_tf1: it imports nothing from the training
library, so teams can run it on their own code.

rules.py holds the one table of rules (old spelling, what happens on the
installed TensorFlow, the replacement, the doc section); runner.py executes
a rule's old and new spelling (the tests assert the table with it);
checker.py is `python -m resnet_tf1 migrate-check`; docgen.py writes the
tables of docs/MIGRATION.md from the rules.
"""
