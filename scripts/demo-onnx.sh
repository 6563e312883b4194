#!/usr/bin/env bash
# make demo-onnx: the MNIST MLP and convnet trained for one epoch in
# PyTorch (examples/onnx_train.py), exported to ONNX, loaded in C
# (examples/onnx_mnist.c), which checks that they predict what PyTorch
# predicted, trains them one more epoch and exports them again; the new
# exports are then read by an independent reader (python3-onnx's checker
# and tests/onnx/check_export.py) and compared with the C predictions.
#
#   scripts/demo-onnx.sh BUILD DATA_DIR OUT_DIR
set -euo pipefail
build=$1 data=$2 out=$3
python=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
echo "== 1. One epoch of each model in PyTorch, exported to ONNX =="
OMP_WAIT_POLICY=passive "$python" examples/onnx_train.py "$data" "$out"
echo "== 2. The exports in libtinynn: agreement with PyTorch, one more epoch in C =="
"$build/onnx_mnist" "$out" "$data"
echo "== 3. libtinynn's exports, read by python3-onnx and a numpy evaluator =="
for name in mlp cnn; do
    "$python" tests/onnx/check_export.py "$out/$name-finetuned.onnx" \
        "$out/$name-finetuned.txt"
done
