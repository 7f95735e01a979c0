/*
 * test_spinlock_misuse.c - every check of the checked build's spin lock
 * verifier fires with its bug check code and parameters
 * (kernel/locks/spinlock_check.c; the table is in docs/spinlocks.md).  Each test
 * ends the machine, so the runner boots each one alone.  The free build has
 * none of these checks, and none of these tests.
 *
 * Caller return addresses (a P4 here and there) are not predictable from C
 * and are matched as "any".
 */
#include "kt_spinlock.h"

#if DBG

#define CPU0 KT_P(0)    /* the runner boots the tests on the boot CPU */

static KSPIN_LOCK KtLock;
static EX_SPIN_LOCK KtRwLock;

/* ---- Executive spin locks ----------------------------------------------- */

KTEST_BUGCHECK(spinlock_misuse_recursive_acquire, SPIN_LOCK_ALREADY_OWNED)
{
    KIRQL old1, old2;

    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(kt_held_value()), CPU0, KT_ANY);
    KeAcquireSpinLock(&KtLock, &old1);
    KeAcquireSpinLock(&KtLock, &old2);
}

KTEST_BUGCHECK(spinlock_misuse_recursive_at_dpc_level, SPIN_LOCK_ALREADY_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(kt_held_value()), CPU0, KT_ANY);
    KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&KtLock);
    KeAcquireSpinLockAtDpcLevel(&KtLock);
}

KTEST_BUGCHECK(spinlock_misuse_release_free_lock, SPIN_LOCK_NOT_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(0), CPU0, KT_ANY);
    KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLockFromDpcLevel(&KtLock);
}

KTEST_BUGCHECK(spinlock_misuse_release_lock_of_another_cpu, SPIN_LOCK_NOT_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(kt_foreign_value()), CPU0, KT_ANY);
    KtLock = kt_foreign_value();
    KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLockFromDpcLevel(&KtLock);
}

KTEST_BUGCHECK(spinlock_misuse_at_dpc_level_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(PASSIVE_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtLock), KT_ANY);
    KeAcquireSpinLockAtDpcLevel(&KtLock);
}

KTEST_BUGCHECK(spinlock_misuse_from_dpc_level_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(APC_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtLock), KT_ANY);
    KfRaiseIrql(APC_LEVEL);
    KeReleaseSpinLockFromDpcLevel(&KtLock);
}

KTEST_BUGCHECK(spinlock_misuse_try_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(PASSIVE_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtLock), KT_ANY);
    (void)KeTryToAcquireSpinLockAtDpcLevel(&KtLock);
}

/* WDK: Bug Check 0xC4, 0x42: P2 current IRQL, P3 lock, P4 0. */
KTEST_BUGCHECK(spinlock_misuse_acquire_above_dispatch, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_P(0x42), KT_P(CLOCK_LEVEL), KT_P(&KtLock), KT_P(0));
    KfRaiseIrql(CLOCK_LEVEL);
    KeAcquireSpinLock(&KtLock, &old);
}

/* WDK: Bug Check 0xC4, 0x32 ("may be due to a double-release"). */
KTEST_BUGCHECK(spinlock_misuse_double_release, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_P(0x32), KT_P(PASSIVE_LEVEL), KT_P(&KtLock), KT_P(0));
    KeAcquireSpinLock(&KtLock, &old);
    KeReleaseSpinLock(&KtLock, old);
    KeReleaseSpinLock(&KtLock, old);
}

KTEST_BUGCHECK(spinlock_misuse_release_above_dispatch, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_P(0x32), KT_P(CLOCK_LEVEL), KT_P(&KtLock), KT_P(0));
    KeAcquireSpinLock(&KtLock, &old);
    KfRaiseIrql(CLOCK_LEVEL);
    KeReleaseSpinLock(&KtLock, old);
}

/* A release "lowering" to a higher level: what KeLowerIrql reports, 0x0A
 * with P1 the requested IRQL, P2 the current one. */
