#!/usr/bin/env bash
# Build the Debian packages (debian/) from a copy of the working tree in
# OUTDIR/src, with dpkg-buildpackage -us -uc -b, and check them with
# lintian: any error or warning fails (the accepted ones are overridden,
# with their reasons, in debian/*.lintian-overrides). The packages end up
# in OUTDIR, their debug symbols in OUTDIR/dbgsym.
#
#   scripts/deb.sh OUTDIR
set -euo pipefail
out=${1:?usage: scripts/deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n '1s/^libtinynn (\([^)]*\)).*/\1/p' debian/changelog)
src="$out/src/libtinynn-$version"

# A copy without build trees, downloaded data or version control, so that
# the packages are built from the sources alone and the tree stays clean.
rm -rf "$out"
mkdir -p "$src"
tar -cf - --exclude-vcs --exclude='./build*' --exclude=./data \
    --exclude=./out --exclude='./.ci' . | tar -xf - -C "$src"

cd "$src"
dpkg-checkbuilddeps
DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b
cd "$out/src"
lintian --fail-on error,warning --display-level '>=warning' ./*.changes
mkdir -p "$out/dbgsym"
mv ./*-dbgsym_*.deb "$out/dbgsym/"
mv ./*.deb ./*.changes ./*.buildinfo "$out/"
cd "$out"
rm -rf src
echo "deb: built and lintian-clean in $out:"
ls -1 ./*.deb
