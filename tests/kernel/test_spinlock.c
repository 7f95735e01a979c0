/*
 * test_spinlock.c - executive spin locks (kernel/locks/spinlock.c,
 * arch/x86_64/spinlock.S): for each routine, the lock word, the IRQL and
 * RFLAGS.IF before, while held and after, and the return values; then
 * try-acquire against a holder on another CPU.
 */
#include "kt_spinlock.h"

#define GARBAGE ((KSPIN_LOCK)0xDEADBEEFCAFEF00Dull)

/* Every routine of the family is a real exported function in both builds
 * (the WDK's macros, such as KeAcquireSpinLock, stay macros). */
KTEST(spinlock_exports)
{
    static const PVOID routines[] = {
        (PVOID)KeInitializeSpinLock, (PVOID)KeAcquireSpinLockRaiseToDpc,
        (PVOID)KeReleaseSpinLock, (PVOID)KeAcquireSpinLockAtDpcLevel,
        (PVOID)KeReleaseSpinLockFromDpcLevel, (PVOID)KefAcquireSpinLockAtDpcLevel,
        (PVOID)KefReleaseSpinLockFromDpcLevel, (PVOID)KeTryToAcquireSpinLockAtDpcLevel,
        (PVOID)KeTestSpinLock, (PVOID)KeAcquireSpinLockForDpc, (PVOID)KeReleaseSpinLockForDpc,
        (PVOID)KeAcquireSpinLockRaiseToSynch,
        (PVOID)KeAcquireInStackQueuedSpinLock, (PVOID)KeReleaseInStackQueuedSpinLock,
        (PVOID)KeAcquireInStackQueuedSpinLockAtDpcLevel,
        (PVOID)KeReleaseInStackQueuedSpinLockFromDpcLevel,
        (PVOID)KeAcquireInStackQueuedSpinLockForDpc, (PVOID)KeReleaseInStackQueuedSpinLockForDpc,
        (PVOID)KeAcquireInStackQueuedSpinLockRaiseToSynch,
        (PVOID)KeAcquireQueuedSpinLock, (PVOID)KeReleaseQueuedSpinLock,
        (PVOID)KeTryToAcquireQueuedSpinLock, (PVOID)KeAcquireQueuedSpinLockRaiseToSynch,
        (PVOID)KeTryToAcquireQueuedSpinLockRaiseToSynch,
        (PVOID)ExAcquireSpinLockShared, (PVOID)ExReleaseSpinLockShared,
        (PVOID)ExAcquireSpinLockExclusive, (PVOID)ExReleaseSpinLockExclusive,
        (PVOID)ExAcquireSpinLockSharedAtDpcLevel, (PVOID)ExReleaseSpinLockSharedFromDpcLevel,
        (PVOID)ExAcquireSpinLockExclusiveAtDpcLevel,
        (PVOID)ExReleaseSpinLockExclusiveFromDpcLevel,
        (PVOID)ExTryConvertSharedSpinLockExclusive, (PVOID)ExTryAcquireSpinLockSharedAtDpcLevel,
        (PVOID)ExTryAcquireSpinLockExclusiveAtDpcLevel,
        (PVOID)ExInterlockedInsertHeadList, (PVOID)ExInterlockedInsertTailList,
        (PVOID)ExInterlockedRemoveHeadList, (PVOID)ExInterlockedPushEntryList,
        (PVOID)ExInterlockedPopEntryList, (PVOID)ExInterlockedAddUlong,
        (PVOID)ExInterlockedAddLargeInteger,
        (PVOID)IoAcquireCancelSpinLock, (PVOID)IoReleaseCancelSpinLock,
        (PVOID)IoAcquireVpbSpinLock, (PVOID)IoReleaseVpbSpinLock,
    };
    for (ULONG i = 0; i < ARRAYSIZE(routines); i++)
        KT_EXPECT_NE(routines[i], NULL);
#if !DBG
    /* x64: the Kef names are the Ke routines themselves.  (Through volatile:
     * Clang folds a comparison of two declared functions to "different".) */
    PVOID volatile kef_acquire = (PVOID)KefAcquireSpinLockAtDpcLevel;
    PVOID volatile kef_release = (PVOID)KefReleaseSpinLockFromDpcLevel;
    KT_EXPECT_EQ(kef_acquire, (PVOID)KeAcquireSpinLockAtDpcLevel);
    KT_EXPECT_EQ(kef_release, (PVOID)KeReleaseSpinLockFromDpcLevel);
#endif
}

