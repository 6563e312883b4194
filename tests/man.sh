#!/usr/bin/env bash
# The manual pages that scripts/gen-man.pl makes from the headers: one per
# function declared TNN_API or TNN_MPI_API and none for anything else, each
# with a whatis line that man-db can index, clean under mandoc's lint and
# under groff's warnings as lintian runs them, and the same bytes from two
# runs. Run from the repository root: BUILD=dir bash tests/man.sh
set -euo pipefail
: "${BUILD:=build}"
out=$BUILD/man
fail() { echo "man: $*" >&2; exit 1; }

# Fresh pages, so that a page left from a function since removed is seen;
# other files there (the Makefile's stamp) stay.
mkdir -p "$out"
rm -f "$out"/*.3
perl scripts/gen-man.pl "$out"

# (a) A page for every declared function, the overview pages, nothing else.
declared() { sed -n "s/^$1 [^(]*[ *]\([a-z0-9_]*\)(.*/\1/p" "$2"; }
expected=$( { declared TNN_API include/tinynn.h
              declared TNN_MPI_API include/tinynn_mpi.h
              echo libtinynn; echo tinynn_mpi; } | sort)
made=$(cd "$out" && ls -- *.3 | sed 's/\.3$//' | sort)
if [ "$expected" != "$made" ]; then
    echo "man: pages and declarations differ (< declared, > page made):" >&2
    diff <(echo "$expected") <(echo "$made") >&2 || true
    exit 1
fi
pages=$(echo "$made" | wc -l)
functions=$((pages - 2))
for name in $made; do
    page=$out/$name.3
    grep -q "^$name \\\\- ..*" "$page" || fail "$page: no NAME line \"$name \\- ...\""
    case $name in
    libtinynn | tinynn_mpi) ;;
    *) sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$page" | grep -q "[ *]$name(" ||
           fail "$page: $name is not declared in its SYNOPSIS" ;;
    esac
done

# (b) mandoc's lint: nothing at warning level or above. Style messages are
# shown, not fatal (mandoc's opinions there vary between its versions).
if command -v mandoc >/dev/null 2>&1; then
    lint=$(mandoc -T lint -W warning "$out"/*.3 2>&1) ||
        fail "mandoc -T lint -W warning:"$'\n'"$lint"
    [ -z "$lint" ] || fail "mandoc -T lint -W warning:"$'\n'"$lint"
    style=$(mandoc -T lint -W style "$out"/*.3 2>&1 || true)
    if [ -n "$style" ]; then
        echo "man: mandoc style messages (not fatal):"
        echo "$style"
    fi
    clean=("mandoc lint")
else
    echo "man: mandoc not installed (Debian package mandoc); lint skipped"
    clean=()
fi

# (c) groff's warnings through man-db, as lintian asks for them; and the
# whatis line as mandb reads it.
if command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1; then
    # Pages in parallel, eight to a shell; each prints what groff said.
    warnings=$(printf '%s\0' "$out"/*.3 |
        xargs -0 -n 8 -P "$(nproc 2>/dev/null || echo 2)" sh -c '
            for page; do
                said=$(LC_ALL=C.UTF-8 MANROFFSEQ="" MANWIDTH=80 \
                    man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) ||
                    said="man failed${said:+: $said}"
                [ -z "$said" ] || printf "%s:\n%s\n" "$page" "$said"
            done' sh)
    [ -z "$warnings" ] || fail "groff warnings:"$'\n'"$warnings"
    if command -v lexgrog >/dev/null 2>&1; then
        # One "PAGE: "name - whatis"" line a page, as mandb will index it.
        whatis=$(lexgrog "$out"/*.3 2>&1) || fail "lexgrog cannot read every NAME:"$'\n'"$whatis"
        bad=$(echo "$whatis" | grep -v '^\(.*/\)\?\([a-z0-9_]*\)\.3: "\2 - .' || true)
        [ -z "$bad" ] || fail "bad whatis entries:"$'\n'"$bad"
    fi
    clean+=(groff)
else
    echo "man: man (man-db) or groff (groff-base) not installed; groff warnings not checked"
fi

# (d) Deterministic: a second run gives the same bytes.
again=$(mktemp -d "$BUILD/man-again.XXXXXX")
perl scripts/gen-man.pl "$again"
diff -r -x .stamp "$out" "$again" >/dev/null ||
    fail "two runs of scripts/gen-man.pl differ: diff -r $out $again"
rm -rf "$again"

case ${#clean[@]} in
0) checked="not linted" ;;
1) checked="${clean[0]} clean" ;;
*) checked="${clean[0]} and ${clean[1]} clean" ;;
esac
echo "man: $pages pages ($functions functions), $checked, deterministic"
