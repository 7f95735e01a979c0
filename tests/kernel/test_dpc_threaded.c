/*
 * test_dpc_threaded.c - threaded DPCs (kernel/dpc/dpc_thread.c, docs/dpc.md
 * "Threaded DPCs"): they run at PASSIVE_LEVEL in the target CPU's DPC
 * thread, in importance order, an ordinary DPC preempts them, the ForDpc
 * lock routines raise only inside them, KeFlushQueuedDpcs waits for them,
 * and with threaded_dpcs=off (the dpc_threaded_off_* tests, booted by make
 * test-threaded-off) they run as ordinary DPCs.
 */
#include "wdm.h"
#include "ktest.h"
#include "test_dpc.h"
#include "kernel/smp/pcr.h"
#include "kernel/thread/thread.h"

#define KT_SKIP_UNLESS_THREADED()                                                      \
    do {                                                                              \
        if (!KiThreadedDpcEnable) {                                                   \
            ktest_skip("threaded_dpcs=off");                                          \
            return;                                                                   \
        }                                                                             \
    } while (0)

typedef struct _KT_THREADED_RECORD {
    volatile LONG Runs;
    volatile ULONG Cpu;
    volatile KIRQL Irql;
    PKTHREAD volatile Thread;
    volatile BOOLEAN DpcThreadActive, Executing;
} KT_THREADED_RECORD;

static VOID kt_threaded_record(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KT_THREADED_RECORD *r = Context;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    r->Irql = KeGetCurrentIrql();
    r->Cpu = KeGetCurrentProcessorNumber();
    r->Thread = KeGetCurrentThread();
    r->DpcThreadActive = KeGetCurrentPrcb()->DpcThreadActive;
    r->Executing = KeIsExecutingDpc() != 0;
    __atomic_fetch_add(&r->Runs, 1, __ATOMIC_RELEASE);
}

KTEST(dpc_threaded_runs_at_passive_in_the_target_dpc_thread)
{
    KT_SKIP_UNLESS_THREADED();
    for (ULONG n = 0; n < KeQueryActiveProcessorCount(NULL); n++) {
        static KT_THREADED_RECORD r;
        KDPC dpc;

        memset((void *)&r, 0, sizeof(r));
        KeInitializeThreadedDpc(&dpc, kt_threaded_record, (PVOID)&r);
        KT_EXPECT_EQ(dpc.Type, ThreadedDpcObject);
        KeSetTargetProcessorDpc(&dpc, (CCHAR)n);
        KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, NULL, NULL), TRUE);
        KT_ASSERT_TRUE(kt_wait_at_least(&r.Runs, 1));
        KT_EXPECT_EQ(r.Irql, PASSIVE_LEVEL);
        KT_EXPECT_EQ(r.Cpu, n);
        KT_EXPECT_TRUE(r.Thread == KiProcessorBlock[n].Prcb.DpcThread);
        KT_EXPECT_TRUE(r.Thread != KeGetCurrentThread());
        KT_EXPECT_EQ(r.DpcThreadActive, TRUE);
        KT_EXPECT_EQ(r.Thread->Priority, HIGH_PRIORITY);
        KeFlushQueuedDpcs();            /* dpc is on this stack */
    }
    KT_EXPECT_EQ(KeGetCurrentPrcb()->DpcThreadActive, FALSE);
}

static volatile LONG KtThreadedOrder[8];
static volatile LONG KtThreadedNext;

static VOID kt_threaded_order(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KtThreadedOrder[__atomic_fetch_add(&KtThreadedNext, 1, __ATOMIC_ACQ_REL)] =
        (LONG)(ULONG_PTR)Context;
}

static volatile LONG KtBlockerStarted, KtBlockerRelease;

static VOID kt_threaded_blocker(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    __atomic_store_n(&KtBlockerStarted, 1, __ATOMIC_RELEASE);
    kt_wait_at_least(&KtBlockerRelease, 1);
}

/* None may start before all four are queued: on this CPU, queue them at
 * DISPATCH_LEVEL (the wake-up waits for the lowering); on another, keep its
 * DPC thread busy in a blocker routine meanwhile.  Then High at the head,
 * the others in queue order, on the CPU they target. */
