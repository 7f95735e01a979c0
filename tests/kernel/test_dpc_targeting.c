/*
 * test_dpc_targeting.c - DPCs aimed at other CPUs: they run there, the
 * importance decides whether that CPU is interrupted at once or at its next
 * tick, and KeFlushQueuedDpcs waits for queued and running ones
 * (kernel/dpc/dpc_queue.c, kernel/dpc/dpc.c).
 */
#include "test_dpc.h"

KTEST(dpc_targeted_runs_on_every_cpu)
{
    static const KDPC_IMPORTANCE importance[3] = { LowImportance, MediumImportance, HighImportance };
    ULONG count = KeQueryActiveProcessorCount(NULL);

    for (ULONG n = 0; n < count; n++)
        for (ULONG i = 0; i < 3; i++) {
            KT_DPC_RECORD r = { 0 };
            KDPC dpc;
            KeInitializeDpc(&dpc, kt_record_dpc, &r);
            KeSetImportanceDpc(&dpc, importance[i]);
            KeSetTargetProcessorDpc(&dpc, (CCHAR)n);
            KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, (PVOID)(ULONG_PTR)n, NULL), TRUE);
            if (!kt_wait_at_least(&r.Runs, 1)) {
                KeFlushQueuedDpcs();    /* r and dpc live on this stack */
                ktest_fail(__FILE__, __LINE__, "DPC for CPU %u (importance %u) never ran", n,
                           importance[i]);
                return;
            }
            KT_EXPECT_EQ(r.Cpu, n);
            KT_EXPECT_EQ(r.Irql, DISPATCH_LEVEL);
            KT_EXPECT_EQ(r.OnDpcStack, TRUE);
            KT_EXPECT_EQ(r.Argument1, n);
            KeStallExecutionProcessor(100);
            KT_EXPECT_EQ(r.Runs, 1);
        }
}

/*
 * The target CPU sits at CLOCK_LEVEL, so neither its tick nor a 0x2F can
 * reach it: whether DpcInterruptRequested is set right after the insert
 * shows what the inserter decided, deterministically.  Then it lowers IRQL
 * and the DPC must run; a DPC left for the tick runs only after one more
 * tick there.
 */
struct kt_hold {
    ULONG Target;
    KDPC_IMPORTANCE Importance;
    volatile LONG Held, Released;
    volatile ULONG64 TicksAtRelease;
    BOOLEAN RequestedAtOnce;
    KT_DPC_RECORD Record;
};

static void kt_hold_or_insert(void *context)
{
    struct kt_hold *h = context;
    ULONG self = KeGetCurrentProcessorNumber();
    PKPRCB target = &KiProcessorBlock[h->Target].Prcb;

    if (self == h->Target) {
        KIRQL old = KfRaiseIrql(CLOCK_LEVEL);
        __atomic_store_n(&h->Held, 1, __ATOMIC_RELEASE);
        while (!__atomic_load_n(&h->Released, __ATOMIC_ACQUIRE))
            cpu_relax();
        h->TicksAtRelease = KeGetCurrentPrcb()->ClockTicks;
        KeLowerIrql(old);
        kt_wait_at_least(&h->Record.Runs, 1);
    } else if (self == 0) {
        KDPC dpc;
        KeInitializeDpc(&dpc, kt_record_dpc, &h->Record);
        KeSetImportanceDpc(&dpc, h->Importance);
        KeSetTargetProcessorDpc(&dpc, (CCHAR)h->Target);
        kt_wait_at_least(&h->Held, 1);
        KeInsertQueueDpc(&dpc, NULL, NULL);
        h->RequestedAtOnce = target->DpcInterruptRequested;
        __atomic_store_n(&h->Released, 1, __ATOMIC_RELEASE);
        kt_wait_at_least(&h->Record.Runs, 1);
        KeRemoveQueueDpc(&dpc);         /* dpc lives on this stack; normally long gone */
    }
}

