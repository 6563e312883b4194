#!/usr/bin/env bash
# make bench-mpi: the MLP and the convnet on 1 rank with 2 threads, then on
# 2 ranks with 1 thread each (the same 2 cores), and the scaling
# efficiency: seconds an epoch on 1 rank over seconds on 2 (1.0: the ranks
# lose nothing to communication and slicing).
#
#   bench/mpi.sh BUILD DATA_DIR EPOCHS
set -euo pipefail
build=$1 data=$2 epochs=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Ranks must not spin on each other's cores while waiting in the sums;
# no binding, which would put 1 rank's 2 threads on one core.
export OMPI_MCA_mpi_yield_when_idle=1
one=$(mpirun -np 1 --bind-to none "$build/bench_mpi" "$data" "$epochs" 2)
echo "$one"
two=$(mpirun --oversubscribe -np 2 --bind-to none "$build/bench_mpi" \
      "$data" "$epochs" 1)
echo "$two"
echo
for model in MLP convnet; do
    a=$(awk -v m="$model" '$1 == m {print $4}' <<< "$one")
    b=$(awk -v m="$model" '$1 == m {print $4}' <<< "$two")
    awk -v m="$model" -v a="$a" -v b="$b" 'BEGIN {
        printf "%-7s 1 rank x 2 threads %.3f s, 2 ranks x 1 thread %.3f s: efficiency %.2f\n",
               m, a, b, a / b }'
done
