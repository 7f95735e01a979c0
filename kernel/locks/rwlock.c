/*
 * rwlock.c - reader/writer spin locks, EX_SPIN_LOCK (WDK: Reader/Writer Spin
 * Locks, Vista SP1+): many readers or one writer, at DISPATCH_LEVEL.
 *
 * The word: bit 31 (W) is the writer, holding the lock or waiting for the
 * readers inside to leave; bits 0..30 count those readers.  A writer claims
 * W first and then waits, and readers never enter while W is set, so "while
 * a writer waits, new readers wait": readers cannot starve a writer.  But
 * writers are not queued: one that finds W set waits for it to clear and
 * races the other writers for it again, so one writer can starve another
 * (docs/spinlocks.md, "No order among writers").  A reader that
 * is the only one inside may convert to the writer (0,1) -> (1,0), and fails
 * if another reader is inside or a writer waits.  The transitions and their
 * instructions are drawn in arch/x86_64/rwlock.S (the free build's fast
 * paths); below, the checked build's versions of the same, with checks:
 * recursion (a reader re-entering deadlocks behind a waiting writer),
 * releases by a CPU that does not hold the lock, the IRQL rules, and the
 * spin watchdog.
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/locks/lockorder.h"
#include "kernel/trace/trace.h"
#include "arch/x86_64/cpu.h"

#if DBG

#define CALLER ((ULONG_PTR)__builtin_return_address(0))
#define WRITER ((LONG)0x80000000)
#define READERS 0x7FFFFFFF

static ULONG_PTR word_of(PEX_SPIN_LOCK SpinLock)
{
    return (ULONG)*SpinLock;
}

static VOID check_not_held(PEX_SPIN_LOCK SpinLock)
{
    if (KiFindHeldLock((PVOID)SpinLock, 0))
        KiBugCheckRecursion((PVOID)SpinLock, word_of(SpinLock));
}

static BOOLEAN cas(PEX_SPIN_LOCK SpinLock, LONG expected, LONG desired)
{
    /* lock cmpxchg */
    return __atomic_compare_exchange_n(SpinLock, &expected, desired, FALSE, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

static VOID shared_acquire(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql, ULONG_PTR Caller)
{
    KI_SPIN_WAIT wait = KI_SPIN_WAIT_INIT;

    check_not_held(SpinLock);
    KiLockOrderAcquire((PVOID)SpinLock, KI_LOCK_SHARED, Caller);
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_BEGIN, SpinLock, 0, KI_LOCK_SHARED);
    for (;;) {
        LONG now = *SpinLock;
        if (now & WRITER) {                     /* a writer holds or waits: wait */
            KiSpinWaitPause(&wait, (PVOID)SpinLock, (ULONG)now);
            continue;
        }
        KI_RACE_POINT("rw.shared.saw_no_writer");   /* a writer may claim W right here */
        if (cas(SpinLock, now, now + 1))        /* (0,n) -> (0,n+1) */
            break;
    }
    KI_RACE_POINT("rw.shared.held");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_ACQUIRED, SpinLock, wait.Spins, KI_LOCK_SHARED);
    KiTrackAcquire((PVOID)SpinLock, KI_LOCK_SHARED, OldIrql, DISPATCH_LEVEL, Caller);
}

static VOID exclusive_acquire(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql, ULONG_PTR Caller)
{
    KI_SPIN_WAIT wait = KI_SPIN_WAIT_INIT;

    check_not_held(SpinLock);
    KiLockOrderAcquire((PVOID)SpinLock, KI_LOCK_EXCLUSIVE, Caller);
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_BEGIN, SpinLock, 0, KI_LOCK_EXCLUSIVE);
    if (!cas(SpinLock, 0, WRITER)) {            /* (0,0) -> (1,0), or: */
        for (;;) {
            while (*SpinLock & WRITER)          /* another writer first */
                KiSpinWaitPause(&wait, (PVOID)SpinLock, word_of(SpinLock));
            KI_RACE_POINT("rw.exclusive.saw_no_writer");
            /* lock bts $31: claim W; from here new readers wait. */
            if (!(__atomic_fetch_or(SpinLock, WRITER, __ATOMIC_SEQ_CST) & WRITER))
                break;
        }
        KI_RACE_POINT("rw.exclusive.claimed");  /* readers inside leave; new ones must wait */
        while (*SpinLock & READERS)             /* (1,n) -> (1,0) as readers leave */
            KiSpinWaitPause(&wait, (PVOID)SpinLock, word_of(SpinLock));
    }
    KI_RACE_POINT("rw.exclusive.held");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_ACQUIRED, SpinLock, wait.Spins, KI_LOCK_EXCLUSIVE);
    KiTrackAcquire((PVOID)SpinLock, KI_LOCK_EXCLUSIVE, OldIrql, DISPATCH_LEVEL, Caller);
}

static VOID shared_release(PEX_SPIN_LOCK SpinLock, BOOLEAN Restores, ULONG_PTR Caller)
{
    if ((*SpinLock & READERS) == 0 ||
        !KiTrackRelease((PVOID)SpinLock, KI_LOCK_SHARED, Restores, Caller))
        KiBugCheckNotOwned((PVOID)SpinLock, word_of(SpinLock), Caller);
    KI_RACE_POINT("rw.release_shared.held");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_RELEASE, SpinLock, 0, KI_LOCK_SHARED);
    __atomic_fetch_sub(SpinLock, 1, __ATOMIC_SEQ_CST);     /* lock dec */
}