KTEST_BUGCHECK(spinlock_misuse_release_to_higher_irql, IRQL_NOT_LESS_OR_EQUAL)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_P(CLOCK_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(0), KT_ANY);
    KeAcquireSpinLock(&KtLock, &old);
    KeReleaseSpinLock(&KtLock, CLOCK_LEVEL);
}

KTEST_BUGCHECK(spinlock_misuse_raise_to_synch_above_synch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(HIGH_LEVEL), KT_P(SYNCH_LEVEL), KT_P(&KtLock), KT_ANY);
    KfRaiseIrql(HIGH_LEVEL);
    (void)KeAcquireSpinLockRaiseToSynch(&KtLock);
}

KTEST_BUGCHECK(spinlock_misuse_for_dpc_release_not_at_dispatch,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0x35), KT_P(CLOCK_LEVEL), KT_P(&KtLock), KT_P(PASSIVE_LEVEL));
    KIRQL old = KeAcquireSpinLockForDpc(&KtLock);
    KfRaiseIrql(CLOCK_LEVEL);
    KeReleaseSpinLockForDpc(&KtLock, old);
}

/* ForDpc raises only in a threaded DPC; there, above DISPATCH_LEVEL, the
 * raise it would do is a raise to a lower level. */
static VOID kt_for_dpc_above_dispatch(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KLOCK_QUEUE_HANDLE handle;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KfRaiseIrql(CLOCK_LEVEL);
    if (Context)
        KeAcquireInStackQueuedSpinLockForDpc(&KtLock, &handle);
    else
        (void)KeAcquireSpinLockForDpc(&KtLock);
}

static void kt_threaded_for_dpc_above_dispatch(BOOLEAN Queued)
{
    static KDPC dpc;

    ktest_expect_bugcheck(KT_P(CLOCK_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtLock), KT_ANY);
    KeInitializeThreadedDpc(&dpc, kt_for_dpc_above_dispatch, (PVOID)(ULONG_PTR)Queued);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KeFlushQueuedDpcs();
}

KTEST_BUGCHECK(spinlock_misuse_for_dpc_acquire_above_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    kt_threaded_for_dpc_above_dispatch(FALSE);
}

/* The seed: "It is an error to call KeReleaseSpinLockFromDpcLevel if the
 * specified spin lock was acquired by calling KeAcquireSpinLock because the
 * caller's original IRQL is not restored."  Caught at the next lowering:
 * 0xC8, P1 = (2 << 16) | (0 << 8) | 0x10, P2 the lock, P3 where it was
 * released, P4 where IRQL was lowered. */
KTEST_BUGCHECK(spinlock_misuse_from_dpc_level_release_of_raising_acquire, IRQL_UNEXPECTED_VALUE)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_P((DISPATCH_LEVEL << 16) | (PASSIVE_LEVEL << 8) |
                               KI_IRQL_UNIQUE_STALE_RAISE),
                          KT_P(&KtLock), KT_ANY, KT_ANY);
    KeAcquireSpinLock(&KtLock, &old);
    KeReleaseSpinLockFromDpcLevel(&KtLock);     /* the lock is free; IRQL still 2 */
    KeLowerIrql(old);
}

/* The same misuse, caught when a later, correct release lowers IRQL. */
KTEST_BUGCHECK(spinlock_misuse_stale_raise_caught_by_later_release, IRQL_UNEXPECTED_VALUE)
{
    static KSPIN_LOCK other;
    KIRQL old, old_other;

    ktest_expect_bugcheck(KT_P((DISPATCH_LEVEL << 16) | (APC_LEVEL << 8) |
                               KI_IRQL_UNIQUE_STALE_RAISE),
                          KT_P(&KtLock), KT_ANY, KT_ANY);
    KfRaiseIrql(APC_LEVEL);
    KeAcquireSpinLock(&KtLock, &old);
    KeReleaseSpinLockFromDpcLevel(&KtLock);
    KeAcquireSpinLock(&other, &old_other);     /* at 2: old_other = 2 */
    KeReleaseSpinLock(&other, old);            /* lowering to 1 (the level the first
                                                * release should have restored): caught */
}

