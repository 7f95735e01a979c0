/*
 * test_dpc_stress.c - every CPU at once inserts, removes and flushes a
 * shared set of DPCs aimed at every CPU (and at none), while some routines
 * queue themselves again.  Afterwards each DPC must have run exactly as
 * often as it was successfully inserted minus successfully removed; and a
 * DPC a CPU queued before its own KeFlushQueuedDpcs must have run by the
 * time that returns; and every CPU's queue must have run its share (each
 * CPU is the target of some shared DPCs and of its neighbour's private one,
 * ~25 inserts: KT_STRESS_MIN_RUNS of them at least), or a CPU whose queue
 * stalled would pass unseen behind the totals.
 */
#include "test_dpc.h"
#include "kernel/console/console.h"

#define KT_STRESS_DPCS      24
#define KT_STRESS_ROUNDS    400
#define KT_STRESS_REQUEUES  40          /* per DPC, so the chains end */
#define KT_STRESS_MIN_RUNS  10          /* DPCs each CPU must have run */

struct kt_stress_dpc {
    KDPC Dpc;
    LONG Target;                        /* -1: untargeted */
    BOOLEAN MayRequeue;
    volatile LONG Inserts, Removes, Runs, Requeues;
};

static struct {
    struct kt_stress_dpc Shared[KT_STRESS_DPCS];
    struct kt_stress_dpc Private[MAXIMUM_PROCESSORS];   /* only CPU n inserts Private[n] */
    volatile LONG Stopping;
    volatile LONG BadCpu, BadIrql, BadArgument, FlushDidNotWait;
    volatile LONG RanOn[MAXIMUM_PROCESSORS];
} KtStress;

static VOID kt_stress_routine(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    struct kt_stress_dpc *d = Context;

    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        __atomic_fetch_add(&KtStress.BadIrql, 1, __ATOMIC_RELAXED);
    if (d->Target >= 0 && KeGetCurrentProcessorNumber() != (ULONG)d->Target)
        __atomic_fetch_add(&KtStress.BadCpu, 1, __ATOMIC_RELAXED);
    if (Argument1 != d || Argument2 != &KtStress)
        __atomic_fetch_add(&KtStress.BadArgument, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&KtStress.RanOn[KeGetCurrentProcessorNumber()], 1, __ATOMIC_RELAXED);
    LONG runs = __atomic_add_fetch(&d->Runs, 1, __ATOMIC_ACQ_REL);
    if (d->MayRequeue && runs % 4 == 0 && !__atomic_load_n(&KtStress.Stopping, __ATOMIC_ACQUIRE) &&
        __atomic_add_fetch(&d->Requeues, 1, __ATOMIC_RELAXED) <= KT_STRESS_REQUEUES &&
        KeInsertQueueDpc(Dpc, d, &KtStress))
        __atomic_fetch_add(&d->Inserts, 1, __ATOMIC_RELAXED);
}

static BOOLEAN kt_stress_insert(struct kt_stress_dpc *d)
{
    if (!KeInsertQueueDpc(&d->Dpc, d, &KtStress))
        return FALSE;
    __atomic_fetch_add(&d->Inserts, 1, __ATOMIC_RELAXED);
    return TRUE;
}

static void kt_stress_worker(void *context)
{
    ULONG self = KeGetCurrentProcessorNumber();
    ULONG seed = 0x9E3779B9u * (self + 1);
    struct kt_stress_dpc *mine = &KtStress.Private[self];

    UNREFERENCED_PARAMETER(context);
    for (ULONG round = 0; round < KT_STRESS_ROUNDS; round++) {
        seed = seed * 1664525u + 1013904223u;           /* LCG (Numerical Recipes) */
        struct kt_stress_dpc *d = &KtStress.Shared[(seed >> 8) % KT_STRESS_DPCS];
        ULONG op = (seed >> 20) % 16;

        if (op < 8) {
            kt_stress_insert(d);
        } else if (op < 13) {
            if (KeRemoveQueueDpc(&d->Dpc))
                __atomic_fetch_add(&d->Removes, 1, __ATOMIC_RELAXED);
        } else if (op < 15) {
            KIRQL old = KeRaiseIrqlToDpcLevel();        /* a burst, drained on the way down */
            kt_stress_insert(d);
            kt_stress_insert(&KtStress.Shared[(seed >> 4) % KT_STRESS_DPCS]);
            KeLowerIrql(old);
        } else {
            /* Low and aimed at the next CPU: runs at its tick, or when
             * flushed.  Only this CPU inserts it, so Runs is exact. */
            BOOLEAN queued = kt_stress_insert(mine);
            KeFlushQueuedDpcs();
            if (queued && mine->Runs != mine->Inserts)
                __atomic_fetch_add(&KtStress.FlushDidNotWait, 1, __ATOMIC_RELAXED);
        }
    }
}

