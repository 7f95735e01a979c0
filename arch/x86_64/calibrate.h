/*
 * calibrate.h - TSC and local APIC timer frequencies, measured at boot
 * (arch/x86_64/calibrate.c, arch/x86_64/calibrate_cpuid.c).
 */
#ifndef ARCH_X86_64_CALIBRATE_H
#define ARCH_X86_64_CALIBRATE_H

#include "ntdef.h"

extern ULONG64 KiTscFrequency;          /* TSC ticks per second */
extern ULONG64 KiApicTimerFrequency;    /* APIC timer counts per second, divide-by-16 */

/* How each rate was found, for the boot line.  Windows = 0: read from
 * CPUID, not measured.  Agreed: the two best windows agreed. */
typedef struct _KI_CALIBRATION_SOURCE {
    const char *Source;                 /* "CPUID 0x15", "PIT", "TSC", ... */
    ULONG Windows;
    BOOLEAN Agreed;
} KI_CALIBRATION_SOURCE;

extern KI_CALIBRATION_SOURCE KiTscCalibration;
extern KI_CALIBRATION_SOURCE KiApicTimerCalibration;

/* Measure both on the boot CPU, whose local APIC must be enabled. */
void KiCalibrateTimers(void);

/* The TSC rate CPUID states (leaf 0x15, 0x16 or the hypervisor's 0x40000010),
 * with the leaf's name in *Source; 0 if no leaf states it. */
ULONG64 KiTscFrequencyFromCpuid(const char **Source);

#endif
