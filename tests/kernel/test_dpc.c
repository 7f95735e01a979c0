/*
 * test_dpc.c - one CPU's DPC queue: the KDPC object, when a DPC runs, with
 * what, insert/remove answers, queue order (kernel/dpc/dpc.c,
 * kernel/dpc/dpc_queue.c).
 */
#include "test_dpc.h"
#include "string.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"

static VOID kt_unused_routine(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
}

KTEST(dpc_initialize_sets_only_the_wdk_fields)
{
    KDPC dpc;
    UCHAR pattern[sizeof(KDPC)];

    memset(&dpc, 0xA5, sizeof(dpc));
    memset(pattern, 0xA5, sizeof(pattern));
    KeInitializeDpc(&dpc, kt_unused_routine, (PVOID)0x1234);
    KT_EXPECT_EQ(dpc.Type, DpcObject);
    KT_EXPECT_EQ(dpc.Importance, MediumImportance);
    KT_EXPECT_EQ(dpc.Number, 0);
    KT_EXPECT_EQ(dpc.DeferredRoutine, kt_unused_routine);
    KT_EXPECT_EQ(dpc.DeferredContext, 0x1234);
    KT_EXPECT_EQ(dpc.DpcData, NULL);
    /* Untouched: the padding after Number, the links, the arguments. */
    KT_EXPECT_EQ(memcmp((PUCHAR)&dpc + 4, pattern, 4), 0);
    KT_EXPECT_EQ(memcmp(&dpc.DpcListEntry, pattern, sizeof(LIST_ENTRY)), 0);
    KT_EXPECT_EQ(memcmp(&dpc.SystemArgument1, pattern, 2 * sizeof(PVOID)), 0);

    KeInitializeThreadedDpc(&dpc, kt_unused_routine, NULL);
    KT_EXPECT_EQ(dpc.Type, ThreadedDpcObject);
    KT_EXPECT_EQ(dpc.DeferredContext, NULL);
    KT_EXPECT_EQ(memcmp(&dpc.DpcListEntry, pattern, sizeof(LIST_ENTRY)), 0);
}

/* The importance table of WDK: Organization of DPC Queues, with the
 * thresholds at their defaults (depth 4, rate 3). */
KTEST(dpc_importance_table)
{
    static const struct {
        KDPC_IMPORTANCE Importance;
        BOOLEAN Local;
        ULONG Depth, Rate;
        BOOLEAN Now;
    } rows[] = {
        { LowImportance, TRUE, 1, 10, FALSE },  /* waits: shallow queue, high rate */
        { LowImportance, TRUE, 5, 10, TRUE },   /* too deep */
        { LowImportance, TRUE, 1, 2, TRUE },    /* requests too rare */
        { MediumImportance, TRUE, 1, 10, TRUE },
        { MediumHighImportance, TRUE, 1, 10, TRUE },
        { HighImportance, TRUE, 1, 10, TRUE },
        { LowImportance, FALSE, 1, 0, FALSE },  /* another CPU: its tick */
        { MediumImportance, FALSE, 1, 0, FALSE },
        { MediumImportance, FALSE, 5, 0, TRUE },
        { LowImportance, FALSE, 5, 10, TRUE },
        { MediumHighImportance, FALSE, 1, 10, TRUE },
        { HighImportance, FALSE, 1, 10, TRUE },
    };

    for (ULONG i = 0; i < ARRAYSIZE(rows); i++)
        if (KiDpcRequestNow(rows[i].Importance, rows[i].Local, rows[i].Depth, KI_DPC_QUEUE_DEPTH,
                            rows[i].Rate, KI_MINIMUM_DPC_RATE) != rows[i].Now)
            ktest_fail(__FILE__, __LINE__, "row %u: expected %s", i, rows[i].Now ? "now" : "later");
}

/* At PASSIVE_LEVEL the self-IPI is pending before KeInsertQueueDpc sets IF
 * again, so the DPC has run when it returns.  Under TCG a self-IPI is in
 * the IRR at once, so only race points (APIC delivery latency) test the
 * wait for it in kernel/irql/interrupt.c. */
