#!/bin/sh
# need.sh PURPOSE - make sure the tools for PURPOSE (build, run, uefi, test,
# debug, bench, mutants, gui, trace) are installed.  On Debian 12 and 13 and Ubuntu 22.04 and
# 24.04, missing packages are installed with apt-get when we are root or have
# password-less sudo; otherwise, and on any other distribution, we stop with
# one line that names the exact packages.
#
# The compiler is part of `build`: the host's gcc (or clang, CC=clang) and
# binutils on x86-64; on any other machine (arm64) the x86-64 cross
# toolchain, whose tools the Makefile finds through CROSS=x86_64-linux-gnu-,
# and GRUB's two PC platforms from the amd64 architecture (their files are
# the same on every host; Debian serves them through `dpkg
# --add-architecture amd64`).
#
# Environment: CC and CROSS as the Makefile passes them.  For
# scripts/test-need.sh, which checks the decisions without root:
#   NEED_DRY_RUN=1   print "would install: PACKAGES" (or "nothing to install")
#                    and the CROSS prefix, and install nothing
#   NEED_OS_RELEASE  the os-release file to read (default /etc/os-release)
#   NEED_ARCH        the machine, as `uname -m` says it (default: uname -m)
#   NEED_ROOT        a prefix for the absolute paths looked at (default none)
set -e

arch=${NEED_ARCH:-$(uname -m)}
case $arch in
    x86_64|amd64)
        cross="" cc_package=gcc ld_package=binutils foreign="" ;;
    *)
        cross=x86_64-linux-gnu- cc_package=gcc-x86-64-linux-gnu
        ld_package=binutils-x86-64-linux-gnu foreign=":amd64" ;;
esac
CROSS=${CROSS-$cross}
cc=${CC:-${CROSS}gcc}
case $cc in
    *clang*) compiler="$cc:clang" ;;
    *) compiler="$cc:$cc_package" ;;
esac

# tool:package pairs, per purpose.  An absolute tool is a file that must exist.
build_tools="$compiler ${CROSS}ld:$ld_package ${CROSS}nm:$ld_package
    grub-mkrescue:grub-common grub-file:grub-common xorriso:xorriso mformat:mtools
    /usr/lib/grub/i386-pc/modinfo.sh:grub-pc-bin$foreign
    /usr/lib/grub/x86_64-efi/modinfo.sh:grub-efi-amd64-bin$foreign"
run_tools="qemu-system-x86_64:qemu-system-x86"
uefi_tools="$run_tools /usr/share/OVMF/OVMF_CODE_4M.fd:ovmf /usr/share/OVMF/OVMF_VARS_4M.fd:ovmf"
test_tools="$run_tools python3:python3"
debug_tools="$run_tools gdb:gdb"
bench_tools="$test_tools gnuplot:gnuplot-nox"
mutants_tools="$test_tools patch:patch"
trace_tools="$test_tools rsvg-convert:librsvg2-bin"
# make run GUI=1: QEMU's window comes as a module of its own package.
gui_tools="$run_tools /usr/lib/$arch-linux-gnu/qemu/ui-gtk.so:qemu-system-gui"

case "$1" in
    build) want=$build_tools ;;
    run) want=$run_tools ;;
    uefi) want=$uefi_tools ;;
    test) want=$test_tools ;;
    debug) want=$debug_tools ;;
    bench) want=$bench_tools ;;
    mutants) want=$mutants_tools ;;
    gui) want=$gui_tools ;;
    trace) want=$trace_tools ;;
    *) echo "usage: $0 build|run|uefi|gui|test|debug|bench|mutants|trace" >&2; exit 2 ;;
esac

missing=""
for pair in $want; do
    tool=${pair%%:*} package=${pair#*:}
    case $tool in
        /*) [ -e "${NEED_ROOT:-}$tool" ] && continue ;;
        *) command -v "$tool" >/dev/null 2>&1 && continue ;;
    esac
    case " $missing " in *" $package "*) ;; *) missing="$missing $package" ;; esac
done

if [ -n "${NEED_DRY_RUN:-}" ]; then
    echo "would install:${missing:- nothing}"
    echo "CROSS=$CROSS"
fi
[ -z "$missing" ] && exit 0

# The distributions whose package names were checked (all four use the same
# names, cross toolchain included).
ID="" VERSION_ID="" PRETTY_NAME=""
os_release=${NEED_OS_RELEASE:-/etc/os-release}
[ -r "$os_release" ] && . "$os_release"
case "$ID $VERSION_ID" in
    "debian 12"|"debian 13"|"ubuntu 22.04"|"ubuntu 24.04") known=yes ;;
    *) known="" ;;
esac
add_arch=""
[ -n "$foreign" ] && case $missing in *:amd64*) add_arch=yes ;; esac
if [ -n "$add_arch" ] && [ "$ID" = ubuntu ]; then
    known=""                            # Ubuntu's ports archive has no amd64 packages
fi

command="apt-get install -y$missing"
if [ -n "${NEED_DRY_RUN:-}" ]; then
    [ -n "$known" ] || echo "unknown distribution: ${PRETTY_NAME:-$ID $VERSION_ID}"
    [ -z "$add_arch" ] || echo "foreign architecture: amd64"
    exit 0
fi
if [ -z "$known" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing packages on ${PRETTY_NAME:-an unknown system}, which need.sh cannot" \
         "install (it knows Debian 12, 13 and Ubuntu 22.04, 24.04); install these or their" \
         "equivalents:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    prefix=""
    [ -z "$add_arch" ] || prefix="sudo dpkg --add-architecture amd64 && "
    echo "error: missing packages:$missing; cannot install them as $(id -un). Run:" \
         " ${prefix}sudo apt-get update && sudo $command" >&2
    exit 1
fi
echo "ntsync: installing with: $sudo $command"
export DEBIAN_FRONTEND=noninteractive
[ -z "$add_arch" ] || $sudo dpkg --add-architecture amd64
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq $missing >/dev/null || {
    echo "error: '$sudo $command' failed; run it yourself to see why" >&2
    exit 1
}