KTEST_BUGCHECK(spinlock_misuse_lower_irql_while_held, SPIN_LOCK_ALREADY_OWNED)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(kt_held_value()), CPU0, KT_ANY);
    KeAcquireSpinLock(&KtLock, &old);
    KeLowerIrql(PASSIVE_LEVEL);
}

KTEST_BUGCHECK(spinlock_misuse_lower_below_synch_while_held, SPIN_LOCK_ALREADY_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(kt_held_value()), CPU0, KT_ANY);
    (void)KeAcquireSpinLockRaiseToSynch(&KtLock);
    KeLowerIrql(DISPATCH_LEVEL);                /* held at SYNCH_LEVEL */
}

KTEST_BUGCHECK(spinlock_misuse_too_many_locks_held, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    static KSPIN_LOCK locks[KI_MAX_HELD_SPIN_LOCKS + 1];

    ktest_expect_bugcheck(KT_P(KI_VERIFIER_TOO_MANY_LOCKS), KT_P(&locks[KI_MAX_HELD_SPIN_LOCKS]),
                          KT_P(KI_MAX_HELD_SPIN_LOCKS), KT_ANY);
    KeRaiseIrqlToDpcLevel();
    for (ULONG i = 0; i <= KI_MAX_HELD_SPIN_LOCKS; i++)
        KeAcquireSpinLockAtDpcLevel(&locks[i]);
}

/* ---- The spin watchdog -------------------------------------------------- */

static volatile LONG KtHolderReady;

/* CPU 1 takes the lock and never lets go; CPU 0 spins on it until the
 * watchdog (shortened for the test) names CPU 1.  With one CPU online, a
 * raw word naming CPU 1 plays the holder. */
static void hold_forever(void *context)
{
    KIRQL old;

    UNREFERENCED_PARAMETER(context);
    if (KeGetCurrentProcessorNumber() == 1) {
        KeAcquireSpinLock(&KtLock, &old);
        KtHolderReady = 1;
        for (;;)
            cpu_relax();
    }
    if (KeGetCurrentProcessorNumber() == 0) {
        kt_wait_for(&KtHolderReady, 1);
        KeAcquireSpinLock(&KtLock, &old);
    }
}

KTEST_BUGCHECK(spinlock_misuse_spin_timeout_names_holder, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ULONG_PTR holder = (ULONG_PTR)&KiProcessorBlock[1].Prcb | 1;

    ktest_expect_bugcheck(KT_P(KI_VERIFIER_SPIN_TIMEOUT), KT_P(&KtLock), KT_P(1), KT_P(holder));
    KiSpinLockTimeoutTicks = kt_ticks(200);
    if (KeQueryActiveProcessorCount(NULL) >= 2) {
        ktest_run_on_all_cpus(hold_forever, NULL);
    } else {
        KIRQL old;
        KtLock = holder;
        KeAcquireSpinLock(&KtLock, &old);
    }
}

/* A queued lock's word names no owner: the holder is found in the CPUs'
 * records (here, none: the word was set by hand, so "unknown", ~0). */
KTEST_BUGCHECK(spinlock_misuse_queued_spin_timeout, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    static KSPIN_LOCK_QUEUE elsewhere;
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P(KI_VERIFIER_SPIN_TIMEOUT), KT_P(&KtLock), KT_P(0xFFFFFFFF),
                          KT_P(&handle.LockQueue));
    KiSpinLockTimeoutTicks = kt_ticks(200);
    elsewhere.Lock = (PKSPIN_LOCK)((ULONG_PTR)&KtLock | LOCK_QUEUE_OWNER);
    KtLock = (ULONG_PTR)&elsewhere;             /* held by a queue entry elsewhere */
    KeAcquireInStackQueuedSpinLock(&KtLock, &handle);
}

