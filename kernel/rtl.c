/*
 * rtl.c - the run-time library routines that are functions, not macros
 * (WDK: RtlCompareMemory; the others are in include/wdm/rtl.h).
 */
#include "wdm.h"

SIZE_T NTAPI RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length)
{
    const UCHAR *a = Source1, *b = Source2;
    SIZE_T equal = 0;

    while (equal < Length && a[equal] == b[equal])
        equal++;
    return equal;
}
