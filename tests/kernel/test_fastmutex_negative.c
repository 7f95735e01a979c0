/*
 * test_fastmutex_negative.c - misuse of fast and guarded mutexes ends in
 * the checked build's Driver Verifier bug checks (docs/bugchecks.md, "Fast
 * and guarded mutexes"; kernel/thread/fastmutex.h has the subcodes).  Each
 * KTEST_BUGCHECK runs alone in its own boot; a culprit thread breaks the
 * rule while the test thread waits for it with a deadline (kt_thread.h), so
 * a check that no longer fires fails the test instead of deadlocking.
 */
#include "kt_thread.h"
#include "kt_call.h"
#include "kernel/thread/fastmutex.h"

#if DBG                                 /* the free build has none of these checks */

static FAST_MUTEX KtFast;
static KGUARDED_MUTEX KtGuarded;

#define KT_GUARDED_REGION_ONCE 0xFFFF0000   /* CombinedApcDisable: SpecialApcDisable -1 */
#define KT_CRITICAL_REGION_ONCE 0x0000FFFF  /* KernelApcDisable -1 */

static VOID kt_expect_verifier(ULONG Subcode, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
{
    ktest_expect_bugcheck(KT_P(Subcode), KT_P(P2), KT_P(P3), KT_P(P4));
}

/* Deadlock Detection, 0x1004: the test thread owns Mutex, a culprit
 * releases it.  P3 the owner (the test thread), P4 the culprit. */
static VOID kt_released_by_culprit(PVOID Mutex, PKSTART_ROUTINE Release)
{
    PETHREAD culprit = kt_culprit(Release, NULL);

    kt_expect_verifier(KI_VERIFIER_RELEASED_BY_OTHER_THREAD, (ULONG_PTR)Mutex,
                       (ULONG_PTR)KeGetCurrentThread(), (ULONG_PTR)culprit);
    kt_run_culprit(culprit);
}

/* ---- Fast mutexes -------------------------------------------------------- */

static VOID NTAPI fast_acquire_at_dispatch(PVOID Context)
{
    KeRaiseIrqlToDpcLevel();
    if (Context)
        ExTryToAcquireFastMutex(&KtFast);
    else
        ExAcquireFastMutex(&KtFast);
}

/* WDK: ExAcquireFastMutex, <= APC_LEVEL; Bug Check 0xC4, 0x33. */
KTEST_BUGCHECK(fast_mutex_acquire_above_apc_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    kt_expect_verifier(KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL, DISPATCH_LEVEL, (ULONG_PTR)&KtFast, 0);
    KT_RUN_CULPRIT(fast_acquire_at_dispatch, NULL);
}

/* WDK: ExTryToAcquireFastMutex, <= APC_LEVEL too. */
KTEST_BUGCHECK(fast_mutex_try_above_apc_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    kt_expect_verifier(KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL, DISPATCH_LEVEL, (ULONG_PTR)&KtFast, 0);
    KT_RUN_CULPRIT(fast_acquire_at_dispatch, (PVOID)1);
}

static VOID NTAPI fast_release_at_passive(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ExAcquireFastMutex(&KtFast);
    KeLowerIrql(PASSIVE_LEVEL);         /* the holder lowers: APCs could now run inside */
    ExReleaseFastMutex(&KtFast);
}

/* WDK: ExReleaseFastMutex, at APC_LEVEL; Bug Check 0xC4, 0x34. */
KTEST_BUGCHECK(fast_mutex_release_not_at_apc_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    kt_expect_verifier(KI_VERIFIER_FAST_MUTEX_RELEASE_IRQL, PASSIVE_LEVEL, 0, (ULONG_PTR)&KtFast);
    KT_RUN_CULPRIT(fast_release_at_passive, NULL);
}

static VOID NTAPI fast_unsafe_acquire_unprotected(PVOID Context)
{
    if (Context)
        KeRaiseIrqlToDpcLevel();
    ExAcquireFastMutexUnsafe(&KtFast);
}

/* WDK: ExAcquireFastMutexUnsafe, at APC_LEVEL or in a critical region;
 * Bug Check 0xC4, 0x39: at PASSIVE_LEVEL outside any region ... */
KTEST_BUGCHECK(fast_mutex_unsafe_acquire_outside_region, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    kt_expect_verifier(KI_VERIFIER_UNSAFE_ACQUIRE_IRQL, PASSIVE_LEVEL, 0, (ULONG_PTR)&KtFast);
    KT_RUN_CULPRIT(fast_unsafe_acquire_unprotected, NULL);
}

/* ... and above APC_LEVEL. */
KTEST_BUGCHECK(fast_mutex_unsafe_acquire_above_apc_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    kt_expect_verifier(KI_VERIFIER_UNSAFE_ACQUIRE_IRQL, DISPATCH_LEVEL, 0, (ULONG_PTR)&KtFast);
    KT_RUN_CULPRIT(fast_unsafe_acquire_unprotected, (PVOID)1);
}

static VOID NTAPI fast_unsafe_release_after_region(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&KtFast);
    KeLeaveCriticalRegion();            /* too early */
    ExReleaseFastMutexUnsafe(&KtFast);
}

