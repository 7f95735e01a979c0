/*
 * clock.c - the clock: every CPU's local APIC timer, periodic, on vector
 * 0xD1 (CLOCK_LEVEL 13), at the rate the `clock_us` option sets (default one
 * tick per millisecond).
 *
 * Each tick counts on its own CPU (KPRCB.ClockTicks); the boot CPU's also
 * advances the system's tick count and interrupt time, which are 64-bit
 * values written by one CPU and read with plain 64-bit loads (atomic on
 * x86-64), so readers need no lock.
 */
#include "wdm.h"
#include "kernel/irql/clock.h"
#include "kernel/dpc/dpc.h"
#include "kernel/irql/interrupt.h"
#include "kernel/options.h"
#include "kernel/smp/pcr.h"
#include "kernel/thread/thread.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define DEFAULT_CLOCK_US 1000

static ULONG KiClockMicroseconds = DEFAULT_CLOCK_US;
static volatile ULONG64 KiTickCount;
static volatile ULONG64 KiInterruptTime;

static void apply_clock_us(const char *value)
{
    ULONG us = 0;
    for (; *value >= '0' && *value <= '9'; value++)
        us = us * 10 + (ULONG)(*value - '0');
    if (us >= 100 && us <= 100000)
        KiClockMicroseconds = us;
    else
        DbgPrint("warning: clock_us must be 100..100000; keeping %u\n", KiClockMicroseconds);
}
KERNEL_OPTION("clock_us", "clock interrupt period in microseconds (default 1000)", apply_clock_us);

ULONG KiClockPeriodMicroseconds(void)
{
    return KiClockMicroseconds;
}

static VOID clock_interrupt(PKTRAP_FRAME f, PVOID context)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    UNREFERENCED_PARAMETER(context);
    prcb->ClockTicks++;
    if (prcb->Number == 0) {
        KiTickCount++;
        KiInterruptTime += (ULONG64)KiClockMicroseconds * 10;
    }
    KiDpcClockTick(f);                  /* DPC thresholds and watchdog (kernel/dpc/dpc_queue.c) */
    KiThreadClockTick();                /* the running thread's quantum (kernel/thread/scheduler.c) */
    KiTimerClockTick((KIRQL)f->PreviousIrql);  /* expired KTIMERs (kernel/thread/timer.c) */
}

void KiStartClock(void)
{
    if (KeGetCurrentPrcb()->Number == 0)
        KiSetInterruptHandler(KI_VECTOR_CLOCK, clock_interrupt, NULL);
    KiApicWrite(APIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_BY_16);
    KiApicWrite(APIC_LVT_TIMER, APIC_TIMER_PERIODIC | KI_VECTOR_CLOCK);
    KiApicWrite(APIC_TIMER_INITIAL,
                (ULONG)(KiApicTimerFrequency * KiClockMicroseconds / 1000000));
}

ULONGLONG NTAPI KeQueryInterruptTime(VOID)
{
    return KiInterruptTime;
}

VOID NTAPI KeQueryTickCount(PLARGE_INTEGER CurrentCount)
{
    CurrentCount->QuadPart = (LONGLONG)KiTickCount;
}

ULONG NTAPI KeQueryTimeIncrement(VOID)
{
    return KiClockMicroseconds * 10;
}

VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds)
{
    ULONG64 start = rdtsc();
    ULONG64 ticks = KiTscFrequency * MicroSeconds / 1000000;

    while (rdtsc() - start < ticks)
        cpu_relax();
}
