/*
 * queuedlock.c - queued spin locks (WDK: Queued Spin Locks,
 * KeAcquireInStackQueuedSpinLock; ntifs KeAcquireQueuedSpinLock).
 *
 * A queued spin lock is an MCS lock on an ordinary KSPIN_LOCK: the word holds
 * the tail of a queue of KSPIN_LOCK_QUEUE entries, each waiter spins on its
 * own entry (its own cache line, not the lock's), and the holder hands the
 * lock to the next entry on release: first come, first served.  The entry
 * is the caller's KLOCK_QUEUE_HANDLE for the in-stack locks, and this CPU's
 * KPRCB LockQueue[Number] for the numbered ones, whose words are the
 * KiQueuedSpinLocks below.  Lock word and entry states, and the algorithm
 * step by step: arch/x86_64/queuedlock.S and docs/spinlocks.md.
 *
 * Free build: the in-stack routines are all assembly; the numbered ones
 * raise here and call the assembly cores.  Checked build: everything below,
 * the same algorithm in C with the caller's checks around it.
 *
 * IRQL: raising forms raise to DISPATCH_LEVEL (SYNCH_LEVEL for RaiseToSynch)
 * before joining the queue; ForDpc forms only in a threaded DPC.
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/locks/lockorder.h"
#include "kernel/trace/trace.h"
#include "arch/x86_64/cpu.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))
#define STATE_BITS ((ULONG_PTR)(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER))

/* The numbered locks' words: global, each on its own cache line (a waiter's
 * xchg on one must not slow the holder of another).  Protect what their
 * names say; taken at DISPATCH_LEVEL (SYNCH_LEVEL for RaiseToSynch). */
static struct {
    KSPIN_LOCK Lock;
} DECLSPEC_CACHEALIGN KiQueuedSpinLockLines[LockQueueMaximumLock];

VOID KiInitializeLockQueues(PKPRCB Prcb)
{
    for (ULONG n = 0; n < LockQueueMaximumLock; n++) {
        Prcb->LockQueue[n].Next = NULL;
        Prcb->LockQueue[n].Lock = &KiQueuedSpinLockLines[n].Lock;
    }
}

#if !DBG
/* ---- Free build: raise, then the assembly core -------------------------- */

/* mov %cr8 first, then this CPU's entry: the number and the entry go together. */
static KIRQL raise(KIRQL Target)
{
    KIRQL old = (KIRQL)__readcr8();

    __writecr8(Target);
    return old;
}

KIRQL FASTCALL KeAcquireQueuedSpinLock(KSPIN_LOCK_QUEUE_NUMBER Number)
{
    KIRQL old = raise(DISPATCH_LEVEL);

    KI_RACE_POINT("numbered.acquire.raised");
    KxAcquireQueuedSpinLock(&KeGetCurrentPrcb()->LockQueue[Number]);
    return old;
}

KIRQL FASTCALL KeAcquireQueuedSpinLockRaiseToSynch(KSPIN_LOCK_QUEUE_NUMBER Number)
{
    KIRQL old = raise(SYNCH_LEVEL);

    KxAcquireQueuedSpinLock(&KeGetCurrentPrcb()->LockQueue[Number]);
    return old;
}

VOID FASTCALL KeReleaseQueuedSpinLock(KSPIN_LOCK_QUEUE_NUMBER Number, KIRQL OldIrql)
{
    KxReleaseQueuedSpinLock(&KeGetCurrentPrcb()->LockQueue[Number]);
    KI_RACE_POINT("numbered.release.passed_on");
    __writecr8(OldIrql);
}

/* WRK, Server 2003 SP1: "If the spin lock is already owned, then IRQL is
 * restored to its previous value and FALSE is returned"; *OldIrql is filled
 * either way. */
static LOGICAL try_to_acquire(KSPIN_LOCK_QUEUE_NUMBER Number, PKIRQL OldIrql, KIRQL Target)
{
    *OldIrql = raise(Target);
    if (KxTryToAcquireQueuedSpinLock(&KeGetCurrentPrcb()->LockQueue[Number]))
        return TRUE;
    __writecr8(*OldIrql);
    return FALSE;
}

LOGICAL FASTCALL KeTryToAcquireQueuedSpinLock(KSPIN_LOCK_QUEUE_NUMBER Number, PKIRQL OldIrql)
{
    return try_to_acquire(Number, OldIrql, DISPATCH_LEVEL);
}

LOGICAL FASTCALL KeTryToAcquireQueuedSpinLockRaiseToSynch(KSPIN_LOCK_QUEUE_NUMBER Number,
                                                         PKIRQL OldIrql)
{
    return try_to_acquire(Number, OldIrql, SYNCH_LEVEL);
}

#else
/* ---- Checked build: the MCS queue in C, with checks -------------------- */

