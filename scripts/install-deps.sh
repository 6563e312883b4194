#!/usr/bin/env bash
# The packages that building, testing and the demo need.
#
#   scripts/install-deps.sh [extra ...]
#
# Required: a C compiler, make, pkg-config, a CBLAS and Check. Optional:
# what some checks and build options use (C++ for the header check, oneDNN
# and OpenBLAS's OpenMP build for speed, the ABI tools, valgrind, clang's
# sanitizer and fuzzer runtimes, Open MPI for libtinynn-mpi, zlib for
# gzip-compressed CSV files, CMake for the CMake package's consumer test,
# mandoc for the manual pages' lint); a check whose tool is missing is skipped
# with a message. Extras (the demo's npm, curl) count as required.
#
# On Debian or Ubuntu, as root, whatever is missing is installed (the
# README's two commands set a fresh machine up this way). Not as root, a
# missing required package stops the run with the exact apt-get line; a
# missing optional one is named, with its line, and the run goes on.
# Elsewhere, the required tools are probed directly and any missing one is
# named; nothing is installed.
#
# An extra of the form PACKAGE=COMMAND counts as present when COMMAND is on
# the PATH, however it was installed (npm often comes with Node.js from
# elsewhere than Debian's npm package).
set -euo pipefail

required=(gcc make pkg-config libopenblas-dev check "$@")
optional=(g++ libopenblas0-openmp libblas-dev libdnnl-dev abigail-tools
          valgrind clang libclang-rt-dev libopenmpi-dev openmpi-bin zlib1g-dev
          cmake mandoc)

# ---- elsewhere than Debian: probe, never install --------------------------
# cblas.h and a library that links, as the Makefile looks for them (BLAS=
# openblas through openblas.pc, BLAS=reference as plain -lblas).
have_cblas() {
    local cc=$1 flags
    flags=$(pkg-config --cflags openblas 2>/dev/null || true)
    # shellcheck disable=SC2086
    printf '#include <cblas.h>\nint main(void){return 0;}\n' |
        "$cc" -x c $flags -o /dev/null - -lopenblas >/dev/null 2>&1 && return 0
    printf '#include <cblas.h>\nint main(void){return 0;}\n' |
        "$cc" -x c -o /dev/null - -lblas >/dev/null 2>&1
}

probe_elsewhere() {
    local missing=() cc=${CC:-cc}
    command -v "$cc" >/dev/null 2>&1 || missing+=("a C11 compiler ($cc)")
    command -v make >/dev/null 2>&1 || missing+=("GNU make")
    if command -v pkg-config >/dev/null 2>&1; then
        pkg-config --exists check || missing+=("Check (check.pc)")
    else
        missing+=("pkg-config" "Check (check.pc)")
    fi
    if command -v "$cc" >/dev/null 2>&1 && ! have_cblas "$cc"; then
        missing+=("a CBLAS (OpenBLAS with openblas.pc, or cblas.h and -lblas)")
    fi
    for item in "$@"; do
        local cmd=${item#*=}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "install-deps: not a Debian system; install these with the" \
             "system's package manager:" >&2
        printf '  %s\n' "${missing[@]}" >&2
        return 1
    fi
    for tool in c++ abidiff valgrind clang; do
        command -v "$tool" >/dev/null 2>&1 ||
            echo "install-deps: optional $tool not found; the checks that" \
                 "use it are skipped" >&2
    done
    return 0
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    extras=()
    for item in "$@"; do
        [ "${item%%=*}" != "$item" ] && extras+=("$item")
    done
    probe_elsewhere "${extras[@]+"${extras[@]}"}"
    exit $?
fi

# ---- Debian -----------------------------------------------------------------
missing_of() {
    local item pkg status
    for item in "$@"; do
        pkg=${item%%=*}
        if [ "$pkg" != "$item" ] && command -v "${item#*=}" >/dev/null 2>&1; then
            continue
        fi
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || echo "$pkg"
    done
}

mapfile -t need < <(missing_of "${required[@]}")
mapfile -t want < <(missing_of "${optional[@]}")
[ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    if [ ${#need[@]} -gt 0 ]; then
        echo "install-deps: missing packages; run:" >&2
        echo "  sudo apt-get install -y ${need[*]} ${want[*]}" >&2
        exit 1
    fi
    echo "install-deps: optional packages missing (the checks that need" \
         "them are skipped); to add them, run:" >&2
    echo "  sudo apt-get install -y ${want[*]}" >&2
    exit 0
fi

all=("${need[@]+"${need[@]}"}" "${want[@]+"${want[@]}"}")
echo "install-deps: installing ${all[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${all[@]}" >/dev/null
