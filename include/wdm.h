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

#include "wdm/interlocked.h"
#include "wdm/rtl.h"
#include "wdm/irql.h"
#include "wdm/processor.h"
#include "wdm/time.h"
#include "wdm/spinlock.h"
#include "wdm/interrupt.h"
#include "wdm/dpc.h"
#include "wdm/bugcheck.h"
#include "wdm/dispatcher.h"
#include "wdm/thread.h"
#include "wdm/apc.h"
#include "wdm/mutex.h"

/* Bug checks (kernel/debug/bugcheck.c).  Print the STOP screen and stop every CPU. */
DECLSPEC_NORETURN NTKERNELAPI VOID NTAPI KeBugCheckEx(
    _In_ ULONG BugCheckCode, _In_ ULONG_PTR BugCheckParameter1,
    _In_ ULONG_PTR BugCheckParameter2, _In_ ULONG_PTR BugCheckParameter3,
    _In_ ULONG_PTR BugCheckParameter4);
DECLSPEC_NORETURN NTKERNELAPI VOID NTAPI KeBugCheck(_In_ ULONG BugCheckCode);

/* Debug output: to the serial console (kernel/console/console.c). */
NTSYSAPI ULONG DbgPrint(_In_ PCSTR Format, ...) __attribute__((format(printf, 1, 2)));

#endif
