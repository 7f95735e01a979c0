/*
 * clock.h - the per-CPU clock interrupt (kernel/clock.c).
 */
#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H

#include "ntdef.h"

/* Start this CPU's local APIC timer, periodic, at CLOCK_LEVEL. */
void KiStartClock(void);

/* The clock period in microseconds (option clock_us, default 1000). */
ULONG KiClockPeriodMicroseconds(void);

#endif
