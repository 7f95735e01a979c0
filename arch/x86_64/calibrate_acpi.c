/*
 * calibrate_acpi.c - the two free-running counters the TSC can be measured
 * against when a machine has no PIT: the HPET and the ACPI PM timer, found
 * in the ACPI tables by kernel/acpi/acpi_timers.c.
 *
 * The HPET (IA-PC HPET 1.0a, 2.3): the General Capabilities and ID register
 * (offset 0) holds the main counter's period in femtoseconds in bits 63:32
 * (at most 100 ns, never 0); the counter runs only while ENABLE_CNF (bit 0
 * of the General Configuration register, offset 0x10) is set, which the
 * firmware may have left clear, so it is set here (nothing else uses the
 * HPET).  The main counter is at 0xF0; its low 32 bits are read, which both
 * the 32- and 64-bit counters allow.
 *
 * The PM timer (ACPI 6.x 4.8.3.3): 3.579545 MHz, 24 bits unless the FADT's
 * TMR_VAL_EXT says 32; it cannot be stopped, so it needs no setup.
 */
#include "wdm.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"
#include "kernel/acpi/acpi.h"
#include "kernel/console/console.h"

#define HPET_CAPABILITIES       0x00
#define   HPET_PERIOD_SHIFT     32
#define   HPET_PERIOD_MAX_FS    100000000ull    /* 100 ns */
#define HPET_CONFIGURATION      0x10
#define   HPET_ENABLE_CNF       0x1
#define HPET_MAIN_COUNTER       0xF0
#define FEMTOSECONDS_PER_SECOND 1000000000000000ull

#define PM_TIMER_HZ             3579545
#define PM_TIMER_MASK_24        0xFFFFFF

static volatile ULONG64 *hpet_register(ULONG Offset)
{
    return (volatile ULONG64 *)(ULONG_PTR)(KiAcpiTimers.HpetAddress + Offset);
}

static ULONG hpet_read(void)
{
    return *(volatile ULONG *)hpet_register(HPET_MAIN_COUNTER);
}

static ULONG pm_timer_read(void)
{
    return inl(KiAcpiTimers.PmTimerPort);
}

BOOLEAN KiHpetCounter(KI_REFERENCE_COUNTER *Counter)
{
    if (KiAcpiTimers.HpetAddress == 0)
        return FALSE;
    ULONG64 period = *hpet_register(HPET_CAPABILITIES) >> HPET_PERIOD_SHIFT;
    if (period == 0 || period > HPET_PERIOD_MAX_FS) {
        kprintf("HPET: counter period %llu fs is outside 1 fs to 100 ns; not using it\n",
                (unsigned long long)period);
        return FALSE;
    }
    *hpet_register(HPET_CONFIGURATION) |= HPET_ENABLE_CNF;
    Counter->Name = "HPET";
    Counter->Hz = FEMTOSECONDS_PER_SECOND / period;
    Counter->Mask = 0xFFFFFFFF;
    Counter->Read = hpet_read;
    return TRUE;
}

BOOLEAN KiPmTimerCounter(KI_REFERENCE_COUNTER *Counter)
{
    if (KiAcpiTimers.PmTimerPort == 0)
        return FALSE;
    Counter->Name = "ACPI PM timer";
    Counter->Hz = PM_TIMER_HZ;
    Counter->Mask = KiAcpiTimers.PmTimer32Bit ? 0xFFFFFFFF : PM_TIMER_MASK_24;
    Counter->Read = pm_timer_read;
    return TRUE;
}
