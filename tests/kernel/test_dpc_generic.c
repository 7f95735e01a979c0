/*
 * test_dpc_generic.c - KeGenericCallDpc runs its routine once on every CPU
 * at DISPATCH_LEVEL; KeSignalCallDpcSynchronize holds them all and says
 * TRUE to exactly one (kernel/dpc_generic.c).
 */
#include "test_dpc.h"
#include "string.h"

#define KT_BARRIER_ROUNDS 3

static struct {
    volatile LONG Runs[MAXIMUM_PROCESSORS];
    volatile LONG BadIrql, BadContext;
    volatile LONG Arrived[KT_BARRIER_ROUNDS];
    volatile LONG EarlyLeavers;         /* left a barrier before all arrived */
    volatile LONG Chosen[KT_BARRIER_ROUNDS];
    PVOID Context;
} KtCall;

static VOID kt_generic_routine(PKDPC Dpc, PVOID Context, PVOID SystemArgument1,
                               PVOID SystemArgument2)
{
    LONG count = (LONG)KeQueryActiveProcessorCount(NULL);

    UNREFERENCED_PARAMETER(Dpc);
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        __atomic_fetch_add(&KtCall.BadIrql, 1, __ATOMIC_RELAXED);
    if (Context != KtCall.Context)
        __atomic_fetch_add(&KtCall.BadContext, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&KtCall.Runs[KeGetCurrentProcessorNumber()], 1, __ATOMIC_RELAXED);
    for (ULONG round = 0; round < KT_BARRIER_ROUNDS; round++) {
        __atomic_fetch_add(&KtCall.Arrived[round], 1, __ATOMIC_RELEASE);
        if (KeSignalCallDpcSynchronize(SystemArgument2))
            __atomic_fetch_add(&KtCall.Chosen[round], 1, __ATOMIC_RELAXED);
        if (__atomic_load_n(&KtCall.Arrived[round], __ATOMIC_ACQUIRE) != count)
            __atomic_fetch_add(&KtCall.EarlyLeavers, 1, __ATOMIC_RELAXED);
    }
    KeSignalCallDpcDone(SystemArgument1);
}

static void kt_reset_call(PVOID context)
{
    memset((void *)&KtCall, 0, sizeof(KtCall));
    KtCall.Context = context;
}

KTEST(dpc_generic_call_once_per_cpu_with_barrier)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    kt_reset_call((PVOID)0xC0FFEE);
    KeGenericCallDpc(kt_generic_routine, (PVOID)0xC0FFEE);
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
        KT_EXPECT_EQ(KtCall.Runs[n], n < count ? 1 : 0);
    KT_EXPECT_EQ(KtCall.BadIrql, 0);
    KT_EXPECT_EQ(KtCall.BadContext, 0);
    KT_EXPECT_EQ(KtCall.EarlyLeavers, 0);
    for (ULONG round = 0; round < KT_BARRIER_ROUNDS; round++) {
        KT_EXPECT_EQ(KtCall.Arrived[round], count);
        KT_EXPECT_EQ(KtCall.Chosen[round], 1);
    }
}

static volatile LONG KtConcurrentRuns;

static VOID kt_count_routine(PKDPC Dpc, PVOID Context, PVOID SystemArgument1,
                             PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    KeSignalCallDpcSynchronize(SystemArgument2);
    __atomic_fetch_add(&KtConcurrentRuns, 1, __ATOMIC_RELAXED);
    KeSignalCallDpcDone(SystemArgument1);
}

static void kt_call_from_every_cpu(void *context)
{
    UNREFERENCED_PARAMETER(context);
    KeGenericCallDpc(kt_count_routine, NULL);
    KeGenericCallDpc(kt_count_routine, NULL);
}

/* Every CPU calls it at once: the calls take turns instead of deadlocking
 * in each other's barriers. */
KTEST(dpc_generic_call_from_every_cpu_at_once)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    KtConcurrentRuns = 0;
    ktest_run_on_all_cpus(kt_call_from_every_cpu, NULL);
    KT_EXPECT_EQ(KtConcurrentRuns, 2 * count * count);
}
