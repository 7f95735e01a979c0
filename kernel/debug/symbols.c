/*
 * symbols.c - the kernel's own symbol table, for backtraces.
 *
 * The build links the kernel twice: the first image's text symbols are turned
 * into a sorted table (scripts/ksyms.sh) that the second link places in
 * .ksyms, after all code, so no code address moves between the two links.
 */
#include "kernel/debug/symbols.h"

struct ksym {
    ULONG_PTR address;
    const char *name;
};

extern const struct ksym KiSymbolTable[];
extern const ULONG_PTR KiSymbolCount;
extern const char __kernel_start[], __text_end[];

const char *KiLookupSymbol(ULONG_PTR Address, ULONG_PTR *Offset)
{
    ULONG_PTR low = 0, high = KiSymbolCount;

    if (Address < (ULONG_PTR)__kernel_start || Address >= (ULONG_PTR)__text_end)
        return NULL;
    while (high - low > 1) {            /* last entry with address <= Address */
        ULONG_PTR mid = (low + high) / 2;
        if (KiSymbolTable[mid].address <= Address)
            low = mid;
        else
            high = mid;
    }
    if (high == 0 || KiSymbolTable[low].address > Address)
        return NULL;
    *Offset = Address - KiSymbolTable[low].address;
    return KiSymbolTable[low].name;
}
