/*
 * calibrate.h - TSC and local APIC timer frequencies, measured at boot
 * (arch/x86_64/calibrate.c, arch/x86_64/calibrate_cpuid.c,
 * arch/x86_64/calibrate_acpi.c).
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

/* A free-running counter the TSC can be measured against. */
typedef struct _KI_REFERENCE_COUNTER {
    const char *Name;                   /* for the boot line: "HPET", "ACPI PM timer" */
    ULONG64 Hz;
    ULONG Mask;                         /* the counter's width: 0xFFFFFF for 24 bits */
    ULONG (*Read)(void);
} KI_REFERENCE_COUNTER;

/* The HPET or the PM timer from the ACPI tables (kernel/acpi/acpi_timers.c),
 * the HPET started if the firmware left it stopped; FALSE if the machine
 * has none (or, with a console line, an unusable one). */
BOOLEAN KiHpetCounter(KI_REFERENCE_COUNTER *Counter);
BOOLEAN KiPmTimerCounter(KI_REFERENCE_COUNTER *Counter);

/* What the TSC is measured against: the boot option calibrate=, and the
 * tests' choice. */
typedef enum _KI_TSC_REFERENCE {
    KiTscReferenceAuto,                 /* CPUID, else HPET, else PM timer, else PIT */
    KiTscReferenceHpet,
    KiTscReferencePmTimer,
    KiTscReferencePit,
} KI_TSC_REFERENCE;

extern KI_TSC_REFERENCE KiTscReferenceRequested;

/* Measure the TSC against one reference (not Auto), as the boot does, with
 * interrupts disabled for the duration (at most 64 windows of 2 ms).
 * Returns the rate in Hz, or 0 if the machine has no such reference or no
 * window was sane; *How says how.  Any IRQL; the current CPU only. */
ULONG64 KiMeasureTscFrequency(KI_TSC_REFERENCE Reference, KI_CALIBRATION_SOURCE *How);

#endif