KTEST(spinlock_initialize)
{
    KSPIN_LOCK lock = GARBAGE;

    KeInitializeSpinLock(&lock);
    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST(spinlock_acquire_release_raises_and_restores)
{
    KSPIN_LOCK lock;
    KIRQL old = 0xFF;

    KeInitializeSpinLock(&lock);
    KT_ASSERT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());

    KeAcquireSpinLock(&lock, &old);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(lock, kt_held_value());
    KT_EXPECT_TRUE(kt_interrupts_enabled());

    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());

    /* The Ex macros, and the routine behind KeAcquireSpinLock, from APC_LEVEL. */
    KfRaiseIrql(APC_LEVEL);
    ExAcquireSpinLock(&lock, &old);
    KT_EXPECT_EQ(old, APC_LEVEL);
    KT_EXPECT_EQ(lock, kt_held_value());
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    ExReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KT_EXPECT_EQ(lock, 0);

    old = KeAcquireSpinLockRaiseToDpc(&lock);
    KT_EXPECT_EQ(old, APC_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);

    /* At DISPATCH_LEVEL already: no change, and back to DISPATCH_LEVEL. */
    KfRaiseIrql(DISPATCH_LEVEL);
    KeAcquireSpinLock(&lock, &old);
    KT_EXPECT_EQ(old, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(lock, 0);
    KeLowerIrql(PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_at_dpc_level_keeps_irql)
{
    KSPIN_LOCK lock;
    KIRQL old;

    KeInitializeSpinLock(&lock);
    KeRaiseIrql(DISPATCH_LEVEL, &old);

    KeAcquireSpinLockAtDpcLevel(&lock);
    KT_EXPECT_EQ(lock, kt_held_value());
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
    KeReleaseSpinLockFromDpcLevel(&lock);
    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);

    KefAcquireSpinLockAtDpcLevel(&lock);
    KT_EXPECT_EQ(lock, kt_held_value());
    KefReleaseSpinLockFromDpcLevel(&lock);
    KT_EXPECT_EQ(lock, 0);

    ExAcquireSpinLockAtDpcLevel(&lock);
    KT_EXPECT_EQ(lock, kt_held_value());
    ExReleaseSpinLockFromDpcLevel(&lock);
    KT_EXPECT_EQ(lock, 0);

    /* Above DISPATCH_LEVEL too (a lock an ISR shares with its DPC). */
    KfRaiseIrql(CLOCK_LEVEL);
    KeAcquireSpinLockAtDpcLevel(&lock);
    KT_EXPECT_EQ(KeGetCurrentIrql(), CLOCK_LEVEL);
    KT_EXPECT_EQ(lock, kt_held_value());
    KeReleaseSpinLockFromDpcLevel(&lock);
    KT_EXPECT_EQ(KeGetCurrentIrql(), CLOCK_LEVEL);
    KT_EXPECT_EQ(lock, 0);

    KeLowerIrql(old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_try_to_acquire)
{
    KSPIN_LOCK lock;
    KIRQL old;

    KeInitializeSpinLock(&lock);
    KeRaiseIrql(DISPATCH_LEVEL, &old);

    KT_EXPECT_EQ(KeTryToAcquireSpinLockAtDpcLevel(&lock), TRUE);
    KT_EXPECT_EQ(lock, kt_held_value());
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    /* Held (by us): FALSE, and the word is not touched. */
    KT_EXPECT_EQ(KeTryToAcquireSpinLockAtDpcLevel(&lock), FALSE);
    KT_EXPECT_EQ(lock, kt_held_value());
    KeReleaseSpinLockFromDpcLevel(&lock);
    KT_EXPECT_EQ(lock, 0);

    /* Held elsewhere (a raw word naming another CPU). */
    lock = kt_foreign_value();
    KT_EXPECT_EQ(KeTryToAcquireSpinLockAtDpcLevel(&lock), FALSE);
    KT_EXPECT_EQ(lock, kt_foreign_value());
    lock = 0;
    KT_EXPECT_EQ(KeTryToAcquireSpinLockAtDpcLevel(&lock), TRUE);
    KT_EXPECT_EQ(lock, kt_held_value());
    KeReleaseSpinLockFromDpcLevel(&lock);

    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_test_spin_lock)
{
    KSPIN_LOCK lock = 0;

    KT_EXPECT_EQ(KeTestSpinLock(&lock), TRUE);
    KT_EXPECT_EQ(lock, 0);                      /* never acquires */
    lock = kt_foreign_value();
    KT_EXPECT_EQ(KeTestSpinLock(&lock), FALSE);
    KT_EXPECT_EQ(lock, kt_foreign_value());
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

    /* And on a lock this CPU holds. */
    KIRQL old;
    lock = 0;
    KeAcquireSpinLock(&lock, &old);
    KT_EXPECT_EQ(KeTestSpinLock(&lock), FALSE);
    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(KeTestSpinLock(&lock), TRUE);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* Outside a threaded DPC the ForDpc forms change no IRQL, as on Windows
 * (inside one they raise: tests/kernel/test_dpc_threaded.c). */
KTEST(spinlock_for_dpc_keeps_irql_outside_a_threaded_dpc)
{
    KSPIN_LOCK lock = 0;
    KIRQL old;

    /* PASSIVE_LEVEL, not in a DPC: no change either way. */
    old = KeAcquireSpinLockForDpc(&lock);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(lock, kt_held_value());
    KeReleaseSpinLockForDpc(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(lock, 0);

    /* An ordinary DPC, at DISPATCH_LEVEL: no change either way. */
    KIRQL saved;
    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    old = KeAcquireSpinLockForDpc(&lock);
    KT_EXPECT_EQ(old, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(lock, kt_held_value());
    KeReleaseSpinLockForDpc(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(lock, 0);
    KeLowerIrql(saved);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_raise_to_synch)
{
    KSPIN_LOCK lock = 0;
    KIRQL old;

    old = KeAcquireSpinLockRaiseToSynch(&lock);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
    KT_EXPECT_EQ(lock, kt_held_value());
    KT_EXPECT_TRUE(kt_interrupts_enabled());
    KeReleaseSpinLock(&lock, old);                  /* the WDK's pairing */
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(lock, 0);

    KIRQL saved;
    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    old = KeAcquireSpinLockRaiseToSynch(&lock);
    KT_EXPECT_EQ(old, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(saved);
}

/* Two locks, the inner one taken by a raising form at DISPATCH_LEVEL: each
 * release gives back the level its acquire found. */
KTEST(spinlock_nested_release_restores_each_level)
{
    KSPIN_LOCK outer = 0, inner = 0;
    KIRQL old_outer, old_inner;

    KfRaiseIrql(APC_LEVEL);
    KeAcquireSpinLock(&outer, &old_outer);
    KeAcquireSpinLock(&inner, &old_inner);
    KT_EXPECT_EQ(old_outer, APC_LEVEL);
    KT_EXPECT_EQ(old_inner, DISPATCH_LEVEL);
    KT_EXPECT_EQ(outer, kt_held_value());
    KT_EXPECT_EQ(inner, kt_held_value());
    KeReleaseSpinLock(&inner, old_inner);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(inner, 0);
    KT_EXPECT_EQ(outer, kt_held_value());
    KeReleaseSpinLock(&outer, old_outer);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KT_EXPECT_EQ(outer, 0);
    KeLowerIrql(PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

#if !DBG
/* Free build, as observed on Windows: KeAcquireSpinLock above DISPATCH_LEVEL
 * sets CR8 to DISPATCH_LEVEL, and the release puts the old level back.  (The
 * checked build stops instead: 0xC4, subcode 0x42.) */
KTEST(spinlock_free_acquire_above_dispatch_sets_dispatch)
{
    KSPIN_LOCK lock = 0;
    KIRQL old, saved;

    KeRaiseIrql(CLOCK_LEVEL, &saved);
    KeAcquireSpinLock(&lock, &old);
    KT_EXPECT_EQ(old, CLOCK_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), CLOCK_LEVEL);
    KeLowerIrql(saved);
}
#endif

/* ---- Against another CPU ------------------------------------------------ */

static struct {
    KSPIN_LOCK Lock;
    volatile LONG Step;
    volatile LONG Result;
} KtCross;

/* CPU 0 holds the lock; CPU 1's try fails; CPU 0 releases; CPU 1's try
 * succeeds.  Each side fails the test instead of hanging. */
static void cross_cpu_try(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    KIRQL old;

    UNREFERENCED_PARAMETER(context);
    if (cpu == 0) {
        KeAcquireSpinLock(&KtCross.Lock, &old);
        __atomic_store_n(&KtCross.Step, 1, __ATOMIC_RELEASE);
        BOOLEAN tried = kt_wait_for(&KtCross.Step, 2);
        KeReleaseSpinLock(&KtCross.Lock, old);
        if (tried)
            __atomic_store_n(&KtCross.Step, 3, __ATOMIC_RELEASE);
    } else if (cpu == 1) {
        if (!kt_wait_for(&KtCross.Step, 1))
            return;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        BOOLEAN got = KeTryToAcquireSpinLockAtDpcLevel(&KtCross.Lock);
        if (got)                                /* wrong: CPU 0 holds it */
            KeReleaseSpinLockFromDpcLevel(&KtCross.Lock);
        KeLowerIrql(old);
        __atomic_store_n(&KtCross.Step, got ? 99 : 2, __ATOMIC_RELEASE);
        if (got || !kt_wait_for(&KtCross.Step, 3))
            return;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        if (KeTryToAcquireSpinLockAtDpcLevel(&KtCross.Lock)) {
            KtCross.Result = KtCross.Lock == kt_held_value() ? 1 : 2;
            KeReleaseSpinLockFromDpcLevel(&KtCross.Lock);
        }
        KeLowerIrql(old);
    }
}

KTEST(spinlock_try_fails_while_another_cpu_holds)
{
    KT_REQUIRE_CPUS(2);
    KtCross.Lock = 0;
    KtCross.Step = 0;
    KtCross.Result = 0;
    ktest_run_on_all_cpus(cross_cpu_try, NULL);
    KT_EXPECT_EQ(KtCross.Step, 3);              /* CPU 1's first try failed */
    KT_EXPECT_EQ(KtCross.Result, 1);            /* its second one succeeded, as its own */
    KT_EXPECT_EQ(KtCross.Lock, 0);
}

/* The limit of 16 held locks is per context: an interrupt's own locks (the
 * clock tick takes its CPU's DPC queue lock) do not push code that holds 16
 * over it (kernel/locks/spinlock_check.c). */
KTEST(spinlock_sixteen_held_while_the_clock_ticks)
{
    static KSPIN_LOCK locks[KI_MAX_HELD_SPIN_LOCKS];
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG64 ticks = KeGetCurrentPrcb()->ClockTicks;

    for (ULONG i = 0; i < KI_MAX_HELD_SPIN_LOCKS; i++)
        KeAcquireSpinLockAtDpcLevel(&locks[i]);
    /* Ticks come: CLOCK_LEVEL is above us.  Up to 2 s: a loaded host can
     * hold a vCPU's timer back well past one period. */
    for (ULONG ms = 0; ms < 2000 && KeGetCurrentPrcb()->ClockTicks == ticks; ms++)
        KeStallExecutionProcessor(1000);
    KT_EXPECT_TRUE(KeGetCurrentPrcb()->ClockTicks > ticks);
    for (ULONG i = KI_MAX_HELD_SPIN_LOCKS; i-- > 0;)
        KeReleaseSpinLockFromDpcLevel(&locks[i]);
    KeLowerIrql(old);
}
