#!/usr/bin/env bash
# Run libtinynn's MNIST benchmark and the same model in PyTorch one after
# the other, and print both epoch times, both accuracies and the ratio.
#   bench/compare.sh BENCH_BINARY DATA_DIR EPOCHS THREADS
set -euo pipefail
bin=$1 data=$2 epochs=$3 threads=$4
ours=$("$bin" "$data" "$epochs" "$threads")
echo "$ours"
echo
theirs=$(/usr/bin/python3 bench/pytorch_mlp.py "$data" "$epochs" "$threads")
echo "$theirs"
get() { awk -v key="$1" 'index($0, key) == 1 {print $(NF - 1)}'; }
t_ours=$(get "epoch time" <<< "$ours")
t_theirs=$(get "epoch time" <<< "$theirs")
a_ours=$(get "test accuracy" <<< "$ours")
a_theirs=$(get "test accuracy" <<< "$theirs")
echo
printf '%-24s %12s %12s\n' "" "libtinynn" "PyTorch"
printf '%-24s %12.3f %12.3f\n' "seconds per epoch" "$t_ours" "$t_theirs"
printf '%-24s %12.2f %12.2f\n' "test accuracy (%)" "$a_ours" "$a_theirs"
awk -v a="$t_ours" -v b="$t_theirs" \
    'BEGIN {printf "speed: libtinynn takes %.2f x the time of PyTorch per epoch\n", a / b}'
