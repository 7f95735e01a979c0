/*
 * test_clock.c - the clock ticks on every CPU at its set rate and stops
 * while that CPU is at CLOCK_LEVEL or above; KeIpiGenericCall runs its
 * worker once per CPU, together, at IPI_LEVEL (kernel/irql/clock.c, kernel/irql/ipi.c).
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/irql/clock.h"
#include "kernel/console/console.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define WINDOW_US 100000

struct tick_sample {
    ULONG Target;                       /* the CPU measuring this round */
    ULONG64 Ticks[MAXIMUM_PROCESSORS];
    ULONG64 TicksAtClockLevel[MAXIMUM_PROCESSORS];
    ULONG LvtTimer[MAXIMUM_PROCESSORS];
    ULONG InitialCount[MAXIMUM_PROCESSORS];
};

/* One CPU measures while the others halt, so the measuring vCPU is not
 * starved of host time (the host has 2 cores). */
static void measure_ticks(void *context)
{
    struct tick_sample *s = context;
    PKPRCB prcb = KeGetCurrentPrcb();

    if (prcb->Number != s->Target)
        return;
    s->LvtTimer[s->Target] = KiApicRead(APIC_LVT_TIMER);
    s->InitialCount[s->Target] = KiApicRead(APIC_TIMER_INITIAL);
    ULONG64 start = prcb->ClockTicks;
    KeStallExecutionProcessor(WINDOW_US);
    s->Ticks[s->Target] = prcb->ClockTicks - start;

    KIRQL old = KfRaiseIrql(CLOCK_LEVEL);
    start = prcb->ClockTicks;
    KeStallExecutionProcessor(WINDOW_US / 4);
    s->TicksAtClockLevel[s->Target] = prcb->ClockTicks - start;
    KeLowerIrql(old);
}

KTEST(clock_ticks_on_every_cpu_at_its_rate)
{
    static struct tick_sample s;
    ULONG count = KeQueryActiveProcessorCount(NULL);
    ULONG64 expected = WINDOW_US / KiClockPeriodMicroseconds();

    for (s.Target = 0; s.Target < count; s.Target++)
        ktest_run_on_all_cpus(measure_ticks, &s);
    for (ULONG n = 0; n < count; n++) {
        kprintf("    # CPU %u: %llu ticks in %u us (set rate: %llu)\n", n,
                (unsigned long long)s.Ticks[n], WINDOW_US, (unsigned long long)expected);
        /* The timer is programmed for the set period on every CPU. */
        KT_EXPECT_EQ(s.LvtTimer[n], APIC_TIMER_PERIODIC | KI_VECTOR_CLOCK);
        KT_EXPECT_EQ(s.InitialCount[n],
                     (ULONG)(KiApicTimerFrequency * KiClockPeriodMicroseconds() / 1000000));
        /* It ticks, and never faster than set.  Slower happens under TCG:
         * while the host does not run this vCPU, its APIC timer keeps
         * expiring and the expiries coalesce in one IRR bit, so ticks are
         * lost (docs/irql.md, "The clock"); no lower bound but "some". */
        if (s.Ticks[n] == 0 || s.Ticks[n] > expected * 13 / 10 + 1)
            ktest_fail(__FILE__, __LINE__, "CPU %u: %llu ticks in %u us, set rate %llu", n,
                       (unsigned long long)s.Ticks[n], WINDOW_US, (unsigned long long)expected);
        KT_EXPECT_EQ(s.TicksAtClockLevel[n], 0);
    }
}

KTEST(clock_interrupt_time_and_tick_count_advance_together)
{
    LARGE_INTEGER ticks_before, ticks_after;

    cli();                              /* no tick between the two reads */
    ULONGLONG time_before = KeQueryInterruptTime();
    KeQueryTickCount(&ticks_before);
    sti();
    KeStallExecutionProcessor(50000);
    cli();
    ULONGLONG elapsed = KeQueryInterruptTime() - time_before;
    KeQueryTickCount(&ticks_after);
    sti();

    /* 50 ms of calibrated TSC stall seen by the clock: some time, and at
     * most 65 ms (fewer when ticks are lost, as above). */
    KT_EXPECT_TRUE(elapsed > 0 && elapsed <= 650000);
    KT_EXPECT_EQ((ULONGLONG)(ticks_after.QuadPart - ticks_before.QuadPart) * KeQueryTimeIncrement(),
                 elapsed);
}

struct generic_call_record {
    volatile ULONG Calls[MAXIMUM_PROCESSORS];
    volatile KIRQL Irql[MAXIMUM_PROCESSORS];
    volatile ULONG InterruptsOn;
    volatile LONG Entered;
    volatile ULONG SawAllEntered;
};
static struct generic_call_record KtGenericCall;

static ULONG_PTR NTAPI generic_call_worker(ULONG_PTR context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    KtGenericCall.Calls[cpu]++;
    KtGenericCall.Irql[cpu] = KeGetCurrentIrql();
    if (read_rflags() & RFLAGS_IF)               /* every CPU at once: a locked add */
        __atomic_fetch_add(&KtGenericCall.InterruptsOn, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&KtGenericCall.Entered, 1, __ATOMIC_ACQ_REL);
    /* All CPUs enter together: a barrier precedes the worker, so nobody can
     * have finished before everyone has started. */
    while (__atomic_load_n(&KtGenericCall.Entered, __ATOMIC_ACQUIRE) <
           (LONG)KeQueryActiveProcessorCount(NULL))
        cpu_relax();
    __atomic_fetch_add(&KtGenericCall.SawAllEntered, 1, __ATOMIC_RELAXED);
    return context + cpu;
}

KTEST(clock_ipi_generic_call_runs_once_per_cpu_at_ipi_level)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    ULONG caller = KeGetCurrentProcessorNumber();

    ULONG_PTR result = KeIpiGenericCall(generic_call_worker, 0x1000);
    KT_EXPECT_EQ(result, 0x1000 + caller);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        KT_EXPECT_EQ(KtGenericCall.Calls[n], n < count ? 1 : 0);
        if (n < count)
            KT_EXPECT_EQ(KtGenericCall.Irql[n], IPI_LEVEL);
    }
    KT_EXPECT_EQ(KtGenericCall.SawAllEntered, count);
    KT_EXPECT_EQ(KtGenericCall.InterruptsOn, count);   /* IPI_LEVEL, but IF = 1 */

    /* From DISPATCH_LEVEL (the highest the WDK allows): back at DISPATCH_LEVEL. */
    memset((void *)&KtGenericCall, 0, sizeof(KtGenericCall));
    KIRQL old = KeRaiseIrqlToDpcLevel();
    result = KeIpiGenericCall(generic_call_worker, 0x2000);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    KT_EXPECT_EQ(result, 0x2000 + caller);
    KT_EXPECT_EQ(KtGenericCall.SawAllEntered, count);
}