KTEST(dpc_at_passive_has_run_when_insert_returns)
{
    static KT_DPC_RECORD r;
    KDPC dpc;
    KDPC_WATCHDOG_INFORMATION info;

    KeInitializeDpc(&dpc, kt_record_dpc, &r);
    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, (PVOID)0x11, (PVOID)0x22), TRUE);
    KT_EXPECT_EQ(r.Runs, 1);
    KT_EXPECT_EQ(r.Irql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(r.InterruptsOn, TRUE);
    KT_EXPECT_EQ(r.Executing, TRUE);
    KT_EXPECT_EQ(r.OnDpcStack, TRUE);
    KT_EXPECT_EQ(r.Cpu, KeGetCurrentProcessorNumber());
    KT_EXPECT_EQ(r.Dpc, &dpc);
    KT_EXPECT_EQ(r.Argument1, 0x11);
    KT_EXPECT_EQ(r.Argument2, 0x22);
    KT_EXPECT_EQ(dpc.DpcData, NULL);
    KT_EXPECT_EQ(KeIsExecutingDpc(), FALSE);
    KT_EXPECT_EQ(KiIsOnDpcStack(), FALSE);
    KT_EXPECT_EQ(KeQueryDpcWatchdogInformation(&info), STATUS_UNSUCCESSFUL);
    KT_EXPECT_EQ(KeRemoveQueueDpc(&dpc), FALSE);    /* it ran: nothing to remove */
}

KTEST(dpc_at_dispatch_waits_until_irql_drops)
{
    static KT_DPC_RECORD r;
    KDPC dpc;

    KeInitializeDpc(&dpc, kt_record_dpc, &r);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, &r, &dpc), TRUE);
    /* Asked for before the insert returned (under TCG a self-IPI is in the
     * IRR at once: race points test the wait for it, kernel/irql/interrupt.c). */
    KT_EXPECT_TRUE(KiApicIsPending(KI_VECTOR_DPC));
    KeStallExecutionProcessor(3000);    /* a few ticks come and go */
    KT_EXPECT_EQ(r.Runs, 0);
    KT_EXPECT_NE(dpc.DpcData, NULL);
    KeLowerIrql(old);
    KT_EXPECT_EQ(r.Runs, 1);
    KT_EXPECT_EQ(r.Irql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(r.Argument1, &r);
    KT_EXPECT_EQ(r.Argument2, &dpc);
    KeStallExecutionProcessor(2000);
    KT_EXPECT_EQ(r.Runs, 1);            /* once */

    /* APC_LEVEL is below DISPATCH_LEVEL: it runs at once. */
    old = KfRaiseIrql(APC_LEVEL);
    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, NULL, NULL), TRUE);
    KT_EXPECT_EQ(r.Runs, 2);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(old);
}

KTEST(dpc_insert_twice_remove_before_and_after)
{
    static KT_DPC_RECORD r;
    KDPC dpc;

    KeInitializeDpc(&dpc, kt_record_dpc, &r);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, (PVOID)1, (PVOID)2), TRUE);
    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, (PVOID)3, (PVOID)4), FALSE);
    KT_EXPECT_EQ(dpc.SystemArgument1, 1);       /* untouched by the failed insert */
    KT_EXPECT_EQ(dpc.SystemArgument2, 2);
    KT_EXPECT_EQ(KeRemoveQueueDpc(&dpc), TRUE);
    KT_EXPECT_EQ(dpc.DpcData, NULL);
    KT_EXPECT_EQ(KeRemoveQueueDpc(&dpc), FALSE);
    KeLowerIrql(old);
    KeStallExecutionProcessor(2000);
    KT_EXPECT_EQ(r.Runs, 0);            /* removed before it ran: never runs */

    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, (PVOID)5, (PVOID)6), TRUE);
    KT_EXPECT_EQ(r.Runs, 1);
    KT_EXPECT_EQ(r.Argument1, 5);
    KT_EXPECT_EQ(KeRemoveQueueDpc(&dpc), FALSE);
}

static VOID kt_requeue_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    volatile LONG *runs = Context;

    UNREFERENCED_PARAMETER(Argument2);
    if (++*runs < (LONG)(ULONG_PTR)Argument1)
        KeInsertQueueDpc(Dpc, Argument1, NULL);    /* DpcData was cleared first: allowed */
}

