#!/usr/bin/env bash
# Build the Debian packages (debian/) from a copy of the working tree, with
# dpkg-buildpackage -us -uc -b, and check them with lintian: any error or
# warning fails (a tag accepted for a reason would go, with the reason,
# into debian/<package>.lintian-overrides; none is needed today). The
# packages end up in OUTDIR, their debug symbols in OUTDIR/dbgsym; what a
# previous run left there is replaced, nothing else in OUTDIR is touched.
#
#   scripts/deb.sh OUTDIR
set -euo pipefail
out=${1:?usage: scripts/deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n '1s/^libtinynn (\([^)]*\)).*/\1/p' debian/changelog)

# A copy without build trees, downloaded data or version control, outside
# the tree, so that the packages are built from the sources alone and the
# tree stays clean.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$work/libtinynn-$version"
mkdir "$src"
tar -cf - --exclude-vcs --exclude='./build*' --exclude=./data \
    --exclude=./out --exclude='./.ci' . | tar -xf - -C "$src"

cd "$src"
dpkg-checkbuilddeps
DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b
cd "$work"
lintian --fail-on error,warning --display-level '>=warning' ./*.changes

rm -f "$out"/libtinynn*.deb "$out"/libtinynn*.changes "$out"/libtinynn*.buildinfo
rm -rf "$out/dbgsym"
mkdir "$out/dbgsym"
shopt -s nullglob
dbgsym=(./*-dbgsym_*.deb)
[ ${#dbgsym[@]} -eq 0 ] || mv "${dbgsym[@]}" "$out/dbgsym/"
mv ./*.deb ./*.changes ./*.buildinfo "$out/"
echo "deb: built and lintian-clean in $out:"
ls -1 "$out"/*.deb
