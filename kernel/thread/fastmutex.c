/*
 * fastmutex.c - fast mutexes (WDK: Fast Mutexes and Guarded Mutexes;
 * ExInitializeFastMutex, ExAcquireFastMutex, ExReleaseFastMutex,
 * ExTryToAcquireFastMutex, ExAcquireFastMutexUnsafe,
 * ExReleaseFastMutexUnsafe), and the protocol guarded mutexes share
 * (kernel/thread/guardedmutex.c, docs/mutexes.md).
 *
 * A fast mutex is one word, Count, and a synchronization event.  Taking a
 * free mutex is one locked instruction, with no dispatcher lock; only a
 * thread that finds it owned goes to the dispatcher, to sleep on the
 * event, and only a release that finds a sleeper to wake sets it.
 *
 * Count, written (n, W, L):  n  waiters counted (bits 2.., FM_LOCK_WAITER_INC)
 *                            W  a waiter was woken and has not yet
 *                               retried (FM_LOCK_WAITER_WOKEN)
 *                            L  free (FM_LOCK_BIT): 1 free, 0 owned
 *
 *   acquire    (n,W,1) -> (n,W,0)      lock btr: owned
 *              (n,W,0)                 btr found it owned: the slow path
 *   slow path  (n,W,1) -> (n,w,0)      lock cmpxchg: owned
 *              (n,W,0) -> (n+1,w,0)    lock cmpxchg: counted, then sleep on the event
 *                  (w: 0 for a thread the event woke, which clears W; else W)
 *   release    (n,W,0) -> (n,W,1)      lock xadd: free; was (0,0,0): done
 *   wake       (n,0,1) -> (n-1,1,1)    lock cmpxchg, n > 0: then KeSetEvent
 *              (n,1,*)                 no wake: the woken one has still to retry
 *              (*,*,0)                 no wake: a new owner wakes at its release
 *
 * No lost wakeup: a thread counts itself (n+1) only while L is 0, so the
 * owner's release finds n > 0 after it, and wakes one sleeper unless W
 * says a woken one will retry first (it then takes the mutex, or counts
 * itself again while L is 0 and the argument repeats) or a new owner took
 * it (whose release wakes).  The set may come before the counted thread
 * reaches its wait: a synchronization event stays signalled until one
 * wait takes it, so the wait returns at once.  At most one set is
 * outstanding (W stays 1 until the woken thread's cmpxchg), and each set
 * takes one count off n, so the event is never left set with no one to take it.
 *
 * Woken waiters are not first in line: a thread arriving between the wake
 * and the woken one's retry takes the mutex (L is 1), and the woken one
 * sleeps again.  Fair enough for short sections; no handing over.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/thread/fastmutex.h"
#include "kernel/debug/race.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

static BOOLEAN cas(volatile LONG *Count, LONG Expected, LONG Desired)
{
    /* lock cmpxchg: a full barrier, so the section's accesses stay inside */
    return __atomic_compare_exchange_n(Count, &Expected, Desired, FALSE, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

/* (n,W,1) -> (n,W,0): lock btr (a locked read-modify-write: acquire
 * ordering, the section's loads cannot move above it). */
static BOOLEAN take_free(PFAST_MUTEX Mutex)
{
    return (__atomic_fetch_and(&Mutex->Count, ~FM_LOCK_BIT, __ATOMIC_SEQ_CST) & FM_LOCK_BIT) != 0;
}

static VOID check_not_owner(PFAST_MUTEX Mutex, PKTHREAD Thread)
{
    /* Deadlock Detection's self-deadlock: the owner would sleep forever on
     * its own mutex (WDK: Fast Mutexes and Guarded Mutexes, not recursive). */
    if (DBG && Mutex->Owner == Thread)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_SELF_DEADLOCK,
                     (ULONG_PTR)Mutex, 0, 0);
}

static VOID sleep_until_free(PFAST_MUTEX Mutex)
{
    BOOLEAN woken = FALSE;

    for (;;) {
        LONG now = Mutex->Count;
        LONG clear = woken ? FM_LOCK_WAITER_WOKEN : 0;     /* our W, once the event woke us */

        if (now & FM_LOCK_BIT) {
            if (cas(&Mutex->Count, now, (now & ~FM_LOCK_BIT) & ~clear))     /* (n,W,1) -> (n,w,0) */
                return;
            continue;
        }
        if (!cas(&Mutex->Count, now, (now + FM_LOCK_WAITER_INC) & ~clear)) /* (n,W,0) -> (n+1,w,0) */
            continue;
        KI_RACE_POINT("fmutex.acquire.counted");    /* the release and its set may come here */
        __atomic_fetch_add(&Mutex->Contention, 1, __ATOMIC_RELAXED);
        /* At APC_LEVEL or in a region: no APC ends this wait early, and
         * a special APC that runs in it (a critical region) resumes it. */
        KeWaitForSingleObject(&Mutex->Event, WrExecutive, KernelMode, FALSE, NULL);
        KI_RACE_POINT("fmutex.acquire.woken");
        woken = TRUE;
    }
}

