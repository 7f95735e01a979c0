/*
 * test_spinlock_try.c - issue 6: "Try-acquire fails while another CPU holds
 * the lock and succeeds after", for the try routines other than the
 * executive one (test_spinlock.c has that): the numbered queued lock's
 * KeTryToAcquireQueuedSpinLock[RaiseToSynch], and the reader/writer lock's
 * ExTryAcquireSpinLock{Exclusive,Shared}AtDpcLevel.  The holder is really
 * another CPU (CPU 1, through its own routines), not a word set by hand.
 *
 * CPU 1 takes the lock and says so; CPU 0 tries (FALSE, lock word as CPU 1
 * left it, IRQL back where it was) and says so; CPU 1 releases; CPU 0 tries
 * again (TRUE) and releases.  CPU 0 records; the test checks afterwards.
 */
#include "kt_spinlock.h"
#include "string.h"

#define TRY_NUMBER  LockQueueUnusedSpare3
#define WRITER      0x80000000u

enum holder { NUMBERED, NUMBERED_SYNCH, RW_EXCLUSIVE, RW_SHARED };

static struct {
    enum holder Holder;
    EX_SPIN_LOCK RwLock;
    volatile LONG Step;             /* 1 held, 2 tried, 3 released */
    volatile LONG Lost;             /* a CPU gave up waiting for the other */
    /* What CPU 0 saw: while held, then after the release. */
    LOGICAL TryHeld, TryHeldShared, TryFree, TryFreeShared;
    KIRQL OldHeld, IrqlHeld, OldFree, IrqlFree;
    ULONG_PTR WordHeld, WordFree, WordHeldShared, WordFreeShared;
} KtTry;

static PKSPIN_LOCK numbered_word(void)
{
    return (PKSPIN_LOCK)((ULONG_PTR)KeGetCurrentPrcb()->LockQueue[TRY_NUMBER].Lock &
                         ~(ULONG_PTR)(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER));
}

static BOOLEAN wait_step(LONG step)
{
    if (kt_wait_for(&KtTry.Step, step))
        return TRUE;
    __atomic_store_n(&KtTry.Lost, 1, __ATOMIC_SEQ_CST);
    return FALSE;
}

static void holder(void)
{
    KIRQL old;

    switch (KtTry.Holder) {
    case NUMBERED:
    case NUMBERED_SYNCH:
        old = KeAcquireQueuedSpinLock(TRY_NUMBER);
        KtTry.Step = 1;
        wait_step(2);
        KeReleaseQueuedSpinLock(TRY_NUMBER, old);
        break;
    case RW_EXCLUSIVE:
        old = ExAcquireSpinLockExclusive(&KtTry.RwLock);
        KtTry.Step = 1;
        wait_step(2);
        ExReleaseSpinLockExclusive(&KtTry.RwLock, old);
        break;
    case RW_SHARED:
        old = ExAcquireSpinLockShared(&KtTry.RwLock);
        KtTry.Step = 1;
        wait_step(2);
        ExReleaseSpinLockShared(&KtTry.RwLock, old);
        break;
    }
    KtTry.Step = 3;
}

/* Numbered: from PASSIVE_LEVEL; the routine raises and, failing, lowers. */
static LOGICAL try_numbered(PKIRQL old, PKIRQL irql)
{
    LOGICAL got = KtTry.Holder == NUMBERED_SYNCH
                      ? KeTryToAcquireQueuedSpinLockRaiseToSynch(TRY_NUMBER, old)
                      : KeTryToAcquireQueuedSpinLock(TRY_NUMBER, old);

    *irql = KeGetCurrentIrql();
    return got;
}

static void trier(void)
{
    PKSPIN_LOCK word = numbered_word();
    KIRQL saved;

    if (!wait_step(1))
        return;
    if (KtTry.Holder == NUMBERED || KtTry.Holder == NUMBERED_SYNCH) {
        KtTry.TryHeld = try_numbered(&KtTry.OldHeld, &KtTry.IrqlHeld);
        KtTry.WordHeld = *word;
        if (KtTry.TryHeld)
            KeReleaseQueuedSpinLock(TRY_NUMBER, KtTry.OldHeld);
        KtTry.Step = 2;
        if (!wait_step(3))
            return;
        KtTry.TryFree = try_numbered(&KtTry.OldFree, &KtTry.IrqlFree);
        KtTry.WordFree = *word;
        if (KtTry.TryFree)
            KeReleaseQueuedSpinLock(TRY_NUMBER, KtTry.OldFree);
        return;
    }

    /* Reader/writer: the AtDpcLevel tries, at DISPATCH_LEVEL. */
    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    KtTry.TryHeld = ExTryAcquireSpinLockExclusiveAtDpcLevel(&KtTry.RwLock);
    KtTry.WordHeld = (ULONG)KtTry.RwLock;
    if (KtTry.TryHeld)
        ExReleaseSpinLockExclusiveFromDpcLevel(&KtTry.RwLock);
    KtTry.TryHeldShared = ExTryAcquireSpinLockSharedAtDpcLevel(&KtTry.RwLock);
    KtTry.WordHeldShared = (ULONG)KtTry.RwLock;
    if (KtTry.TryHeldShared)
        ExReleaseSpinLockSharedFromDpcLevel(&KtTry.RwLock);
    KtTry.IrqlHeld = KeGetCurrentIrql();
    KtTry.Step = 2;
    if (wait_step(3)) {
        KtTry.TryFree = ExTryAcquireSpinLockExclusiveAtDpcLevel(&KtTry.RwLock);
        KtTry.WordFree = (ULONG)KtTry.RwLock;
        if (KtTry.TryFree)
            ExReleaseSpinLockExclusiveFromDpcLevel(&KtTry.RwLock);
        KtTry.TryFreeShared = ExTryAcquireSpinLockSharedAtDpcLevel(&KtTry.RwLock);
        KtTry.WordFreeShared = (ULONG)KtTry.RwLock;
        if (KtTry.TryFreeShared)
            ExReleaseSpinLockSharedFromDpcLevel(&KtTry.RwLock);
        KtTry.IrqlFree = KeGetCurrentIrql();
    }
    KeLowerIrql(saved);
}

