/*
 * clock.h - the per-CPU clock interrupt (kernel/irql/clock.c) and the time of
 * day (kernel/irql/system_time.c).
 */
#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H

#include "ntdef.h"

/* Start this CPU's local APIC timer, periodic, at CLOCK_LEVEL. */
void KiStartClock(void);

/* The clock period in microseconds (option clock_us, default 1000). */
ULONG KiClockPeriodMicroseconds(void);

/* Read the CMOS clock: the start of system time (kernel/irql/system_time.c).
 * The boot CPU, after the clock has started. */
VOID KiInitializeSystemTime(VOID);

#endif
