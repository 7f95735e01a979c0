#!/bin/sh
# check-race-points.sh ELF RACE - the race points are where the build says:
# none at all in a default build (RACE=0: `make bench` measures the very
# instructions it always did), and in a RACE=1 build every point of the C
# and assembly paths (kernel/debug/race.h).
#
#   sh scripts/check-race-points.sh build/free/kernel.elf 0
#
# A point is a KI_RACE_SITE record (264 bytes) between __kraces_start and
# __kraces_end (linker.ld), so their distance tells how many there are.
# Prints one line; exit status 0 as expected, 1 not, 2 usage.  NM and
# OBJDUMP override nm and objdump.
set -u
NM=${NM:-nm}
OBJDUMP=${OBJDUMP:-objdump}
[ $# -eq 2 ] || { echo "usage: $0 ELF 0|1" >&2; exit 2; }
elf=$1 race=$2
start=$($NM "$elf" 2>/dev/null | awk '$3 == "__kraces_start" { print $1 }')
end=$($NM "$elf" 2>/dev/null | awk '$3 == "__kraces_end" { print $1 }')
[ -n "$start" ] && [ -n "$end" ] || { echo "error: no __kraces_start/end in $elf (linker.ld)" >&2; exit 2; }
points=$(( (0x$end - 0x$start) / 264 ))
calls=$($OBJDUMP -d "$elf" | grep -c 'call.*<KiRacePoint>')
if [ "$race" = 0 ]; then
    if [ "$points" -ne 0 ] || [ "$calls" -ne 0 ]; then
        echo "race points: $elf is a default build but has $points points and $calls calls"
        exit 1
    fi
    echo "race points: none in $elf, as in every default build"
else
    if [ "$points" -lt 40 ] || [ "$calls" -lt "$points" ]; then
        echo "race points: $elf is a RACE=1 build but has only $points points, $calls calls"
        exit 1
    fi
    echo "race points: $points in $elf ($calls calls)"
fi
