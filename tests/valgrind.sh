#!/usr/bin/env bash
# The whole Check suite under valgrind's memcheck, one process per suite
# (CK_FORK=no inside it, so that every test is seen), JOBS suites at a time
# (the machine's cores by default: memcheck runs a process on one core).
# Any error or definite or indirect leak fails. Each suite's report is
# printed whole when it ends.
#
#   BUILD=build tests/valgrind.sh          (SUITES="rng tensor": only those)
set -euo pipefail
: "${BUILD:=build}" "${JOBS:=$(nproc)}"
bin="$BUILD/tests/check_tinynn"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
suites=${SUITES:-$(sed -n 's/^ *X(\([a-z_0-9]*\)).*/\1/p' tests/testutil.h)}
[ -n "$suites" ] || { echo "valgrind: no suites found in tests/testutil.h" >&2; exit 1; }

# The longest suites start first (under memcheck on an AVX2 machine,
# backends about 509 s and layers 475 s, the others far less), so that the
# others fill the remaining slots while they run and the step ends near
# the longest suite's time, not when one of them started last. The rest
# keep their order; SUITES= is ordered the same way.
LONGEST="backends layers"
longest_first() {
    local all s
    all=$(printf '%s\n' $1)
    for s in $LONGEST; do
        grep -qx "$s" <<<"$all" && echo "$s"
    done
    grep -vxF -f <(printf '%s\n' $LONGEST) <<<"$all" || true
}
suites=$(longest_first "$suites")

# The loaders' tests that run a child with a deadline get 30 s instead of
# 3: memcheck scans the child's whole inherited heap for leaks when it
# exits. oneDNN runs its SSE4.1 kernels here: its AVX2 code (valgrind offers
# no AVX-512) loads the tails of rows with masked vector loads, which
# memcheck counts as reads of the whole vector, past the end of oneDNN's
# own buffers.
run_suite() {
    local suite=$1 started=$SECONDS rc=0
    CK_FORK=no CK_RUN_SUITE="$suite" CK_DEFAULT_TIMEOUT=600 \
        TNN_TEST_CHILD_SECONDS=30 DNNL_MAX_CPU_ISA=SSE41 \
        valgrind -q --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
        "$bin" > "$logs/$suite.log" 2>&1 || rc=$?
    { cat "$logs/$suite.log"; echo "valgrind: $suite: status $rc, $((SECONDS - started)) s"; } |
        flock "$logs/.print" cat
    [ "$rc" -eq 0 ] || touch "$logs/$suite.failed"
}
export -f run_suite
export bin logs

started=$SECONDS
printf '%s\n' $suites | xargs -P "$JOBS" -I{} bash -c 'run_suite "$1"' _ {}
failed=$(cd "$logs" && ls ./*.failed 2>/dev/null | sed 's|^\./||; s|\.failed$||' || true)
if [ -n "$failed" ]; then
    echo "valgrind: failed: $failed" >&2
    exit 1
fi
echo "valgrind: $(wc -w <<<"$suites") suites clean, $JOBS at a time, $((SECONDS - started)) s"
