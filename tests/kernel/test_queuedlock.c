/*
 * test_queuedlock.c - in-stack and numbered queued spin locks
 * (kernel/locks/queuedlock.c, arch/x86_64/queuedlock.S): the exact visible states
 * of the lock word and the queue entries (docs/spinlocks.md), the IRQL of
 * every form, try-acquire, the I/O cancel lock, and first-come first-served
 * hand-off between CPUs.
 */
#include "kt_spinlock.h"
#include "kernel/console/console.h"

#define STATE(lock, bits) ((PKSPIN_LOCK)((ULONG_PTR)(lock) | (bits)))
#define UNTOUCHED 0x5A

/* A fresh handle full of junk, so every field the acquire sets is seen set. */
static void junk_handle(PKLOCK_QUEUE_HANDLE handle)
{
    handle->LockQueue.Next = (PKSPIN_LOCK_QUEUE)0x1111;
    handle->LockQueue.Lock = (PKSPIN_LOCK)0x2220;
    handle->OldIrql = UNTOUCHED;
}

KTEST(spinlock_queued_in_stack_states)
{
    KSPIN_LOCK lock = 0;
    KLOCK_QUEUE_HANDLE handle;

    junk_handle(&handle);
    KeAcquireInStackQueuedSpinLock(&lock, &handle);
    /* q owns, no waiters: L = q, q.Next = NULL, q.Lock = &L|OWNER. */
    KT_EXPECT_EQ(lock, (ULONG_PTR)&handle.LockQueue);
    KT_EXPECT_EQ(handle.LockQueue.Next, NULL);
    KT_EXPECT_EQ(handle.LockQueue.Lock, STATE(&lock, LOCK_QUEUE_OWNER));
    KT_EXPECT_EQ(handle.OldIrql, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());

    KeReleaseInStackQueuedSpinLock(&handle);
    /* Released, no waiters: L = 0, q.Next = NULL, q.Lock = &L. */
    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_EQ(handle.LockQueue.Next, NULL);
    KT_EXPECT_EQ(handle.LockQueue.Lock, &lock);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* The hand-off, with the waiter r played by hand on this CPU: r does what a
 * second CPU's acquire does up to its spin (WAIT, xchg, link), and the
 * release must turn r into the owner. */
KTEST(spinlock_queued_handoff_states)
{
    KSPIN_LOCK lock = 0;
    KLOCK_QUEUE_HANDLE q, r;
    KIRQL old;

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    junk_handle(&q);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock, &q);
    KT_EXPECT_EQ(q.OldIrql, UNTOUCHED);        /* the at-DPC form leaves it alone */

    r.LockQueue.Next = NULL;
    r.LockQueue.Lock = STATE(&lock, LOCK_QUEUE_WAIT);
    PKSPIN_LOCK_QUEUE prev = (PKSPIN_LOCK_QUEUE)__atomic_exchange_n(
        &lock, (ULONG_PTR)&r.LockQueue, __ATOMIC_SEQ_CST);
    KT_EXPECT_EQ(prev, &q.LockQueue);
    prev->Next = &r.LockQueue;
    /* q owns, r waits. */
    KT_EXPECT_EQ(lock, (ULONG_PTR)&r.LockQueue);
    KT_EXPECT_EQ(q.LockQueue.Next, &r.LockQueue);
    KT_EXPECT_EQ(q.LockQueue.Lock, STATE(&lock, LOCK_QUEUE_OWNER));
    KT_EXPECT_EQ(r.LockQueue.Lock, STATE(&lock, LOCK_QUEUE_WAIT));

    KeReleaseInStackQueuedSpinLockFromDpcLevel(&q);
    /* Handed to r. */
    KT_EXPECT_EQ(lock, (ULONG_PTR)&r.LockQueue);
    KT_EXPECT_EQ(q.LockQueue.Next, NULL);
    KT_EXPECT_EQ(q.LockQueue.Lock, &lock);
    KT_EXPECT_EQ(r.LockQueue.Lock, STATE(&lock, LOCK_QUEUE_OWNER));
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);

    KeReleaseInStackQueuedSpinLockFromDpcLevel(&r);
    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_EQ(r.LockQueue.Next, NULL);
    KT_EXPECT_EQ(r.LockQueue.Lock, &lock);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_queued_in_stack_forms_irql)
{
    KSPIN_LOCK lock = 0;
    KLOCK_QUEUE_HANDLE handle;
    KIRQL saved;

    /* ForDpc at PASSIVE_LEVEL outside a threaded DPC: no change, as on
     * Windows (inside one it raises: tests/kernel/test_dpc_threaded.c). */
    junk_handle(&handle);
    KeAcquireInStackQueuedSpinLockForDpc(&lock, &handle);
    KT_EXPECT_EQ(handle.OldIrql, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(handle.LockQueue.Lock, STATE(&lock, LOCK_QUEUE_OWNER));
    KeReleaseInStackQueuedSpinLockForDpc(&handle);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(lock, 0);

    /* ForDpc at DISPATCH_LEVEL: no change either way. */
    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    junk_handle(&handle);
    KeAcquireInStackQueuedSpinLockForDpc(&lock, &handle);
    KT_EXPECT_EQ(handle.OldIrql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseInStackQueuedSpinLockForDpc(&handle);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(lock, 0);

    /* At DPC level, above DISPATCH_LEVEL: IRQL untouched. */
    KfRaiseIrql(CLOCK_LEVEL);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&lock, &handle);
    KT_EXPECT_EQ(KeGetCurrentIrql(), CLOCK_LEVEL);
    KT_EXPECT_EQ(lock, (ULONG_PTR)&handle.LockQueue);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
    KT_EXPECT_EQ(KeGetCurrentIrql(), CLOCK_LEVEL);
    KT_EXPECT_EQ(lock, 0);
    KeLowerIrql(saved);

    /* RaiseToSynch, released with the ordinary release. */
    junk_handle(&handle);
    KeAcquireInStackQueuedSpinLockRaiseToSynch(&lock, &handle);
    KT_EXPECT_EQ(handle.OldIrql, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
    KT_EXPECT_EQ(lock, (ULONG_PTR)&handle.LockQueue);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
    KeReleaseInStackQueuedSpinLock(&handle);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* Nested in-stack locks released in reverse order: each release restores the
 * level its own acquire found. */
KTEST(spinlock_queued_nested_reverse_order)
{
    KSPIN_LOCK a = 0, b = 0, c = 0;
    KLOCK_QUEUE_HANDLE ha, hb, hc;

    KfRaiseIrql(APC_LEVEL);
    KeAcquireInStackQueuedSpinLock(&a, &ha);
    KeAcquireInStackQueuedSpinLock(&b, &hb);
    KeAcquireInStackQueuedSpinLockRaiseToSynch(&c, &hc);
    KT_EXPECT_EQ(ha.OldIrql, APC_LEVEL);
    KT_EXPECT_EQ(hb.OldIrql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(hc.OldIrql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
    KT_EXPECT_EQ(a, (ULONG_PTR)&ha.LockQueue);
    KT_EXPECT_EQ(b, (ULONG_PTR)&hb.LockQueue);
    KT_EXPECT_EQ(c, (ULONG_PTR)&hc.LockQueue);

    KeReleaseInStackQueuedSpinLock(&hc);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(c, 0);
    KeReleaseInStackQueuedSpinLock(&hb);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(b, 0);
    KeReleaseInStackQueuedSpinLock(&ha);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KT_EXPECT_EQ(a, 0);
    KeLowerIrql(PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* ---- Numbered queued locks ---------------------------------------------- */

#define TEST_NUMBER LockQueueUnusedSpare0       /* a number nothing else uses */

KTEST(spinlock_queued_numbered_states)
{
    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[TEST_NUMBER];
    PKSPIN_LOCK lock = entry->Lock;
    KIRQL old;

    KT_ASSERT_TRUE(lock != NULL);
    KT_EXPECT_EQ(*lock, 0);
    KT_EXPECT_EQ(entry->Next, NULL);

    old = KeAcquireQueuedSpinLock(TEST_NUMBER);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(*lock, (ULONG_PTR)entry);
    KT_EXPECT_EQ(entry->Next, NULL);
    KT_EXPECT_EQ(entry->Lock, STATE(lock, LOCK_QUEUE_OWNER));
    KT_EXPECT_TRUE(kt_interrupts_enabled());
    KeReleaseQueuedSpinLock(TEST_NUMBER, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(*lock, 0);
    KT_EXPECT_EQ(entry->Lock, lock);

    old = KeAcquireQueuedSpinLockRaiseToSynch(TEST_NUMBER);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
    KT_EXPECT_EQ(*lock, (ULONG_PTR)entry);
    KeReleaseQueuedSpinLock(TEST_NUMBER, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(*lock, 0);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* Try: TRUE on a free lock; FALSE while another queue entry holds it, with
 * *OldIrql filled and the IRQL back where it was (WRK: "IRQL is restored to
 * its previous value and FALSE is returned"). */
KTEST(spinlock_queued_numbered_try)
{
    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[TEST_NUMBER];
    PKSPIN_LOCK lock = entry->Lock;
    KLOCK_QUEUE_HANDLE other;
    KIRQL old = UNTOUCHED, saved;

    KT_EXPECT_EQ(KeTryToAcquireQueuedSpinLock(TEST_NUMBER, &old), TRUE);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(*lock, (ULONG_PTR)entry);
    KT_EXPECT_EQ(entry->Lock, STATE(lock, LOCK_QUEUE_OWNER));
    KeReleaseQueuedSpinLock(TEST_NUMBER, old);
    KT_EXPECT_EQ(*lock, 0);

    /* Held through another queue entry: an in-stack handle on the same word. */
    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(lock, &other);
    old = UNTOUCHED;
    KT_EXPECT_EQ(KeTryToAcquireQueuedSpinLock(TEST_NUMBER, &old), FALSE);
    KT_EXPECT_EQ(old, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(*lock, (ULONG_PTR)&other.LockQueue);   /* untouched */
    KT_EXPECT_EQ(entry->Lock, lock);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&other);
    KeLowerIrql(saved);

    /* Held by another CPU's entry (the raw word), tried from APC_LEVEL:
     * *OldIrql filled, IRQL back at APC_LEVEL. */
    KfRaiseIrql(APC_LEVEL);
    *lock = (ULONG_PTR)&KiProcessorBlock[1].Prcb.LockQueue[TEST_NUMBER];
    old = UNTOUCHED;
    KT_EXPECT_EQ(KeTryToAcquireQueuedSpinLock(TEST_NUMBER, &old), FALSE);
    KT_EXPECT_EQ(old, APC_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KT_EXPECT_EQ(*lock, (ULONG_PTR)&KiProcessorBlock[1].Prcb.LockQueue[TEST_NUMBER]);
    KT_EXPECT_EQ(entry->Lock, lock);
    old = UNTOUCHED;
    KT_EXPECT_EQ(KeTryToAcquireQueuedSpinLockRaiseToSynch(TEST_NUMBER, &old), FALSE);
    KT_EXPECT_EQ(old, APC_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    *lock = 0;

    KT_EXPECT_EQ(KeTryToAcquireQueuedSpinLockRaiseToSynch(TEST_NUMBER, &old), TRUE);
    KT_EXPECT_EQ(old, APC_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
    KeReleaseQueuedSpinLock(TEST_NUMBER, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KT_EXPECT_EQ(*lock, 0);
    KeLowerIrql(PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_queued_io_cancel_and_vpb_locks)
{
    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE cancel = &KeGetCurrentPrcb()->LockQueue[LockQueueIoCancelLock];
    PKSPIN_LOCK_QUEUE vpb = &KeGetCurrentPrcb()->LockQueue[LockQueueIoVpbLock];
    KIRQL irql = UNTOUCHED;

    IoAcquireCancelSpinLock(&irql);
    KT_EXPECT_EQ(irql, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(*(PKSPIN_LOCK)((ULONG_PTR)cancel->Lock & ~(ULONG_PTR)3), (ULONG_PTR)cancel);
    KT_EXPECT_EQ((ULONG_PTR)cancel->Lock & 3, LOCK_QUEUE_OWNER);
    IoReleaseCancelSpinLock(irql);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)cancel->Lock & 3, 0);
    KT_EXPECT_EQ(*cancel->Lock, 0);

    IoAcquireVpbSpinLock(&irql);
    KT_EXPECT_EQ(irql, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)vpb->Lock & 3, LOCK_QUEUE_OWNER);
    KT_EXPECT_NE(vpb->Lock, cancel->Lock);
    IoReleaseVpbSpinLock(irql);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)vpb->Lock & 3, 0);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* ---- First come, first served ------------------------------------------
 *
 * Who arrived first is decided inside the acquire (by its xchg), out of a
 * test's sight, but the holder can see it: the entries linked behind its
 * own are the waiters in arrival order (they stay queued while it holds the
 * lock, and links are only ever added at the tail).  So each holder notes
 * the chain behind it, and the grants that follow must come in exactly
 * that order.  Each CPU uses one entry of its own, so an entry names a CPU.
 */
#define FIFO_GRANTS     3000
#define FIFO_SEEN       8
#define FIFO_SOFT_MS    300
#define FIFO_MINIMUM    5       /* grants each CPU must get */

static struct {
    KSPIN_LOCK Lock;
    KLOCK_QUEUE_HANDLE Handle[MAXIMUM_PROCESSORS];
    volatile LONG Grants;
    KT_PROGRESS Progress;
    struct {
        UCHAR Cpu;
        UCHAR Seen;                     /* waiters noted behind it */
        UCHAR Waiter[FIFO_SEEN];
    } Log[FIFO_GRANTS];
    BOOLEAN Numbered;
} KtFifo;

static ULONG entry_cpu(PKSPIN_LOCK_QUEUE q)
{
    if (KtFifo.Numbered) {
        for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
            if (q == &KiProcessorBlock[n].Prcb.LockQueue[TEST_NUMBER])
                return n;
        return 0xFF;
    }
    return (ULONG)(CONTAINING_RECORD(q, KLOCK_QUEUE_HANDLE, LockQueue) - KtFifo.Handle);
}

/* Inside the lock: log this grant and the chain of waiters behind q. */
static BOOLEAN log_grant(ULONG cpu, PKSPIN_LOCK_QUEUE q)
{
    LONG g = KtFifo.Grants;
    if (g >= FIFO_GRANTS)
        return FALSE;
    KtFifo.Log[g].Cpu = (UCHAR)cpu;
    ULONG seen = 0;
    for (PKSPIN_LOCK_QUEUE w = q->Next; w && seen < FIFO_SEEN; w = w->Next)
        KtFifo.Log[g].Waiter[seen++] = (UCHAR)entry_cpu(w);
    KtFifo.Log[g].Seen = (UCHAR)seen;
    KtFifo.Grants = g + 1;
    kt_pause(30);                       /* hold it a moment: let waiters queue up */
    return TRUE;
}

static void fifo_worker(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    BOOLEAN more = TRUE;

    UNREFERENCED_PARAMETER(context);
    kt_ensure_lock_queues();
    kt_progress_start_together(&KtFifo.Progress, FIFO_SOFT_MS);
    for (enum kt_step step; more && (step = kt_progress_next(&KtFifo.Progress, FALSE)) != KT_STOP;) {
        if (step == KT_IDLE)
            continue;
        if (KtFifo.Numbered) {
            KIRQL old = KeAcquireQueuedSpinLock(TEST_NUMBER);
            more = log_grant(cpu, &KeGetCurrentPrcb()->LockQueue[TEST_NUMBER]);
            KeReleaseQueuedSpinLock(TEST_NUMBER, old);
        } else {
            KeAcquireInStackQueuedSpinLock(&KtFifo.Lock, &KtFifo.Handle[cpu]);
            more = log_grant(cpu, &KtFifo.Handle[cpu].LockQueue);
            KeReleaseInStackQueuedSpinLock(&KtFifo.Handle[cpu]);
        }
        kt_progress_count(&KtFifo.Progress, KT_PASSIVE);
        kt_pause(cpu * 7 % 50);        /* a little outside, different per CPU */
    }
}

static void check_fifo(BOOLEAN numbered)
{
    KT_REQUIRE_CPUS(2);
    KtFifo.Lock = 0;
    KtFifo.Grants = 0;
    KtFifo.Numbered = numbered;
    kt_progress_init(&KtFifo.Progress, FIFO_MINIMUM, 0, 0);
    ktest_run_on_all_cpus(fifo_worker, NULL);

    ULONG grants = (ULONG)KtFifo.Grants, checked = 0, bad = 0;
    for (ULONG g = 0; g < grants; g++)
        for (ULONG w = 0; w < KtFifo.Log[g].Seen && g + 1 + w < grants; w++) {
            checked++;
            if (KtFifo.Log[g + 1 + w].Cpu != KtFifo.Log[g].Waiter[w] && bad++ < 3)
                ktest_fail(__FILE__, __LINE__,
                           "grant %u: CPU %u saw CPU %u as waiter %u, but grant %u went to CPU %u",
                           g, KtFifo.Log[g].Cpu, KtFifo.Log[g].Waiter[w], w, g + 1 + w,
                           KtFifo.Log[g + 1 + w].Cpu);
        }
    kprintf("    # %u grants, %u hand-offs to a waiter seen queued\n", grants, checked);
    KT_EXPECT_EQ(bad, 0);
    kt_progress_check(&KtFifo.Progress);       /* first come, first served: nobody starves */
    /* Contention happened (waiters were seen), or the test proved nothing. */
    KT_EXPECT_NE(checked, 0);
}

KTEST(spinlock_queued_in_stack_fifo)
{
    check_fifo(FALSE);
}

KTEST(spinlock_queued_numbered_fifo)
{
    check_fifo(TRUE);
}
