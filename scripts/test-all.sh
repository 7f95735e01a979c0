#!/bin/bash
# test-all.sh "MAKE" - run every suite (host unit tests, kernel tests of the
# checked and the free build, both again with race points on, SMP on 32
# vCPUs, the SMP and IRQL tests under UEFI firmware, the TSC calibrated
# against each reference, the screen console and the blue STOP screen, a
# traced boot, the shell and docs/tour.md over the serial port),
# then print one total "N passed, N failed" line.  Two suites run at a time
# (below: the kernels are built first, the light suites run in the background).
# Exit status is non-zero if any suite failed or printed no total.
set -u
make_cmd=$1
passed=0 failed=0 skipped=0 status=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

run_suite() {
    echo "=== $1"
    shift
    set -o pipefail
    $make_cmd "$@" 2>&1 | tee "$summary"
    local rc=$?
    local line
    line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$summary" | tail -n 1)
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        status=1
        [ -n "$line" ] || { echo "error: suite '$*' printed no result line"; failed=$((failed + 1)); }
    fi
    if [ -n "$line" ]; then
        set -- $(echo "$line" | grep -oE '[0-9]+ (passed|failed|skipped)' | tr '\n' ' ')
        while [ $# -ge 2 ]; do
            case $2 in
                passed) passed=$((passed + $1)) ;;
                failed) failed=$((failed + $1)) ;;
                skipped) skipped=$((skipped + $1)) ;;
            esac
            shift 2
        done
    fi
}

# Every kernel the suites boot is built before they start, so that they only
# read the build trees: two can then run at once without two makes writing
# one tree (the race-point builds, which only the foreground suites boot,
# are built while the background ones start).  The light suites (Python unit tests, the shell typed at
# over a serial pipe, which mostly waits, `make run`, one screendump) run in
# the background while the kernel suites keep both cores busy; their output
# is printed after the others', whole.
build() {
    $make_cmd all "$@" > "$summary" 2>&1 || { cat "$summary"; echo "error: make all $* failed"; exit 1; }
}
build CHECKED=1
build CHECKED=0

background=$(mktemp) background_counts=$(mktemp)
trap 'rm -f "$summary" "$background" "$background_counts"' EXIT
(
    summary=$(mktemp)
    trap 'rm -f "$summary"' EXIT
    run_suite "host unit tests" test-host
    run_suite "the shell and the tour" test-shell
    run_suite "make run" test-run
    run_suite "blue STOP screen" test-screen CHECKED=1
    echo "$passed $failed $skipped $status" > "$background_counts"
) > "$background" 2>&1 &
background_pid=$!
build CHECKED=1 RACE=1                  # the background suites do not boot these
build CHECKED=0 RACE=1

run_suite "checked kernel" test-kernel CHECKED=1
run_suite "free kernel" test-kernel CHECKED=0
run_suite "checked kernel, race points on" test-kernel CHECKED=1 RACE=1 TEST_SMP=8 NEG_SMP=
run_suite "free kernel, race points on" test-kernel CHECKED=0 RACE=1 TEST_SMP=4 NEG_SMP=
run_suite "checked kernel on 32 vCPUs" test-big CHECKED=1
run_suite "checked kernel under UEFI" test-uefi CHECKED=1
run_suite "checked kernel, threaded_dpcs=off" test-threaded-off CHECKED=1
run_suite "free kernel, threaded_dpcs=off" test-threaded-off CHECKED=0
for reference in hpet pmtimer pit; do
    run_suite "checked kernel, TSC against calibrate=$reference" test-calibrate CHECKED=1 CALIBRATE=$reference
done
run_suite "traced boot" test-trace CHECKED=1

wait "$background_pid"
cat "$background"
if [ -s "$background_counts" ]; then
    read -r bg_passed bg_failed bg_skipped bg_status < "$background_counts"
    passed=$((passed + bg_passed)) failed=$((failed + bg_failed)) skipped=$((skipped + bg_skipped))
    [ "$bg_status" = 0 ] || status=1
else
    echo "error: the background suites printed no counts"
    failed=$((failed + 1)) status=1
fi

echo "=== all suites"
if [ $skipped -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ] && exit $status
exit 1