/* ---- Queued spin locks -------------------------------------------------- */

KTEST_BUGCHECK(spinlock_misuse_queued_recursive_acquire, SPIN_LOCK_ALREADY_OWNED)
{
    KLOCK_QUEUE_HANDLE first, second;

    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(&first.LockQueue), CPU0, KT_ANY);
    KeAcquireInStackQueuedSpinLock(&KtLock, &first);
    KeAcquireInStackQueuedSpinLock(&KtLock, &second);
}

KTEST_BUGCHECK(spinlock_misuse_queued_release_not_owned, SPIN_LOCK_NOT_OWNED)
{
    KLOCK_QUEUE_HANDLE handle;

    /* P2: the entry's Lock field (no OWNER bit). */
    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(&KtLock), CPU0, KT_ANY);
    handle.LockQueue.Next = NULL;
    handle.LockQueue.Lock = &KtLock;
    KeRaiseIrqlToDpcLevel();
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
}

/* 0xC4, 0x35: P2 current IRQL, P3 lock, P4 the handle's old IRQL. */
KTEST_BUGCHECK(spinlock_misuse_queued_double_release, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P(0x35), KT_P(PASSIVE_LEVEL), KT_P(&KtLock), KT_P(PASSIVE_LEVEL));
    KeAcquireInStackQueuedSpinLock(&KtLock, &handle);
    KeReleaseInStackQueuedSpinLock(&handle);
    KeReleaseInStackQueuedSpinLock(&handle);
}

KTEST_BUGCHECK(spinlock_misuse_queued_at_dpc_level_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P(PASSIVE_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtLock), KT_ANY);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&KtLock, &handle);
}

KTEST_BUGCHECK(spinlock_misuse_queued_acquire_above_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P(CLOCK_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtLock), KT_ANY);
    KfRaiseIrql(CLOCK_LEVEL);
    KeAcquireInStackQueuedSpinLock(&KtLock, &handle);
}

/* The handle looks like an owner's, so only the IRQL is wrong.  P3: the lock
 * (the entry's Lock field without its state bits). */
KTEST_BUGCHECK(spinlock_misuse_queued_from_dpc_level_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P(APC_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtLock), KT_ANY);
    handle.LockQueue.Next = NULL;
    handle.LockQueue.Lock = (PKSPIN_LOCK)((ULONG_PTR)&KtLock | LOCK_QUEUE_OWNER);
    handle.OldIrql = PASSIVE_LEVEL;
    KtLock = (ULONG_PTR)&handle.LockQueue;
    KfRaiseIrql(APC_LEVEL);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
}

KTEST_BUGCHECK(spinlock_misuse_queued_for_dpc_acquire_above_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    kt_threaded_for_dpc_above_dispatch(TRUE);
}

/* The lock is held at PASSIVE_LEVEL (a ForDpc acquire outside a threaded
 * DPC changes no IRQL) and released at CLOCK_LEVEL; 0xC4, 0x35: P2 current IRQL, P3 lock, P4 the handle's old IRQL. */
KTEST_BUGCHECK(spinlock_misuse_queued_for_dpc_release_not_at_dispatch,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P(0x35), KT_P(CLOCK_LEVEL), KT_P(&KtLock), KT_P(PASSIVE_LEVEL));
    KeAcquireInStackQueuedSpinLockForDpc(&KtLock, &handle);
    KfRaiseIrql(CLOCK_LEVEL);
    KeReleaseInStackQueuedSpinLockForDpc(&handle);
}

KTEST_BUGCHECK(spinlock_misuse_queued_raise_to_synch_above_synch, IRQL_NOT_GREATER_OR_EQUAL)
{
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P(HIGH_LEVEL), KT_P(SYNCH_LEVEL), KT_P(&KtLock), KT_ANY);
    KfRaiseIrql(HIGH_LEVEL);
    KeAcquireInStackQueuedSpinLockRaiseToSynch(&KtLock, &handle);
}

