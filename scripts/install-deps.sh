#!/usr/bin/env bash
# Install the Debian packages that building, testing and the demo need.
# As root on Debian/Ubuntu it installs what is missing; otherwise it prints
# the exact command and fails. Quiet when everything is present.
#
#   scripts/install-deps.sh [extra ...]
#
# An extra of the form PACKAGE=COMMAND counts as present when COMMAND is on
# the PATH, however it was installed (npm often comes with Node.js from
# elsewhere than Debian's npm package).
set -euo pipefail

# Build and test: compilers (C++ for the header check, clang with its
# sanitizer and libFuzzer runtimes for fuzzing), BLAS (OpenBLAS, its
# OpenMP build for THREADS=openmp, and the netlib reference), oneDNN (the
# convolutions; the build takes it when its header is there), Check, the
# ABI tools and valgrind.
packages=(gcc g++ make pkg-config libopenblas-dev libopenblas0-openmp
          libblas-dev libdnnl-dev check abigail-tools valgrind clang
          libclang-rt-dev "$@")

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian system; install these (or their" \
         "equivalents) by hand: ${packages[*]%%=*}" >&2
    exit 1
fi

missing=()
for item in "${packages[@]}"; do
    pkg=${item%%=*}
    if [ "$pkg" != "$item" ] && command -v "${item#*=}" >/dev/null 2>&1; then
        continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing packages; run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