/* Join L's queue with entry q and wait for our turn.  Recursion first: on
 * the same CPU the wait would never end.  Kind (KI_LOCK_IN_STACK or
 * KI_LOCK_NUMBERED) is for the tracer. */
static VOID mcs_acquire(PKSPIN_LOCK L, PKSPIN_LOCK_QUEUE q, UCHAR Kind)
{
    volatile KSPIN_LOCK *word = L;

    if (KiFindHeldLock(L, 0))
        KiBugCheckRecursion(L, *word);
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_BEGIN, L, 0, Kind);
    q->Next = NULL;
    q->Lock = L;
    /* xchg: join as the tail; locked, so a full barrier. */
    PKSPIN_LOCK_QUEUE prev = (PKSPIN_LOCK_QUEUE)__atomic_exchange_n(word, (ULONG_PTR)q,
                                                                    __ATOMIC_SEQ_CST);
    if (!prev) {
        q->Lock = (PKSPIN_LOCK)((ULONG_PTR)L | LOCK_QUEUE_OWNER);    /* 0 -> q: ours */
        KI_RACE_POINT("mcs.acquire.uncontended");
        KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_ACQUIRED, L, 0, Kind);
        return;
    }
    KI_RACE_POINT("mcs.acquire.swapped");       /* the tail, not yet linked behind prev */
    /* Volatile stores stay in program order (and TSO keeps them so): WAIT is
     * set before prev can find us and hand off. */
    q->Lock = (PKSPIN_LOCK)((ULONG_PTR)L | LOCK_QUEUE_WAIT);
    KI_RACE_POINT("mcs.acquire.wait_stored");
    prev->Next = q;
    KI_RACE_POINT("mcs.acquire.linked");
    KI_SPIN_WAIT wait = KI_SPIN_WAIT_INIT;
    while ((ULONG_PTR)q->Lock & LOCK_QUEUE_WAIT)                     /* our own line */
        KiSpinWaitPause(&wait, L, *word);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);    /* compiler only on x86: keep the section after */
    KI_RACE_POINT("mcs.acquire.granted");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_ACQUIRED, L, wait.Spins + 1, Kind);   /* queued: >= 1 */
}

/* The lock entry q holds; 0x10 if q does not hold one. */
static PKSPIN_LOCK owned_lock(PKSPIN_LOCK_QUEUE q, ULONG_PTR Caller)
{
    ULONG_PTR state = (ULONG_PTR)q->Lock;

    if (!(state & LOCK_QUEUE_OWNER))
        KiBugCheckNotOwned((PVOID)(state & ~STATE_BITS), state, Caller);
    return (PKSPIN_LOCK)(state & ~STATE_BITS);
}

static VOID mcs_release(PKSPIN_LOCK L, PKSPIN_LOCK_QUEUE q, UCHAR Kind)
{
    volatile KSPIN_LOCK *word = L;

    KI_RACE_POINT("mcs.release.held");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_RELEASE, L, 0, Kind);     /* still ours */
    __atomic_thread_fence(__ATOMIC_RELEASE);    /* compiler only: the section stays before */
    q->Lock = L;                                /* drop OWNER */
    if (!q->Next) {
        ULONG_PTR expected = (ULONG_PTR)q;
        KI_RACE_POINT("mcs.release.no_successor_seen");     /* one may swap in now */
        /* lock cmpxchg: nobody queued behind us (L == q)?  Then L = 0, free. */
        if (__atomic_compare_exchange_n(word, &expected, 0, FALSE, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return;
        /* A successor swapped itself in and is about to link: wait for it. */
        KI_SPIN_WAIT wait = KI_SPIN_WAIT_INIT;
        while (!q->Next)
            KiSpinWaitPause(&wait, L, *word);
    }
    PKSPIN_LOCK_QUEUE next = q->Next;
    KI_RACE_POINT("mcs.release.handing_off");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_HANDOFF, L, 0, Kind);     /* the successor's turn next */
    q->Next = NULL;
    next->Lock = (PKSPIN_LOCK)((ULONG_PTR)L | LOCK_QUEUE_OWNER);    /* hand-off: WAIT -> OWNER */
}

/* Acquire for a handle, recording HoldIrql; OldIrql is the entry IRQL. */
static VOID in_stack_acquire(PKSPIN_LOCK L, PKLOCK_QUEUE_HANDLE Handle, KIRQL OldIrql,
                             KIRQL HoldIrql, ULONG_PTR Caller)
{
    KiLockOrderAcquire(L, KI_LOCK_IN_STACK, Caller);
    mcs_acquire(L, &Handle->LockQueue, KI_LOCK_IN_STACK);
    KiTrackAcquire(L, KI_LOCK_IN_STACK, OldIrql, HoldIrql, Caller);
}

