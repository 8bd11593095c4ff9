#!/bin/sh
# The degradation study with batch norm after every conv (the paper's
# setting; docs/results.md, "With batch norm"): experiments/degradation.sh
# with --norm batch and 1000 steps.
#
#   experiments/degradation_bn.sh OUT_DIR [DATA_DIR]
#
# writes OUT_DIR/<network>/, OUT_DIR/degradation_bn.png and
# OUT_DIR/table.md. STEPS, BASE_DEPTH, SEED, EVERY, NETWORKS and PYTHON
# pass through (see degradation.sh); TRAIN_FLAGS adds to --norm batch.
set -eu
STEPS=${STEPS:-1000}
FIGURE=degradation_bn.png
TRAIN_FLAGS="--norm batch${TRAIN_FLAGS:+ $TRAIN_FLAGS}"
export STEPS FIGURE TRAIN_FLAGS
exec sh "$(dirname "$0")/degradation.sh" "$@"
