#!/bin/sh
# From the article's recipe to the one that reaches 0.993, one change at a
# time (docs/results.md, "From the article's recipe to 0.993"), seed 0,
# ResNet-34 at the article's width:
#   momentum        --optimizer momentum --learning_rate_decay 0.5, 3000 steps
#   bn_shift        ... and --norm batch --random_shift 2, 4000 steps
#   bn_shift_slow   ... with --learning_rate_decay 0.6, 4000 steps
# a checkpoint kept every 500 steps, each evaluated on the test split (EMA
# weights), the last one also raw and on the validation split.
#
#   experiments/recipe_steps.sh OUT_DIR [DATA_DIR]
#
# writes OUT_DIR/<name>/ (each run and its eval_*.txt), OUT_DIR/table.md
# and OUT_DIR/momentum.png (with the article's run drawn too when ARTICLE
# names its model directory, e.g. ARTICLE=runs/article/run from
# experiments/article_8000.sh). Running it again resumes. About an hour a
# run on 2 CPU cores. Environment: SEED=0 PYTHON=python ARTICLE=.
# experiments/recipes.py repeats the last recipe over seeds.
set -eu
USAGE="$0 OUT_DIR [DATA_DIR]"
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-0}
require_whole SEED "$SEED"
ARTICLE=${ARTICLE:-}
if [ -n "$ARTICLE" ] && [ ! -d "$ARTICLE" ]; then
    echo "$0: ARTICLE $ARTICLE: no such directory" >&2
    exit 2
fi
if [ -n "$ARTICLE" ]; then
    ARTICLE=$(cd "$ARTICLE" && pwd)
fi
parse_out_and_data "$@"

run() {  # NAME STEPS, then train.py's recipe flags
    name=$1
    steps=$2
    shift 2
    dir=$OUT/$name
    stamp "train $name: $steps steps, --seed $SEED $*"
    "$PYTHON" train.py --steps="$steps" --seed="$SEED" \
        --keep_checkpoint_every=500 --model_dir="$dir" \
        ${DATA_FLAG:+"$DATA_FLAG"} "$@"
    for split in test test_raw validation validation_raw; do
        file=$dir/eval_$split.txt
        if [ "$(accuracy_at "$file" "$steps")" != - ]; then
            continue
        fi
        case $split in
            test) set -- --all_checkpoints ;;
            test_raw) set -- --noema ;;
            validation) set -- --split=validation ;;
            validation_raw) set -- --split=validation --noema ;;
        esac
        stamp "eval.py $name $*"
        run_into "$file" "$PYTHON" eval.py --model_dir="$dir" \
            ${DATA_FLAG:+"$DATA_FLAG"} "$@"
    done
    echo "| $name | $steps | $(accuracy_at "$dir/eval_test.txt" "$steps") |" \
        "$(accuracy_at "$dir/eval_test_raw.txt" "$steps") |" \
        "$(accuracy_at "$dir/eval_validation.txt" "$steps") |" \
        "$(accuracy_at "$dir/eval_validation_raw.txt" "$steps") |" \
        >> "$OUT/table.md.tmp"
}
{
    echo '| run | step | test (EMA) | test (raw) | validation (EMA) |' \
        'validation (raw) |'
    echo '|---|---:|---:|---:|---:|---:|'
} > "$OUT/table.md.tmp"
MOMENTUM="--optimizer=momentum --learning_rate_decay=0.5"
# shellcheck disable=SC2086 # the recipe flags split on spaces
run momentum 3000 $MOMENTUM
# shellcheck disable=SC2086
run bn_shift 4000 $MOMENTUM --norm=batch --random_shift=2
run bn_shift_slow 4000 --optimizer=momentum --learning_rate_decay=0.6 \
    --norm=batch --random_shift=2
{
    echo
    echo '| test accuracy (EMA) at each kept checkpoint | |'
    echo '|---|---|'
    for name in momentum bn_shift bn_shift_slow; do
        echo "| $name | $(accuracies_by_step "$OUT/$name/eval_test.txt") |"
    done
} >> "$OUT/table.md.tmp"
mv "$OUT/table.md.tmp" "$OUT/table.md"
stamp plot
# plot's own table (each run's last training loss and cross-entropy) goes
# last, without its "wrote" line.
"$PYTHON" -m resnet_tf1 plot ${ARTICLE:+"--model_dir=$ARTICLE"} \
    --model_dir="$OUT/momentum" --model_dir="$OUT/bn_shift" \
    --model_dir="$OUT/bn_shift_slow" --out="$OUT/momentum.png" \
    > "$OUT/plot.txt"
{ echo; grep -v '^wrote ' "$OUT/plot.txt" || true; } >> "$OUT/table.md"
rm "$OUT/plot.txt"
cat "$OUT/table.md"
stamp "done: $OUT/table.md, $OUT/momentum.png"