static VOID in_stack_release(PKLOCK_QUEUE_HANDLE Handle, BOOLEAN Restores, ULONG_PTR Caller)
{
    PKSPIN_LOCK L = owned_lock(&Handle->LockQueue, Caller);

    KiTrackRelease(L, KI_LOCK_IN_STACK, Restores, Caller);
    mcs_release(L, &Handle->LockQueue, KI_LOCK_IN_STACK);
}

/* Releases that lower must run at the level the lock is held at. */
static VOID check_release_level(PVOID Lock, UCHAR Kind, ULONG Subcode, ULONG_PTR Parameter3,
                                KIRQL OldIrql)
{
    KI_HELD_SPIN_LOCK *held = KiFindHeldLock(Lock, Kind);
    KIRQL level = held ? held->HoldIrql : DISPATCH_LEVEL;
    KIRQL current = KeGetCurrentIrql();

    if (current != level)               /* WDK: Bug Check 0xC4, subcode 0x35 / 0x36 */
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Subcode, current, Parameter3, OldIrql);
}

VOID FASTCALL KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->OldIrql = KiRaiseForAcquire(DISPATCH_LEVEL, SpinLock, CALLER);
    in_stack_acquire(SpinLock, LockHandle, LockHandle->OldIrql, DISPATCH_LEVEL, CALLER);
}

VOID FASTCALL KeAcquireInStackQueuedSpinLockRaiseToSynch(PKSPIN_LOCK SpinLock,
                                                         PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->OldIrql = KiRaiseForAcquire(SYNCH_LEVEL, SpinLock, CALLER);
    in_stack_acquire(SpinLock, LockHandle, LockHandle->OldIrql, SYNCH_LEVEL, CALLER);
}

VOID FASTCALL KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                       PKLOCK_QUEUE_HANDLE LockHandle)
{
    KiCheckAtDpcLevel(SpinLock, CALLER);
    in_stack_acquire(SpinLock, LockHandle, KeGetCurrentIrql(), DISPATCH_LEVEL, CALLER);
}

/* ForDpc: raise and lower only in a threaded DPC (KPRCB.DpcThreadActive);
 * elsewhere the lock is taken and held at the current IRQL, unchanged, as
 * Windows does (kernel/locks/spinlock.c, KeAcquireSpinLockForDpc). */
VOID FASTCALL KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock,
                                                   PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL current = KeGetCurrentIrql();
    KIRQL hold = current;

    LockHandle->OldIrql = current;
    if (KeGetCurrentPrcb()->DpcThreadActive) {
        KiRaiseForAcquire(DISPATCH_LEVEL, SpinLock, CALLER);    /* above DISPATCH: 0x09 */
        hold = DISPATCH_LEVEL;
    }
    in_stack_acquire(SpinLock, LockHandle, current, hold, CALLER);
}

VOID FASTCALL KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL old = LockHandle->OldIrql;
    PKSPIN_LOCK L = (PKSPIN_LOCK)((ULONG_PTR)LockHandle->LockQueue.Lock & ~STATE_BITS);

    check_release_level(L, KI_LOCK_IN_STACK, KI_VERIFIER_RELEASE_LOCK_IRQL, (ULONG_PTR)L, old);
    in_stack_release(LockHandle, KI_RELEASE_RESTORES, CALLER);
    KiLowerIrqlChecked(old, CALLER);
}

VOID FASTCALL KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KiCheckAtDpcLevel((PVOID)((ULONG_PTR)LockHandle->LockQueue.Lock & ~STATE_BITS), CALLER);
    in_stack_release(LockHandle, KI_RELEASE_KEEPS_IRQL, CALLER);
}

VOID FASTCALL KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL old = LockHandle->OldIrql;
    PKSPIN_LOCK L = (PKSPIN_LOCK)((ULONG_PTR)LockHandle->LockQueue.Lock & ~STATE_BITS);
    BOOLEAN lowers = KeGetCurrentPrcb()->DpcThreadActive;

    if (lowers || KiFindHeldLock(L, KI_LOCK_IN_STACK))
        check_release_level(L, KI_LOCK_IN_STACK, KI_VERIFIER_RELEASE_LOCK_IRQL, (ULONG_PTR)L, old);
    in_stack_release(LockHandle, lowers ? KI_RELEASE_RESTORES : KI_RELEASE_KEEPS_IRQL, CALLER);
    if (lowers)
        KiLowerIrqlChecked(old, CALLER);
}

/* Numbered: a number past the table would index past KPRCB.LockQueue[] and
 * KiQueuedSpinLockLines[]: 0xC4 / KI_VERIFIER_BAD_LOCK_NUMBER, before any
 * raise or access. */
