#!/bin/sh
# run.sh - build and run the host unit tests for lib/ and include/ntlist.h.
#
# Usage, from the repository root:  tests/host/run.sh OUTDIR   (e.g. build/host)
# Honours $CC (default cc). The library sources are compiled the way the kernel
# sees them (-ffreestanding -fno-builtin) but for the host; lib/string.c gets
# tests/host/krename.h force-included so its memcpy etc. become kmemcpy etc.
# and cannot collide with libc's. Each test prints "N passed, N failed" as
# its last line; this script adds them up, prints the total the same way, and
# exits non-zero if anything failed, failed to build, or crashed.
#
# Over-reads the output comparisons cannot see (strnlen past maxlen, %.3s past
# an unterminated array) show up with sanitizers, which go in through $CC:
#     CC="cc -fsanitize=address,undefined" tests/host/run.sh build/host-asan
#
# $CC and the flag variables are expanded unquoted on purpose: each may hold
# several words.
# shellcheck disable=SC2086
set -u

out=${1:?usage: tests/host/run.sh OUTDIR}
CC=${CC:-cc}
CFLAGS="-std=gnu11 -Wall -Wextra -Werror -Iinclude -I. -O1 -g"
LIBFLAGS="-ffreestanding -fno-builtin"

mkdir -p "$out" || exit 1

# build NAME SOURCE...: link one test program from its sources and lib objects.
build() {
    name=$1
    shift
    $CC $CFLAGS -o "$out/$name" "$@"
}

build_all() {
    $CC $CFLAGS $LIBFLAGS -c lib/printf.c -o "$out/printf.o" &&
    $CC $CFLAGS $LIBFLAGS -c lib/glob.c -o "$out/glob.o" &&
    $CC $CFLAGS $LIBFLAGS -include tests/host/krename.h \
        -c lib/string.c -o "$out/string.o" &&
    build test_printf tests/host/test_printf.c "$out/printf.o" &&
    build test_list tests/host/test_list.c &&
    build test_string tests/host/test_string.c "$out/string.o" "$out/glob.o"
}

if ! build_all; then
    echo "host tests: build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

passed=0
failed=0
for t in test_printf test_list test_string; do
    echo "== $t"
    "$out/$t" >"$out/$t.log" 2>&1
    status=$?
    cat "$out/$t.log"
    summary=$(tail -n 1 "$out/$t.log")
    p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        # No summary line: it crashed or was killed. Count that as a failure.
        echo "$t: exited with status $status without a summary"
        p=0
        f=1
    elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$t: exit status $status but no failures reported"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
