#!/bin/sh
# The article's full run (docs/results.md, "The article's run"): ResNet-34
# on MNIST with every default of data_set.py (no batch norm, option A
# shortcuts, gradient descent at 0.03 decayed by 0.99 per epoch, L2 1e-4,
# EMA 0.99, batch 100) for 8000 steps, then every kept checkpoint (one per
# 1000 steps) on the test split, the last one with EMA and raw weights on
# the test and validation splits, and the curves.
#
#   experiments/article_8000.sh OUT_DIR [DATA_DIR]
#
# writes OUT_DIR/run/ (the training directory), OUT_DIR/eval_*.txt,
# OUT_DIR/table.md and OUT_DIR/full8000.png. Running it again resumes
# training from the newest checkpoint (bit for bit) and redoes only the
# evaluations that are missing. Environment: STEPS=8000 SEED=0
# PYTHON=python. About 2-4 hours on 2 CPU cores.
set -eu
USAGE="$0 OUT_DIR [DATA_DIR]"
. "$(dirname "$0")/lib.sh"
STEPS=${STEPS:-8000}
SEED=${SEED:-0}
require_count STEPS "$STEPS"
require_whole SEED "$SEED"
parse_out_and_data "$@"
RUN=$OUT/run

stamp "the article's run: $STEPS steps, --seed $SEED, in $RUN"
"$PYTHON" train.py --steps="$STEPS" --seed="$SEED" --model_dir="$RUN" \
    ${DATA_FLAG:+"$DATA_FLAG"}
evaluate() {  # FILE, then eval.py's flags beyond the directory and data
    file=$OUT/$1
    shift
    if [ "$(accuracy_at "$file" "$STEPS")" != - ]; then
        stamp "evaluated already: $file"
        return
    fi
    stamp "eval.py $*"
    run_into "$file" "$PYTHON" eval.py --model_dir="$RUN" \
        ${DATA_FLAG:+"$DATA_FLAG"} "$@"
    cat "$file"
}
evaluate eval_test.txt --all_checkpoints
evaluate eval_test_raw.txt --noema
evaluate eval_validation.txt --split=validation
evaluate eval_validation_raw.txt --split=validation --noema
stamp plot
"$PYTHON" -m resnet_tf1 plot --model_dir="$RUN" --out="$OUT/full8000.png"

{
    echo "| step $STEPS | test (10,000 images) | validation (5,000) |"
    echo '|---|---|---|'
    echo "| EMA weights | $(accuracy_at "$OUT/eval_test.txt" "$STEPS") |" \
        "$(accuracy_at "$OUT/eval_validation.txt" "$STEPS") |"
    echo "| raw weights | $(accuracy_at "$OUT/eval_test_raw.txt" "$STEPS")" \
        "| $(accuracy_at "$OUT/eval_validation_raw.txt" "$STEPS") |"
    echo
    echo '| step | test accuracy (EMA) |'
    echo '|---:|---:|'
    eval_rows "$OUT/eval_test.txt"
} > "$OUT/table.md"
cat "$OUT/table.md"
stamp "done: $OUT/table.md, $OUT/full8000.png"
