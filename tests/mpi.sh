#!/usr/bin/env bash
# The MPI companion under mpirun with 2 and 3 ranks (tests/mpi/replicas.c),
# run by make check when Open MPI is installed. As root Open MPI asks for
# its two permission variables. 3 ranks on fewer cores need
# --oversubscribe.
set -euo pipefail
: "${CC:=cc}" "${BUILD:=build}" "${MPI_CFLAGS:=}" "${MPI_LIBS:=}" "${SAN_FLAGS:=}"

if ! command -v mpirun >/dev/null 2>&1; then
    echo "mpi: mpirun not found (Debian openmpi-bin); skipped"
    exit 0
fi
prog="$BUILD/tests/mpi_replicas"
mkdir -p "$(dirname "$prog")"
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Wextra -Werror -Iinclude $SAN_FLAGS $MPI_CFLAGS \
    tests/mpi/replicas.c -o "$prog" -L"$BUILD" -Wl,-rpath,"$(pwd)/$BUILD" \
    -ltinynn-mpi -ltinynn $MPI_LIBS -lm
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
for ranks in 2 3; do
    timeout 300 mpirun --oversubscribe -np "$ranks" \
        "$prog" "$scratch/model-$ranks.tnn"
done
