#!/bin/sh
# The ResNet paper's degradation comparison on MNIST (docs/results.md,
# "Plain against residual networks"): plain18, plain34, resnet18 and
# resnet34 trained with the article's recipe (data_set.py's defaults) and
# one seed, every kept checkpoint evaluated on the test split (EMA
# weights), then one figure and a markdown table.
#
#   experiments/degradation.sh OUT_DIR [DATA_DIR]
#
# writes OUT_DIR/<network>/ (each run), OUT_DIR/degradation.png and
# OUT_DIR/table.md. Running the same command again resumes: train.py
# continues each run from its newest checkpoint, bit for bit, and a run
# whose final step is evaluated already (OUT_DIR/<network>/eval_test.txt)
# is not evaluated again. The budget is in the environment:
#
#   STEPS=2000 BASE_DEPTH=16 SEED=0 EVERY=250 (checkpoint, and keep one
#   for good, every EVERY steps) NETWORKS="plain18 plain34 resnet18
#   resnet34" PYTHON=python TRAIN_FLAGS= (more train.py flags, split on
#   spaces; experiments/degradation_bn.sh sets "--norm batch")
#   FIGURE=degradation.png
set -eu

USAGE="$0 OUT_DIR [DATA_DIR]"
. "$(dirname "$0")/lib.sh"
STEPS=${STEPS:-2000}
BASE_DEPTH=${BASE_DEPTH:-16}
SEED=${SEED:-0}
EVERY=${EVERY:-250}
NETWORKS=${NETWORKS:-plain18 plain34 resnet18 resnet34}
TRAIN_FLAGS=${TRAIN_FLAGS:-}
FIGURE=${FIGURE:-degradation.png}
require_count STEPS "$STEPS"
require_count BASE_DEPTH "$BASE_DEPTH"
require_count EVERY "$EVERY"
require_whole SEED "$SEED"
# Absolute paths: the commands run from the repository's root.
parse_out_and_data "$@"

stamp "degradation study: $NETWORKS, $STEPS steps, --base_depth" \
    "$BASE_DEPTH, --seed $SEED, a checkpoint kept every $EVERY steps," \
    "${TRAIN_FLAGS:+flags $TRAIN_FLAGS, }in $OUT"
set --  # from here on: plot's --model_dir flags, one per network
for network in $NETWORKS; do
    dir=$OUT/$network
    set -- "$@" --model_dir="$dir"
    stamp "train $network"
    # A run that stops (a diverging plain net) is part of the result: its
    # checkpoints are evaluated and drawn as they are.
    if ! "$PYTHON" train.py --model="$network" --base_depth="$BASE_DEPTH" \
            --steps="$STEPS" --seed="$SEED" --save_every="$EVERY" \
            --keep_checkpoint_every="$EVERY" --model_dir="$dir" \
            ${DATA_FLAG:+"$DATA_FLAG"} $TRAIN_FLAGS; then
        stamp "$network: train.py stopped (its error is above)"
    fi
    if tail -n 1 "$dir/eval_test.txt" 2>/dev/null |
            grep -q "^step=$STEPS "; then
        stamp "$network: evaluated already ($dir/eval_test.txt)"
        continue
    fi
    stamp "evaluate $network's checkpoints on the test split"
    "$PYTHON" eval.py --model_dir="$dir" --all_checkpoints --split=test \
        ${DATA_FLAG:+"$DATA_FLAG"} > "$dir/eval_test.txt.tmp"
    mv "$dir/eval_test.txt.tmp" "$dir/eval_test.txt"
    cat "$dir/eval_test.txt"
done
stamp "plot"
"$PYTHON" -m resnet_tf1 plot "$@" --out="$OUT/$FIGURE" \
    > "$OUT/table.md.tmp"
{
    grep -v '^wrote ' "$OUT/table.md.tmp" || true  # one run: no table
    echo
    echo '| network | test accuracy (EMA) at each kept checkpoint |'
    echo '|---|---|'
    for network in $NETWORKS; do
        echo "| $network | $(accuracies_by_step "$OUT/$network/eval_test.txt") |"
    done
} > "$OUT/table.md"
rm "$OUT/table.md.tmp"
cat "$OUT/table.md"
stamp "done: $OUT/$FIGURE, $OUT/table.md"
