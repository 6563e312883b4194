#!/usr/bin/env bash
# The sequence models in libtinynn and in PyTorch, in turns: the LSTM of
# examples/mnist_lstm.c (bench_lstm against bench/pytorch_mnist.py lstm)
# and the transformer of examples/char_lm.c (against bench/char_lm.py).
# Prints each program's own output, then per model the seconds per epoch
# (median of all epochs, the first included), libtinynn / PyTorch, and a
# markdown table.
#   bench/compare_seq.sh BUILD_DIR DATA_DIR LSTM_EPOCHS LM_EPOCHS THREADS
set -euo pipefail
build=$1 data=$2 lstm_epochs=$3 lm_epochs=$4 threads=$5
python=${PYTHON:-/usr/bin/python3}
dict=${DICT:-/usr/share/dict/american-english}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# As compare.sh: PyTorch's workers sleep when idle, its BLAS held to the
# same thread count.
torch_run() {
    OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=$threads "$python" "$@"
}

echo "== libtinynn, LSTM =="
"$build/bench_lstm" "$data" "$lstm_epochs" "$threads" | tee "$out/lstm.ours"
echo
echo "== PyTorch, LSTM =="
torch_run bench/pytorch_mnist.py lstm "$data" "$lstm_epochs" "$threads" |
    tee "$out/lstm.theirs"
echo
echo "== libtinynn, transformer (char_lm) =="
"$build/char_lm" --dict "$dict" \
    --epochs "$lm_epochs" --threads "$threads" --samples 0 --out "$out" |
    tee "$out/lm.ours"
echo
echo "== PyTorch, transformer =="
torch_run bench/char_lm.py --dict "$dict" --epochs "$lm_epochs" \
    --threads "$threads" | tee "$out/lm.theirs"

# The number before the unit on the line of FILE that starts with KEY.
get() { awk -v key="$2" 'index($0, key) == 1 {print $(NF - 1); exit}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

declare -A v
for model in lstm lm; do
    for side in ours theirs; do
        v[$model.$side]=$(get "$out/$model.$side" "epoch time (")
    done
done
v[lstm.ours.acc]=$(get "$out/lstm.ours" "test accuracy")
v[lstm.theirs.acc]=$(get "$out/lstm.theirs" "test accuracy")
v[lm.ours.val]=$(get "$out/lm.ours" "final validation loss")
v[lm.theirs.val]=$(get "$out/lm.theirs" "final validation loss")

echo
echo "== Summary =="
echo
echo "CPU: $(sed -n 's/^CPU: //p' "$out/lstm.ours") ($(nproc) CPUs), $threads threads;" \
     "$(head -n 1 "$out/lstm.theirs" | cut -d, -f1) with OMP_WAIT_POLICY=passive."
echo "Seconds per epoch: median of all epochs, the first included" \
     "($lstm_epochs LSTM, $lm_epochs transformer)."
echo
echo "| | libtinynn | PyTorch | ratio |"
echo "|---|---:|---:|---:|"
printf '| LSTM train s/epoch | %s | %s | %s |\n' "${v[lstm.ours]}" \
    "${v[lstm.theirs]}" "$(ratio "${v[lstm.ours]}" "${v[lstm.theirs]}")"
printf '| transformer train s/epoch | %s | %s | %s |\n' "${v[lm.ours]}" \
    "${v[lm.theirs]}" "$(ratio "${v[lm.ours]}" "${v[lm.theirs]}")"
echo
echo "Test accuracy of the LSTM: ${v[lstm.ours.acc]}% / ${v[lstm.theirs.acc]}%;" \
     "the transformer's final validation loss: ${v[lm.ours.val]} / ${v[lm.theirs.val]} nats per character."