KTEST(dpc_routine_can_requeue_itself)
{
    static volatile LONG runs;
    KDPC dpc;

    KeInitializeDpc(&dpc, kt_requeue_dpc, (PVOID)&runs);
    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, (PVOID)5, NULL), TRUE);
    KT_EXPECT_EQ(runs, 5);              /* the drain loop ran it until it stopped */
    KT_EXPECT_EQ(dpc.DpcData, NULL);
}

static volatile LONG KtOrder[8];
static volatile LONG KtOrderNext;

static VOID kt_order_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KtOrder[KtOrderNext++ & 7] = (LONG)(ULONG_PTR)Context;
}

KTEST(dpc_high_importance_runs_before_earlier_medium)
{
    static const KDPC_IMPORTANCE importance[5] = {
        MediumImportance, LowImportance, MediumImportance, HighImportance, MediumHighImportance
    };
    static const LONG expected[5] = { 3, 0, 1, 2, 4 };     /* High first, then queue order */
    KDPC dpc[5];

    KtOrderNext = 0;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (LONG i = 0; i < 5; i++) {
        KeInitializeDpc(&dpc[i], kt_order_dpc, (PVOID)(ULONG_PTR)i);
        KeSetImportanceDpc(&dpc[i], importance[i]);
        KeInsertQueueDpc(&dpc[i], NULL, NULL);
    }
    KeLowerIrql(old);
    KT_ASSERT_EQ(KtOrderNext, 5);
    for (LONG i = 0; i < 5; i++)
        KT_EXPECT_EQ(KtOrder[i], expected[i]);
}

KTEST(dpc_set_target_processor)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    PROCESSOR_NUMBER pn = { 0, 0, 0 };
    KDPC dpc;

    KeInitializeDpc(&dpc, kt_unused_routine, NULL);
    KeSetTargetProcessorDpc(&dpc, 0);
    KT_EXPECT_EQ(dpc.Number, MAXIMUM_PROCESSORS);       /* CPU 0 is not "untargeted" */
    KeSetTargetProcessorDpc(&dpc, (CCHAR)(count - 1));
    KT_EXPECT_EQ(dpc.Number, MAXIMUM_PROCESSORS + count - 1);
    KeSetTargetProcessorDpc(&dpc, (CCHAR)count);        /* no such CPU: unchanged */
    KeSetTargetProcessorDpc(&dpc, -1);
    KT_EXPECT_EQ(dpc.Number, MAXIMUM_PROCESSORS + count - 1);

    KT_EXPECT_EQ(KeSetTargetProcessorDpcEx(&dpc, &pn), STATUS_SUCCESS);
    KT_EXPECT_EQ(dpc.Number, MAXIMUM_PROCESSORS);
    pn.Number = (UCHAR)count;
    KT_EXPECT_EQ(KeSetTargetProcessorDpcEx(&dpc, &pn), STATUS_INVALID_PARAMETER);
    pn.Number = 0;
    pn.Group = 1;
    KT_EXPECT_EQ(KeSetTargetProcessorDpcEx(&dpc, &pn), STATUS_INVALID_PARAMETER);
    KT_EXPECT_EQ(dpc.Number, MAXIMUM_PROCESSORS);
}

static VOID kt_watchdog_query_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KDPC_WATCHDOG_INFORMATION *info = Context;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument2);
    *(NTSTATUS *)Argument1 = KeQueryDpcWatchdogInformation(info);
}

KTEST(dpc_watchdog_information_inside_a_dpc)
{
    KDPC_WATCHDOG_INFORMATION info;
    NTSTATUS status = STATUS_NOT_IMPLEMENTED;
    KDPC dpc;

    KeInitializeDpc(&dpc, kt_watchdog_query_dpc, &info);
    KeInsertQueueDpc(&dpc, &status, NULL);
    KT_EXPECT_EQ(status, STATUS_SUCCESS);
    KT_EXPECT_NE(info.DpcTimeLimit, 0);     /* on by default */
    KT_EXPECT_NE(info.DpcWatchdogLimit, 0);
    KT_EXPECT_TRUE(info.DpcTimeCount > 0 && info.DpcTimeCount <= info.DpcTimeLimit);
    KT_EXPECT_TRUE(info.DpcWatchdogCount > 0 && info.DpcWatchdogCount <= info.DpcWatchdogLimit);
}