KTEST(dpc_remote_importance_interrupts_or_waits_for_tick)
{
    static const struct {
        KDPC_IMPORTANCE Importance;
        BOOLEAN AtOnce;
    } cases[4] = {
        { LowImportance, FALSE },
        { MediumImportance, FALSE },
        { MediumHighImportance, TRUE },
        { HighImportance, TRUE },
    };
    static struct kt_hold h;
    ULONG count = KeQueryActiveProcessorCount(NULL);

    KT_REQUIRE_CPUS(2);
    for (ULONG i = 0; i < 4; i++) {
        h = (struct kt_hold){ .Target = count - 1, .Importance = cases[i].Importance };
        ktest_run_on_all_cpus(kt_hold_or_insert, &h);
        KT_EXPECT_EQ(h.RequestedAtOnce, cases[i].AtOnce);
        KT_EXPECT_EQ(h.Record.Runs, 1);
        KT_EXPECT_EQ(h.Record.Cpu, count - 1);
        if (!cases[i].AtOnce)
            KT_EXPECT_TRUE(h.Record.Ticks > h.TicksAtRelease);
    }
}

KTEST(dpc_remove_from_another_cpus_queue)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    KT_DPC_RECORD r = { 0 };
    KDPC dpc;

    KeInitializeDpc(&dpc, kt_record_dpc, &r);
    KeSetImportanceDpc(&dpc, LowImportance);    /* waits for that CPU's tick */
    KeSetTargetProcessorDpc(&dpc, (CCHAR)(count - 1));
    for (int i = 0; i < 20; i++) {
        LONG before = r.Runs;
        KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, NULL, NULL), TRUE);
        BOOLEAN removed = KeRemoveQueueDpc(&dpc);
        KeFlushQueuedDpcs();
        /* Either taken off in time (and never runs) or run exactly once. */
        KT_EXPECT_EQ(r.Runs, before + (removed ? 0 : 1));
        KT_EXPECT_EQ(dpc.DpcData, NULL);
    }
}

static VOID kt_slow_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    volatile LONG *state = Context;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument2);
    __atomic_store_n(&state[0], 1, __ATOMIC_RELEASE);  /* started */
    KeStallExecutionProcessor((ULONG)(ULONG_PTR)Argument1);
    __atomic_fetch_add(&state[1], 1, __ATOMIC_RELEASE); /* finished */
}

KTEST(dpc_flush_waits_for_queued_dpcs_everywhere)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    static volatile LONG state[MAXIMUM_PROCESSORS][2];
    static KDPC dpc[MAXIMUM_PROCESSORS];

    /* Low and aimed at other CPUs: left for their ticks, unless flushed. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (ULONG n = 0; n < count; n++) {
        state[n][0] = state[n][1] = 0;
        KeInitializeDpc(&dpc[n], kt_slow_dpc, (PVOID)state[n]);
        KeSetImportanceDpc(&dpc[n], LowImportance);
        KeSetTargetProcessorDpc(&dpc[n], (CCHAR)n);
        KeInsertQueueDpc(&dpc[n], (PVOID)300, NULL);
    }
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
    for (ULONG n = 0; n < count; n++)
        KT_EXPECT_EQ(state[n][1], 1);
}

KTEST(dpc_flush_waits_for_a_running_dpc)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    static volatile LONG state[2];
    KDPC dpc;

    KT_REQUIRE_CPUS(2);
    state[0] = state[1] = 0;
    KeInitializeDpc(&dpc, kt_slow_dpc, (PVOID)state);
    KeSetImportanceDpc(&dpc, HighImportance);
    KeSetTargetProcessorDpc(&dpc, (CCHAR)(count - 1));
    KeInsertQueueDpc(&dpc, (PVOID)5000, NULL);
    KT_ASSERT_TRUE(kt_wait_at_least(&state[0], 1));    /* running, off its queue */
    KeFlushQueuedDpcs();
    KT_EXPECT_EQ(state[1], 1);
    KeFlushQueuedDpcs();                /* nothing queued anywhere: returns */
}
