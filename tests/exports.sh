#!/usr/bin/env bash
# Every function declared TNN_API in the header is exported, every export
# is declared, and each one carries a TINYNN_ version node; each one has
# its row in docs/api.md and its manual page (make man), and the Debian
# symbols files are what the version scripts say.
set -euo pipefail
: "${BUILD:=build}"
so="$BUILD/libtinynn.so.1"
declared=$(grep -oE '^TNN_API [^(]*\(' include/tinynn.h |
           sed -E 's/.*[ *]([a-z0-9_]+)\($/\1/' | sort)
exported=$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' |
           sed 's/@.*//' | sort)
if [ "$declared" != "$exported" ]; then
    echo "exports: header and library disagree:" >&2
    diff <(echo "$declared") <(echo "$exported") >&2 || true
    exit 1
fi
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^TINYNN_' |
      grep -v -E '^tnn_[a-z0-9_]+@@?TINYNN_[0-9]+\.[0-9]+$' || true)
if [ -n "$bad" ]; then
    echo "exports: unversioned or foreign symbols: $bad" >&2
    exit 1
fi
undocumented=$(for f in $declared; do grep -q "\b$f\b" docs/api.md || echo "$f"; done)
if [ -n "$undocumented" ]; then
    echo "exports: missing from docs/api.md: $undocumented" >&2
    exit 1
fi
mpi_declared=$(grep -oE '^TNN_MPI_API [^(]*\(' include/tinynn_mpi.h |
               sed -E 's/.*[ *]([a-z0-9_]+)\($/\1/' | sort)
[ -d "$BUILD/man" ] || { echo "exports: $BUILD/man missing (make man)" >&2; exit 1; }
pageless=$(for f in $declared $mpi_declared libtinynn tinynn_mpi; do
               [ -s "$BUILD/man/$f.3" ] || echo "$f"; done)
if [ -n "$pageless" ]; then
    echo "exports: no manual page in $BUILD/man for: $pageless" >&2
    exit 1
fi
check_symbols() { # map soname package dev-package
    if ! diff -u "debian/$3.symbols" <(bash scripts/gen-symbols.sh "$@") >&2; then
        echo "exports: debian/$3.symbols does not match $1; regenerate it with" \
             "scripts/gen-symbols.sh $*" >&2
        exit 1
    fi
}
check_symbols lib/libtinynn.map libtinynn.so.1 libtinynn1 libtinynn-dev
check_symbols lib/mpi/libtinynn-mpi.map libtinynn-mpi.so.1 libtinynn-mpi1 libtinynn-mpi-dev
echo "exports: $(echo "$declared" | wc -l) functions, all declared, exported," \
     "versioned, in docs/api.md, with manual pages and in the Debian symbols files"
