#!/usr/bin/env bash
# libFuzzer runs of libtinynn's file parsers: model files
# (tnn_model_load_buffer), IDX files (tnn_idx_load_buffer), delimited
# text (tnn_csv_load_buffer, and tnn_csv_load on the same bytes) and ONNX
# models (tnn_model_load_onnx_buffer, and the export of what it accepts).
#
#   tests/fuzz/run.sh           build the targets, fuzz each FUZZ_SECONDS
#   FUZZ_SECONDS=600 tests/fuzz/run.sh   the same, ten minutes per target
#   tests/fuzz/run.sh build     only build them
#   tests/fuzz/run.sh corpus    regenerate the committed seed corpora
#                               (after a change of the model file format)
#
# The corpora hold the seeds make_corpus.c writes and, named found-*, a
# few small inputs earlier runs found that reach code the seeds do not,
# and, named libtinynn_*, ONNX files of the library's own export;
# regenerating keeps those.
#
# Run from anywhere; paths are taken from the repository root.
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  which targets (default "model idx csv onnx")
#   BUILD         build directory (default build); outputs in $BUILD/fuzz
#   FUZZ_CC       compiler with libFuzzer (default clang)
#   CC            compiler for the corpus generator (default cc)
#   FUZZ_KEEP=1   keep the work directory after a clean run
#
# Each target fuzzes a copy of its seed corpus in a fresh work directory
# under $BUILD/fuzz, so the committed corpus never changes. The exit status
# is 0 when every target ran its time with no crash, leak, timeout or
# sanitizer report, and 1 otherwise; the crashing inputs stay in the work
# directory, whose path is printed.
#
# Needs clang with libFuzzer and the sanitizer runtimes: on Debian 12 the
# packages clang and libclang-rt-14-dev (or libclang-rt-dev, which follows
# the default clang; clang only recommends it).
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TARGETS=${FUZZ_TARGETS:-model idx csv onnx}
BUILD=${BUILD:-build}
FUZZ_CC=${FUZZ_CC:-clang}
# Absolute, so that the paths printed work from any directory.
case $BUILD in
/*) OUT=$BUILD/fuzz ;;
*) OUT=$PWD/$BUILD/fuzz ;;
esac
SRC=tests/fuzz

die() {
    echo "fuzz: $*" >&2
    exit 1
}

case $FUZZ_SECONDS in
'' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number of seconds" ;;
esac

# zlib, as the Makefile finds it: then tnn_csv_load() inflates gzip files,
# and fuzz_csv's file loads fuzz that too.
if [ -f /usr/include/zlib.h ]; then
    ZLIB_FLAGS=-DTNN_HAVE_ZLIB
    ZLIB_LIBS=-lz
else
    ZLIB_FLAGS=
    ZLIB_LIBS=
fi

# -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION makes lib/model_io_read.c skip its
# CRC checks, which a fuzzer could never satisfy. -DTNN_NO_CLONES because
# the ifunc resolvers of function clones run before the sanitizers are set
# up.
common_flags() {
    local blas
    blas=$(pkg-config --cflags openblas 2>/dev/null) ||
        die "pkg-config knows no openblas; install libopenblas-dev"
    # Word splitting of $blas is wanted: it may hold several flags.
    # shellcheck disable=SC2086
    printf '%s\n' -std=c11 -g -O1 \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
        -Iinclude -Ilib $blas -DTNN_HAVE_OPENBLAS -DTNN_NO_CLONES $ZLIB_FLAGS
}

# Fail early, naming the package, when clang cannot link libFuzzer: the
# linker's own message (cannot find libclang_rt.fuzzer-x86_64.a) does not
# say where the library comes from.
check_compiler() {
    command -v "$FUZZ_CC" >/dev/null 2>&1 ||
        die "$FUZZ_CC not found; install clang (or set FUZZ_CC)"
    local probe=$OUT/probe
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
        '{ (void)d; (void)n; return 0; }' >"$probe.c"
    if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$probe.c" \
        -o "$probe" >"$probe.log" 2>&1; then
        cat "$probe.log" >&2
        grep -q clang <<< "$("$FUZZ_CC" --version 2>/dev/null)" ||
            die "$FUZZ_CC is not clang; libFuzzer needs clang (FUZZ_CC)"
        local major
        major=$("$FUZZ_CC" -dumpversion 2>/dev/null | cut -d. -f1)
        die "$FUZZ_CC cannot link libFuzzer and the sanitizers; on" \
            "Debian/Ubuntu install libclang-rt-${major:-N}-dev"
    fi
    rm -f "$probe" "$probe.c" "$probe.log"
}

build_targets() {
    mkdir -p "$OUT"
    check_compiler
    local flags name pids=() status=0
    mapfile -t flags < <(common_flags)
    # The targets at once: each compiles the whole library with
    # instrumentation, which takes most of the build time.
    for name in $FUZZ_TARGETS; do
        [ -f "$SRC/fuzz_$name.c" ] || die "no target $SRC/fuzz_$name.c"
        echo "fuzz: building $OUT/fuzz_$name"
        "$FUZZ_CC" "${flags[@]}" lib/*.c "$SRC/fuzz_$name.c" \
            -o "$OUT/fuzz_$name" -lopenblas $ZLIB_LIBS -lm -lpthread \
            >"$OUT/fuzz_$name.build.log" 2>&1 &
        pids+=($!)
    done
    for name in $FUZZ_TARGETS; do
        if ! wait "${pids[0]}"; then
            cat "$OUT/fuzz_$name.build.log" >&2
            echo "fuzz: building fuzz_$name failed" >&2
            status=1
        fi
        pids=("${pids[@]:1}")
    done
    [ "$status" -eq 0 ] || exit 1
}

# Rebuild the seed corpora from the public API; the CRCs stay on in this
# build, so the seeds are files the real loader accepts.
make_corpus() {
    local cc=${CC:-cc} blas
    blas=$(pkg-config --cflags openblas 2>/dev/null) ||
        die "pkg-config knows no openblas; install libopenblas-dev"
    mkdir -p "$OUT"
    # shellcheck disable=SC2086
    "$cc" -std=c11 -O1 -g -Iinclude -Ilib $blas -DTNN_HAVE_OPENBLAS \
        -DTNN_NO_CLONES lib/*.c "$SRC/make_corpus.c" \
        -o "$OUT/make_corpus" -lopenblas -lm -lpthread
    local dir
    for dir in "$SRC/corpus/model" "$SRC/corpus/idx" "$SRC/corpus/csv" \
        "$SRC/corpus/onnx"; do
        [ -d "$dir" ] || continue
        find "$dir" -type f ! -name 'found-*' ! -name 'libtinynn_*' -delete
    done
    OPENBLAS_NUM_THREADS=1 "$OUT/make_corpus" "$SRC/corpus"
    # The ONNX seeds are real exports: PyTorch's, from the tests' golden
    # files.
    mkdir -p "$SRC/corpus/onnx"
    local onnx
    for onnx in mlp-opset11 mlp-opset13-typed mlp_act-opset17 \
        matmul_add-opset13 bn_mlp-opset13-fixed cnn-opset11 \
        cnn-opset17-fixed cnn_bn-opset13 cnn_avgpad-opset11 \
        cnn_avgpad-opset17 cnn_gap-opset13 cnn_global-opset17 \
        dropout_identity-opset13 bad_branch bad_op \
        bad_groups lstm_last-opset13-fixed gru_hn-opset11 emb_gru-opset13 \
        bad_bilstm; do
        cp "tests/data/onnx/$onnx.onnx" "$SRC/corpus/onnx/"
    done
    # The golden files, written by earlier releases, keep what they wrote
    # under the fuzzer too.
    local golden
    for golden in tests/data/golden-v*.tnn; do
        [ -f "$golden" ] || continue
        cp "$golden" "$SRC/corpus/model/"
        echo "copied $golden"
    done
}

# Fuzz one target; prints its executions; returns libFuzzer's status.
run_target() {
    local name=$1 work=$2
    local dir=$work/$name bin=$OUT/fuzz_$name
    mkdir -p "$dir/corpus" "$dir/crashes"
    cp "$SRC/corpus/$name"/* "$dir/corpus/"
    local opts=(-max_total_time="$FUZZ_SECONDS" -max_len=65536
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$dir/crashes/")
    [ -f "$SRC/$name.dict" ] && opts+=(-dict="$SRC/$name.dict")
    echo "fuzz: running fuzz_$name for ${FUZZ_SECONDS}s (log: $dir/log)"
    local status=0
    # TMPDIR: the scratch files of fuzz_idx and fuzz_csv go into the work
    # directory.
    TMPDIR=$dir OPENBLAS_NUM_THREADS=1 \
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin" "${opts[@]}" "$dir/corpus" >"$dir/log" 2>&1 || status=$?
    local execs cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" |
        tail -n 1)
    # libFuzzer prints no final stats when it stops at a finding; its last
    # progress line gives a lower bound.
    [ -n "$execs" ] ||
        execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/at least \1/p' \
            "$dir/log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -n 1 || true)
    if [ "$status" -eq 0 ]; then
        echo "fuzz: fuzz_$name: ${execs:-?} executions, ${cov:-cov: ?}," \
            "no crash"
        return 0
    fi
    echo "fuzz: fuzz_$name FAILED (status $status) after ${execs:-?}" \
        "executions; report:" >&2
    # The report, without libFuzzer's progress lines and ASan's shadow
    # map; the summary line last.
    grep -v -e '^#[0-9]' -e '^SUMMARY' "$dir/log" |
        awk '/^Shadow bytes/ { exit }
             /ERROR|check failed|runtime error|deadly signal|timeout/ {
                 on = 1 }
             on && shown++ < 40' >&2
    grep '^SUMMARY' "$dir/log" >&2 || true
    echo "fuzz: crashing inputs in $dir/crashes/:" >&2
    ls -l "$dir/crashes" >&2
    echo "fuzz: reproduce with: $bin $dir/crashes/<file>" >&2
    return "$status"
}

fuzz_all() {
    build_targets
    local work name failed=0
    work=$(mktemp -d "$OUT/run.XXXXXX")
    for name in $FUZZ_TARGETS; do
        run_target "$name" "$work" || failed=1
    done
    if [ "$failed" -ne 0 ]; then
        echo "fuzz: FAILED; work directory kept: $work" >&2
        exit 1
    fi
    if [ "${FUZZ_KEEP:-0}" = 1 ]; then
        echo "fuzz: work directory kept: $work"
    else
        rm -rf "$work"
    fi
    echo "fuzz: all targets ran ${FUZZ_SECONDS}s without a finding"
}

case ${1:-run} in
run) fuzz_all ;;
build) build_targets ;;
corpus) make_corpus ;;
*) die "usage: $0 [run|build|corpus]" ;;
esac
