#!/bin/sh
# need.sh PURPOSE - make sure the tools for PURPOSE (build, run, test, debug,
# bench, mutants) are installed.  On Debian/Ubuntu, missing packages are installed with
# apt-get when we are root or have password-less sudo; otherwise we stop and
# print the exact command to run.
set -e

# tool:package pairs, per purpose
build_tools="grub-mkrescue:grub-common grub-file:grub-common xorriso:xorriso mformat:mtools /usr/lib/grub/i386-pc/modinfo.sh:grub-pc-bin"
run_tools="qemu-system-x86_64:qemu-system-x86"
test_tools="$run_tools python3:python3"
debug_tools="$run_tools gdb:gdb"
bench_tools="$test_tools gnuplot:gnuplot-nox"
mutants_tools="$test_tools patch:patch"

case "$1" in
    build) want=$build_tools ;;
    run) want=$run_tools ;;
    test) want=$test_tools ;;
    debug) want=$debug_tools ;;
    bench) want=$bench_tools ;;
    mutants) want=$mutants_tools ;;
    *) echo "usage: $0 build|run|test|debug|bench|mutants" >&2; exit 2 ;;
esac

missing=""
for pair in $want; do
    tool=${pair%%:*} package=${pair##*:}
    case $tool in
        /*) [ -e "$tool" ] && continue ;;
        *) command -v "$tool" >/dev/null 2>&1 && continue ;;
    esac
    case " $missing " in *" $package "*) ;; *) missing="$missing $package" ;; esac
done
[ -z "$missing" ] && exit 0

command="apt-get install -y$missing"
echo "ntsync: missing packages:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get here. Install the equivalents of:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    echo "error: cannot install as $(id -un). Run:  sudo apt-get update && sudo $command" >&2
    exit 1
fi
echo "ntsync: installing with: $sudo $command"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq $missing >/dev/null || {
    echo "error: '$sudo $command' failed; run it yourself to see why" >&2
    exit 1
}