KTEST_BUGCHECK(spinlock_misuse_queued_from_dpc_level_release_of_raising_acquire,
               IRQL_UNEXPECTED_VALUE)
{
    KLOCK_QUEUE_HANDLE handle;

    ktest_expect_bugcheck(KT_P((DISPATCH_LEVEL << 16) | (PASSIVE_LEVEL << 8) |
                               KI_IRQL_UNIQUE_STALE_RAISE),
                          KT_P(&KtLock), KT_ANY, KT_ANY);
    KeAcquireInStackQueuedSpinLock(&KtLock, &handle);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
    KeLowerIrql(handle.OldIrql);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_recursive_acquire, SPIN_LOCK_ALREADY_OWNED)
{
    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[LockQueueUnusedSpare0];

    ktest_expect_bugcheck(KT_P(entry->Lock), KT_P(entry), CPU0, KT_ANY);
    (void)KeAcquireQueuedSpinLock(LockQueueUnusedSpare0);
    (void)KeAcquireQueuedSpinLock(LockQueueUnusedSpare0);
}

/* 0xC4, 0x36: P2 current IRQL, P3 the lock number, P4 old IRQL. */
KTEST_BUGCHECK(spinlock_misuse_numbered_release_not_at_dispatch,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0x36), KT_P(PASSIVE_LEVEL), KT_P(LockQueueIoCancelLock),
                          KT_P(PASSIVE_LEVEL));
    kt_ensure_lock_queues();
    IoReleaseCancelSpinLock(PASSIVE_LEVEL);     /* never acquired */
}

/* At DISPATCH_LEVEL (below it, the IRQL check comes first: 0xC4 / 0x36).
 * P1 the global word, P2 this CPU's entry's Lock field: the same address,
 * without OWNER. */
KTEST_BUGCHECK(spinlock_misuse_numbered_release_not_held, SPIN_LOCK_NOT_OWNED)
{
    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[LockQueueUnusedSpare0];

    ktest_expect_bugcheck(KT_P(entry->Lock), KT_P(entry->Lock), CPU0, KT_ANY);
    KeRaiseIrqlToDpcLevel();
    KeReleaseQueuedSpinLock(LockQueueUnusedSpare0, PASSIVE_LEVEL);     /* never acquired */
}

/* The raising numbered forms above their level: 0x09 like the in-stack ones
 * (not KeAcquireSpinLock's 0xC4 / 0x42); P3 the number's global word. */
