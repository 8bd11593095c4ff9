#!/bin/sh
# The ResNet paper's degradation comparison on MNIST (issue 16): plain18,
# plain34, resnet18 and resnet34 trained with the article's recipe
# (data_set.py's defaults) and one seed, every kept checkpoint evaluated on
# the test split (EMA weights), then one figure and a markdown table.
#
#   scripts/degradation.sh OUT_DIR [DATA_DIR]
#
# writes OUT_DIR/<network>/ (each run), OUT_DIR/degradation.png and
# OUT_DIR/table.md. Running the same command again resumes: train.py
# continues each run from its newest checkpoint, bit for bit, and a run
# whose final step is evaluated already (OUT_DIR/<network>/eval_test.txt)
# is not evaluated again. The budget is in the environment:
#
#   STEPS=2000 BASE_DEPTH=16 SEED=0 EVERY=250 (checkpoint, and keep one
#   for good, every EVERY steps) NETWORKS="plain18 plain34 resnet18
#   resnet34" PYTHON=python TRAIN_FLAGS= (more train.py flags, for example
#   TRAIN_FLAGS="--norm batch" for the paper's batch-normalized networks;
#   split on spaces)
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 OUT_DIR [DATA_DIR]" >&2
    exit 2
fi
STEPS=${STEPS:-2000}
BASE_DEPTH=${BASE_DEPTH:-16}
SEED=${SEED:-0}
EVERY=${EVERY:-250}
NETWORKS=${NETWORKS:-plain18 plain34 resnet18 resnet34}
PYTHON=${PYTHON:-python}
TRAIN_FLAGS=${TRAIN_FLAGS:-}

# Absolute paths: the commands run from the repository's root. The data
# directory is checked first, so a wrong one leaves nothing behind.
DATA_DIR=
if [ $# -eq 2 ]; then
    if [ ! -d "$2" ]; then
        echo "$0: DATA_DIR $2: no such directory" >&2
        exit 2
    fi
    DATA_DIR=$(cd "$2" && pwd)
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."

stamp() {
    echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') $*"
}

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
            ${DATA_DIR:+"--data_dir=$DATA_DIR"} $TRAIN_FLAGS; then
        stamp "$network: train.py stopped (its error is above)"
    fi
    if tail -n 1 "$dir/eval_test.txt" 2>/dev/null |
            grep -q "^step=$STEPS "; then
        stamp "$network: evaluated already ($dir/eval_test.txt)"
        continue
    fi
    stamp "evaluate $network's checkpoints on the test split"
    "$PYTHON" eval.py --model_dir="$dir" --all_checkpoints --split=test \
        ${DATA_DIR:+"--data_dir=$DATA_DIR"} > "$dir/eval_test.txt.tmp"
    mv "$dir/eval_test.txt.tmp" "$dir/eval_test.txt"
    cat "$dir/eval_test.txt"
done
stamp "plot"
"$PYTHON" -m resnet_tf1 plot "$@" --out="$OUT/degradation.png" \
    > "$OUT/table.md.tmp"
grep -v '^wrote ' "$OUT/table.md.tmp" > "$OUT/table.md"
rm "$OUT/table.md.tmp"
cat "$OUT/table.md"
stamp "done: $OUT/degradation.png, $OUT/table.md"
