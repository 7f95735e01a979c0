#!/bin/sh
# test-need.sh - check scripts/need.sh's decisions without root and without
# installing anything: need.sh runs in its dry-run mode (NEED_DRY_RUN=1)
# with a fake /etc/os-release, a fake machine (NEED_ARCH), a PATH that holds
# only the tools a case gives it, and NEED_ROOT pointing the absolute paths
# (GRUB's platform directories, OVMF) at an empty place.  Then the one case
# that must stop: an unknown distribution, for real, in one line.  And the
# Makefile's CROSS, derived from the machine.  Part of `make test-host`;
# prints "need: N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
here=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

os_release() {      # os_release NAME ID VERSION_ID PRETTY_NAME
    printf 'ID=%s\nVERSION_ID="%s"\nPRETTY_NAME="%s"\n' "$2" "$3" "$4" > "$tmp/$1"
}
os_release debian12 debian 12 "Debian GNU/Linux 12 (bookworm)"
os_release debian13 debian 13 "Debian GNU/Linux 13 (trixie)"
os_release ubuntu2204 ubuntu 22.04 "Ubuntu 22.04.4 LTS"
os_release ubuntu2404 ubuntu 24.04 "Ubuntu 24.04.1 LTS"
os_release fedora fedora 40 "Fedora Linux 40 (Forty)"

# A directory of fake tools: each name given becomes an executable stub.
mkdir -p "$tmp/empty"
fake_path() {
    dir="$tmp/path-$*"
    dir=$(echo "$dir" | tr ' ' '_')
    mkdir -p "$dir"
    for tool in "$@"; do printf '#!/bin/sh\n' > "$dir/$tool"; chmod +x "$dir/$tool"; done
    echo "$dir"
}

# expect NAME EXPECTED-OUTPUT OS ARCH PATH PURPOSE [VAR=VALUE...]
expect() {
    name=$1 want=$2 os=$3 arch=$4 path=$5 purpose=$6
    shift 6
    got=$(env -i PATH="$path" NEED_DRY_RUN=1 NEED_OS_RELEASE="$tmp/$os" NEED_ARCH="$arch" \
          NEED_ROOT="$tmp/empty" "$@" /bin/sh "$here/scripts/need.sh" "$purpose" 2>&1)
    if [ "$got" = "$want" ]; then
        passed=$((passed + 1)); echo "ok - $name"
    else
        failed=$((failed + 1)); echo "not ok - $name"
        printf '    # want: %s\n' "$want" | sed 's/^/    /'
        printf '%s\n' "$got" | sed 's/^/    # got:  /'
    fi
}

nl='
'
x86_build="would install: gcc binutils grub-common xorriso mtools grub-pc-bin grub-efi-amd64-bin${nl}CROSS="
for os in debian12 debian13 ubuntu2204 ubuntu2404; do
    expect "$os x86_64: a fresh machine gets the compiler and both GRUB platforms" \
        "$x86_build" $os x86_64 "$tmp/empty" build
done
expect "debian13 x86_64, CC=clang: clang instead of gcc, binutils still" \
    "would install: clang binutils grub-common xorriso mtools grub-pc-bin grub-efi-amd64-bin${nl}CROSS=" \
    debian13 x86_64 "$tmp/empty" build CC=clang
expect "debian12 x86_64 with gcc, ld and nm: only what is missing" \
    "would install: grub-common xorriso mtools grub-pc-bin grub-efi-amd64-bin${nl}CROSS=" \
    debian12 x86_64 "$(fake_path gcc ld nm)" build

arm_build="would install: gcc-x86-64-linux-gnu binutils-x86-64-linux-gnu grub-common xorriso mtools grub-pc-bin:amd64 grub-efi-amd64-bin:amd64${nl}CROSS=x86_64-linux-gnu-"
expect "debian12 arm64: the cross toolchain, CROSS, GRUB's platforms from amd64" \
    "${arm_build}${nl}foreign architecture: amd64" debian12 aarch64 "$tmp/empty" build
expect "debian13 arm64: the same" \
    "${arm_build}${nl}foreign architecture: amd64" debian13 aarch64 "$tmp/empty" build
expect "ubuntu2404 arm64: ports has no amd64 packages, so the list is printed" \
    "${arm_build}${nl}unknown distribution: Ubuntu 24.04.1 LTS${nl}foreign architecture: amd64" \
    ubuntu2404 aarch64 "$tmp/empty" build
expect "debian12 arm64 with the cross tools: only GRUB's files" \
    "would install: grub-common xorriso mtools grub-pc-bin:amd64 grub-efi-amd64-bin:amd64${nl}CROSS=x86_64-linux-gnu-${nl}foreign architecture: amd64" \
    debian12 aarch64 "$(fake_path x86_64-linux-gnu-gcc x86_64-linux-gnu-ld x86_64-linux-gnu-nm)" build

expect "ubuntu2204: make run FIRMWARE=uefi needs QEMU and OVMF" \
    "would install: qemu-system-x86 ovmf${nl}CROSS=" ubuntu2204 x86_64 "$tmp/empty" uefi
expect "debian13: make test needs QEMU and python3" \
    "would install: qemu-system-x86 python3${nl}CROSS=" debian13 x86_64 "$tmp/empty" test
expect "fedora: an unknown distribution says so" \
    "would install: qemu-system-x86 python3${nl}CROSS=${nl}unknown distribution: Fedora Linux 40 (Forty)" \
    fedora x86_64 "$tmp/empty" test

# For real (no dry run): an unknown distribution stops at once, one line, status 1.
out=$(env -i PATH="$tmp/empty" NEED_OS_RELEASE="$tmp/fedora" NEED_ARCH=x86_64 \
      NEED_ROOT="$tmp/empty" /bin/sh scripts/need.sh build 2>&1)
status=$?
if [ $status -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
   printf '%s' "$out" | grep -q "^error: missing packages on Fedora Linux 40 (Forty).*: gcc binutils"; then
    passed=$((passed + 1)); echo "ok - fedora, for real: one error line, status 1"
else
    failed=$((failed + 1)); echo "not ok - fedora, for real: status $status"
    printf '%s\n' "$out" | sed 's/^/    # /'
fi

# The Makefile derives CROSS from the machine, and passes it and CC to need.sh.
for case in "x86_64:CC='gcc' CROSS=''" "aarch64:CC='x86_64-linux-gnu-gcc' CROSS='x86_64-linux-gnu-'"; do
    arch=${case%%:*} want=${case#*:}
    if make -n --no-print-directory V=1 HOST_ARCH="$arch" tools | grep -qF "$want sh scripts/need.sh build"; then
        passed=$((passed + 1)); echo "ok - Makefile on $arch: $want"
    else
        failed=$((failed + 1)); echo "not ok - Makefile on $arch: want $want"
        make -n --no-print-directory V=1 HOST_ARCH="$arch" tools | sed 's/^/    # /'
    fi
done

echo "need: $passed passed, $failed failed"
[ $failed -eq 0 ]