static VOID check_number(KSPIN_LOCK_QUEUE_NUMBER Number, ULONG_PTR Caller)
{
    if (Number >= LockQueueMaximumLock)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_BAD_LOCK_NUMBER,
                     (ULONG_PTR)Number, LockQueueMaximumLock, Caller);
}

/* Numbered: this CPU's entry for the lock (after the raise: the entry and
 * the CPU must go together). */
static PKSPIN_LOCK_QUEUE entry(KSPIN_LOCK_QUEUE_NUMBER Number)
{
    return &KeGetCurrentPrcb()->LockQueue[Number];
}

static KIRQL numbered_acquire(KSPIN_LOCK_QUEUE_NUMBER Number, KIRQL Target, ULONG_PTR Caller)
{
    check_number(Number, Caller);
    KIRQL old = KiRaiseForAcquire(Target, &KiQueuedSpinLockLines[Number].Lock, Caller);
    PKSPIN_LOCK_QUEUE q = entry(Number);
    PKSPIN_LOCK L = (PKSPIN_LOCK)((ULONG_PTR)q->Lock & ~STATE_BITS);

    KiLockOrderAcquire(L, KI_LOCK_NUMBERED, Caller);
    mcs_acquire(L, q, KI_LOCK_NUMBERED);
    KiTrackAcquire(L, KI_LOCK_NUMBERED, old, Target, Caller);
    return old;
}

KIRQL FASTCALL KeAcquireQueuedSpinLock(KSPIN_LOCK_QUEUE_NUMBER Number)
{
    return numbered_acquire(Number, DISPATCH_LEVEL, CALLER);
}

KIRQL FASTCALL KeAcquireQueuedSpinLockRaiseToSynch(KSPIN_LOCK_QUEUE_NUMBER Number)
{
    return numbered_acquire(Number, SYNCH_LEVEL, CALLER);
}

VOID FASTCALL KeReleaseQueuedSpinLock(KSPIN_LOCK_QUEUE_NUMBER Number, KIRQL OldIrql)
{
    check_number(Number, CALLER);
    PKSPIN_LOCK_QUEUE q = entry(Number);
    PKSPIN_LOCK L = (PKSPIN_LOCK)((ULONG_PTR)q->Lock & ~STATE_BITS);

    check_release_level(L, KI_LOCK_NUMBERED, KI_VERIFIER_RELEASE_QUEUED_LOCK_IRQL, Number,
                        OldIrql);
    owned_lock(q, CALLER);
    KiTrackRelease(L, KI_LOCK_NUMBERED, KI_RELEASE_RESTORES, CALLER);
    mcs_release(L, q, KI_LOCK_NUMBERED);
    KiLowerIrqlChecked(OldIrql, CALLER);
}

/* *OldIrql is filled either way; on failure the IRQL goes back to it (WRK,
 * Server 2003 SP1).  A try never bug-checks for recursion: it cannot wait. */
static LOGICAL numbered_try(KSPIN_LOCK_QUEUE_NUMBER Number, PKIRQL OldIrql, KIRQL Target,
                            ULONG_PTR Caller)
{
    check_number(Number, Caller);
    KIRQL old = KiRaiseForAcquire(Target, &KiQueuedSpinLockLines[Number].Lock, Caller);
    PKSPIN_LOCK_QUEUE q = entry(Number);
    PKSPIN_LOCK L = (PKSPIN_LOCK)((ULONG_PTR)q->Lock & ~STATE_BITS);
    ULONG_PTR expected = 0;

    *OldIrql = old;
    if (*(volatile KSPIN_LOCK *)L != 0)     /* busy (even by us): a plain read, no write */
        goto busy;
    KI_RACE_POINT("mcs.try.saw_free");
    q->Next = NULL;
    if (!__atomic_compare_exchange_n(L, &expected, (ULONG_PTR)q, FALSE, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))             /* lock cmpxchg 0 -> q */
        goto busy;
    q->Lock = (PKSPIN_LOCK)((ULONG_PTR)L | LOCK_QUEUE_OWNER);
    KiTrackAcquire(L, KI_LOCK_NUMBERED, old, Target, Caller);
    return TRUE;
busy:
    __writecr8(old);
    return FALSE;
}

LOGICAL FASTCALL KeTryToAcquireQueuedSpinLock(KSPIN_LOCK_QUEUE_NUMBER Number, PKIRQL OldIrql)
{
    return numbered_try(Number, OldIrql, DISPATCH_LEVEL, CALLER);
}

LOGICAL FASTCALL KeTryToAcquireQueuedSpinLockRaiseToSynch(KSPIN_LOCK_QUEUE_NUMBER Number,
                                                         PKIRQL OldIrql)
{
    return numbered_try(Number, OldIrql, SYNCH_LEVEL, CALLER);
}
#endif
