#!/usr/bin/env bash
# What a user sees in TensorBoard for one run: serves MODEL_DIR on
# 127.0.0.1 only and takes a headless Chromium screenshot of the Time
# Series dashboard (issue 27's browser check of summaries.py's layout).
#
#   experiments/tensorboard_screenshot.sh MODEL_DIR [OUT.png]
#
# Needs `tensorboard` (pip) and `chromium` (Debian: apt-get install -y
# chromium). Look at OUT.png: the "accuracy" and "loss" groups open first,
# each chart drawing the runs "train" and "eval_test" on one set of axes.
set -euo pipefail
model_dir=${1:?usage: $0 MODEL_DIR [OUT.png]}
out=${2:-/tmp/tb.png}
port=${PORT:-6006}
[ -d "$model_dir" ] || { echo "error: $model_dir: no such directory" >&2; exit 1; }
tensorboard --logdir "$model_dir" --host 127.0.0.1 --port "$port" \
    >/tmp/tensorboard.$$.log 2>&1 &
board=$!
trap 'kill $board 2>/dev/null || true' EXIT
for _ in $(seq 60); do
    curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 1
done
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$profile" \
    --use-angle=swiftshader --enable-unsafe-swiftshader \
    --screenshot="$out" --window-size=1400,1000 \
    --virtual-time-budget=15000 "http://127.0.0.1:$port/#timeseries"
rm -rf "$profile"
echo "wrote $out"
