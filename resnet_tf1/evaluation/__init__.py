"""After training: the accuracy of a checkpoint (evaluate.py, eval.py's
library), export for serving (export.py), and classifying image files
with an export (predict.py). Nothing here imports the training code.
"""