KTEST(dpc_threaded_importance_order_on_the_target)
{
    static const KDPC_IMPORTANCE importance[4] = {
        MediumImportance, LowImportance, HighImportance, MediumHighImportance
    };
    static const LONG expected[4] = { 2, 0, 1, 3 };
    ULONG target = KeQueryActiveProcessorCount(NULL) - 1;
    KDPC dpc[4], blocker;
    KIRQL old = PASSIVE_LEVEL;

    KT_SKIP_UNLESS_THREADED();
    KtThreadedNext = 0;
    KtBlockerStarted = KtBlockerRelease = 0;
    if (target != KeGetCurrentProcessorNumber()) {
        KeInitializeThreadedDpc(&blocker, kt_threaded_blocker, NULL);
        KeSetTargetProcessorDpc(&blocker, (CCHAR)target);
        KeInsertQueueDpc(&blocker, NULL, NULL);
        KT_ASSERT_TRUE(kt_wait_at_least(&KtBlockerStarted, 1));
    } else {
        old = KeRaiseIrqlToDpcLevel();
    }
    for (LONG i = 0; i < 4; i++) {
        KeInitializeThreadedDpc(&dpc[i], kt_threaded_order, (PVOID)(ULONG_PTR)i);
        KeSetImportanceDpc(&dpc[i], importance[i]);
        KeSetTargetProcessorDpc(&dpc[i], (CCHAR)target);
        KeInsertQueueDpc(&dpc[i], NULL, NULL);
    }
    KT_EXPECT_EQ(KtThreadedNext, 0);
    if (target == KeGetCurrentProcessorNumber())
        KeLowerIrql(old);
    __atomic_store_n(&KtBlockerRelease, 1, __ATOMIC_RELEASE);
    KT_ASSERT_TRUE(kt_wait_at_least(&KtThreadedNext, 4));
    KeFlushQueuedDpcs();
    for (LONG i = 0; i < 4; i++)
        KT_EXPECT_EQ(KtThreadedOrder[i], expected[i]);
}

/* Same CPU: an ordinary DPC queued by a threaded routine runs before the
 * threaded routine goes on (it runs at PASSIVE_LEVEL; the 0x2F preempts). */
static volatile LONG KtPreemptLog[4];
static volatile LONG KtPreemptNext;

static VOID kt_preempt_log(LONG What)
{
    KtPreemptLog[__atomic_fetch_add(&KtPreemptNext, 1, __ATOMIC_ACQ_REL)] = What;
}

static VOID kt_ordinary_in_threaded(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    kt_preempt_log(KeGetCurrentIrql() == DISPATCH_LEVEL ? 2 : -2);
}

static VOID kt_threaded_queues_ordinary(PKDPC Dpc, PVOID Context, PVOID Argument1,
                                        PVOID Argument2)
{
    KDPC ordinary;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    kt_preempt_log(1);
    KeInitializeDpc(&ordinary, kt_ordinary_in_threaded, NULL);
    KeInsertQueueDpc(&ordinary, NULL, NULL);
    kt_preempt_log(3);
    /* ordinary has run: it is not queued (this stack frame ends). */
}

KTEST(dpc_threaded_preempted_by_an_ordinary_dpc)
{
    KDPC dpc;

    KT_SKIP_UNLESS_THREADED();
    KtPreemptNext = 0;
    KeInitializeThreadedDpc(&dpc, kt_threaded_queues_ordinary, NULL);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KT_ASSERT_TRUE(kt_wait_at_least(&KtPreemptNext, 3));
    KeFlushQueuedDpcs();
    KT_EXPECT_EQ(KtPreemptLog[0], 1);
    KT_EXPECT_EQ(KtPreemptLog[1], 2);       /* before the threaded routine went on */
    KT_EXPECT_EQ(KtPreemptLog[2], 3);
}

/* The ForDpc routines: the IRQL after each acquire and after each release,
 * as seen from inside the routine. */
typedef struct _KT_FOR_DPC {
    volatile LONG Runs;
    KIRQL Entry, Returned, Held, Released, QueuedOld, QueuedHeld, QueuedReleased;
    /* One lock per context: the validator would rightly object to one lock
     * held at PASSIVE_LEVEL here and taken by a DPC there (0xC4/0x6004). */
    KSPIN_LOCK Lock;
} KT_FOR_DPC;

