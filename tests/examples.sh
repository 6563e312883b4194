#!/usr/bin/env bash
# The example programs: linear regression agrees with the closed form with
# and without L2 (and its check can fail, and says when it diverges), bad
# option values are refused, and the MNIST examples explain missing or
# mismatched data instead of crashing. set -e stops only at the last command
# of an && list, so every check stands on a line of its own.
set -euo pipefail
: "${BUILD:=build}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# "gradient descent  t0  t1" and "closed form  t0  t1" lines.
field() { awk -v key="$2" '$0 ~ "^"key {print $(NF - 1) " " $NF}' "$1"; }
near() { awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN {d = a - b; if (d < 0) d = -d; exit !(d <= tol)}'; }

"$BUILD/linear_regression" --out "$out/plain" > "$out/plain.txt"
read -r gd0 gd1 <<< "$(field "$out/plain.txt" "gradient descent")"
read -r cf0 cf1 <<< "$(field "$out/plain.txt" "closed form")"
near "$gd0" "$cf0" 1e-3 || exit 1
near "$gd1" "$cf1" 1e-3
# The data are y = 4 + 3x + N(0, 1) noise on 1000 points.
near "$gd0" 4 0.2 || exit 1
near "$gd1" 3 0.2
grep -q '^result: agree' "$out/plain.txt"
[ -s "$out/plain/cost.svg" ]

"$BUILD/linear_regression" --lambda 0.1 --out "$out/l2" > "$out/l2.txt"
read -r l0 l1 <<< "$(field "$out/l2.txt" "gradient descent")"
read -r c0 c1 <<< "$(field "$out/l2.txt" "closed form")"
near "$l0" "$c0" 1e-3 || exit 1
near "$l1" "$c1" 1e-3
# L2 on both parameters shrinks the norm of theta.
awk -v a="$l0" -v b="$l1" -v c="$gd0" -v d="$gd1" \
    'BEGIN {exit !(a * a + b * b < c * c + d * d)}'

# Too few iterations: the check must fail with status 1.
rc=0
"$BUILD/linear_regression" --iterations 20 --out "$out/short" > "$out/short.txt" || rc=$?
[ "$rc" -eq 1 ] || exit 1
grep -q '^result: DISAGREE (more iterations or a larger alpha?' "$out/short.txt"
# Beyond the fastest step (about 0.85 here) a smaller one gets there sooner.
rc=0
"$BUILD/linear_regression" -a 0.88 -i 20 --out "$out/short" > "$out/long-step.txt" || rc=$?
[ "$rc" -eq 1 ] || exit 1
grep -q '^result: DISAGREE (more iterations or a smaller alpha?' "$out/long-step.txt"
# Too large a step diverges (above about 0.91 here): status 1, said with
# the iteration where it showed and the right advice, and no NaN printed.
for alpha in 10 0.95; do
    rc=0
    "$BUILD/linear_regression" -a $alpha --out "$out/diverge" > "$out/diverge.txt" 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || { echo "alpha $alpha: status $rc"; exit 1; }
    grep -q 'diverges at iteration 1:' "$out/diverge.txt"
    grep -q 'try a smaller alpha' "$out/diverge.txt"
    if grep -qi 'nan\|result:' "$out/diverge.txt"; then exit 1; fi
done

# Every numeric option takes all of its value, in range: empty, blank-led,
# trailing characters, NaN, too large or too small exit 2 naming the long
# option, before any data is read.
said_refused() { # what status message
    if [ "$2" -eq 2 ] && grep -qF -- "$3" "$out/refused.err"; then return 0; fi
    echo "$1: status $2, not 2 with \"$3\":"; cat "$out/refused.err"
    return 1
}
refused() { # program option value long-name
    local rc=0
    "$BUILD/$1" "$2" "$3" --data "$out/nowhere" --out "$out/refused" \
        > /dev/null 2> "$out/refused.err" || rc=$?
    said_refused "$1 $2 '$3'" "$rc" "invalid value '$3' for --$4"
}
lr_refused() { # linear_regression has no --data
    local rc=0
    "$BUILD/linear_regression" "$1" "$2" --out "$out/refused" \
        > /dev/null 2> "$out/refused.err" || rc=$?
    said_refused "linear_regression $1 '$2'" "$rc" "invalid value '$2' for --$3"
}
lr_refused --alpha banana alpha
lr_refused -a '' alpha
lr_refused -a 1e-10 alpha
lr_refused -a 11 alpha
lr_refused -i '' iterations
lr_refused --iterations 0 iterations
lr_refused -m '' samples
lr_refused --samples 5x samples
lr_refused -l '' lambda
lr_refused -l -1 lambda
lr_refused -t nan tolerance
lr_refused -e ' 5' every
lr_refused -s '' seed
lr_refused --seed 2147483648 seed
for prog in mnist_mlp mnist_cnn mnist_lstm; do
    refused $prog -m '' min-accuracy
    refused $prog --min-accuracy '' min-accuracy
    refused $prog -m 1.5 min-accuracy
    refused $prog -m 0.5x min-accuracy
    refused $prog -m ' 0.5' min-accuracy
    refused $prog -m nan min-accuracy
    refused $prog --epochs '' epochs
    refused $prog -e 1001 epochs
    refused $prog -b '' batch
    refused $prog --batch 0 batch
    refused $prog -s '' seed
    refused $prog -t '' threads
    refused $prog -t 0 threads
    refused $prog --validation '' validation
    refused $prog -v 99999999999999999999 validation
    refused $prog --shift 1x shift
done

rc=0
"$BUILD/mnist_mlp" --data "$out/nowhere" --out "$out/mnist" 2> "$out/mnist.err" > /dev/null || rc=$?
[ "$rc" -eq 1 ] || exit 1
grep -q 'fetch-mnist.sh' "$out/mnist.err"
grep -q 'tnn_idx_load' "$out/mnist.err"
# A tiny MNIST-shaped data set made here (no network): train, save, load
# and evaluate the saved model; it must score exactly what it scored.
byte() { printf "$(printf '\\x%02x' "$1")"; }
mk_idx() { # file type dims... ; the data comes from stdin
    local file=$1 type=$2; shift 2
    { byte 0; byte 0; byte "$type"; byte $#
      for d in "$@"; do
          byte $((d >> 24 & 255)); byte $((d >> 16 & 255))
          byte $((d >> 8 & 255)); byte $((d & 255))
      done
      cat; } > "$file"
}
labels() { for ((i = 0; i < $1; i++)); do byte $((i * 7 % 10)); done; }
tiny="$out/tiny"
mkdir -p "$tiny"
head -c $((300 * 784)) /dev/urandom | mk_idx "$tiny/train-images-idx3-ubyte" 8 300 28 28
labels 300 | mk_idx "$tiny/train-labels-idx1-ubyte" 8 300
head -c $((100 * 784)) /dev/urandom | mk_idx "$tiny/t10k-images-idx3-ubyte" 8 100 28 28
labels 100 | mk_idx "$tiny/t10k-labels-idx1-ubyte" 8 100
# Files that do not fit together are refused, naming both, before anything
# indexes them by row: fewer or more labels than images in the training
# pair (the hold-out split read past the labels) and in the test pair, and
# images of another size (the shifts assume 28x28).
bad_pair() { # set labels images
    local bad="$out/bad-$1-$2" rc=0
    mkdir -p "$bad"
    cp "$tiny"/*-ubyte "$bad"
    labels "$2" | mk_idx "$bad/$1-labels-idx1-ubyte" 8 "$2"
    "$BUILD/mnist_mlp" --data "$bad" "${@:4}" --out "$bad/pics" \
        > /dev/null 2> "$bad/err" || rc=$?
    [ "$rc" -eq 1 ] || { echo "$1 with $2 labels: status $rc"; exit 1; }
    grep -qF "$bad/$1-images-idx3-ubyte holds $3 images but $bad/$1-labels-idx1-ubyte holds $2 labels" \
        "$bad/err"
}
bad_pair train 250 300 --validation 100
bad_pair train 301 300 --validation 100
bad_pair train 299 300
bad_pair t10k 99 100
bad_pair t10k 101 100 --validation 100
small="$out/small"
mkdir -p "$small"
cp "$tiny"/*-ubyte "$small"
head -c $((300 * 100)) /dev/urandom | mk_idx "$small/train-images-idx3-ubyte" 8 300 10 10
rc=0
"$BUILD/mnist_cnn" --data "$small" --epochs 1 --out "$small/pics" \
    > /dev/null 2> "$small/err" || rc=$?
[ "$rc" -eq 1 ] || exit 1
grep -qF "$small/train-images-idx3-ubyte holds images of 100 pixels, not 28x28" "$small/err"
"$BUILD/mnist_mlp" --data "$tiny" --epochs 2 --batch 32 --save "$tiny/m.tnn" \
    --out "$tiny/pics" > "$tiny/train.txt"
"$BUILD/mnist_mlp" --data "$tiny" --epochs 0 --load "$tiny/m.tnn" \
    --out "$tiny/pics2" > "$tiny/eval.txt"
trained=$(grep '^Test accuracy' "$tiny/train.txt")
loaded=$(grep '^Test accuracy' "$tiny/eval.txt")
[ -n "$trained" ] || exit 1
[ "$trained" = "$loaded" ]
[ -s "$tiny/pics/training.svg" ] || exit 1
[ -s "$tiny/pics/confusion.svg" ]
grep -q 'Epoch 2/2' "$tiny/train.txt"
# The convnet the same way.
"$BUILD/mnist_cnn" --data "$tiny" --epochs 1 --batch 50 --save "$tiny/c.tnn" \
    --out "$tiny/cnn" > "$tiny/cnn-train.txt"
"$BUILD/mnist_cnn" --data "$tiny" --epochs 0 --load "$tiny/c.tnn" \
    --out "$tiny/cnn2" > "$tiny/cnn-eval.txt"
trained=$(grep '^Test accuracy' "$tiny/cnn-train.txt")
[ -n "$trained" ] || exit 1
[ "$trained" = "$(grep '^Test accuracy' "$tiny/cnn-eval.txt")" ]
grep -q '(None, 64, 5, 5)' "$tiny/cnn-train.txt"
# The LSTM the same way; it reads the images as 28 steps of 28 pixels,
# and takes no shifts.
"$BUILD/mnist_lstm" --data "$tiny" --epochs 1 --batch 50 --save "$tiny/l.tnn" \
    --out "$tiny/lstm" > "$tiny/lstm-train.txt"
"$BUILD/mnist_lstm" --data "$tiny" --epochs 0 --load "$tiny/l.tnn" \
    --out "$tiny/lstm2" > "$tiny/lstm-eval.txt"
trained=$(grep '^Test accuracy' "$tiny/lstm-train.txt")
[ -n "$trained" ] || exit 1
[ "$trained" = "$(grep '^Test accuracy' "$tiny/lstm-eval.txt")" ]
grep -q '(None, 28, 28)' "$tiny/lstm-train.txt"
grep -q 'lstm  *(None, 128)  *80896' "$tiny/lstm-train.txt"
[ -s "$tiny/lstm/confusion.svg" ]
rc=0
"$BUILD/mnist_lstm" --data "$tiny" --shift 1 --out "$tiny/lstm3" \
    > /dev/null 2> "$tiny/lstm-shift.err" || rc=$?
[ "$rc" -eq 2 ] || exit 1
grep -q 'shift' "$tiny/lstm-shift.err"
# Training on from a saved model: the MLP's constant-rate Adam carries on
# with its saved state; the convnet's schedule ended at 0, so it gets a new
# one for the new run, which must then change the model.
"$BUILD/mnist_mlp" --data "$tiny" --epochs 1 --batch 32 --load "$tiny/m.tnn" \
    --out "$tiny/more" > "$tiny/more.txt"
if grep -q 'A new optimizer' "$tiny/more.txt"; then exit 1; fi
"$BUILD/mnist_cnn" --data "$tiny" --epochs 1 --batch 50 --load "$tiny/c.tnn" \
    --out "$tiny/cnn3" > "$tiny/cnn-more.txt"
grep -q "^A new optimizer for this run: the saved one's learning rate has decayed to 0.$" \
    "$tiny/cnn-more.txt"
[ "$(grep '^Test loss' "$tiny/cnn-more.txt")" != \
  "$(grep '^Test loss' "$tiny/cnn-eval.txt")" ]
# Shifted training images (one fit per epoch, counted as one run) and a
# validation split taken from the training set.
"$BUILD/mnist_mlp" --data "$tiny" --epochs 2 --batch 50 --shift 2 \
    --validation 100 --out "$tiny/split" > "$tiny/split.txt"
grep -q '^200 training and 100 validation images' "$tiny/split.txt"
grep -q 'Epoch 2/2' "$tiny/split.txt"
grep -q '^Validation accuracy' "$tiny/split.txt"
if grep -q '^Test accuracy' "$tiny/split.txt"; then exit 1; fi
grep -q 'MNIST validation set' "$tiny/split/confusion.svg"
for n in 300 60000; do
    rc=0
    "$BUILD/mnist_mlp" --data "$tiny" --validation $n --out "$tiny/split" \
        > /dev/null 2> "$tiny/split.err" || rc=$?
    [ "$rc" -eq 1 ] || exit 1
    grep -q "cannot hold out $n of 300" "$tiny/split.err"
done
for bad in "--shift 9" "--shift -1" "--validation 0"; do
    rc=0
    # shellcheck disable=SC2086 # the option and its value are two words
    "$BUILD/mnist_mlp" --data "$tiny" $bad > /dev/null 2>&1 || rc=$?
    [ "$rc" -eq 2 ]
done
# onnx_mnist: usage, and a directory without PyTorch's exports, exit 2
# with a message.
rc=0
"$BUILD/onnx_mnist" > /dev/null 2> "$out/onnx-usage.txt" || rc=$?
[ "$rc" -eq 2 ] || exit 1
grep -q '^usage: onnx_mnist DIR' "$out/onnx-usage.txt"
rc=0
"$BUILD/onnx_mnist" "$out/no-exports" "$tiny" > /dev/null 2> "$out/onnx-missing.txt" || rc=$?
[ "$rc" -eq 2 ] || exit 1
grep -q "^onnx_mnist: cannot read $out/no-exports/mlp-probs.f32" "$out/onnx-missing.txt"
echo "examples: linear regression (plain, L2, failing check, divergence), refused option values, MNIST MLP, CNN and LSTM save/load, shifts and validation split on a tiny set, missing and mismatched data messages, onnx_mnist's usage and missing exports OK"
