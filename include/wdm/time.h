/*
 * wdm/time.h - interrupt time, tick count and short busy waits (part of
 * <wdm.h>; kernel/clock.c).
 */
#ifndef WDM_TIME_H
#define WDM_TIME_H

#include "ntdef.h"

/* 100 ns units since boot, advanced by the boot CPU's clock interrupt. */
NTKERNELAPI ULONGLONG NTAPI KeQueryInterruptTime(VOID);
/* Clock ticks since boot. */
NTKERNELAPI VOID NTAPI KeQueryTickCount(_Out_ PLARGE_INTEGER CurrentCount);
/* 100 ns units per clock tick. */
NTKERNELAPI ULONG NTAPI KeQueryTimeIncrement(VOID);
/* Busy-wait on the calibrated TSC; any IRQL. */
NTKERNELAPI VOID NTAPI KeStallExecutionProcessor(_In_ ULONG MicroSeconds);

#endif
