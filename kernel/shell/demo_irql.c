/*
 * demo_irql.c - demo 7: what each IRQL masks, watched on this CPU.
 *
 * IRQL is CR8: the local APIC delivers an interrupt only if its vector's
 * class (vector >> 4) is above CR8 (SDM Vol. 3A 11.8.3.1, "Task and
 * Processor Priorities").  The clock is vector 0xD1, class 13 = CLOCK_LEVEL;
 * IPIs are 0xE1, class 14 = IPI_LEVEL.  So for 100 ms at each level, count
 * this CPU's clock ticks and the IPIs it asks itself for every 20 ms
 * (KI_IPI_PING requests): at DISPATCH_LEVEL both arrive; at CLOCK_LEVEL
 * the clock stops and the IPIs still arrive; at IPI_LEVEL both wait, and
 * arrive when IRQL drops.  Last, HIGH_LEVEL with interrupts disabled too,
 * and an NMI this CPU sends itself (KiSendNmiPing): it arrives at once, as
 * the NMI that freezes every other CPU in a bug check does
 * (KiFreezeOtherProcessors).
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/ipi.h"
#include "kernel/irql/interrupt.h"
#include "arch/x86_64/cpu.h"

#define STAY_MS 100
#define PINGS   5

static VOID stay(KIRQL Level)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    KAFFINITY self = (KAFFINITY)1 << prcb->Number;
    ULONG64 ticks = prcb->ClockTicks;
    ULONG pings = prcb->IpiPingCount;

    KIRQL old = KfRaiseIrql(Level);
    for (ULONG i = 0; i < PINGS; i++) {
        KiRequestIpi(self, KI_IPI_PING);
        KeStallExecutionProcessor(STAY_MS * 1000 / PINGS);
    }
    ULONG64 ticks_during = prcb->ClockTicks - ticks;
    ULONG pings_during = prcb->IpiPingCount - pings;
    KeLowerIrql(old);
    ULONG pings_after = prcb->IpiPingCount - pings;
    kprintf("  %-15s clock ticks %4llu   IPIs %u of %u", KiShellIrqlName(Level),
            (unsigned long long)ticks_during, pings_during, PINGS);
    if (pings_after != pings_during)
        kprintf(" (%u as soon as IRQL dropped: the %u requests were one pending bit)",
                pings_after - pings_during, PINGS);
    kprintf("\n");
}

/* HIGH_LEVEL and cli: nothing maskable gets in, an NMI does. */
static VOID stay_high_with_an_nmi(VOID)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    ULONG64 ticks = prcb->ClockTicks;
    ULONG nmis = prcb->NmiPingCount;

    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    ULONG64 flags = interrupts_save_disable();
    KiSendNmiPing(prcb->Number);
    KeStallExecutionProcessor(STAY_MS * 1000);
    ULONG64 ticks_during = prcb->ClockTicks - ticks;
    ULONG nmis_during = prcb->NmiPingCount - nmis;
    restore_rflags(flags);
    KeLowerIrql(old);
    kprintf("  %-15s clock ticks %4llu   NMIs %u of 1 (interrupts disabled too)\n",
            KiShellIrqlName(HIGH_LEVEL), (unsigned long long)ticks_during, nmis_during);
}

VOID KiDemoIrqlMasking(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("CPU %u stays %u ms at each IRQL, asking itself for an IPI %u times:\n",
            KeGetCurrentProcessorNumber(), STAY_MS, PINGS);
    stay(DISPATCH_LEVEL);
    stay(CLOCK_LEVEL);
    stay(IPI_LEVEL);
    stay_high_with_an_nmi();
    kprintf("CLOCK_LEVEL masks the clock (vector 0xD1), not IPIs (0xE1); IPI_LEVEL masks both, "
            "and what was masked is delivered, not lost; an NMI passes any IRQL and even cli "
            "(a STOP freezes the other CPUs with one)\n");
    KiShellDemoRead("kernel/shell/demo_irql.c (stay, stay_high_with_an_nmi); kernel/irql/irql.c "
                    "(KfRaiseIrql, KeLowerIrql); kernel/irql/interrupt.c (KiHandleNmi); docs/irql.md");
}
