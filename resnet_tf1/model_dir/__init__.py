"""Everything written in a --model_dir: checkpoints (checkpoints.py), the
one-trainer lock (lock.py), the run record train_config.json with its
resume rules and history (run_record.py), the weight sanity check that
keeps a diverged run from being saved (sanity.py), and the summaries
(summaries.py).
"""
