/*
 * test_dpc_stranded.c - no DPC is stranded on a queue whose drain loop is
 * finishing, even with no clock tick to rescue it (kernel/dpc/dpc_queue.c, "the
 * one invariant").
 *
 * The drain loop clears DpcRoutineActive and DpcInterruptRequested under
 * the queue lock, after finding the queue empty; an inserter reads them
 * under the same lock.  Were they cleared after the unlock, a remote insert
 * landing between the two would see the loop still active, ask for no
 * interrupt, and its DPC would wait for the target's next clock tick, which
 * asks for the interrupt for whatever was left (KiDpcClockTick).  So the
 * target CPU's clock is stopped here (its local APIC timer LVT masked, SDM
 * Vol. 3A 11.5.1 "Local Vector Table"; restored after), while every other
 * CPU inserts its own DPC at it again and again, MediumHigh and High (both
 * interrupt a remote CPU at once, WDK: Organization of DPC Queues), right
 * after the previous run or a little later, so that inserts keep landing as
 * the target's drain loop ends.  Each run must come within KT_STRANDED_MS;
 * a stranded DPC never would.  The window is a few instructions wide, which
 * TCG rarely splits: race points widen it.
 */
#include "test_dpc.h"
#include "string.h"
#include "kernel/irql/clock.h"
#include "kernel/console/console.h"
#include "kernel/smp/pcr.h"
#include "arch/x86_64/apic.h"

#define KT_STRANDED_TARGET  1
#define KT_STRANDED_INSERTS 1200        /* in all, shared among the inserting CPUs */
#define KT_STRANDED_MS      2000        /* the bound on each run: vCPUs get descheduled */

static struct {
    KDPC Dpc[MAXIMUM_PROCESSORS];       /* Dpc[n]: CPU n's, aimed at the target */
    volatile LONG Runs[MAXIMUM_PROCESSORS];
    volatile LONG ClockStopped, InsertersDone;
    volatile LONG BadCpu;
    volatile LONG Late;                 /* a DPC that did not run in time (the first) */
    volatile ULONG LateCpu, LateRound;
    ULONG64 TicksBefore, TicksAfter;    /* the target's, while its clock was stopped */
} KtStranded;

/* KDEFERRED_ROUTINE: DeferredContext = the inserting CPU. */
static VOID kt_stranded_routine(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    if (KeGetCurrentProcessorNumber() != KT_STRANDED_TARGET)
        __atomic_fetch_add(&KtStranded.BadCpu, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&KtStranded.Runs[(ULONG_PTR)Context], 1, __ATOMIC_RELEASE);
}

/* Inserts per inserting CPU: the target runs them one at a time. */
static ULONG kt_stranded_rounds(void)
{
    return KT_STRANDED_INSERTS / (KeQueryActiveProcessorCount(NULL) - 1);
}

static void kt_stranded_target(void)
{
    ULONG lvt = KiApicRead(APIC_LVT_TIMER);
    ULONG inserters = KeQueryActiveProcessorCount(NULL) - 1;

    KiApicWrite(APIC_LVT_TIMER, lvt | APIC_LVT_MASKED);     /* no tick from here */
    KeStallExecutionProcessor(2 * KiClockPeriodMicroseconds());  /* one in flight lands */
    KtStranded.TicksBefore = KeGetCurrentPrcb()->ClockTicks;
    __atomic_store_n(&KtStranded.ClockStopped, 1, __ATOMIC_RELEASE);
    /* At PASSIVE_LEVEL: each DPC interrupts this wait. */
    while (__atomic_load_n(&KtStranded.InsertersDone, __ATOMIC_ACQUIRE) != (LONG)inserters)
        cpu_relax();
    KtStranded.TicksAfter = KeGetCurrentPrcb()->ClockTicks;
    KiApicWrite(APIC_LVT_TIMER, lvt);   /* the clock again: rescues a stranded DPC */
}

static void kt_stranded_inserter(ULONG self)
{
    PKDPC dpc = &KtStranded.Dpc[self];

    for (ULONG round = 0; round < kt_stranded_rounds() && !KtStranded.Late; round++) {
        LONG before = __atomic_load_n(&KtStranded.Runs[self], __ATOMIC_ACQUIRE);

        KeSetImportanceDpc(dpc, round & 1 ? HighImportance : MediumHighImportance);
        KeInsertQueueDpc(dpc, NULL, NULL);
        if (!kt_wait_at_least_us(&KtStranded.Runs[self], before + 1, KT_STRANDED_MS * 1000)) {
            if (!__atomic_exchange_n(&KtStranded.Late, 1, __ATOMIC_SEQ_CST)) {
                KtStranded.LateCpu = self;
                KtStranded.LateRound = round;
            }
            break;
        }
        /* Next insert: at once, or up to ~250 pauses later (each CPU its
         * own phase), to land anywhere near the end of the drain loop. */
        for (ULONG n = (round * 7 + self * 13) % 256; n; n--)
            cpu_relax();
    }
    __atomic_fetch_add(&KtStranded.InsertersDone, 1, __ATOMIC_RELEASE);
}

static void kt_stranded_worker(void *context)
{
    ULONG self = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(context);
    if (self == KT_STRANDED_TARGET)
        kt_stranded_target();
    else if (kt_wait_at_least_us(&KtStranded.ClockStopped, 1, KT_STRANDED_MS * 1000))
        kt_stranded_inserter(self);
    else
        __atomic_fetch_add(&KtStranded.InsertersDone, 1, __ATOMIC_RELEASE);
}

KTEST(dpc_remote_insert_is_not_stranded_without_a_tick)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    KT_REQUIRE_CPUS(2);
    memset((void *)&KtStranded, 0, sizeof(KtStranded));
    for (ULONG n = 0; n < count; n++) {
        KeInitializeDpc(&KtStranded.Dpc[n], kt_stranded_routine, (PVOID)(ULONG_PTR)n);
        KeSetTargetProcessorDpc(&KtStranded.Dpc[n], KT_STRANDED_TARGET);
    }
    ktest_run_on_all_cpus(kt_stranded_worker, NULL);
    KeFlushQueuedDpcs();                /* a stranded one has run now (clock back) */

    LONG runs = 0;
    for (ULONG n = 0; n < count; n++)
        runs += KtStranded.Runs[n];
    kprintf("    # %u CPUs: %d DPCs run on CPU %u with its clock stopped\n", count, runs,
            KT_STRANDED_TARGET);
    if (KtStranded.Late)
        ktest_fail(__FILE__, __LINE__,
                   "CPU %u's insert %u: no run on CPU %u within %u ms (stranded: no tick)",
                   KtStranded.LateCpu, KtStranded.LateRound, KT_STRANDED_TARGET,
                   KT_STRANDED_MS);
    KT_EXPECT_EQ(KtStranded.ClockStopped, 1);
    KT_EXPECT_EQ(KtStranded.TicksAfter, KtStranded.TicksBefore);   /* it really stopped */
    KT_EXPECT_EQ(KtStranded.BadCpu, 0);
    KT_EXPECT_EQ(runs, (LONG)((count - 1) * kt_stranded_rounds()));
}
