#!/bin/sh
# Why plain networks do not learn with the article's recipe (docs/
# results.md, "Signal at initialization"): `python -m resnet_tf1 signal`
# on plain34, resnet34 and plain34 with batch norm at --base_depth 16, one
# batch of 100 training images through freshly initialized weights.
#
#   experiments/init_signal.sh OUT_DIR [DATA_DIR]
#
# writes OUT_DIR/<name>.txt (each command's output) and OUT_DIR/table.md
# (each stage's root mean square, one column per network, and the median
# relative gradient). Seconds to a minute. Environment: BASE_DEPTH=16
# SEED=0 (the initial weights and the batch) PYTHON=python.
set -eu
USAGE="$0 OUT_DIR [DATA_DIR]"
. "$(dirname "$0")/lib.sh"
BASE_DEPTH=${BASE_DEPTH:-16}
SEED=${SEED:-0}
require_count BASE_DEPTH "$BASE_DEPTH"
require_whole SEED "$SEED"
parse_out_and_data "$@"

measure() {  # NAME, then signal's flags
    name=$1
    shift
    stamp "signal $name"
    run_into "$OUT/$name.txt" "$PYTHON" -m resnet_tf1 signal \
        --base_depth="$BASE_DEPTH" --seed="$SEED" \
        ${DATA_FLAG:+"$DATA_FLAG"} "$@"
}
measure plain34 --model=plain34
measure resnet34 --model=resnet34
measure plain34_bn --model=plain34 --norm=batch

# One column per network: the stage rows of each file's table, in order,
# and the median gradient ratio from its last line.
awk '
    FNR == 1 { column++; names[column] = FILENAME; row = 0 }
    /^\| / && !/root mean square/ { split($0, cells, "|");
        row++; stage[row] = cells[2]; value[row, column] = cells[3]
        if (row > rows) rows = row }
    / median_gradient_ratio=/ { sub(".*median_gradient_ratio=", "");
        median[column] = $0 }
    END {
        header = "| at initialization, --base_depth '"$BASE_DEPTH"' |"
        rule = "|---|"
        for (c = 1; c <= column; c++) {
            name = names[c]; sub(".*/", "", name); sub("[.]txt$", "", name)
            header = header " " name " |"; rule = rule "---:|" }
        print header; print rule
        for (r = 1; r <= rows; r++) {
            line = "|" stage[r] "|"
            for (c = 1; c <= column; c++) line = line value[r, c] "|"
            print line }
        line = "| median over the weights of d xent/d w / w |"
        for (c = 1; c <= column; c++) line = line " " median[c] " |"
        print line
    }' "$OUT/plain34.txt" "$OUT/resnet34.txt" "$OUT/plain34_bn.txt" \
    > "$OUT/table.md"
cat "$OUT/table.md"
stamp "done: $OUT/table.md"
