/*
 * test_dpc_tick.c - the clock tick's share of the DPC queues: the defaults,
 * and MaximumDpcQueueDepth shrinking by one when a tick has to start a
 * queue that was left waiting, growing back after AdjustDpcThreshold quiet
 * ticks (kernel/dpc/dpc_queue.c, KiDpcClockTick).
 */
#include "test_dpc.h"

KTEST(dpc_thresholds_start_at_the_defaults)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    for (ULONG n = 0; n < count; n++) {
        PKPRCB prcb = &KiProcessorBlock[n].Prcb;
        KT_EXPECT_EQ(prcb->MinimumDpcRate, KI_MINIMUM_DPC_RATE);
        KT_EXPECT_TRUE(prcb->MaximumDpcQueueDepth >= 1 &&
                       prcb->MaximumDpcQueueDepth <= KI_DPC_QUEUE_DEPTH);
        KT_EXPECT_TRUE(prcb->AdjustDpcThreshold >= 1 &&
                       prcb->AdjustDpcThreshold <= KI_ADJUST_DPC_THRESHOLD);
    }
}

static VOID kt_read_depth_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    /* Runs right after the tick that started it. */
    __atomic_store_n((volatile LONG *)Context, (LONG)KeGetCurrentPrcb()->MaximumDpcQueueDepth,
                     __ATOMIC_RELEASE);
}

static BOOLEAN kt_wait_depth(PKPRCB prcb, ULONG depth)
{
    for (ULONG waited = 0; waited < KT_DPC_WAIT_US; waited += 100) {
        if (prcb->MaximumDpcQueueDepth == depth)
            return TRUE;
        KeStallExecutionProcessor(100);
    }
    return FALSE;
}

KTEST(dpc_tick_adapts_the_maximum_queue_depth)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    PKPRCB target = &KiProcessorBlock[count - 1].Prcb;
    volatile LONG seen = 0;
    KDPC dpc;

    KT_REQUIRE_CPUS(2);
    /* An idle CPU's quiet ticks bring the depth back to its ceiling. */
    KT_ASSERT_TRUE(kt_wait_depth(target, KI_DPC_QUEUE_DEPTH));
    /* Low, to another CPU: its tick starts the queue, at a rate below the
     * ideal, so the depth that forces an interrupt drops by one. */
    KeInitializeDpc(&dpc, kt_read_depth_dpc, (PVOID)&seen);
    KeSetImportanceDpc(&dpc, LowImportance);
    KeSetTargetProcessorDpc(&dpc, (CCHAR)(count - 1));
    KeInsertQueueDpc(&dpc, NULL, NULL);
    if (!kt_wait_at_least(&seen, 1)) {
        KeFlushQueuedDpcs();            /* dpc and seen live on this stack */
        ktest_fail(__FILE__, __LINE__, "the DPC never ran");
        return;
    }
    KT_EXPECT_EQ(seen, KI_DPC_QUEUE_DEPTH - 1);
    KT_EXPECT_TRUE(kt_wait_depth(target, KI_DPC_QUEUE_DEPTH));     /* and grows back */
}
