/*
 * test_timer.c - KTIMER: expiry signals the timer and queues its DPC,
 * periodic timers keep firing until cancelled, a wait on a timer, and the
 * return values of KeSetTimer(Ex) and KeCancelTimer (docs/threads.md,
 * "Timers").
 */
#include "kt_thread.h"

static volatile ULONG KtTimerDpcs;
static volatile ULONG64 KtTimerFiredAt;     /* interrupt time in the DPC */
static volatile KIRQL KtTimerDpcIrql;
static volatile ULONG KtTimerArgumentsSane;

static VOID timer_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    LARGE_INTEGER now;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    KeQuerySystemTime(&now);
    /* The system time at expiry, split in two 32-bit halves. */
    ULONG64 expired = ((ULONG64)(ULONG_PTR)Argument2 << 32) | (ULONG)(ULONG_PTR)Argument1;
    KtTimerArgumentsSane += expired <= (ULONG64)now.QuadPart &&
                            (ULONG64)now.QuadPart - expired < 10000000;
    KtTimerFiredAt = KeQueryInterruptTime();
    KtTimerDpcIrql = KeGetCurrentIrql();
    __atomic_add_fetch(&KtTimerDpcs, 1, __ATOMIC_SEQ_CST);
}

static VOID reset(VOID)
{
    KtTimerDpcs = 0;
    KtTimerFiredAt = 0;
    KtTimerArgumentsSane = 0;
}

KTEST(timer_one_shot_signals_and_queues_its_dpc)
{
    KTIMER timer;
    KDPC dpc;
    LARGE_INTEGER due = kt_ms(3);
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);

    reset();
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, timer_dpc, NULL);
    KT_EXPECT_EQ(KeReadStateTimer(&timer), FALSE);
    ULONG64 set_at = KeQueryInterruptTime();
    KT_EXPECT_EQ(KeSetTimer(&timer, due, &dpc), FALSE);
    KT_EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &timeout),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeReadStateTimer(&timer), TRUE);       /* a notification timer stays set */
    KeFlushQueuedDpcs();
    KT_EXPECT_EQ(KtTimerDpcs, 1);
    KT_EXPECT_EQ(KtTimerDpcIrql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KtTimerArgumentsSane, 1);
    /* Seen at the first tick after the due time: never before it, less a tick. */
    KT_EXPECT_TRUE(KtTimerFiredAt + KeQueryTimeIncrement() >= set_at + 3 * 10000);
    KT_EXPECT_EQ(KeCancelTimer(&timer), FALSE);         /* it fired: not set any more */
}

KTEST(timer_periodic_until_cancelled)
{
    KTIMER timer;
    KDPC dpc;
    LARGE_INTEGER due = kt_ms(2), ms = kt_ms(1);

    reset();
    KeInitializeTimerEx(&timer, SynchronizationTimer);
    KeInitializeDpc(&dpc, timer_dpc, NULL);
    KT_EXPECT_EQ(KeSetTimerEx(&timer, due, 2, &dpc), FALSE);
    while (__atomic_load_n(&KtTimerDpcs, __ATOMIC_ACQUIRE) < 5)
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    KT_EXPECT_EQ(KeCancelTimer(&timer), TRUE);          /* a periodic timer is always set */
    KeFlushQueuedDpcs();
    ULONG fired = KtTimerDpcs;
    due = kt_ms(10);
    KeDelayExecutionThread(KernelMode, FALSE, &due);
    KT_EXPECT_EQ(KtTimerDpcs, fired);                   /* nothing after the cancel */
    KT_EXPECT_TRUE(fired >= 5);
}

KTEST(timer_set_again_cancels_the_first)
{
    KTIMER timer;
    KDPC dpc;
    LARGE_INTEGER far = kt_ms(60000), soon = kt_ms(2);
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);

    reset();
    KeInitializeTimerEx(&timer, SynchronizationTimer);
    KeInitializeDpc(&dpc, timer_dpc, NULL);
    KT_EXPECT_EQ(KeSetTimer(&timer, far, &dpc), FALSE);
    KT_EXPECT_EQ(KeSetTimer(&timer, soon, &dpc), TRUE);     /* was set: cancelled first */
    KT_EXPECT_EQ(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &timeout),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeReadStateTimer(&timer), FALSE);      /* a synchronization timer resets */
    KeFlushQueuedDpcs();
    KT_EXPECT_EQ(KtTimerDpcs, 1);
    KT_EXPECT_EQ(KeSetTimer(&timer, far, NULL), FALSE);
    KT_EXPECT_EQ(KeCancelTimer(&timer), TRUE);
    KT_EXPECT_EQ(KeCancelTimer(&timer), FALSE);
}

/* A due time already past expires at once: signalled on return. */
KTEST(timer_due_in_the_past_expires_at_once)
{
    KTIMER timer;
    KDPC dpc;
    LARGE_INTEGER past;

    reset();
    KeQuerySystemTime(&past);
    past.QuadPart -= 10000000;
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, timer_dpc, NULL);
    KT_EXPECT_EQ(KeSetTimer(&timer, past, &dpc), FALSE);
    KT_EXPECT_EQ(KeReadStateTimer(&timer), TRUE);
    KeFlushQueuedDpcs();
    KT_EXPECT_EQ(KtTimerDpcs, 1);
}

/* A CPU holding DISPATCH_LEVEL for a long time does not hold up another
 * CPU's timers: CPU 0 (whose tick advances the interrupt time, so it sees
 * a timer due first) stays at DISPATCH_LEVEL until this thread's 2 ms
 * delay on CPU 1 has ended, or 5 s pass: then the expiry waited for CPU 0. */
static volatile LONG KtDelayEnded, KtHolderGaveUp;

static void hold_dispatch_or_delay(void *Context)
{
    LARGE_INTEGER ms = kt_ms(2);

    UNREFERENCED_PARAMETER(Context);
    if (KeGetCurrentProcessorNumber() == 1) {
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
        __atomic_store_n(&KtDelayEnded, 1, __ATOMIC_RELEASE);
    } else if (KeGetCurrentProcessorNumber() == 0) {
        KIRQL old = KeRaiseIrqlToDpcLevel();
        ULONG64 deadline = KeQueryInterruptTime() + 5 * 10000000ull;
        while (!__atomic_load_n(&KtDelayEnded, __ATOMIC_ACQUIRE))
            if (KeQueryInterruptTime() > deadline) {
                KtHolderGaveUp = 1;
                break;
            }
        KeLowerIrql(old);
    }
}

KTEST(timer_not_held_up_by_another_cpu_at_dispatch_level)
{
    KT_REQUIRE_CPUS(2);
    KAFFINITY previous = KeSetSystemAffinityThreadEx(2);    /* this thread to CPU 1 */
    for (ULONG trial = 0; trial < 4; trial++) {
        KtDelayEnded = KtHolderGaveUp = 0;
        ktest_run_on_all_cpus(hold_dispatch_or_delay, NULL);    /* CPU 0: its idle thread */
        KT_EXPECT_EQ(KtHolderGaveUp, 0);
    }
    KeRevertToUserAffinityThreadEx(previous);
}
