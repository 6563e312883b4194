#!/usr/bin/env bash
# Every function declared TNN_API in the header is exported, every export
# is declared, and each one carries a TINYNN_ version node.
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
echo "exports: $(echo "$declared" | wc -l) functions, all declared, exported, versioned and in docs/api.md"
