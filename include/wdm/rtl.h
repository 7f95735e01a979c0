/*
 * wdm/rtl.h - the run-time library's memory routines (part of <wdm.h>).
 *
 * As in the WDK, all but RtlCompareMemory are macros over the C library's
 * mem* functions (here the kernel's own, lib/string.c), so the compiler sees
 * a plain memcpy or memset and may inline it.
 */
#ifndef WDM_RTL_H
#define WDM_RTL_H

#include "ntdef.h"
#include "string.h"

#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
#define RtlMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define RtlCopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length) memset((Destination), 0, (Length))

/* How many bytes, from the start, are equal in both blocks (Length if all
 * are).  Any IRQL for nonpaged memory (kernel/rtl.c). */
NTSYSAPI SIZE_T NTAPI RtlCompareMemory(_In_ const VOID *Source1, _In_ const VOID *Source2,
                                       _In_ SIZE_T Length);

#endif
