#!/usr/bin/env bash
# Print a Debian symbols file from a linker version script: every global
# symbol, and each version node itself, with the release that introduced
# it (node NAME_X.Y: release X.Y.0).
#
#   scripts/gen-symbols.sh MAP SONAME PACKAGE DEV_PACKAGE
#
# debian/libtinynn1.symbols and debian/libtinynn-mpi1.symbols are its
# output; tests/exports.sh checks that they still are.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 MAP SONAME PACKAGE DEV_PACKAGE" >&2; exit 2; }
map=$1 soname=$2 package=$3 dev=$4
echo "$soname $package #MINVER#"
echo "* Build-Depends-Package: $dev"
awk '
    /^[A-Z_]+_[0-9]+\.[0-9]+ *\{/ {
        node = $1
        release = node
        sub(/^[A-Z_]+_/, "", release)
        release = release ".0"
        print " " node "@" node " " release
        next
    }
    /^ *global:/ { global = 1; next }
    /^ *local:/ { global = 0; next }
    /^ *\}/ { global = 0; next }
    global && /^ *[a-z_0-9]+;/ {
        symbol = $1
        sub(/;$/, "", symbol)
        print " " symbol "@" node " " release
    }
' "$map" | LC_ALL=C sort
