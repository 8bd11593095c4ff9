# Shared by the experiments/*.sh studies (sourced, not run): argument
# checks, the repository root, one timestamped line per stage, and the
# markdown tables made from eval.py's and bench's output lines.
#
# A study script sets USAGE, then calls `parse_out_and_data "$@"`, which
# leaves OUT (absolute, created) and DATA_FLAG (--data_dir=<absolute> or
# empty) and moves to the repository's root, where train.py and eval.py
# are. PYTHON (default python) is the interpreter every command runs with.

PYTHON=${PYTHON:-python}

usage_error() {
    echo "usage: $USAGE" >&2
    exit 2
}

# OUT_DIR [DATA_DIR]. The data directory is checked before anything is
# made, so a wrong one leaves nothing behind.
parse_out_and_data() {
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        usage_error
    fi
    DATA_FLAG=
    if [ $# -eq 2 ]; then
        if [ ! -d "$2" ]; then
            echo "$0: DATA_DIR $2: no such directory" >&2
            exit 2
        fi
        DATA_FLAG=--data_dir=$(cd "$2" && pwd)
    fi
    mkdir -p "$1"
    OUT=$(cd "$1" && pwd)
    cd "$(dirname "$0")/.."
}

# A positive integer from the environment, or a one-line error naming it.
require_count() {
    case "$2" in
        ''|*[!0-9]*|0)
            echo "$0: $1 must be a positive integer, got '$2'" >&2
            exit 2 ;;
    esac
}

# A whole number (0 included: a seed) from the environment, or one line.
require_whole() {
    case "$2" in
        ''|*[!0-9]*)
            echo "$0: $1 must be a whole number, got '$2'" >&2
            exit 2 ;;
    esac
}

stamp() {
    echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') $*"
}

# Runs a command into FILE, atomically: FILE appears only when the command
# succeeded, so a study run again redoes exactly what is missing.
run_into() {
    file=$1
    shift
    "$@" > "$file.tmp"
    mv "$file.tmp" "$file"
}

# The accuracy eval.py printed (`step=N accuracy=A examples=M weights=W`)
# at step $2 in file $1, or `-`.
accuracy_at() {
    awk -v step="$2" '$1 == "step=" step {
        sub("accuracy=", "", $2); found = $2 }
        END { print (found == "" ? "-" : found) }' "$1" 2>/dev/null ||
        echo -
}

# A markdown row per eval.py line of file $1: | step | accuracy |.
eval_rows() {
    awk '$1 ~ /^step=/ { sub("step=", "", $1); sub("accuracy=", "", $2);
        print "| " $1 " | " $2 " |" }' "$1"
}

# A markdown row per bench timing line (`<path> batch=B images/s=I
# ms/step=M (fastest F, slowest S) gflop/s=G peak_fraction=P`) of file $1.
bench_rows() {
    awk '$2 ~ /^batch=/ && $3 ~ /^images\/s=/ {
        row = "| " $1
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^(batch|images\/s|ms\/step|peak_fraction)=/) {
                split($i, kv, "="); row = row " | " kv[2] }
        }
        print row " |" }' "$1"
}

# The accuracies of eval.py's lines in file $1 on one line:
# `A1 (step1), A2 (step2), ...`.
accuracies_by_step() {
    awk '$1 ~ /^step=/ { sub("step=", "", $1); sub("accuracy=", "", $2);
        row = row sep $2 " (" $1 ")"; sep = ", " }
        END { print row }' "$1"
}
