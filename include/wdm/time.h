/*
 * wdm/time.h - interrupt time, tick count, short busy waits (kernel/irql/clock.c),
 * system time and the performance counter (kernel/irql/system_time.c); part of
 * <wdm.h>.
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
/* Interrupt time less time asleep: the same here (nothing sleeps). */
NTKERNELAPI ULONGLONG NTAPI KeQueryUnbiasedInterruptTime(VOID);

/* UTC in 100 ns units since 1 January 1601 (kernel/irql/system_time.c): as of
 * the last clock tick, and to the TSC's resolution.  Any IRQL. */
NTKERNELAPI VOID NTAPI KeQuerySystemTime(_Out_ PLARGE_INTEGER CurrentTime);
NTKERNELAPI VOID NTAPI KeQuerySystemTimePrecise(_Out_ PLARGE_INTEGER CurrentTime);
/* A counter that only goes up, at *PerformanceFrequency per second (the
 * TSC and its calibrated rate); PerformanceFrequency may be NULL. */
NTKERNELAPI LARGE_INTEGER NTAPI KeQueryPerformanceCounter(_Out_opt_ PLARGE_INTEGER PerformanceFrequency);

#endif
