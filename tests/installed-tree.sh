#!/usr/bin/env bash
# Install into a temporary prefix, build an outside program with pkg-config
# against the shared library and, through the module tinynn-static,
# against the static one, then with CMake (tests/cmake-consumer.sh); then
# check that uninstall removes exactly what install put there.
set -euo pipefail
: "${CC:=cc}" "${BUILD:=build}" "${SAN_FLAGS:=}" "${MAKE:=make}" "${BLAS:=openblas}"
# The build's oneDNN choice, so that installing does not rebuild with another.
dnnl=(${DNNL:+DNNL="$DNNL"})
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
prefix="$root/usr"
stage="$root/stage"
out="$root/out"
mkdir -p "$out" "$stage"

# Install with DESTDIR staging, as packagers do.
$MAKE --no-print-directory -s install PREFIX="$prefix" DESTDIR="$stage" \
    BUILD="$BUILD" BLAS="$BLAS" "${dnnl[@]}" SANITIZE="${SANITIZE:-}" >/dev/null
# Then for real into the prefix the .pc file names.
$MAKE --no-print-directory -s install PREFIX="$prefix" BUILD="$BUILD" \
    BLAS="$BLAS" "${dnnl[@]}" SANITIZE="${SANITIZE:-}" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists tinynn
want=$(sed -n 's/^#define TNN_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' include/tinynn.h | paste -sd.)
[ "$(pkg-config --modversion tinynn)" = "$want" ]
[ -L "$prefix/lib/libtinynn.so" ]
[ -L "$prefix/lib/libtinynn.so.1" ]

# Shared.
"$CC" $SAN_FLAGS tests/consumer.c -o "$out/consumer" \
    $(pkg-config --cflags --libs tinynn)
LD_LIBRARY_PATH="$prefix/lib" "$out/consumer"
# ldd's whole output first: grep -q would end the pipe early (SIGPIPE).
deps=$(LD_LIBRARY_PATH="$prefix/lib" ldd "$out/consumer")
grep -q "libtinynn.so.1 => $prefix/lib/libtinynn.so.1" <<< "$deps"

# Static, the line README gives: the module tinynn-static names the
# archive by its path (the linker would prefer the .so beside it) and the
# rest of the link line (BLAS, oneDNN, OpenMP, libm).
"$CC" $SAN_FLAGS tests/consumer.c -o "$out/consumer-static" \
    $(pkg-config --cflags --libs tinynn-static)
env -u LD_LIBRARY_PATH "$out/consumer-static"
# No libtinynn.so among the NEEDED entries.
needed=$(readelf -d "$out/consumer-static" | grep NEEDED || true)
if grep -q libtinynn <<< "$needed"; then
    echo "installed-tree: static consumer still needs libtinynn.so:" >&2
    echo "$needed" >&2
    exit 1
fi
# The rpath line README gives for a prefix outside the loader's cache.
"$CC" $SAN_FLAGS tests/consumer.c -o "$out/consumer-rpath" \
    $(pkg-config --cflags --libs tinynn) \
    -Wl,-rpath,"$(pkg-config --variable=libdir tinynn)"
env -u LD_LIBRARY_PATH "$out/consumer-rpath"

# The MPI companion, when it was built: a program from pkg-config
# tinynn-mpi alone, run on 2 ranks.
if [ -f "$prefix/lib/pkgconfig/tinynn-mpi.pc" ]; then
    [ -L "$prefix/lib/libtinynn-mpi.so.1" ]
    # shellcheck disable=SC2046
    "$CC" $SAN_FLAGS tests/mpi/consumer.c -o "$out/mpi-consumer" \
        $(pkg-config --cflags --libs tinynn-mpi)
    # Open MPI is not built with ThreadSanitizer: built, not run, there.
    if [[ "$SAN_FLAGS" != *thread* ]]; then
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            ASAN_OPTIONS=detect_leaks=0 LD_LIBRARY_PATH="$prefix/lib" \
            timeout 120 mpirun --oversubscribe -np 2 "$out/mpi-consumer"
    fi
fi

# The CMake package, shared and static, and the MPI component.
CC="$CC" SAN_FLAGS="$SAN_FLAGS" bash tests/cmake-consumer.sh "$prefix"

# Uninstall leaves nothing of ours behind in either tree.
for dest in "" "$stage"; do
    $MAKE --no-print-directory -s uninstall PREFIX="$prefix" DESTDIR="$dest" BUILD="$BUILD" BLAS="$BLAS" "${dnnl[@]}" >/dev/null
    left=$(find "$dest$prefix" -type f -o -type l -o -path '*/cmake/tinynn')
    if [ -n "$left" ]; then
        echo "installed-tree: uninstall left: $left" >&2
        exit 1
    fi
done
echo "installed-tree: pkg-config shared and static consumers OK, uninstall clean"
