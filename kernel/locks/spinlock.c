/*
 * spinlock.c - executive spin locks (WDK: KeAcquireSpinLock and the pages it
 * links to): the routines every build shares, and the checked build's
 * versions of the rest.
 *
 * A KSPIN_LOCK is one pointer-sized word.  Its states, and the instruction
 * that moves between them (H = the held value: 1 in the free build,
 * KeGetCurrentPrcb() | 1 in the checked build, so a STOP screen can name the
 * owner and a recursive acquire is told from contention):
 *
 *         acquire: lock bts / lock cmpxchg 0 -> H
 *     0 ------------------------------------------> H
 *     ^                                             |  others: spin on plain
 *     +---------------------------------------------+  reads with pause while != 0
 *         release: mov $0 (a plain store: on x86-64's TSO every load and
 *                  store of the critical section stays before it, SDM Vol. 3A
 *                  8.2.2), then lower IRQL
 *
 * IRQL: the raising forms raise with mov %cr8 *before* the first access to
 * the word, so nothing that runs at or below the new level (a DPC, an ISR of
 * a lower class) can interrupt the holder and spin on the lock it holds.
 * Interrupts stay enabled throughout; CR8 does the masking.
 *
 * The free build's fast paths are arch/x86_64/spinlock.S.  The checked
 * build's, below, check the caller first (kernel/locks/spinlock_check.c has the
 * records and the bug checks, docs/spinlocks.md the list).
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/locks/lockorder.h"
#include "kernel/trace/trace.h"
#include "arch/x86_64/cpu.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

/* ---- Both builds -------------------------------------------------------- */

VOID NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    *SpinLock = 0;
    if (DBG)        /* its class: where it was initialised (kernel/locks/lockorder.c) */
        KiLockOrderInitialize(SpinLock, CALLER);
}

BOOLEAN FASTCALL KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    /* A plain read: a caller polling until the lock looks free keeps the line
     * shared, and pauses between looks. */
    if (*(volatile KSPIN_LOCK *)SpinLock != 0) {
        cpu_relax();
        return FALSE;
    }
    return TRUE;
}

/* The raw lock under the ExInterlocked helpers (kernel/locks/exinterlocked.c):
 * test-and-test-and-set, no IRQL change, interrupts already off. */
VOID KiAcquireSpinLockRaw(PKSPIN_LOCK SpinLock, ULONG_PTR Caller)
{
    volatile KSPIN_LOCK *word = SpinLock;
#if DBG
    ULONG_PTR held = KiSpinLockOwnerValue();
    KI_SPIN_WAIT wait = KI_SPIN_WAIT_INIT;

    if (*word == held)          /* interrupts are off: it would spin forever */
        KiBugCheckRecursion(SpinLock, held);
#else
    ULONG_PTR held = 1;
#endif
    ULONG spins = 0;                    /* for the tracer */

    UNREFERENCED_PARAMETER(Caller);
    if (DBG)                            /* before the wait: an inversion is reported, not waited out */
        KiLockOrderAcquire(SpinLock, KI_LOCK_RAW, Caller);
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_BEGIN, SpinLock, 0, KI_LOCK_RAW);
    for (;;) {
        ULONG_PTR expected = 0;
        /* lock cmpxchg: the one locked instruction of an uncontended acquire. */
        if (__atomic_compare_exchange_n(word, &expected, held, FALSE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            KI_RACE_POINT("spinlock.raw.held");
            KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_ACQUIRED, SpinLock, spins, KI_LOCK_RAW);
            if (DBG)                    /* a record: the validator orders what is taken under it */
                KiTrackAcquire(SpinLock, KI_LOCK_RAW, KeGetCurrentIrql(), KeGetCurrentIrql(),
                               Caller);
            return;
        }
        while (*word != 0) {
            spins++;
#if DBG
            KiSpinWaitPause(&wait, SpinLock, *word);
#else
            cpu_relax();
#endif
        }
        KI_RACE_POINT("spinlock.raw.saw_free");
    }
}

VOID KiReleaseSpinLockRaw(PKSPIN_LOCK SpinLock, ULONG_PTR Caller)
{
#if DBG
    if (*(volatile KSPIN_LOCK *)SpinLock != KiSpinLockOwnerValue())
        KiBugCheckNotOwned(SpinLock, *(volatile KSPIN_LOCK *)SpinLock, Caller);
#else
    UNREFERENCED_PARAMETER(Caller);
#endif
    if (DBG)
        KiTrackRelease(SpinLock, KI_LOCK_RAW, KI_RELEASE_KEEPS_IRQL, Caller);
    KI_RACE_POINT("spinlock.raw.release");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_RELEASE, SpinLock, 0, KI_LOCK_RAW);
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);   /* mov: a release on TSO */
}

