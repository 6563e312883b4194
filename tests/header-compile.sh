#!/usr/bin/env bash
# The public header must compile on its own as strict C99 and as C++, and
# the README's usage example must compile and link against the library.
set -euo pipefail
: "${CC:=cc}" "${CXX:=c++}" "${BUILD:=build}" "${SAN_FLAGS:=}"
out="$BUILD/header-test"
mkdir -p "$out"

printf '#include "tinynn.h"\nint main(void) { return tnn_version_number() > 0 ? 0 : 1; }\n' \
    > "$out/c99.c"
"$CC" -std=c99 -pedantic-errors -Wall -Wextra -Werror -Iinclude \
    -c "$out/c99.c" -o "$out/c99.o"

if command -v "$CXX" >/dev/null 2>&1; then
    printf '#include "tinynn.h"\nint main() { return tnn_version_number() > 0 ? 0 : 1; }\n' \
        > "$out/cxx.cpp"
    "$CXX" -std=c++11 -pedantic-errors -Wall -Wextra -Werror -Iinclude \
        -c "$out/cxx.cpp" -o "$out/cxx.o"
    # C++ must see C linkage: the object refers to the unmangled name.
    grep -q ' U tnn_version_number$' <<< "$(nm "$out/cxx.o")"
else
    echo "header-compile: $CXX not found; C++ check skipped" >&2
    exit 1
fi

# README's example: the first ```c block.
awk '/^```c$/ {on=1; next} /^```$/ {if (on) exit} on' README.md > "$out/readme.c"
[ -s "$out/readme.c" ] || { echo "header-compile: no C example in README.md" >&2; exit 1; }
"$CC" -std=c99 -Wall -Wextra -Werror $SAN_FLAGS -Iinclude "$out/readme.c" \
    -o "$out/readme" -L"$BUILD" -Wl,-rpath,"$(cd "$BUILD" && pwd)" -ltinynn -lm
"$out/readme" > "$out/readme.out"
grep -q "accuracy 1.00" "$out/readme.out" || { echo "header-compile: README example did not learn XOR: $(cat "$out/readme.out")" >&2; exit 1; }
# The second ```c block is examples/mnist_short.c, the seed experiment in
# at most 30 lines; examples.sh builds it, and make demo runs it.
awk '/^```c$/ {n++; if (n == 2) {on=1; next}} /^```$/ {if (on) exit} on' README.md > "$out/short.c"
cmp -s "$out/short.c" examples/mnist_short.c || { echo "header-compile: README's second example is not examples/mnist_short.c" >&2; exit 1; }
[ "$(wc -l < examples/mnist_short.c)" -le 30 ] || { echo "header-compile: examples/mnist_short.c is over 30 lines" >&2; exit 1; }
"$CC" -std=c99 -Wall -Wextra -Werror $SAN_FLAGS -Iinclude "$out/short.c" \
    -o "$out/short" -L"$BUILD" -ltinynn -lm
echo "header-compile: C99, C++, README example and the 30-line MNIST program OK"