static void kt_stress_init(struct kt_stress_dpc *d, LONG target, KDPC_IMPORTANCE importance,
                           BOOLEAN may_requeue)
{
    *d = (struct kt_stress_dpc){ .Target = target, .MayRequeue = may_requeue };
    KeInitializeDpc(&d->Dpc, kt_stress_routine, d);
    KeSetImportanceDpc(&d->Dpc, importance);
    if (target >= 0)
        KeSetTargetProcessorDpc(&d->Dpc, (CCHAR)target);
}

static void kt_stress_check(struct kt_stress_dpc *d, const char *set, ULONG i)
{
    if (d->Runs != d->Inserts - d->Removes || d->Dpc.DpcData != NULL)
        ktest_fail(__FILE__, __LINE__, "%s[%u]: %d runs, %d inserts, %d removes, %s", set, i,
                   d->Runs, d->Inserts, d->Removes, d->Dpc.DpcData ? "still queued" : "idle");
}

KTEST(dpc_stress_insert_remove_flush_on_all_cpus)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    KtStress.Stopping = 0;
    KtStress.BadCpu = KtStress.BadIrql = KtStress.BadArgument = KtStress.FlushDidNotWait = 0;
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
        KtStress.RanOn[n] = 0;
    for (ULONG i = 0; i < KT_STRESS_DPCS; i++)
        kt_stress_init(&KtStress.Shared[i], (LONG)(i % (count + 1)) - 1,
                       (KDPC_IMPORTANCE)((i / 3) % 4), TRUE);
    for (ULONG n = 0; n < count; n++)
        kt_stress_init(&KtStress.Private[n], (LONG)((n + 1) % count), LowImportance, FALSE);

    ktest_run_on_all_cpus(kt_stress_worker, NULL);

    /* A routine may have read Stopping == 0 just before it was set: the
     * first flush waits for it, the second for whatever it queued. */
    __atomic_store_n(&KtStress.Stopping, 1, __ATOMIC_RELEASE);
    KeFlushQueuedDpcs();
    KeFlushQueuedDpcs();

    LONG runs = 0, inserts = 0, removes = 0;
    for (ULONG i = 0; i < KT_STRESS_DPCS; i++) {
        kt_stress_check(&KtStress.Shared[i], "Shared", i);
        runs += KtStress.Shared[i].Runs;
        inserts += KtStress.Shared[i].Inserts;
        removes += KtStress.Shared[i].Removes;
    }
    kprintf("    # %u CPUs: %d inserts, %d removes, %d runs\n", count, inserts, removes, runs);
    for (ULONG n = 0; n < count; n++)
        kt_stress_check(&KtStress.Private[n], "Private", n);
    for (ULONG n = 0; n < count; n++) {
        PKPRCB prcb = &KiProcessorBlock[n].Prcb;
        if (KtStress.RanOn[n] < KT_STRESS_MIN_RUNS)
            ktest_fail(__FILE__, __LINE__, "CPU %u ran %d DPCs, fewer than %d", n,
                       KtStress.RanOn[n], KT_STRESS_MIN_RUNS);
        KT_EXPECT_EQ(prcb->DpcData.DpcQueueDepth, 0);
        KT_EXPECT_TRUE(IsListEmpty(&prcb->DpcData.DpcListHead));
    }
    KT_EXPECT_EQ(KtStress.BadIrql, 0);
    KT_EXPECT_EQ(KtStress.BadCpu, 0);
    KT_EXPECT_EQ(KtStress.BadArgument, 0);
    KT_EXPECT_EQ(KtStress.FlushDidNotWait, 0);
    KT_EXPECT_TRUE(runs > (LONG)(KT_STRESS_ROUNDS / 4));  /* it did something */
}