static VOID exclusive_release(PEX_SPIN_LOCK SpinLock, BOOLEAN Restores, ULONG_PTR Caller)
{
    if (*SpinLock != WRITER ||
        !KiTrackRelease((PVOID)SpinLock, KI_LOCK_EXCLUSIVE, Restores, Caller))
        KiBugCheckNotOwned((PVOID)SpinLock, word_of(SpinLock), Caller);
    KI_RACE_POINT("rw.release_exclusive.held");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_RELEASE, SpinLock, 0, KI_LOCK_EXCLUSIVE);
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);      /* mov $0 */
}

/* A raising release runs at DISPATCH_LEVEL.  WDK: Bug Check 0xC4, 0x35. */
static VOID check_release_level(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql)
{
    KIRQL current = KeGetCurrentIrql();

    if (current != DISPATCH_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_RELEASE_LOCK_IRQL, current,
                     (ULONG_PTR)SpinLock, OldIrql);
}

KIRQL NTAPI ExAcquireSpinLockShared(PEX_SPIN_LOCK SpinLock)
{
    KIRQL old = KiRaiseForAcquire(DISPATCH_LEVEL, (PVOID)SpinLock, CALLER);

    shared_acquire(SpinLock, old, CALLER);
    return old;
}

KIRQL NTAPI ExAcquireSpinLockExclusive(PEX_SPIN_LOCK SpinLock)
{
    KIRQL old = KiRaiseForAcquire(DISPATCH_LEVEL, (PVOID)SpinLock, CALLER);

    exclusive_acquire(SpinLock, old, CALLER);
    return old;
}

VOID NTAPI ExReleaseSpinLockShared(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql)
{
    check_release_level(SpinLock, OldIrql);
    shared_release(SpinLock, KI_RELEASE_RESTORES, CALLER);
    KiLowerIrqlChecked(OldIrql, CALLER);
}

VOID NTAPI ExReleaseSpinLockExclusive(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql)
{
    check_release_level(SpinLock, OldIrql);
    exclusive_release(SpinLock, KI_RELEASE_RESTORES, CALLER);
    KiLowerIrqlChecked(OldIrql, CALLER);
}

VOID NTAPI ExAcquireSpinLockSharedAtDpcLevel(PEX_SPIN_LOCK SpinLock)
{
    KiCheckAtDpcLevel((PVOID)SpinLock, CALLER);
    shared_acquire(SpinLock, KeGetCurrentIrql(), CALLER);
}

VOID NTAPI ExAcquireSpinLockExclusiveAtDpcLevel(PEX_SPIN_LOCK SpinLock)
{
    KiCheckAtDpcLevel((PVOID)SpinLock, CALLER);
    exclusive_acquire(SpinLock, KeGetCurrentIrql(), CALLER);
}

VOID NTAPI ExReleaseSpinLockSharedFromDpcLevel(PEX_SPIN_LOCK SpinLock)
{
    KiCheckAtDpcLevel((PVOID)SpinLock, CALLER);
    shared_release(SpinLock, KI_RELEASE_KEEPS_IRQL, CALLER);
}

VOID NTAPI ExReleaseSpinLockExclusiveFromDpcLevel(PEX_SPIN_LOCK SpinLock)
{
    KiCheckAtDpcLevel((PVOID)SpinLock, CALLER);
    exclusive_release(SpinLock, KI_RELEASE_KEEPS_IRQL, CALLER);
}

LOGICAL NTAPI ExTryConvertSharedSpinLockExclusive(PEX_SPIN_LOCK SpinLock)
{
    KiCheckAtDpcLevel((PVOID)SpinLock, CALLER);
    KI_HELD_SPIN_LOCK *held = KiFindHeldLock((PVOID)SpinLock, KI_LOCK_SHARED);
    if (!held)                          /* converting a lock this CPU does not read */
        KiBugCheckNotOwned((PVOID)SpinLock, word_of(SpinLock), CALLER);
    if (*SpinLock != 1)                 /* another reader, or a waiting writer: no */
        return FALSE;
    KI_RACE_POINT("rw.convert.saw_alone");
    if (!cas(SpinLock, 1, WRITER))      /* (0,1) -> (1,0) only */
        return FALSE;
    held->Kind = KI_LOCK_EXCLUSIVE;     /* our own record: no ISR edits it */
    return TRUE;
}

LOGICAL NTAPI ExTryAcquireSpinLockSharedAtDpcLevel(PEX_SPIN_LOCK SpinLock)
{
    KiCheckAtDpcLevel((PVOID)SpinLock, CALLER);
    for (;;) {
        LONG now = *SpinLock;
        if (now & WRITER)               /* a writer holds or waits: FALSE at once */
            return FALSE;
        KI_RACE_POINT("rw.try_shared.saw_no_writer");
        if (cas(SpinLock, now, now + 1))
            break;                      /* (a racing reader only makes us retry) */
    }
    KiTrackAcquire((PVOID)SpinLock, KI_LOCK_SHARED, KeGetCurrentIrql(), DISPATCH_LEVEL, CALLER);
    return TRUE;
}

LOGICAL NTAPI ExTryAcquireSpinLockExclusiveAtDpcLevel(PEX_SPIN_LOCK SpinLock)
{
    KiCheckAtDpcLevel((PVOID)SpinLock, CALLER);
    if (*SpinLock != 0)
        return FALSE;
    KI_RACE_POINT("rw.try_exclusive.saw_free");
    if (!cas(SpinLock, 0, WRITER))
        return FALSE;
    KiTrackAcquire((PVOID)SpinLock, KI_LOCK_EXCLUSIVE, KeGetCurrentIrql(), DISPATCH_LEVEL,
                   CALLER);
    return TRUE;
}

#endif
