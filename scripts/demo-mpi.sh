#!/usr/bin/env bash
# make demo-mpi: the MNIST MLP on one process and on 2 ranks of mpirun,
# both with --mpi (libtinynn-mpi), and their test accuracies, which must
# agree within 0.1 points (docs/distributed.md).
#
#   scripts/demo-mpi.sh BUILD DATA_DIR OUT_DIR
set -euo pipefail
build=$1 data=$2 out=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=1 OMP_WAIT_POLICY=passive
accuracy() { sed -n 's/^Test accuracy: \([0-9.]*\)%$/\1/p' <<< "$1"; }
one=$(mpirun -np 1 "$build/mnist_mlp" --mpi -t 1 --data "$data" \
      --out "$out/mnist-mpi-1" | tr '\r' '\n')
two=$(mpirun --oversubscribe --bind-to none -np 2 "$build/mnist_mlp" --mpi \
      -t 1 --data "$data" --out "$out/mnist-mpi-2" | tr '\r' '\n')
a=$(accuracy "$one") b=$(accuracy "$two")
grep -A12 '^Test accuracy' <<< "$two"
awk -v a="$a" -v b="$b" 'BEGIN {
    d = a - b; if (d < 0) d = -d
    printf "demo-mpi: test accuracy %.2f%% on 2 ranks, %.2f%% on 1 process (difference %.2f points)\n", b, a, d
    exit d > 0.1 }' || { echo "demo-mpi: the ranks differ by more than 0.1 points" >&2; exit 1; }