static VOID kt_for_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KT_FOR_DPC *r = Context;
    KLOCK_QUEUE_HANDLE handle;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    r->Entry = KeGetCurrentIrql();
    r->Returned = KeAcquireSpinLockForDpc(&r->Lock);
    r->Held = KeGetCurrentIrql();
    KeReleaseSpinLockForDpc(&r->Lock, r->Returned);
    r->Released = KeGetCurrentIrql();
    KeAcquireInStackQueuedSpinLockForDpc(&r->Lock, &handle);
    r->QueuedOld = handle.OldIrql;
    r->QueuedHeld = KeGetCurrentIrql();
    KeReleaseInStackQueuedSpinLockForDpc(&handle);
    r->QueuedReleased = KeGetCurrentIrql();
    __atomic_fetch_add(&r->Runs, 1, __ATOMIC_RELEASE);
}

static void kt_expect_for_dpc(const KT_FOR_DPC *r, KIRQL Entry, KIRQL Held)
{
    KT_EXPECT_EQ(r->Entry, Entry);
    KT_EXPECT_EQ(r->Returned, Entry);
    KT_EXPECT_EQ(r->Held, Held);
    KT_EXPECT_EQ(r->Released, Entry);
    KT_EXPECT_EQ(r->QueuedOld, Entry);
    KT_EXPECT_EQ(r->QueuedHeld, Held);
    KT_EXPECT_EQ(r->QueuedReleased, Entry);
    KT_EXPECT_EQ(r->Lock, 0);
}

KTEST(dpc_threaded_for_dpc_locks_raise_and_lower)
{
    static KT_FOR_DPC r;
    KDPC dpc;

    KT_SKIP_UNLESS_THREADED();
    memset(&r, 0, sizeof(r));
    KeInitializeThreadedDpc(&dpc, kt_for_dpc, &r);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KT_ASSERT_TRUE(kt_wait_at_least(&r.Runs, 1));
    KeFlushQueuedDpcs();
    kt_expect_for_dpc(&r, PASSIVE_LEVEL, DISPATCH_LEVEL);
}

KTEST(dpc_ordinary_for_dpc_locks_keep_irql)
{
    static KT_FOR_DPC r;
    KDPC dpc;

    memset(&r, 0, sizeof(r));
    KeInitializeDpc(&dpc, kt_for_dpc, &r);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KT_ASSERT_TRUE(kt_wait_at_least(&r.Runs, 1));
    kt_expect_for_dpc(&r, DISPATCH_LEVEL, DISPATCH_LEVEL);
}

/* Windows: outside a threaded DPC the ForDpc forms never change IRQL, even
 * at PASSIVE_LEVEL (a driver suite written against Windows checks this). */
KTEST(dpc_for_dpc_locks_at_passive_outside_a_dpc_keep_irql)
{
    static KT_FOR_DPC r;

    memset(&r, 0, sizeof(r));
    kt_for_dpc(NULL, &r, NULL, NULL);
    kt_expect_for_dpc(&r, PASSIVE_LEVEL, PASSIVE_LEVEL);
}

/* A threaded DPC running on another CPU when the flush starts: the flush
 * returns only after it has finished. */
static volatile LONG KtFlushStarted, KtFlushFinished;

static VOID kt_threaded_slow(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    __atomic_store_n(&KtFlushStarted, 1, __ATOMIC_RELEASE);
    KeStallExecutionProcessor(30000);
    __atomic_store_n(&KtFlushFinished, 1, __ATOMIC_RELEASE);
}

KTEST(dpc_threaded_flush_waits_for_a_running_one)
{
    KDPC dpc;

    KT_REQUIRE_CPUS(2);
    KT_SKIP_UNLESS_THREADED();
    KtFlushStarted = KtFlushFinished = 0;
    KeInitializeThreadedDpc(&dpc, kt_threaded_slow, NULL);
    KeSetTargetProcessorDpc(&dpc, 1);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KT_ASSERT_TRUE(kt_wait_at_least(&KtFlushStarted, 1));
    KeFlushQueuedDpcs();
    KT_EXPECT_EQ(__atomic_load_n(&KtFlushFinished, __ATOMIC_ACQUIRE), 1);
    if (!KtFlushFinished)
        kt_wait_at_least(&KtFlushFinished, 1);  /* dpc lives on this stack */
}

