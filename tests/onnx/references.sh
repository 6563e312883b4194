#!/usr/bin/env bash
# The ONNX half of make references, with PyTorch and python3-onnx:
#  - tests/onnx/gen_models.py, rerun, writes tests/data/onnx again: the
#    models byte for byte, PyTorch's outputs (which make check holds the
#    library's predictions to) within 1e-6 + 1e-6 |x|, since they differ
#    in the last digits between CPUs (tests/onnx/compare_goldens.py);
#  - the numpy evaluator's embedding (Gather), LSTM and GRU give PyTorch's
#    outputs on PyTorch's exports of them (check_export.py --fixture);
#  - the library's exports of a model of every layer kind
#    (tests/onnx/export_cases.c) pass onnx.checker's full check and give
#    the library's predictions when tests/onnx/check_export.py evaluates
#    them with numpy, and when tests/onnx/check_torch.py evaluates them
#    with PyTorch's own embedding, LSTM and GRU.
#
#   BUILD=build tests/onnx/references.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BUILD:=build}" "${PYTHON:=/usr/bin/python3}" "${CC:=cc}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/golden"
"$PYTHON" tests/onnx/gen_models.py "$work/golden" > /dev/null
"$PYTHON" tests/onnx/compare_goldens.py tests/data/onnx "$work/golden" || {
    echo "references: tests/onnx/gen_models.py no longer writes tests/data/onnx" >&2
    exit 1
}
echo "references: tests/data/onnx is what PyTorch exports ($(wc -l < tests/data/onnx/MANIFEST) cases)"

for model in tests/data/onnx/lstm_*.onnx tests/data/onnx/gru_*.onnx \
    tests/data/onnx/emb_*.onnx; do
    "$PYTHON" tests/onnx/check_export.py --fixture "$model" "${model%.onnx}.txt"
done

mkdir "$work/exports"
"$CC" -std=c11 -Iinclude tests/onnx/export_cases.c -o "$work/export_cases" \
    -L"$BUILD" -Wl,-rpath,"$(cd "$BUILD" && pwd)" -ltinynn
"$work/export_cases" "$work/exports" > "$work/cases"
while read -r name; do
    "$PYTHON" tests/onnx/check_export.py "$work/exports/$name.onnx" \
        "$work/exports/$name.txt"
    "$PYTHON" tests/onnx/check_torch.py "$work/exports/$name.onnx" \
        "$work/exports/$name.txt"
done < "$work/cases"
