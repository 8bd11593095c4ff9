"""tf1_migrate: the TF1 -> TensorFlow 2.21 migration reference, as code.

Its own package beside resnet_tf1: it imports nothing from the training
library, so teams can run it on their own code.

What is where:
  build_inventory.py, verdicts.py, contrib_routes.py -> data/: every public
      TF 1.15 name read from the wheel, with a verdict decided by running
      TF 2.21; inventory.py looks them up (docs/migration/api-verdicts.md).
  rules.py: the hand-written rules for semantics (silent changes, routes),
      each with two small programs runner.py executes in the tests.
  checker.py, judge.py, patterns.py, source.py, report.py, diff.py,
      __main__.py: the `migrate-check` command (python -m tf1_migrate).
  checkpoint_diff.py: which variables of a TF1 checkpoint a ported graph
      will not restore (`tf1-checkpoint-diff`).
  compat_ops.py: an owned slim-compatible batch_norm users can import.
  docgen.py: writes docs/MIGRATION.md's tables from the rules.
"""
