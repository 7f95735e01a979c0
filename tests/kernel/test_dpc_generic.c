/*
 * test_dpc_generic.c - KeGenericCallDpc runs its routine once on every CPU
 * at DISPATCH_LEVEL; KeSignalCallDpcSynchronize holds them all and says
 * TRUE to exactly one (kernel/dpc/dpc_generic.c).
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

/* ---- Back to back from every CPU ----------------------------------------
 *
 * Every CPU makes calls in a row (KT_B2B_CALLS in all, at least two each:
 * with 8 vCPUs on 2 host cores one barrier round waits for every vCPU
 * thread to be scheduled, a millisecond or more), each routine meeting the
 * barrier KT_B2B_ROUNDS times: a CPU leaving one round arrives at the next
 * at once, while the last arrival of the round it left may still be inside
 * KeSignalCallDpcSynchronize.  A barrier re-armed after its release (the
 * Generation bump) would lose that early arrival: the next round never
 * completes and its CPUs spin at DISPATCH_LEVEL until the DPC watchdog
 * stops the machine (DPC_WATCHDOG_VIOLATION, 20 s) or the runner's timeout
 * ends the boot, and either fails the test.  The window is a couple of
 * instructions, which TCG rarely preempts: race points widen it.  Each call
 * records its own counts (in the caller's frame: KeGenericCallDpc returns
 * only when every routine is done) and the caller checks them exactly. */
#define KT_B2B_CALLS    16
#define KT_B2B_ROUNDS   4

typedef struct {
    volatile LONG Runs[MAXIMUM_PROCESSORS];
    volatile LONG Arrived[KT_B2B_ROUNDS];
    volatile LONG Chosen[KT_B2B_ROUNDS];
    volatile LONG EarlyLeavers;
} KT_B2B_CALL;

static volatile LONG KtB2bBadCalls, KtB2bCalls;

static ULONG kt_b2b_calls_per_cpu(void)
{
    ULONG per_cpu = KT_B2B_CALLS / KeQueryActiveProcessorCount(NULL);

    return per_cpu < 2 ? 2 : per_cpu;
}

static VOID kt_b2b_routine(PKDPC Dpc, PVOID Context, PVOID SystemArgument1,
                           PVOID SystemArgument2)
{
    KT_B2B_CALL *call = Context;
    LONG count = (LONG)KeQueryActiveProcessorCount(NULL);

    UNREFERENCED_PARAMETER(Dpc);
    __atomic_fetch_add(&call->Runs[KeGetCurrentProcessorNumber()], 1, __ATOMIC_RELAXED);
    for (ULONG round = 0; round < KT_B2B_ROUNDS; round++) {
        __atomic_fetch_add(&call->Arrived[round], 1, __ATOMIC_RELEASE);
        if (KeSignalCallDpcSynchronize(SystemArgument2))
            __atomic_fetch_add(&call->Chosen[round], 1, __ATOMIC_RELAXED);
        if (__atomic_load_n(&call->Arrived[round], __ATOMIC_ACQUIRE) != count)
            __atomic_fetch_add(&call->EarlyLeavers, 1, __ATOMIC_RELAXED);
    }
    KeSignalCallDpcDone(SystemArgument1);
}

static void kt_b2b_caller(void *context)
{
    LONG count = (LONG)KeQueryActiveProcessorCount(NULL);

    UNREFERENCED_PARAMETER(context);
    for (ULONG n = 0; n < kt_b2b_calls_per_cpu(); n++) {
        KT_B2B_CALL call;
        BOOLEAN bad = FALSE;

        memset((void *)&call, 0, sizeof(call));
        KeGenericCallDpc(kt_b2b_routine, &call);
        for (LONG cpu = 0; cpu < MAXIMUM_PROCESSORS; cpu++)
            bad |= call.Runs[cpu] != (cpu < count ? 1 : 0);
        for (ULONG round = 0; round < KT_B2B_ROUNDS; round++)
            bad |= call.Arrived[round] != count || call.Chosen[round] != 1;
        bad |= call.EarlyLeavers != 0;
        if (bad)
            __atomic_fetch_add(&KtB2bBadCalls, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&KtB2bCalls, 1, __ATOMIC_RELAXED);
    }
}

KTEST(dpc_generic_back_to_back_calls_from_every_cpu)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    KtB2bBadCalls = 0;
    KtB2bCalls = 0;
    ktest_run_on_all_cpus(kt_b2b_caller, NULL);
    KT_EXPECT_EQ(KtB2bCalls, kt_b2b_calls_per_cpu() * count);
    KT_EXPECT_EQ(KtB2bBadCalls, 0);
}
