#!/usr/bin/env bash
# The version is said in five places that must agree: the header
# (TNN_VERSION_*), the newest release in CHANGELOG.md and in
# debian/changelog, the newest node of
# the version script (TINYNN_MAJOR.MINOR, which a minor release adds) and
# the built library (libtinynn.so.MAJOR.MINOR.PATCH with soname
# libtinynn.so.MAJOR).
set -euo pipefail
: "${BUILD:=build}"
field() { sed -n "s/^#define TNN_VERSION_$1 \([0-9]*\).*/\1/p" include/tinynn.h; }
major=$(field MAJOR) minor=$(field MINOR) patch=$(field PATCH)
version=$major.$minor.$patch
fail() { echo "version: $*" >&2; exit 1; }

released=$(sed -n 's/^## \[\([0-9][0-9.]*\)\] - [0-9-]*$/\1/p' CHANGELOG.md | head -n 1)
[ "$released" = "$version" ] ||
    fail "include/tinynn.h says $version, CHANGELOG.md's newest release is ${released:-none}"

packaged=$(sed -n '1s/^libtinynn (\([^)]*\)).*/\1/p' debian/changelog)
[ "$packaged" = "$version" ] ||
    fail "include/tinynn.h says $version, debian/changelog's newest entry is ${packaged:-none}"

node=$(sed -n 's/^\(TINYNN_[0-9.]*\) {.*/\1/p' lib/libtinynn.map | tail -n 1)
[ "$node" = "TINYNN_$major.$minor" ] ||
    fail "include/tinynn.h says $version, the newest node of lib/libtinynn.map is $node"

lib=$BUILD/libtinynn.so.$version
[ -f "$lib" ] || fail "$lib was not built"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libtinynn.so.$major" ] ||
    fail "$lib has soname $soname, not libtinynn.so.$major"
echo "version: $version in the header, CHANGELOG.md, debian/changelog, lib/libtinynn.map ($node) and $lib (soname $soname)"