static void try_worker(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(context);
    kt_ensure_lock_queues();
    if (cpu == 1)
        holder();
    else if (cpu == 0)
        trier();
}

static void run_try(enum holder h)
{
    memset((void *)&KtTry, 0, sizeof(KtTry));
    KtTry.Holder = h;
    ktest_run_on_all_cpus(try_worker, NULL);
    KT_EXPECT_EQ(KtTry.Lost, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_try_numbered_fails_while_another_cpu_holds)
{
    KT_REQUIRE_CPUS(2);
    for (enum holder h = NUMBERED; h <= NUMBERED_SYNCH; h++) {
        KIRQL held_at = h == NUMBERED_SYNCH ? SYNCH_LEVEL : DISPATCH_LEVEL;

        run_try(h);
        /* Held: FALSE, *OldIrql filled, IRQL back, CPU 1's entry still the tail. */
        KT_EXPECT_EQ(KtTry.TryHeld, FALSE);
        KT_EXPECT_EQ(KtTry.OldHeld, PASSIVE_LEVEL);
        KT_EXPECT_EQ(KtTry.IrqlHeld, PASSIVE_LEVEL);
        KT_EXPECT_EQ(KtTry.WordHeld, (ULONG_PTR)&KiProcessorBlock[1].Prcb.LockQueue[TRY_NUMBER]);
        /* Released: TRUE, at the routine's level, CPU 0's entry the holder. */
        KT_EXPECT_EQ(KtTry.TryFree, TRUE);
        KT_EXPECT_EQ(KtTry.OldFree, PASSIVE_LEVEL);
        KT_EXPECT_EQ(KtTry.IrqlFree, held_at);
        KT_EXPECT_EQ(KtTry.WordFree, (ULONG_PTR)&KiProcessorBlock[0].Prcb.LockQueue[TRY_NUMBER]);
        KT_EXPECT_EQ(*numbered_word(), 0);
    }
}

/* A writer on CPU 1: neither try gets in, and the word stays "writer". */
KTEST(spinlock_try_rw_fails_while_another_cpu_writes)
{
    KT_REQUIRE_CPUS(2);
    run_try(RW_EXCLUSIVE);
    KT_EXPECT_EQ(KtTry.TryHeld, FALSE);
    KT_EXPECT_EQ(KtTry.WordHeld, WRITER);
    KT_EXPECT_EQ(KtTry.TryHeldShared, FALSE);
    KT_EXPECT_EQ(KtTry.WordHeldShared, WRITER);
    KT_EXPECT_EQ(KtTry.IrqlHeld, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KtTry.TryFree, TRUE);
    KT_EXPECT_EQ(KtTry.WordFree, WRITER);
    KT_EXPECT_EQ(KtTry.TryFreeShared, TRUE);
    KT_EXPECT_EQ(KtTry.WordFreeShared, 1);
    KT_EXPECT_EQ(KtTry.IrqlFree, DISPATCH_LEVEL);
    KT_EXPECT_EQ((ULONG)KtTry.RwLock, 0);
}

/* A reader on CPU 1: the exclusive try fails (word untouched: no writer
 * claim left behind), a shared one joins it; once it leaves, exclusive
 * succeeds. */
KTEST(spinlock_try_rw_exclusive_fails_while_another_cpu_reads)
{
    KT_REQUIRE_CPUS(2);
    run_try(RW_SHARED);
    KT_EXPECT_EQ(KtTry.TryHeld, FALSE);
    KT_EXPECT_EQ(KtTry.WordHeld, 1);
    KT_EXPECT_EQ(KtTry.TryHeldShared, TRUE);
    KT_EXPECT_EQ(KtTry.WordHeldShared, 2);
    KT_EXPECT_EQ(KtTry.IrqlHeld, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KtTry.TryFree, TRUE);
    KT_EXPECT_EQ(KtTry.WordFree, WRITER);
    KT_EXPECT_EQ(KtTry.TryFreeShared, TRUE);
    KT_EXPECT_EQ(KtTry.WordFreeShared, 1);
    KT_EXPECT_EQ((ULONG)KtTry.RwLock, 0);
}
