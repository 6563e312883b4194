#!/usr/bin/env bash
# Both MNIST models in libtinynn and in PyTorch, in turns (libtinynn's MLP,
# PyTorch's MLP, libtinynn's convnet, PyTorch's convnet) so that a drift of
# the machine's speed touches both sides alike. Prints each program's own
# output, then per model the seconds per epoch (median of all epochs, the
# first included), inference time of the test set, test accuracy, the
# ratio libtinynn / PyTorch and libtinynn's floors, and a markdown table.
#   bench/compare.sh BUILD_DIR DATA_DIR MLP_EPOCHS CNN_EPOCHS THREADS
set -euo pipefail
build=$1 data=$2 mlp_epochs=$3 cnn_epochs=$4 threads=$5
python=${PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "bench-compare: $python cannot import torch (Debian's" \
         "python3-torch); run:" >&2
    echo "  sudo apt-get install -y python3-torch" >&2
    exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# PyTorch with as many threads as libtinynn, its OpenMP workers sleeping
# when idle (its fastest setting on this kind of machine), and the BLAS
# under its Linear layers held to the same count.
pytorch() {
    OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=$threads \
        "$python" bench/pytorch_mnist.py "$1" "$data" "$2" "$threads"
}

echo "== libtinynn, MLP =="
"$build/bench_mlp" "$data" "$mlp_epochs" "$threads" | tee "$out/mlp.ours"
echo
echo "== PyTorch, MLP =="
pytorch mlp "$mlp_epochs" | tee "$out/mlp.theirs"
echo
echo "== libtinynn, convnet =="
"$build/bench_cnn" "$data" "$cnn_epochs" "$threads" | sed '1{/^$/d}' |
    tee "$out/cnn.ours"
echo
echo "== PyTorch, convnet =="
pytorch cnn "$cnn_epochs" | tee "$out/cnn.theirs"

# The number before the unit on the line of FILE that starts with KEY.
get() { awk -v key="$2" 'index($0, key) == 1 {print $(NF - 1); exit}' "$1"; }
# awk arithmetic and formatting: calc FORMAT EXPRESSION [name=value ...].
calc() {
    local format=$1 expr=$2
    shift 2
    awk "$@" "BEGIN {printf \"$format\", $expr}"
}

declare -A v
for model in mlp cnn; do
    for side in ours theirs; do
        f=$out/$model.$side
        v[$model.$side.epoch]=$(get "$f" "epoch time (")
        v[$model.$side.infer]=$(calc %.4f "ms / 1000" -v ms="$(get "$f" "inference,")")
        v[$model.$side.acc]=$(get "$f" "test accuracy")
    done
done
v[mlp.floor]=$(get "$out/mlp.ours" "GEMM floor")
v[mlp.infer_floor]=$(calc %.4f "ms / 1000" -v ms="$(get "$out/mlp.ours" "inference GEMM floor")")
v[cnn.gemm_floor]=$(get "$out/cnn.ours" "GEMM floor")
v[cnn.floor]=$(get "$out/cnn.ours" "layer floor")
v[cnn.infer_gemm_floor]=$(calc %.4f "ms / 1000" -v ms="$(get "$out/cnn.ours" "inference GEMM floor")")
v[cnn.infer_floor]=$(calc %.4f "ms / 1000" -v ms="$(get "$out/cnn.ours" "inference layer floor")")

ratio() { calc %.2f "a / b" -v a="$1" -v b="$2"; }

echo
for model in mlp cnn; do
    [ $model = mlp ] && title="MLP (784-512-10, batch 64, $mlp_epochs epochs)" \
        || title="convnet (conv 32, conv 64, dense 10, batch 128, $cnn_epochs epochs)"
    echo "== $title =="
    printf '%-30s %10s %10s %8s\n' "" libtinynn PyTorch ratio
    printf '%-30s %10.3f %10.3f %8s\n' "seconds per epoch (median)" \
        "${v[$model.ours.epoch]}" "${v[$model.theirs.epoch]}" \
        "$(ratio "${v[$model.ours.epoch]}" "${v[$model.theirs.epoch]}")"
    printf '%-30s %10.4f %10.4f %8s\n' "inference, test set (s)" \
        "${v[$model.ours.infer]}" "${v[$model.theirs.infer]}" \
        "$(ratio "${v[$model.ours.infer]}" "${v[$model.theirs.infer]}")"
    printf '%-30s %10.2f %10.2f\n' "test accuracy (%)" \
        "${v[$model.ours.acc]}" "${v[$model.theirs.acc]}"
    if [ $model = mlp ]; then
        printf '%-30s %10.3f  (epoch / floor %s)\n' "GEMM floor, epoch (s)" \
            "${v[mlp.floor]}" "$(ratio "${v[mlp.ours.epoch]}" "${v[mlp.floor]}")"
        printf '%-30s %10.4f  (inference / floor %s)\n' "GEMM floor, inference (s)" \
            "${v[mlp.infer_floor]}" "$(ratio "${v[mlp.ours.infer]}" "${v[mlp.infer_floor]}")"
    else
        printf '%-30s %10.3f  (epoch / floor %s)\n' "GEMM floor, epoch (s)" \
            "${v[cnn.gemm_floor]}" "$(ratio "${v[cnn.ours.epoch]}" "${v[cnn.gemm_floor]}")"
        printf '%-30s %10.3f  (epoch / floor %s)\n' "layer floor, epoch (s)" \
            "${v[cnn.floor]}" "$(ratio "${v[cnn.ours.epoch]}" "${v[cnn.floor]}")"
        printf '%-30s %10.4f  (inference / floor %s)\n' "GEMM floor, inference (s)" \
            "${v[cnn.infer_gemm_floor]}" "$(ratio "${v[cnn.ours.infer]}" "${v[cnn.infer_gemm_floor]}")"
        printf '%-30s %10.4f  (inference / floor %s)\n' "layer floor, inference (s)" \
            "${v[cnn.infer_floor]}" "$(ratio "${v[cnn.ours.infer]}" "${v[cnn.infer_floor]}")"
    fi
    echo
done

# The summary, ready to paste: the machine, the libraries, the table.
blas=$(sed -n 's/^libtinynn [^,]*, \(.*\), [0-9]* thread(s)$/\1/p' "$out/mlp.ours")
torch_line=$(head -n 1 "$out/mlp.theirs")
backend=$(sed -n 's/^ *ATen parallel backend: //p' "$out/mlp.theirs")
echo "== Summary =="
echo
torch_blas=$(sed -n '1s/.*, BLAS \([^,]*\),.*/\1/p' "$out/mlp.theirs")
echo "CPU: $(sed -n 's/^CPU: //p' "$out/mlp.ours") ($(nproc) CPUs), $threads threads."
echo "libtinynn $(sed -n 's/^libtinynn \([^,]*\),.*/\1/p' "$out/mlp.ours"): $blas."
convs=$(sed -n 's/^ *convolutions: //p' "$out/cnn.theirs")
echo "${torch_line%%,*}: parallel backend $backend (OMP_WAIT_POLICY=passive)," \
     "BLAS ${torch_blas##*/}, convolutions by $convs."
echo "Seconds per epoch: median of all epochs, the first included" \
     "($mlp_epochs MLP, $cnn_epochs convnet); inference: the 10,000 test images."
echo
echo "| | libtinynn | PyTorch | ratio | floor | ratio to floor |"
echo "|---|---:|---:|---:|---:|---:|"
row() { # label ours theirs floor
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" \
        "$(ratio "$2" "$3")" "$4" "$(ratio "$2" "$4")"
}
row "MLP train s/epoch" "${v[mlp.ours.epoch]}" "${v[mlp.theirs.epoch]}" "${v[mlp.floor]}"
row "MLP inference s" "${v[mlp.ours.infer]}" "${v[mlp.theirs.infer]}" "${v[mlp.infer_floor]}"
row "CNN train s/epoch" "${v[cnn.ours.epoch]}" "${v[cnn.theirs.epoch]}" "${v[cnn.floor]}"
row "CNN inference s" "${v[cnn.ours.infer]}" "${v[cnn.theirs.infer]}" "${v[cnn.infer_floor]}"
echo
echo "Ratio: libtinynn / PyTorch. Floor: MLP, its matrix products alone (on the engine its dense layers use);" \
     "CNN, its conv and dense layers alone (tnn_layer_forward/backward)." \
     "Test accuracy: MLP ${v[mlp.ours.acc]}% / ${v[mlp.theirs.acc]}%," \
     "CNN ${v[cnn.ours.acc]}% / ${v[cnn.theirs.acc]}%."
