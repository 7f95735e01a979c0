/*
 * wdm.h - the driver-facing API of this kernel, with the WDK's names, types
 * and signatures (Microsoft's wdm.h is the spec; see docs/ for what each
 * routine does here).  WDK-style driver source includes this, or <ntddk.h>.
 */
#ifndef WDM_H
#define WDM_H

#include "ntdef.h"
#include "ntlist.h"
#include "bugcodes.h"

/* IRQL levels on x64 (wdm.h, AMD64 section). */
#define PASSIVE_LEVEL   0
#define LOW_LEVEL       0
#define APC_LEVEL       1
#define DISPATCH_LEVEL  2
#define CMCI_LEVEL      5
#define CLOCK_LEVEL     13
#define IPI_LEVEL       14
#define DRS_LEVEL       14
#define POWER_LEVEL     14
#define PROFILE_LEVEL   15
#define HIGH_LEVEL      15
#define SYNCH_LEVEL     (IPI_LEVEL - 2)

/* Bug checks (kernel/bugcheck.c).  Print the STOP screen and stop every CPU. */
DECLSPEC_NORETURN NTKERNELAPI VOID NTAPI KeBugCheckEx(
    _In_ ULONG BugCheckCode, _In_ ULONG_PTR BugCheckParameter1,
    _In_ ULONG_PTR BugCheckParameter2, _In_ ULONG_PTR BugCheckParameter3,
    _In_ ULONG_PTR BugCheckParameter4);
DECLSPEC_NORETURN NTKERNELAPI VOID NTAPI KeBugCheck(_In_ ULONG BugCheckCode);

/* Debug output: to the serial console (kernel/console.c). */
NTSYSAPI ULONG DbgPrint(_In_ PCSTR Format, ...) __attribute__((format(printf, 1, 2)));

#endif