KTEST_BUGCHECK(spinlock_misuse_numbered_acquire_above_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[LockQueueUnusedSpare0];

    ktest_expect_bugcheck(KT_P(CLOCK_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(entry->Lock), KT_ANY);
    KfRaiseIrql(CLOCK_LEVEL);
    (void)KeAcquireQueuedSpinLock(LockQueueUnusedSpare0);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_raise_to_synch_above_synch, IRQL_NOT_GREATER_OR_EQUAL)
{
    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[LockQueueUnusedSpare1];

    ktest_expect_bugcheck(KT_P(HIGH_LEVEL), KT_P(SYNCH_LEVEL), KT_P(entry->Lock), KT_ANY);
    KfRaiseIrql(HIGH_LEVEL);
    (void)KeAcquireQueuedSpinLockRaiseToSynch(LockQueueUnusedSpare1);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_try_above_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    KIRQL old;

    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[LockQueueUnusedSpare0];

    ktest_expect_bugcheck(KT_P(CLOCK_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(entry->Lock), KT_ANY);
    KfRaiseIrql(CLOCK_LEVEL);
    (void)KeTryToAcquireQueuedSpinLock(LockQueueUnusedSpare0, &old);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_try_raise_to_synch_above_synch,
               IRQL_NOT_GREATER_OR_EQUAL)
{
    KIRQL old;

    kt_ensure_lock_queues();
    PKSPIN_LOCK_QUEUE entry = &KeGetCurrentPrcb()->LockQueue[LockQueueUnusedSpare1];

    ktest_expect_bugcheck(KT_P(HIGH_LEVEL), KT_P(SYNCH_LEVEL), KT_P(entry->Lock), KT_ANY);
    KfRaiseIrql(HIGH_LEVEL);
    (void)KeTryToAcquireQueuedSpinLockRaiseToSynch(LockQueueUnusedSpare1, &old);
}

/* A number past the table, for each numbered routine: 0xC4 / 0x6003 (ours),
 * P3 the table size, before any raise or access (LockQueueMaximumLock is
 * the first bad number; a large one must not wrap into range). */
#define KT_BAD_NUMBER(n) KT_P(KI_VERIFIER_BAD_LOCK_NUMBER), KT_P(n), KT_P(LockQueueMaximumLock), KT_ANY

KTEST_BUGCHECK(spinlock_misuse_numbered_acquire_bad_number, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_BAD_NUMBER(LockQueueMaximumLock));
    (void)KeAcquireQueuedSpinLock(LockQueueMaximumLock);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_raise_to_synch_bad_number,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_BAD_NUMBER(0x100000000ull));
    (void)KeAcquireQueuedSpinLockRaiseToSynch(0x100000000ull);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_release_bad_number, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_BAD_NUMBER(LockQueueMaximumLock + 1));
    KeRaiseIrqlToDpcLevel();
    KeReleaseQueuedSpinLock(LockQueueMaximumLock + 1, PASSIVE_LEVEL);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_try_bad_number, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_BAD_NUMBER(LockQueueMaximumLock));
    (void)KeTryToAcquireQueuedSpinLock(LockQueueMaximumLock, &old);
}

KTEST_BUGCHECK(spinlock_misuse_numbered_try_raise_to_synch_bad_number,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_BAD_NUMBER(~0ull));
    (void)KeTryToAcquireQueuedSpinLockRaiseToSynch(~0ull, &old);
}

/* ---- Reader/writer spin locks ------------------------------------------- */

KTEST_BUGCHECK(spinlock_misuse_rw_recursive_shared, SPIN_LOCK_ALREADY_OWNED)
{
    /* A reader re-entering would deadlock behind a waiting writer. */
    ktest_expect_bugcheck(KT_P(&KtRwLock), KT_P(1), CPU0, KT_ANY);
    (void)ExAcquireSpinLockShared(&KtRwLock);
    (void)ExAcquireSpinLockShared(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_exclusive_after_shared, SPIN_LOCK_ALREADY_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtRwLock), KT_P(1), CPU0, KT_ANY);
    (void)ExAcquireSpinLockShared(&KtRwLock);
    KeRaiseIrqlToDpcLevel();
    ExAcquireSpinLockExclusiveAtDpcLevel(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_release_shared_not_held, SPIN_LOCK_NOT_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtRwLock), KT_P(0), CPU0, KT_ANY);
    KeRaiseIrqlToDpcLevel();
    ExReleaseSpinLockSharedFromDpcLevel(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_release_exclusive_held_shared, SPIN_LOCK_NOT_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtRwLock), KT_P(1), CPU0, KT_ANY);
    KIRQL old = ExAcquireSpinLockShared(&KtRwLock);
    ExReleaseSpinLockExclusive(&KtRwLock, old);
}

KTEST_BUGCHECK(spinlock_misuse_rw_release_not_at_dispatch, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0x35), KT_P(CLOCK_LEVEL), KT_P(&KtRwLock), KT_P(PASSIVE_LEVEL));
    KIRQL old = ExAcquireSpinLockExclusive(&KtRwLock);
    KfRaiseIrql(CLOCK_LEVEL);
    ExReleaseSpinLockExclusive(&KtRwLock, old);
}

