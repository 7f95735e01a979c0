/*
 * calibrate.h - TSC and local APIC timer frequencies, measured at boot
 * against the PIT (arch/x86_64/calibrate.c).
 */
#ifndef ARCH_X86_64_CALIBRATE_H
#define ARCH_X86_64_CALIBRATE_H

#include "ntdef.h"

extern ULONG64 KiTscFrequency;          /* TSC ticks per second */
extern ULONG64 KiApicTimerFrequency;    /* APIC timer counts per second, divide-by-16 */

/* Measure both on the boot CPU, whose local APIC must be enabled. */
void KiCalibrateTimers(void);

#endif