/* threaded_dpcs=off (make test-threaded-off): an ordinary DPC at
 * DISPATCH_LEVEL on the DPC stack, and the ForDpc forms keep that level. */
KTEST(dpc_threaded_off_runs_as_an_ordinary_dpc)
{
    static KT_DPC_RECORD r;
    static KT_FOR_DPC f;
    KDPC dpc;

    if (KiThreadedDpcEnable) {
        ktest_skip("threaded_dpcs=on");
        return;
    }
    KT_EXPECT_TRUE(KiProcessorBlock[0].Prcb.DpcThread == NULL);
    KeInitializeThreadedDpc(&dpc, kt_record_dpc, &r);
    KT_EXPECT_EQ(KeInsertQueueDpc(&dpc, NULL, NULL), TRUE);
    KT_EXPECT_EQ(r.Runs, 1);            /* at PASSIVE: before the insert returned */
    KT_EXPECT_EQ(r.Irql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(r.Executing, TRUE);
    KT_EXPECT_EQ(r.OnDpcStack, TRUE);

    memset(&f, 0, sizeof(f));
    KeInitializeThreadedDpc(&dpc, kt_for_dpc, &f);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KT_ASSERT_TRUE(kt_wait_at_least(&f.Runs, 1));
    kt_expect_for_dpc(&f, DISPATCH_LEVEL, DISPATCH_LEVEL);
}

#if DBG     /* the free build puts PASSIVE_LEVEL back and goes on */
/* A threaded routine must give back PASSIVE_LEVEL, the level it was called
 * at: checked build, 0xC8 with P1 = (found 2 << 16) | (expected 0 << 8) | 4,
 * P2 the routine, P3 the KDPC, P4 its context (as for an ordinary DPC). */
static KDPC KtThreadedWrongIrqlDpc;

static VOID kt_threaded_returns_at_dispatch(PKDPC Dpc, PVOID Context, PVOID Argument1,
                                            PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    (void)KeRaiseIrqlToDpcLevel();
}

KTEST_BUGCHECK(dpc_threaded_routine_returns_at_wrong_irql, IRQL_UNEXPECTED_VALUE)
{
    ktest_expect_bugcheck(KT_P(0x20004), KT_P(kt_threaded_returns_at_dispatch),
                          KT_P(&KtThreadedWrongIrqlDpc), KT_P(0x78));
    KeInitializeThreadedDpc(&KtThreadedWrongIrqlDpc, kt_threaded_returns_at_dispatch, (PVOID)0x78);
    KeInsertQueueDpc(&KtThreadedWrongIrqlDpc, NULL, NULL);
    KeFlushQueuedDpcs();
}
#endif

/* A threaded DPC routine may not wait either (it may run as an ordinary
 * DPC): a wait that must block there is 0xB8, P1 the DPC thread, P3 its
 * stack.  P2, the thread its CPU would run next, depends on where the test
 * thread is in KeFlushQueuedDpcs at that moment: any. */
static KDPC KtThreadedWaitDpc;
static KEVENT KtNeverSet;

static VOID kt_threaded_waits(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KeWaitForSingleObject(&KtNeverSet, Executive, KernelMode, FALSE, NULL);
}

KTEST_BUGCHECK(dpc_threaded_routine_waits, ATTEMPTED_SWITCH_FROM_DPC)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    ktest_expect_bugcheck(KT_P(prcb->DpcThread), KT_ANY,
                          KT_P(prcb->DpcThread->StackBase), KT_P(0));
    KeInitializeEvent(&KtNeverSet, NotificationEvent, FALSE);
    KeInitializeThreadedDpc(&KtThreadedWaitDpc, kt_threaded_waits, NULL);
    KeInsertQueueDpc(&KtThreadedWaitDpc, NULL, NULL);      /* this CPU's DPC thread */
    KeFlushQueuedDpcs();
}
