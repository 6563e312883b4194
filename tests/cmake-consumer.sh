#!/usr/bin/env bash
# Build tests/cmake-consumer/ against an installed tree with CMake, shared
# and static (and the MPI companion when it is installed), run what it
# builds, and check which version requests the package accepts.
#
#   tests/cmake-consumer.sh PREFIX   (PREFIX empty: CMake's default search)
#
# Without cmake it says so and passes, unless REQUIRE_CMAKE=1 (CI).
set -euo pipefail
: "${CC:=cc}" "${SAN_FLAGS:=}"
prefix=${1:-}
if ! command -v cmake >/dev/null 2>&1; then
    if [ "${REQUIRE_CMAKE:-0}" = 1 ]; then
        echo "cmake-consumer: cmake not found (Debian package cmake)" >&2
        exit 1
    fi
    echo "cmake-consumer: cmake not found (Debian package cmake); skipped"
    exit 0
fi
src=$(cd "$(dirname "$0")/cmake-consumer" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake_args=(-DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$SAN_FLAGS"
            -DCMAKE_EXE_LINKER_FLAGS="$SAN_FLAGS")
[ -n "$prefix" ] && cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix")
libpath=${prefix:+$prefix/lib}

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

build() { # dir, extra cmake arguments
    local dir=$1; shift
    cmake -S "$src" -B "$dir" "${cmake_args[@]}" "$@" >"$dir.log" 2>&1 &&
        cmake --build "$dir" >>"$dir.log" 2>&1 || {
        cat "$dir.log" >&2; echo "cmake-consumer: build failed ($*)" >&2; exit 1; }
}

build "$work/shared" -DTINYNN_STATIC=OFF
LD_LIBRARY_PATH="$libpath" "$work/shared/consumer"
shared_needed=$(needed "$work/shared/consumer")
grep -qx 'libtinynn.so.1' <<<"$shared_needed" || {
    echo "cmake-consumer: tinynn::tinynn did not link libtinynn.so.1" >&2; exit 1; }

build "$work/static" -DTINYNN_STATIC=ON
env -u LD_LIBRARY_PATH "$work/static/consumer"
static_needed=$(needed "$work/static/consumer")
if grep -q libtinynn <<<"$static_needed"; then
    echo "cmake-consumer: tinynn::tinynn_static still needs libtinynn.so" >&2
    exit 1
fi

# The companion, when its CMake file is installed beside the core's.
cmake_dir=$(sed -n 's/^tinynn_DIR:PATH=//p' "$work/shared/CMakeCache.txt")
mpi=no
if [ -f "$cmake_dir/tinynn-mpiTargets.cmake" ]; then
    build "$work/mpi" -DTINYNN_MPI=ON
    if [[ "$SAN_FLAGS" != *thread* ]]; then
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            ASAN_OPTIONS=detect_leaks=0 LD_LIBRARY_PATH="$libpath" \
            timeout 120 mpirun --oversubscribe -np 2 "$work/mpi/mpi_consumer"
    fi
    mpi=yes
fi

# Same-major compatibility: any 1.x up to the installed one, a range that
# holds it within one major; not a newer minor, another major, a range
# below or one reaching into the next major; EXACT only the very string.
version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$cmake_dir/tinynnConfigVersion.cmake")
IFS=. read -r major minor _ <<<"$version"
next=$((major + 1))
expect="1.0 yes;$major.$minor yes;$major.$((minor + 1)) no;$next no;0.9 no"
expect+=";1.0...<$next yes;1.0...$major.99 yes;1.0...$next no;0.1...<1.0 no"
expect+=";=$version yes;=$major.$minor.99 no"
requests=$(sed 's/ [a-z]*;/;/g; s/ [a-z]*$//' <<<"$expect")
cmake -S "$src/versions" -B "$work/versions" -DTINYNN_CONFIG_DIR="$cmake_dir" \
    -DTINYNN_REQUESTS="$requests" >"$work/versions.log" 2>&1 || {
    cat "$work/versions.log" >&2; exit 1; }
got=$(sed -n 's/^-- request //p' "$work/versions.log" | paste -sd';')
if [ "$got" != "$expect" ]; then
    echo "cmake-consumer: version requests answered '$got', expected '$expect'" >&2
    exit 1
fi
echo "cmake-consumer: find_package(tinynn 1) shared and static consumers OK," \
     "MPI component: $mpi, version requests as expected"
