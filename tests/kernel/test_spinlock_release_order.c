/*
 * test_spinlock_release_order.c - every release that lowers IRQL frees the
 * lock first, then lowers: an interrupt the lowering lets in (here the DPC
 * software interrupt, queued while the lock was held) must find the lock
 * free.  Lowered first, a DPC on the holder's own CPU could spin on the
 * lock its own CPU holds, for ever (a stress test sees that only when a
 * remote DPC request happens to land inside a critical section).  One CPU
 * is enough, and it is deterministic: the DPC is pending for certain when
 * the release starts.
 */
#include "kt_spinlock.h"
#include "test_dpc.h"

#define ORDER_NUMBER LockQueueUnusedSpare15

enum order_kind {
    ORDER_EXECUTIVE, ORDER_RAISE_TO_SYNCH, ORDER_FOR_DPC, ORDER_IN_STACK,
    ORDER_IN_STACK_FOR_DPC, ORDER_IN_STACK_RAISE_TO_SYNCH, ORDER_NUMBERED,
    ORDER_NUMBERED_RAISE_TO_SYNCH, ORDER_RW_EXCLUSIVE, ORDER_RW_SHARED, ORDER_KINDS
};

static struct {
    KSPIN_LOCK Lock;
    EX_SPIN_LOCK RwLock;
    enum order_kind Kind;
    volatile LONG Runs;
    volatile LONG HeldWhenRun;          /* the DPC found the lock still taken */
} KtOrder;

static BOOLEAN order_lock_free(void)
{
    switch (KtOrder.Kind) {
    case ORDER_NUMBERED:
    case ORDER_NUMBERED_RAISE_TO_SYNCH:
        return *(volatile KSPIN_LOCK *)((ULONG_PTR)KeGetCurrentPrcb()->LockQueue[ORDER_NUMBER].Lock &
                                        ~(ULONG_PTR)3) == 0;
    case ORDER_RW_EXCLUSIVE:
    case ORDER_RW_SHARED:
        return *(volatile EX_SPIN_LOCK *)&KtOrder.RwLock == 0;
    default:
        return *(volatile KSPIN_LOCK *)&KtOrder.Lock == 0;
    }
}

static VOID order_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    if (!order_lock_free())
        KtOrder.HeldWhenRun++;
    KtOrder.Runs++;
}

/* Take the lock of this kind from PASSIVE_LEVEL, queue the DPC on this CPU
 * while holding it (its interrupt now pending), release. */
static void hold_queue_release(PKDPC dpc)
{
    KLOCK_QUEUE_HANDLE handle;
    KIRQL old;

    switch (KtOrder.Kind) {
    case ORDER_EXECUTIVE:
        KeAcquireSpinLock(&KtOrder.Lock, &old);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseSpinLock(&KtOrder.Lock, old);
        break;
    case ORDER_RAISE_TO_SYNCH:
        old = KeAcquireSpinLockRaiseToSynch(&KtOrder.Lock);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseSpinLock(&KtOrder.Lock, old);
        break;
    case ORDER_FOR_DPC:
        old = KeAcquireSpinLockForDpc(&KtOrder.Lock);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseSpinLockForDpc(&KtOrder.Lock, old);
        break;
    case ORDER_IN_STACK:
        KeAcquireInStackQueuedSpinLock(&KtOrder.Lock, &handle);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseInStackQueuedSpinLock(&handle);
        break;
    case ORDER_IN_STACK_FOR_DPC:
        KeAcquireInStackQueuedSpinLockForDpc(&KtOrder.Lock, &handle);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseInStackQueuedSpinLockForDpc(&handle);
        break;
    case ORDER_IN_STACK_RAISE_TO_SYNCH:
        KeAcquireInStackQueuedSpinLockRaiseToSynch(&KtOrder.Lock, &handle);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseInStackQueuedSpinLock(&handle);
        break;
    case ORDER_NUMBERED:
        old = KeAcquireQueuedSpinLock(ORDER_NUMBER);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseQueuedSpinLock(ORDER_NUMBER, old);
        break;
    case ORDER_NUMBERED_RAISE_TO_SYNCH:
        old = KeAcquireQueuedSpinLockRaiseToSynch(ORDER_NUMBER);
        KeInsertQueueDpc(dpc, NULL, NULL);
        KeReleaseQueuedSpinLock(ORDER_NUMBER, old);
        break;
    case ORDER_RW_EXCLUSIVE:
        old = ExAcquireSpinLockExclusive(&KtOrder.RwLock);
        KeInsertQueueDpc(dpc, NULL, NULL);
        ExReleaseSpinLockExclusive(&KtOrder.RwLock, old);
        break;
    default:
        old = ExAcquireSpinLockShared(&KtOrder.RwLock);
        KeInsertQueueDpc(dpc, NULL, NULL);
        ExReleaseSpinLockShared(&KtOrder.RwLock, old);
        break;
    }
}

/* The ForDpc forms lower only in a threaded DPC: they are tried there. */
static VOID threaded_hold_queue_release(PKDPC Dpc, PVOID Context, PVOID Argument1,
                                        PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    hold_queue_release(Context);
}

KTEST(spinlock_release_frees_before_lowering)
{
    KDPC dpc, threaded;

    kt_ensure_lock_queues();
    KeInitializeDpc(&dpc, order_dpc, NULL);
    KeInitializeThreadedDpc(&threaded, threaded_hold_queue_release, &dpc);
    for (ULONG kind = 0; kind < ORDER_KINDS; kind++) {
        BOOLEAN for_dpc = kind == ORDER_FOR_DPC || kind == ORDER_IN_STACK_FOR_DPC;

        if (for_dpc && !KiThreadedDpcEnable)
            continue;                   /* they never lower: nothing to order */
        KtOrder.Kind = (enum order_kind)kind;
        KtOrder.Runs = 0;
        KtOrder.HeldWhenRun = 0;
        if (for_dpc) {
            KeInsertQueueDpc(&threaded, NULL, NULL);
            KeFlushQueuedDpcs();
        } else {
            hold_queue_release(&dpc);
        }
        /* The DPC ran inside the release, on the way down to PASSIVE_LEVEL. */
        if (KtOrder.Runs != 1 || KtOrder.HeldWhenRun != 0)
            ktest_fail(__FILE__, __LINE__, "release form %u: the DPC ran %d times, %d with the lock held",
                       kind, KtOrder.Runs, KtOrder.HeldWhenRun);
        KT_EXPECT_TRUE(order_lock_free());
        KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    }
}
