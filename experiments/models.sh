#!/bin/sh
# The parameter and multiply-accumulate counts of docs/models.md: one
# `python -m resnet_tf1 summary` per row, counted from the built graph.
#
#   experiments/models.sh OUT_DIR
#
# writes OUT_DIR/<row>.txt (each per-layer table) and OUT_DIR/table.md.
# A minute or two (graphs only, no training). Environment: PYTHON=python.
set -eu
USAGE="$0 OUT_DIR"
. "$(dirname "$0")/lib.sh"
if [ $# -ne 1 ]; then
    usage_error
fi
parse_out_and_data "$1"

IMAGENET="--image_size=224 --channels=3 --num_classes=1000 --stem=imagenet"
CIFAR="--image_size=32 --channels=3 --norm=batch --shortcut=A"
echo '| network | configuration | params | MACs/image |' > "$OUT/table.md.tmp"
echo '|---|---|---:|---:|' >> "$OUT/table.md.tmp"
count() {  # ROW_NAME CONFIGURATION, then summary's flags
    name=$1
    configuration=$2
    shift 2
    stamp "summary $*"
    run_into "$OUT/$name.txt" "$PYTHON" -m resnet_tf1 summary "$@"
    # The last line is `params=<N> macs=<M>`.
    tail -n 1 "$OUT/$name.txt" | awk -v name="$name" -v c="$configuration" '{
        sub("params=", "", $1); sub("macs=", "", $2)
        print "| " name " | " c " | " $1 " | " $2 " |" }' \
        >> "$OUT/table.md.tmp"
}
count resnet34 "28x28x1, 10 classes, the article's" --model=resnet34
for depth in 18 34 50 101 152; do
    count "resnet$depth-imagenet" "224x224x3, 1000 classes, BN, option B" \
        --model="resnet$depth" $IMAGENET --norm=batch --shortcut=B
done
count densenet121-imagenet "224x224x3, 1000 classes" --model=densenet121 \
    $IMAGENET
count alexnet-imagenet "224x224x3, 1000 classes" --model=alexnet $IMAGENET
for depth in 20 32 44 56 110; do
    count "cifar_resnet$depth" "32x32x3, 10 classes, BN, option A" \
        --model="cifar_resnet$depth" $CIFAR
done
count densenet121 "28x28x1, defaults" --model=densenet121
count alexnet "28x28x1, defaults" --model=alexnet
mv "$OUT/table.md.tmp" "$OUT/table.md"
cat "$OUT/table.md"
stamp "done: $OUT/table.md"