#if DBG
/* ---- Checked build ------------------------------------------------------ */

/* Take the word with this CPU's owner value.  Recursion is caught before the
 * spin (it would never end); contention spins under the watchdog.  Kind is
 * KI_LOCK_EXECUTIVE or KI_LOCK_INTERRUPT, for the tracer. */
static VOID acquire_word(PKSPIN_LOCK SpinLock, UCHAR Kind)
{
    volatile KSPIN_LOCK *word = SpinLock;
    ULONG_PTR held = KiSpinLockOwnerValue();
    KI_SPIN_WAIT wait = KI_SPIN_WAIT_INIT;

    if (*word == held)
        KiBugCheckRecursion(SpinLock, held);
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_BEGIN, SpinLock, 0, Kind);
    for (;;) {
        ULONG_PTR expected = 0;
        if (__atomic_compare_exchange_n(word, &expected, held, FALSE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {  /* lock cmpxchg */
            KI_RACE_POINT("spinlock.acquire.held");
            KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_ACQUIRED, SpinLock, wait.Spins, Kind);
            return;
        }
        while (*word != 0)                                   /* plain reads, pause */
            KiSpinWaitPause(&wait, SpinLock, *word);
        KI_RACE_POINT("spinlock.waiter.saw_free");       /* another CPU may take it first */
    }
}

/* Free a word this CPU must own; drop the record first, so an ISR that takes
 * the lock right after the store finds no stale record. */
static VOID release_word(PKSPIN_LOCK SpinLock, UCHAR Kind, BOOLEAN Restores, ULONG_PTR Caller)
{
    ULONG_PTR word = *(volatile KSPIN_LOCK *)SpinLock;

    if (word != KiSpinLockOwnerValue())     /* free, or another CPU's */
        KiBugCheckNotOwned(SpinLock, word, Caller);
    KiTrackRelease(SpinLock, Kind, Restores, Caller);
    KI_RACE_POINT("spinlock.release.held");
    KI_TRACE(KI_TRACE_LOCKS, KI_TRACE_LOCK_RELEASE, SpinLock, 0, Kind);     /* before the store */
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);        /* mov $0 */
}

static KIRQL acquire_raising(PKSPIN_LOCK SpinLock, KIRQL Target, ULONG_PTR Caller)
{
    KIRQL old = KiRaiseForAcquire(Target, SpinLock, Caller);

    KI_RACE_POINT("spinlock.acquire.raised");
    KiLockOrderAcquire(SpinLock, KI_LOCK_EXECUTIVE, Caller);
    acquire_word(SpinLock, KI_LOCK_EXECUTIVE);
    KiTrackAcquire(SpinLock, KI_LOCK_EXECUTIVE, old, Target, Caller);
    return old;
}

static VOID acquire_at_dpc_level(PKSPIN_LOCK SpinLock, ULONG_PTR Caller)
{
    KiCheckAtDpcLevel(SpinLock, Caller);
    KiLockOrderAcquire(SpinLock, KI_LOCK_EXECUTIVE, Caller);
    acquire_word(SpinLock, KI_LOCK_EXECUTIVE);
    KiTrackAcquire(SpinLock, KI_LOCK_EXECUTIVE, KeGetCurrentIrql(), DISPATCH_LEVEL, Caller);
}

static VOID release_from_dpc_level(PKSPIN_LOCK SpinLock, ULONG_PTR Caller)
{
    KiCheckAtDpcLevel(SpinLock, Caller);
    release_word(SpinLock, KI_LOCK_EXECUTIVE, KI_RELEASE_KEEPS_IRQL, Caller);
}

KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL current = KeGetCurrentIrql();

    if (current > DISPATCH_LEVEL)       /* WDK: Bug Check 0xC4, subcode 0x42 */
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_ACQUIRE_SPIN_LOCK_IRQL,
                     current, (ULONG_PTR)SpinLock, 0);
    return acquire_raising(SpinLock, DISPATCH_LEVEL, CALLER);
}

KIRQL NTAPI KeAcquireSpinLockRaiseToSynch(PKSPIN_LOCK SpinLock)
{
    return acquire_raising(SpinLock, SYNCH_LEVEL, CALLER);
}

VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    KIRQL current = KeGetCurrentIrql();
    KI_HELD_SPIN_LOCK *held = KiFindHeldLock(SpinLock, KI_LOCK_EXECUTIVE);
    KIRQL level = held ? held->HoldIrql : DISPATCH_LEVEL;   /* SYNCH after RaiseToSynch */

    /* WDK: Bug Check 0xC4, subcode 0x32 ("may be due to a double release").
     * IRQL first: a second release after the first lowered lands here. */
    if (current != level)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_RELEASE_SPIN_LOCK_IRQL,
                     current, (ULONG_PTR)SpinLock, 0);
    release_word(SpinLock, KI_LOCK_EXECUTIVE, KI_RELEASE_RESTORES, CALLER);
    KI_RACE_POINT("spinlock.release.stored");       /* free, IRQL still raised */
    KiLowerIrqlChecked(NewIrql, CALLER);
}

VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    acquire_at_dpc_level(SpinLock, CALLER);
}

VOID FASTCALL KefAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    acquire_at_dpc_level(SpinLock, CALLER);
}

VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    release_from_dpc_level(SpinLock, CALLER);
}

VOID FASTCALL KefReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    release_from_dpc_level(SpinLock, CALLER);
}

BOOLEAN FASTCALL KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    volatile KSPIN_LOCK *word = SpinLock;
    ULONG_PTR expected = 0;

    KiCheckAtDpcLevel(SpinLock, CALLER);
    /* Busy (this CPU's own hold included: a try cannot deadlock): FALSE
     * after a plain read, without a locked write to steal the line. */
    if (*word != 0)
        return FALSE;
    KI_RACE_POINT("spinlock.try.saw_free");
    if (!__atomic_compare_exchange_n(word, &expected, KiSpinLockOwnerValue(), FALSE,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return FALSE;
    KiTrackAcquire(SpinLock, KI_LOCK_EXECUTIVE, KeGetCurrentIrql(), DISPATCH_LEVEL, CALLER);
    return TRUE;
}

/* The ForDpc forms (WDK: KeAcquireSpinLockForDpc): in a threaded DPC, which
 * runs at PASSIVE_LEVEL, they raise to DISPATCH_LEVEL and lower back;
 * anywhere else they take the lock at the current IRQL, change nothing and
 * return that IRQL, as Windows does (the decision is KPRCB.DpcThreadActive,
 * not the IRQL).  The record holds the lock at the IRQL it was taken at. */
KIRQL NTAPI KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL current = KeGetCurrentIrql();

    if (KeGetCurrentPrcb()->DpcThreadActive)
        return acquire_raising(SpinLock, DISPATCH_LEVEL, CALLER);  /* above DISPATCH: 0x09 */
    KiLockOrderAcquire(SpinLock, KI_LOCK_EXECUTIVE, CALLER);
    acquire_word(SpinLock, KI_LOCK_EXECUTIVE);
    KiTrackAcquire(SpinLock, KI_LOCK_EXECUTIVE, current, current, CALLER);
    return current;
}

VOID NTAPI KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql)
{
    KIRQL current = KeGetCurrentIrql();
    KI_HELD_SPIN_LOCK *held = KiFindHeldLock(SpinLock, KI_LOCK_EXECUTIVE);
    BOOLEAN lowers = KeGetCurrentPrcb()->DpcThreadActive;

    /* Not at the level the acquire left: WDK Bug Check 0xC4, subcode 0x35. */
    if (current != (held ? held->HoldIrql : (lowers ? DISPATCH_LEVEL : current)))
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_RELEASE_LOCK_IRQL, current,
                     (ULONG_PTR)SpinLock, OldIrql);
    release_word(SpinLock, KI_LOCK_EXECUTIVE,
                 lowers ? KI_RELEASE_RESTORES : KI_RELEASE_KEEPS_IRQL, CALLER);
    KI_RACE_POINT("spinlock.release_for_dpc.stored");
    if (lowers)
        KiLowerIrqlChecked(OldIrql, CALLER);
}

/* Interrupt spin locks (kernel/locks/spinlock_check.h): the caller has raised to
 * SynchronizeIrql, which is the level the record holds the lock at. */
VOID KiAcquireInterruptSpinLock(PKSPIN_LOCK SpinLock, KIRQL OldIrql, ULONG_PTR Caller)
{
    KiCheckAtDpcLevel(SpinLock, Caller);
    KiLockOrderAcquire(SpinLock, KI_LOCK_INTERRUPT, Caller);
    acquire_word(SpinLock, KI_LOCK_INTERRUPT);
    KiTrackAcquire(SpinLock, KI_LOCK_INTERRUPT, OldIrql, KeGetCurrentIrql(), Caller);
}

/* The caller lowers to the record's OldIrql right after: "restores". */
VOID KiReleaseInterruptSpinLock(PKSPIN_LOCK SpinLock, ULONG_PTR Caller)
{
    release_word(SpinLock, KI_LOCK_INTERRUPT, KI_RELEASE_RESTORES, Caller);
}
#endif
