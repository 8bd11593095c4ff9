#!/bin/sh
# The speed tables of docs/speed.md and docs/scaling.md, each from
# `python -m resnet_tf1 bench` (ResNet-34 of the article, batch 100,
# float32). Run it on an idle machine: every number is read against the
# GEMM peak bench measures alongside, and a busy machine moves them all.
#
#   experiments/speed.sh OUT_DIR [TABLE...]
#
# TABLE (default: training) is any of
#   training  bench: the project's training step against the plain TF1
#             path, and evaluation with fast_conv's convolutions and TF's
#   keras     bench --compare keras: Keras 3 model.fit on the same network
#   forms     bench --compare direct --nopeer: the training forms against
#             the gradient rewrite alone, steps alternating
#   profile   bench --profile --nopeer: where a step's time goes, with
#             the default training forms and with the gradient rewrite
#             alone (--conv_gradients direct)
#   eval      bench --eval_only --steps 20: evaluation at batch 500
#   layers    bench --layers --nolayer_gradients at batch 100 and 500
#   flags     bench --nopeer with each compute flag that did not help,
#             and with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)
#   towers    bench --nopeer --num_devices 1 and 2 (logical CPU devices)
#   torch     the same network and step in PyTorch (resnet_tf1's
#             torch_peer), run by TORCH_PYTHON, a Python with torch
#             (docs/speed.md says how to make one)
# and writes OUT_DIR/<table>.txt (bench's output) and OUT_DIR/<table>.md.
# Environment: PYTHON=python, TORCH_PYTHON (for torch).
set -eu
USAGE="$0 OUT_DIR [training|keras|forms|profile|eval|layers|flags|towers|torch]..."
. "$(dirname "$0")/lib.sh"
if [ $# -lt 1 ]; then
    usage_error
fi
OUT_ARG=$1
shift
TABLES=${*:-training}
for table in $TABLES; do
    case "$table" in
        training|keras|forms|profile|eval|layers|flags|towers) ;;
        torch)
            if [ -z "${TORCH_PYTHON:-}" ]; then
                echo "$0: torch needs TORCH_PYTHON, a Python with torch" \
                    "installed" >&2
                exit 2
            fi ;;
        *)
            echo "$0: unknown table '$table' (usage: $USAGE)" >&2
            exit 2 ;;
    esac
done
parse_out_and_data "$OUT_ARG"

BENCH_HEADER='| path | batch | images/s | ms/step | fraction of GEMM peak |
|---|---:|---:|---:|---:|'

bench() {  # TABLE, then bench's flags; appends to OUT/<table>.txt
    file=$OUT/$1.txt
    shift
    stamp "bench $*"
    echo "# bench $*" >> "$file"
    "$PYTHON" -m resnet_tf1 bench "$@" | tee -a "$file"
}

for table in $TABLES; do
    rm -f "$OUT/$table.txt"
    case "$table" in
        training)
            bench training
            { echo "$BENCH_HEADER"; bench_rows "$OUT/training.txt"
              grep '^speedup' "$OUT/training.txt"; } > "$OUT/training.md" ;;
        keras)
            bench keras --compare=keras
            { echo "$BENCH_HEADER"; bench_rows "$OUT/keras.txt"; } \
                > "$OUT/keras.md" ;;
        forms)
            bench forms --compare=direct --nopeer --steps=6 --warmup=2
            { echo "$BENCH_HEADER"; bench_rows "$OUT/forms.txt"
              grep '^speedup' "$OUT/forms.txt"; } > "$OUT/forms.md" ;;
        profile)
            bench profile --profile --nopeer
            bench profile --profile --nopeer --conv_gradients=direct
            grep '^|\|untraced' "$OUT/profile.txt" > "$OUT/profile.md" ;;
        eval)
            bench eval --eval_only --steps=20
            { echo "$BENCH_HEADER"; bench_rows "$OUT/eval.txt"
              grep '^speedup' "$OUT/eval.txt"; } > "$OUT/eval.md" ;;
        layers)
            for batch in 100 500; do
                bench layers --layers --nolayer_gradients \
                    --batch_size="$batch" --steps=9
            done
            grep -v '^#' "$OUT/layers.txt" > "$OUT/layers.md" ;;
        flags)
            echo '| flag | path | batch | images/s | ms/step |' \
                'fraction of GEMM peak |' > "$OUT/flags.md"
            echo '|---|---|---:|---:|---:|---:|' >> "$OUT/flags.md"
            for flag in '' --input_pipeline=dataset --precision=bf16 --xla \
                    '--inter_op_threads=1 --intra_op_threads=2' \
                    '--intra_op_threads=1 --inter_op_threads=2' \
                    TF_ENABLE_ONEDNN_OPTS=0; do
                rm -f "$OUT/flag.txt"
                case "$flag" in
                    TF_*) export "${flag?}"
                          bench flag --nopeer
                          unset "${flag%%=*}" ;;
                    # shellcheck disable=SC2086 # the flags split on spaces
                    *) bench flag --nopeer $flag ;;
                esac
                bench_rows "$OUT/flag.txt" |
                    sed "s/^|/| ${flag:-(default)} |/" >> "$OUT/flags.md"
                cat "$OUT/flag.txt" >> "$OUT/flags.txt"
            done
            rm -f "$OUT/flag.txt" ;;
        towers)
            for devices in 1 2; do
                bench towers --nopeer --num_devices="$devices" --steps=6 \
                    --warmup=2
            done
            { echo "$BENCH_HEADER"; bench_rows "$OUT/towers.txt"; } \
                > "$OUT/towers.md" ;;
        torch)
            for layout in --channels_last ''; do
                stamp "torch_peer $layout"
                echo "# torch_peer $layout" >> "$OUT/torch.txt"
                # shellcheck disable=SC2086 # an empty layout is no flag
                "$TORCH_PYTHON" -m resnet_tf1.bench.torch_peer \
                    --batch_size 100 --steps 10 --warmup 3 $layout |
                    tee -a "$OUT/torch.txt"
            done
            { echo "$BENCH_HEADER"; bench_rows "$OUT/torch.txt"; } \
                > "$OUT/torch.md" ;;
    esac
    cat "$OUT/$table.md"
    stamp "done: $OUT/$table.md"
done