VOID KiAcquireFastMutex(PFAST_MUTEX Mutex)
{
    PKTHREAD thread = KeGetCurrentThread();

    check_not_owner(Mutex, thread);
    if (!take_free(Mutex))
        sleep_until_free(Mutex);
    Mutex->Owner = thread;              /* only the owner writes it, until it releases */
}

BOOLEAN KiTryToAcquireFastMutex(PFAST_MUTEX Mutex)
{
    if (!take_free(Mutex))
        return FALSE;                   /* (n,W,0) unchanged: btr only cleared a clear bit */
    Mutex->Owner = KeGetCurrentThread();
    return TRUE;
}

VOID KiReleaseFastMutex(PFAST_MUTEX Mutex)
{
    /* Checked build only: KeGetCurrentThread is an asm volatile gs load,
     * which the free build would make for nothing. */
    if (DBG && Mutex->Owner != KeGetCurrentThread())
        /* Deadlock Detection: P2 the mutex, P3 the thread that acquired it, P4 this one. */
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_RELEASED_BY_OTHER_THREAD,
                     (ULONG_PTR)Mutex, (ULONG_PTR)Mutex->Owner, (ULONG_PTR)KeGetCurrentThread());
    /* Before the word: once L is 1 the next owner writes its own Owner. */
    Mutex->Owner = NULL;
    LONG before = __atomic_fetch_add(&Mutex->Count, FM_LOCK_BIT, __ATOMIC_SEQ_CST);  /* lock xadd */
    KI_RACE_POINT("fmutex.release.freed");      /* another thread may own it from here */
    if (before == 0)
        return;                         /* (0,0,0) -> (0,0,1): no one to wake */
    for (;;) {
        LONG now = Mutex->Count;
        if (!(now & FM_LOCK_BIT) || (now & FM_LOCK_WAITER_WOKEN) ||
            (now & ~(FM_LOCK_WAITER_WOKEN | FM_LOCK_BIT)) == 0)
            return;                     /* a new owner, a woken retrier, or no one counted */
        if (cas(&Mutex->Count, now, now - FM_LOCK_WAITER_INC + FM_LOCK_WAITER_WOKEN))
            break;                      /* (n,0,1) -> (n-1,1,1) */
    }
    KI_RACE_POINT("fmutex.release.waking");
    KeSetEvent(&Mutex->Event, EVENT_INCREMENT, FALSE);
}

VOID KiCheckUnsafeMutexCall(PVOID Mutex, ULONG Subcode, BOOLEAN ApcsDisabled)
{
    if (DBG) {
        KIRQL irql = KeGetCurrentIrql();
        if (irql > APC_LEVEL || (irql < APC_LEVEL && !ApcsDisabled))
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Subcode, irql,
                         KeGetCurrentThread()->CombinedApcDisable, (ULONG_PTR)Mutex);
    }
}

/* ---- The fast mutex: APC_LEVEL while it is held --------------------------- */

VOID NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    FastMutex->Count = FM_LOCK_BIT;     /* (0,0,1) */
    FastMutex->Owner = NULL;
    FastMutex->Contention = 0;
    KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
    FastMutex->OldIrql = PASSIVE_LEVEL;
}

/* ExAcquireFastMutex and ExTryToAcquireFastMutex: <= APC_LEVEL
 * (WDK: ExAcquireFastMutex; Bug Check 0xC4, 0x33). */
static VOID check_acquire_irql(PFAST_MUTEX FastMutex)
{
    if (DBG) {
        KIRQL irql = KeGetCurrentIrql();
        if (irql > APC_LEVEL)
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL,
                         irql, (ULONG_PTR)FastMutex, 0);
    }
}

VOID FASTCALL ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    check_acquire_irql(FastMutex);
    /* Raised first: an APC that ran after the word was taken could want
     * the mutex itself, and the sleep below must not be ended by one. */
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    KiAcquireFastMutex(FastMutex);
    FastMutex->OldIrql = old;           /* ours to write now */
}

BOOLEAN FASTCALL ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    check_acquire_irql(FastMutex);
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    if (!KiTryToAcquireFastMutex(FastMutex)) {
        KeLowerIrql(old);               /* FALSE: nothing changed */
        return FALSE;
    }
    FastMutex->OldIrql = old;
    return TRUE;
}

VOID FASTCALL ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    if (DBG) {
        KIRQL irql = KeGetCurrentIrql();
        if (irql != APC_LEVEL)          /* WDK: Bug Check 0xC4, 0x34 */
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_FAST_MUTEX_RELEASE_IRQL,
                         irql, KeGetCurrentThread()->CombinedApcDisable, (ULONG_PTR)FastMutex);
    }
    KIRQL old = (KIRQL)FastMutex->OldIrql;  /* read while ours: the next owner writes it */
    KiReleaseFastMutex(FastMutex);
    KeLowerIrql(old);                   /* after: an APC let in would run still owning it */
}

VOID FASTCALL ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    KiCheckUnsafeMutexCall(FastMutex, KI_VERIFIER_UNSAFE_ACQUIRE_IRQL, KeAreApcsDisabled());
    KiAcquireFastMutex(FastMutex);
}

VOID FASTCALL ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    KiCheckUnsafeMutexCall(FastMutex, KI_VERIFIER_UNSAFE_RELEASE_IRQL, KeAreApcsDisabled());
    KiReleaseFastMutex(FastMutex);
}