/* WDK: ExReleaseFastMutexUnsafe; Bug Check 0xC4, 0x3A. */
KTEST_BUGCHECK(fast_mutex_unsafe_release_outside_region, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    kt_expect_verifier(KI_VERIFIER_UNSAFE_RELEASE_IRQL, PASSIVE_LEVEL, 0, (ULONG_PTR)&KtFast);
    KT_RUN_CULPRIT(fast_unsafe_release_after_region, NULL);
}

static VOID NTAPI fast_release_not_owned(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KfRaiseIrql(APC_LEVEL);             /* the IRQL is right; the thread is not */
    ExReleaseFastMutex(&KtFast);
}

KTEST_BUGCHECK(fast_mutex_released_by_other_thread, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    ExAcquireFastMutex(&KtFast);
    kt_released_by_culprit(&KtFast, fast_release_not_owned);
}

static VOID NTAPI fast_acquire_twice(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ExAcquireFastMutex(&KtFast);
    ExAcquireFastMutex(&KtFast);        /* would sleep on itself for ever */
}

/* Deadlock Detection, 0x1000: the same mutex twice (not recursive). */
KTEST_BUGCHECK(fast_mutex_recursive_acquire, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ExInitializeFastMutex(&KtFast);
    kt_expect_verifier(KI_VERIFIER_SELF_DEADLOCK, (ULONG_PTR)&KtFast, 0, 0);
    KT_RUN_CULPRIT(fast_acquire_twice, NULL);
}

/* ---- Guarded mutexes ----------------------------------------------------- */

static VOID NTAPI guarded_acquire_at_dispatch(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeRaiseIrqlToDpcLevel();
    KeAcquireGuardedMutex(&KtGuarded);
}

/* WDK: KeAcquireGuardedMutex, <= APC_LEVEL: reported as a fast mutex's 0x33. */
KTEST_BUGCHECK(guarded_mutex_acquire_above_apc_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KeInitializeGuardedMutex(&KtGuarded);
    kt_expect_verifier(KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL, DISPATCH_LEVEL,
                       (ULONG_PTR)&KtGuarded, 0);
    KT_RUN_CULPRIT(guarded_acquire_at_dispatch, NULL);
}

static VOID NTAPI guarded_release_at_dispatch(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeAcquireGuardedMutex(&KtGuarded);
    KeRaiseIrqlToDpcLevel();
    KeReleaseGuardedMutex(&KtGuarded);
}

/* WDK: KeReleaseGuardedMutex, <= APC_LEVEL: a fast mutex's 0x34; P3 the
 * owner's counts, in the guarded region the acquire entered. */
KTEST_BUGCHECK(guarded_mutex_release_above_apc_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KeInitializeGuardedMutex(&KtGuarded);
    kt_expect_verifier(KI_VERIFIER_FAST_MUTEX_RELEASE_IRQL, DISPATCH_LEVEL,
                       KT_GUARDED_REGION_ONCE, (ULONG_PTR)&KtGuarded);
    KT_RUN_CULPRIT(guarded_release_at_dispatch, NULL);
}

static VOID NTAPI guarded_unsafe_acquire_in_critical_region(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeEnterCriticalRegion();            /* not enough: special kernel APCs still run */
    KeAcquireGuardedMutexUnsafe(&KtGuarded);
}

/* WDK: KeAcquireGuardedMutexUnsafe, at APC_LEVEL or in a guarded region. */
KTEST_BUGCHECK(guarded_mutex_unsafe_acquire_outside_guarded_region,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KeInitializeGuardedMutex(&KtGuarded);
    kt_expect_verifier(KI_VERIFIER_UNSAFE_ACQUIRE_IRQL, PASSIVE_LEVEL, KT_CRITICAL_REGION_ONCE,
                       (ULONG_PTR)&KtGuarded);
    KT_RUN_CULPRIT(guarded_unsafe_acquire_in_critical_region, NULL);
}

static VOID NTAPI guarded_unsafe_release_after_region(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeEnterGuardedRegion();
    KeAcquireGuardedMutexUnsafe(&KtGuarded);
    KeLeaveGuardedRegion();             /* too early */
    KeReleaseGuardedMutexUnsafe(&KtGuarded);
}

KTEST_BUGCHECK(guarded_mutex_unsafe_release_outside_guarded_region,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KeInitializeGuardedMutex(&KtGuarded);
    kt_expect_verifier(KI_VERIFIER_UNSAFE_RELEASE_IRQL, PASSIVE_LEVEL, 0, (ULONG_PTR)&KtGuarded);
    KT_RUN_CULPRIT(guarded_unsafe_release_after_region, NULL);
}

static VOID NTAPI guarded_release_not_owned(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeReleaseGuardedMutex(&KtGuarded);
}

KTEST_BUGCHECK(guarded_mutex_released_by_other_thread, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KeInitializeGuardedMutex(&KtGuarded);
    KeAcquireGuardedMutex(&KtGuarded);
    kt_released_by_culprit(&KtGuarded, guarded_release_not_owned);
}

static VOID NTAPI guarded_acquire_twice(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeAcquireGuardedMutex(&KtGuarded);
    KeAcquireGuardedMutex(&KtGuarded);
}

KTEST_BUGCHECK(guarded_mutex_recursive_acquire, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KeInitializeGuardedMutex(&KtGuarded);
    kt_expect_verifier(KI_VERIFIER_SELF_DEADLOCK, (ULONG_PTR)&KtGuarded, 0, 0);
    KT_RUN_CULPRIT(guarded_acquire_twice, NULL);
}

#endif /* DBG */