KTEST_BUGCHECK(spinlock_misuse_rw_release_shared_not_at_dispatch,
               DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0x35), KT_P(CLOCK_LEVEL), KT_P(&KtRwLock), KT_P(PASSIVE_LEVEL));
    KIRQL old = ExAcquireSpinLockShared(&KtRwLock);
    KfRaiseIrql(CLOCK_LEVEL);
    ExReleaseSpinLockShared(&KtRwLock, old);
}

KTEST_BUGCHECK(spinlock_misuse_rw_at_dpc_level_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(PASSIVE_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    ExAcquireSpinLockSharedAtDpcLevel(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_exclusive_at_dpc_level_below_dispatch,
               IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(APC_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    KfRaiseIrql(APC_LEVEL);
    ExAcquireSpinLockExclusiveAtDpcLevel(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_shared_from_dpc_level_below_dispatch,
               IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(APC_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    KtRwLock = 1;                               /* a reader inside */
    KfRaiseIrql(APC_LEVEL);
    ExReleaseSpinLockSharedFromDpcLevel(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_exclusive_from_dpc_level_below_dispatch,
               IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(APC_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    KtRwLock = (LONG)0x80000000;                /* a writer inside */
    KfRaiseIrql(APC_LEVEL);
    ExReleaseSpinLockExclusiveFromDpcLevel(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_try_shared_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(PASSIVE_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    (void)ExTryAcquireSpinLockSharedAtDpcLevel(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_try_exclusive_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(APC_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    KfRaiseIrql(APC_LEVEL);
    (void)ExTryAcquireSpinLockExclusiveAtDpcLevel(&KtRwLock);
}

/* The IRQL is checked before the shared hold (not held here either). */
KTEST_BUGCHECK(spinlock_misuse_rw_convert_below_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(PASSIVE_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    KtRwLock = 1;
    (void)ExTryConvertSharedSpinLockExclusive(&KtRwLock);
}

/* The raising reader/writer acquires above DISPATCH_LEVEL: 0x09, not
 * KeAcquireSpinLock's 0xC4 / 0x42. */
KTEST_BUGCHECK(spinlock_misuse_rw_shared_acquire_above_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(CLOCK_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    KfRaiseIrql(CLOCK_LEVEL);
    (void)ExAcquireSpinLockShared(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_exclusive_acquire_above_dispatch, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(HIGH_LEVEL), KT_P(DISPATCH_LEVEL), KT_P(&KtRwLock), KT_ANY);
    KfRaiseIrql(HIGH_LEVEL);
    (void)ExAcquireSpinLockExclusive(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_convert_not_held, SPIN_LOCK_NOT_OWNED)
{
    ktest_expect_bugcheck(KT_P(&KtRwLock), KT_P(0), CPU0, KT_ANY);
    KeRaiseIrqlToDpcLevel();
    (void)ExTryConvertSharedSpinLockExclusive(&KtRwLock);
}

KTEST_BUGCHECK(spinlock_misuse_rw_spin_timeout, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    /* A writer elsewhere (the raw word) that never leaves: unknown holder. */
    ktest_expect_bugcheck(KT_P(KI_VERIFIER_SPIN_TIMEOUT), KT_P(&KtRwLock), KT_P(0xFFFFFFFF),
                          KT_P(0x80000000));
    KiSpinLockTimeoutTicks = kt_ticks(200);
    KtRwLock = (LONG)0x80000000;
    (void)ExAcquireSpinLockShared(&KtRwLock);
}

/* ---- ExInterlocked helpers ---------------------------------------------- */

KTEST_BUGCHECK(spinlock_misuse_exinterlocked_recursive, SPIN_LOCK_ALREADY_OWNED)
{
    static ULONG value;

    /* As if an ISR used the helper's lock while its own CPU held it. */
    ktest_expect_bugcheck(KT_P(&KtLock), KT_P(kt_held_value()), CPU0, KT_ANY);
    KtLock = kt_held_value();
    ExInterlockedAddUlong(&value, 1, &KtLock);
}

#endif /* DBG */
