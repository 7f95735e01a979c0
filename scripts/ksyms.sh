#!/bin/sh
# ksyms.sh ELF - print assembly for the kernel's embedded symbol table.
#
# The table (kernel/debug/symbols.c reads it) lists every text symbol of ELF, sorted
# by address: KiSymbolTable[i] = { address, name }, KiSymbolCount entries.
# Given no ELF (the first link) it prints an empty table.
set -e
NM=${NM:-nm}
{
    if [ -n "$1" ]; then
        "$NM" -n "$1" | awk '$2 ~ /^[tTwW]$/ && $3 !~ /^\./ { print $1, $3 }'
    fi
} | awk '
BEGIN {
    print "\t.section .ksyms, \"a\""
    print "\t.balign 8"
    print "\t.globl KiSymbolTable"
    print "KiSymbolTable:"
}
{ addr[NR] = $1; name[NR] = $2 }
END {
    for (i = 1; i <= NR; i++)
        printf "\t.quad 0x%s, .Lname%d\n", addr[i], i
    print "\t.globl KiSymbolCount"
    print "KiSymbolCount:"
    printf "\t.quad %d\n", NR
    for (i = 1; i <= NR; i++)
        printf ".Lname%d: .asciz \"%s\"\n", i, name[i]
}'
