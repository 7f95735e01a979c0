/*
 * guardedmutex.c - guarded mutexes (WDK: Fast Mutexes and Guarded Mutexes;
 * KeInitializeGuardedMutex, KeAcquireGuardedMutex, KeReleaseGuardedMutex,
 * KeTryToAcquireGuardedMutex, KeAcquireGuardedMutexUnsafe,
 * KeReleaseGuardedMutexUnsafe; docs/mutexes.md).
 *
 * The fast mutex's word and protocol (kernel/thread/fastmutex.c), with the
 * holder in a guarded region instead of at APC_LEVEL: every kernel APC to
 * it waits, as at APC_LEVEL, but IRQL stays where the caller had it, so
 * acquiring one costs two counter updates in the thread instead of two
 * CR8 writes (and a lowering that may have to look for pending software
 * interrupts).
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/thread/fastmutex.h"

/* One protocol for both: the guarded mutex is handed to it as a FAST_MUTEX,
 * so the fields it touches must sit where a FAST_MUTEX has them, and the
 * gate must be what KeWaitForSingleObject and KeSetEvent take for an event. */
C_ASSERT(offsetof(KGUARDED_MUTEX, Count) == offsetof(FAST_MUTEX, Count));
C_ASSERT(offsetof(KGUARDED_MUTEX, Owner) == offsetof(FAST_MUTEX, Owner));
C_ASSERT(offsetof(KGUARDED_MUTEX, Contention) == offsetof(FAST_MUTEX, Contention));
C_ASSERT(offsetof(KGUARDED_MUTEX, Gate) == offsetof(FAST_MUTEX, Event));
C_ASSERT(sizeof(KGATE) == sizeof(KEVENT));

static PFAST_MUTEX as_fast(PKGUARDED_MUTEX Mutex)
{
    return (PFAST_MUTEX)Mutex;
}

/* The guarded forms' IRQL rule, <= APC_LEVEL (WDK: KeAcquireGuardedMutex).
 * The WDK has no subcode of its own for guarded mutexes (from Windows 8
 * they are fast mutexes), so the fast mutex's 0x33 / 0x34 report them. */
static VOID check_irql(PKGUARDED_MUTEX Mutex, ULONG Subcode)
{
    if (DBG) {
        KIRQL irql = KeGetCurrentIrql();
        if (irql > APC_LEVEL) {
            if (Subcode == KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL)
                KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Subcode, irql,
                             (ULONG_PTR)Mutex, 0);
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Subcode, irql,
                         KeGetCurrentThread()->CombinedApcDisable, (ULONG_PTR)Mutex);
        }
    }
}

/* The owner's counts while it holds it, for a debugger (the union's use here). */
static VOID record_owner_counts(PKGUARDED_MUTEX Mutex)
{
    Mutex->CombinedApcDisable = KeGetCurrentThread()->CombinedApcDisable;
}

VOID FASTCALL KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    Mutex->Count = GM_LOCK_BIT;         /* (0,0,1): free */
    Mutex->Owner = NULL;
    Mutex->Contention = 0;
    KeInitializeEvent((PKEVENT)&Mutex->Gate, SynchronizationEvent, FALSE);
    Mutex->CombinedApcDisable = 0;
}

VOID FASTCALL KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    check_irql(Mutex, KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL);
    KeEnterGuardedRegion();             /* first: no APC may run between the word and Owner */
    KiAcquireFastMutex(as_fast(Mutex));
    record_owner_counts(Mutex);
}

BOOLEAN FASTCALL KeTryToAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    check_irql(Mutex, KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL);
    KeEnterGuardedRegion();
    if (!KiTryToAcquireFastMutex(as_fast(Mutex))) {
        KeLeaveGuardedRegion();         /* FALSE: nothing changed */
        return FALSE;
    }
    record_owner_counts(Mutex);
    return TRUE;
}

VOID FASTCALL KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    check_irql(Mutex, KI_VERIFIER_FAST_MUTEX_RELEASE_IRQL);
    KiReleaseFastMutex(as_fast(Mutex));
    KeLeaveGuardedRegion();             /* after: an APC let in would run still owning it */
}

/* The Unsafe forms: the caller is at APC_LEVEL or in a guarded region
 * already (WDK: KeAcquireGuardedMutexUnsafe); a critical region is not
 * enough, special kernel APCs still run in one. */
VOID FASTCALL KeAcquireGuardedMutexUnsafe(PKGUARDED_MUTEX Mutex)
{
    KiCheckUnsafeMutexCall(Mutex, KI_VERIFIER_UNSAFE_ACQUIRE_IRQL,
                           KeGetCurrentThread()->SpecialApcDisable != 0);
    KiAcquireFastMutex(as_fast(Mutex));
    record_owner_counts(Mutex);
}

VOID FASTCALL KeReleaseGuardedMutexUnsafe(PKGUARDED_MUTEX Mutex)
{
    KiCheckUnsafeMutexCall(Mutex, KI_VERIFIER_UNSAFE_RELEASE_IRQL,
                           KeGetCurrentThread()->SpecialApcDisable != 0);
    KiReleaseFastMutex(as_fast(Mutex));
}
