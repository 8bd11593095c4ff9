#!/bin/sh
# Three hundred steps (0.55 epoch) of the article's ResNet-34 with the
# article's recipe and with one flag changed each (docs/results.md, "300
# steps"): defaults, --optimizer momentum, --norm batch; seed 1; each run
# evaluated on the test split with EMA weights.
#
#   experiments/steps300.sh OUT_DIR [DATA_DIR]
#
# writes OUT_DIR/<name>/ (each run and its eval_test.txt) and
# OUT_DIR/table.md. About 3 minutes a run on 2 CPU cores. Environment:
# STEPS=300 SEED=1 PYTHON=python.
set -eu
USAGE="$0 OUT_DIR [DATA_DIR]"
. "$(dirname "$0")/lib.sh"
STEPS=${STEPS:-300}
SEED=${SEED:-1}
require_count STEPS "$STEPS"
require_whole SEED "$SEED"
parse_out_and_data "$@"

run() {  # NAME, then train.py's flags beyond the common ones
    name=$1
    shift
    dir=$OUT/$name
    stamp "train $name: $STEPS steps, --seed $SEED $*"
    "$PYTHON" train.py --steps="$STEPS" --seed="$SEED" --model_dir="$dir" \
        ${DATA_FLAG:+"$DATA_FLAG"} "$@"
    if [ "$(accuracy_at "$dir/eval_test.txt" "$STEPS")" = - ]; then
        run_into "$dir/eval_test.txt" "$PYTHON" eval.py --model_dir="$dir" \
            ${DATA_FLAG:+"$DATA_FLAG"}
    fi
    echo "| ${*:-(the article's recipe)} |" \
        "$(accuracy_at "$dir/eval_test.txt" "$STEPS") |" >> "$OUT/table.md.tmp"
}
echo "| flag | test accuracy (EMA), step $STEPS |" > "$OUT/table.md.tmp"
echo '|---|---:|' >> "$OUT/table.md.tmp"
run article
run momentum --optimizer=momentum
run batch_norm --norm=batch
mv "$OUT/table.md.tmp" "$OUT/table.md"
cat "$OUT/table.md"
stamp "done: $OUT/table.md"
