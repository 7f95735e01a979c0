/*
 * test_fastmutex.c - fast and guarded mutexes (kernel/thread/fastmutex.c,
 * kernel/thread/guardedmutex.c, docs/mutexes.md): the IRQL and APC state a
 * holder is in, try-acquire, the Unsafe forms, a sleeper woken by the
 * release, and mutual exclusion with exact accounting on every CPU.
 */
#include "kt_thread.h"
#include "kernel/console/console.h"

#define KT_STRESS_ITERATIONS 1500       /* per thread; two threads per CPU */
#define KT_WAITER_MS 5000               /* a sleeper the release must wake */

static FAST_MUTEX KtFast;
static KGUARDED_MUTEX KtGuarded;

/* ---- What holding one looks like -------------------------------------- */

KTEST(fast_mutex_initialized_free)
{
    ExInitializeFastMutex(&KtFast);
    KT_EXPECT_EQ(KtFast.Count, FM_LOCK_BIT);
    KT_EXPECT_EQ((ULONG_PTR)KtFast.Owner, 0);
    KT_EXPECT_EQ(KtFast.Contention, 0);
    KT_EXPECT_EQ(KeReadStateEvent(&KtFast.Event), 0);
    KT_EXPECT_EQ(KtFast.Event.Header.Type, 1);      /* a synchronization event */
}

/* WDK: ExAcquireFastMutex: returns at APC_LEVEL, and ExReleaseFastMutex
 * gives back the IRQL it was called at, PASSIVE_LEVEL or APC_LEVEL. */
KTEST(fast_mutex_held_at_apc_level_and_restored)
{
    ExInitializeFastMutex(&KtFast);
    KT_ASSERT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    ExAcquireFastMutex(&KtFast);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)KtFast.Owner, (ULONG_PTR)KeGetCurrentThread());
    KT_EXPECT_EQ(KtFast.OldIrql, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KtFast.Count, 0);                  /* (0,0,0): owned, no waiters */
    KT_EXPECT_TRUE(KeAreAllApcsDisabled());         /* by IRQL ... */
    KT_EXPECT_TRUE(!KeAreApcsDisabled());           /* ... not by a region */
    ExReleaseFastMutex(&KtFast);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)KtFast.Owner, 0);
    KT_EXPECT_EQ(KtFast.Count, FM_LOCK_BIT);

    KIRQL old = KfRaiseIrql(APC_LEVEL);
    ExAcquireFastMutex(&KtFast);
    KT_EXPECT_EQ(KtFast.OldIrql, APC_LEVEL);
    ExReleaseFastMutex(&KtFast);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(old);
}

/* WDK: KeAcquireGuardedMutex: a guarded region, IRQL unchanged. */
KTEST(guarded_mutex_keeps_irql_disables_all_apcs)
{
    KeInitializeGuardedMutex(&KtGuarded);
    KT_EXPECT_EQ(KtGuarded.Count, GM_LOCK_BIT);
    KT_ASSERT_TRUE(!KeAreAllApcsDisabled());
    KeAcquireGuardedMutex(&KtGuarded);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(KeAreAllApcsDisabled());
    KT_EXPECT_TRUE(KeAreApcsDisabled());
    KT_EXPECT_EQ((ULONG_PTR)KtGuarded.Owner, (ULONG_PTR)KeGetCurrentThread());
    KT_EXPECT_EQ(KtGuarded.SpecialApcDisable, -1);  /* the owner's counts, recorded */
    KeReleaseGuardedMutex(&KtGuarded);
    KT_EXPECT_TRUE(!KeAreAllApcsDisabled());
    KT_EXPECT_TRUE(!KeAreApcsDisabled());
    KT_EXPECT_EQ(KtGuarded.Count, GM_LOCK_BIT);

    KT_ASSERT_TRUE(KeTryToAcquireGuardedMutex(&KtGuarded));
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(KeAreAllApcsDisabled());
    KeReleaseGuardedMutex(&KtGuarded);
    KT_EXPECT_TRUE(!KeAreAllApcsDisabled());
}

/* ---- Try-acquire --------------------------------------------------------- */

typedef struct _KT_TRY {
    PVOID Mutex;
    BOOLEAN Guarded;
    volatile BOOLEAN Got;
    volatile KIRQL IrqlAfter;
    volatile BOOLEAN AllApcsDisabledAfter;
} KT_TRY;

static VOID NTAPI try_once(PVOID Context)
{
    KT_TRY *t = Context;

    t->Got = t->Guarded ? KeTryToAcquireGuardedMutex(t->Mutex) : ExTryToAcquireFastMutex(t->Mutex);
    t->IrqlAfter = KeGetCurrentIrql();
    t->AllApcsDisabledAfter = KeAreAllApcsDisabled();
    if (t->Got) {
        if (t->Guarded)
            KeReleaseGuardedMutex(t->Mutex);
        else
            ExReleaseFastMutex(t->Mutex);
    }
}

/* Another thread's try, on the last CPU; its result and state after. */
static VOID kt_try_from_thread(KT_TRY *Try)
{
    Try->Got = 2;
    kt_join(kt_start(try_once, Try, (KAFFINITY)1 << kt_last_cpu(), KI_SYSTEM_BASE_PRIORITY));
}

KTEST(fast_mutex_try_fails_while_held_succeeds_after)
{
    KT_TRY t = { .Mutex = &KtFast, .Guarded = FALSE };

    ExInitializeFastMutex(&KtFast);
    ExAcquireFastMutex(&KtFast);
    KT_EXPECT_TRUE(!ExTryToAcquireFastMutex(&KtFast));     /* the owner too: not recursive */
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    kt_try_from_thread(&t);
    KT_EXPECT_EQ(t.Got, FALSE);
    KT_EXPECT_EQ(t.IrqlAfter, PASSIVE_LEVEL);       /* FALSE: IRQL as it was */
    KT_EXPECT_EQ(KtFast.Count, 0);                  /* and the word too */
    KT_EXPECT_EQ((ULONG_PTR)KtFast.Owner, (ULONG_PTR)KeGetCurrentThread());
    ExReleaseFastMutex(&KtFast);

    kt_try_from_thread(&t);
    KT_EXPECT_EQ(t.Got, TRUE);
    KT_EXPECT_EQ(t.IrqlAfter, APC_LEVEL);
    KT_EXPECT_EQ(KtFast.Count, FM_LOCK_BIT);
    KT_EXPECT_EQ(KtFast.Contention, 0);
}

KTEST(guarded_mutex_try_fails_while_held_succeeds_after)
{
    KT_TRY t = { .Mutex = &KtGuarded, .Guarded = TRUE };

    KeInitializeGuardedMutex(&KtGuarded);
    KeAcquireGuardedMutex(&KtGuarded);
    kt_try_from_thread(&t);
    KT_EXPECT_EQ(t.Got, FALSE);
    KT_EXPECT_EQ(t.AllApcsDisabledAfter, FALSE);    /* FALSE: no region left entered */
    KT_EXPECT_EQ((ULONG_PTR)KtGuarded.Owner, (ULONG_PTR)KeGetCurrentThread());
    KeReleaseGuardedMutex(&KtGuarded);

    kt_try_from_thread(&t);
    KT_EXPECT_EQ(t.Got, TRUE);
    KT_EXPECT_EQ(t.IrqlAfter, PASSIVE_LEVEL);
    KT_EXPECT_EQ(t.AllApcsDisabledAfter, TRUE);
    KT_EXPECT_EQ(KtGuarded.Count, GM_LOCK_BIT);
}

/* ---- The Unsafe forms ---------------------------------------------------- */

/* WDK: ExAcquireFastMutexUnsafe: inside a critical region (or at
 * APC_LEVEL), and IRQL is left alone. */
KTEST(fast_mutex_unsafe_in_critical_region)
{
    ExInitializeFastMutex(&KtFast);
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&KtFast);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)KtFast.Owner, (ULONG_PTR)KeGetCurrentThread());
    KT_EXPECT_EQ(KtFast.Count, 0);
    ExReleaseFastMutexUnsafe(&KtFast);
    KT_EXPECT_EQ(KtFast.Count, FM_LOCK_BIT);
    KT_EXPECT_EQ((ULONG_PTR)KtFast.Owner, 0);
    KeLeaveCriticalRegion();

    KIRQL old = KfRaiseIrql(APC_LEVEL);
    ExAcquireFastMutexUnsafe(&KtFast);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    ExReleaseFastMutexUnsafe(&KtFast);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(old);
}

KTEST(guarded_mutex_unsafe_in_guarded_region)
{
    KeInitializeGuardedMutex(&KtGuarded);
    KeEnterGuardedRegion();
    KeAcquireGuardedMutexUnsafe(&KtGuarded);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentThread()->SpecialApcDisable, -1);  /* no second region */
    KT_EXPECT_EQ((ULONG_PTR)KtGuarded.Owner, (ULONG_PTR)KeGetCurrentThread());
    KeReleaseGuardedMutexUnsafe(&KtGuarded);
    KT_EXPECT_EQ(KeGetCurrentThread()->SpecialApcDisable, -1);
    KT_EXPECT_EQ(KtGuarded.Count, GM_LOCK_BIT);
    KeLeaveGuardedRegion();
}

/* ---- A sleeper, woken by the release ------------------------------------ */

typedef struct _KT_WAITER {
    PVOID Mutex;
    BOOLEAN Guarded;
    volatile LONG Owned;                /* 1 while the waiter holds it */
    volatile KIRQL Irql;
} KT_WAITER;

static VOID NTAPI acquire_and_release(PVOID Context)
{
    KT_WAITER *w = Context;

    if (w->Guarded)
        KeAcquireGuardedMutex(w->Mutex);
    else
        ExAcquireFastMutex(w->Mutex);
    w->Irql = KeGetCurrentIrql();
    __atomic_store_n(&w->Owned, 1, __ATOMIC_RELEASE);
    if (w->Guarded)
        KeReleaseGuardedMutex(w->Mutex);
    else
        ExReleaseFastMutex(w->Mutex);
}

/* The holder keeps the mutex until the other thread sleeps on it (counted,
 * Contention 1), then releases: the release must wake it (at one CPU too:
 * the waiter runs while this thread sleeps in its polling). */
static VOID kt_sleeper_woken(PFAST_MUTEX Mutex, BOOLEAN Guarded)
{
    KT_WAITER w = { .Mutex = Mutex, .Guarded = Guarded };
    LARGE_INTEGER timeout = kt_ms(KT_WAITER_MS);

    PETHREAD waiter = kt_start(acquire_and_release, &w, kt_all_cpus(), KI_SYSTEM_BASE_PRIORITY);
    KT_ASSERT_TRUE(waiter != NULL);
    KT_EXPECT_TRUE(kt_wait_until_waiting(waiter));
    KT_EXPECT_EQ(Mutex->Count, FM_LOCK_WAITER_INC);     /* (1,0,0): one counted, owned */
    KT_EXPECT_EQ(Mutex->Contention, 1);
    KT_EXPECT_EQ(w.Owned, 0);
    if (Guarded)
        KeReleaseGuardedMutex((PKGUARDED_MUTEX)Mutex);
    else
        ExReleaseFastMutex(Mutex);
    NTSTATUS status = KeWaitForSingleObject(waiter, Executive, KernelMode, FALSE, &timeout);
    KT_EXPECT_EQ(status, STATUS_WAIT_0);
    if (status != STATUS_WAIT_0)
        return;                         /* never woken: keep the reference */
    ObDereferenceObject(waiter);
    KT_EXPECT_EQ(w.Owned, 1);
    KT_EXPECT_EQ(w.Irql, Guarded ? PASSIVE_LEVEL : APC_LEVEL);
    KT_EXPECT_EQ(Mutex->Count, FM_LOCK_BIT);            /* (0,0,1): W cleared by the woken one */
    KT_EXPECT_EQ(Mutex->Contention, 1);
    KT_EXPECT_EQ((ULONG_PTR)Mutex->Owner, 0);
    KT_EXPECT_EQ(KeReadStateEvent(&Mutex->Event), 0);   /* the one set was taken */
}

KTEST(fast_mutex_release_wakes_sleeper)
{
    ExInitializeFastMutex(&KtFast);
    ExAcquireFastMutex(&KtFast);
    kt_sleeper_woken(&KtFast, FALSE);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST(guarded_mutex_release_wakes_sleeper)
{
    KeInitializeGuardedMutex(&KtGuarded);
    KeAcquireGuardedMutex(&KtGuarded);
    kt_sleeper_woken((PFAST_MUTEX)&KtGuarded, TRUE);
    KT_EXPECT_TRUE(!KeAreAllApcsDisabled());
}

/* ---- Mutual exclusion, every CPU ----------------------------------------- */

typedef enum { KtFastKind, KtGuardedKind } KT_KIND;

typedef struct _KT_STRESS {
    KT_KIND Kind;
    volatile ULONG Inside;              /* threads inside: never more than one */
    ULONG Counter;                      /* a plain counter: only the mutex guards it */
    volatile ULONG Overlaps;            /* entries that found someone inside */
    volatile ULONG BadOwner;            /* entries where Owner was not this thread */
    volatile ULONG BadState;            /* entries at the wrong IRQL or APC state */
    volatile ULONG TryFailed;           /* try-acquires that found it owned */
    volatile ULONG Ready;               /* threads started */
    KEVENT Go;                          /* set once all are: they start together */
} KT_STRESS;

static KT_STRESS KtStress;

static VOID stress_acquire(KT_STRESS *s, ULONG i)
{
    if (s->Kind == KtFastKind) {
        if (i % 4 == 1 && ExTryToAcquireFastMutex(&KtFast))
            return;
        if (i % 4 == 1)
            __atomic_fetch_add(&s->TryFailed, 1, __ATOMIC_RELAXED);
        if (i % 4 == 2) {               /* the Unsafe form, in a critical region */
            KeEnterCriticalRegion();
            ExAcquireFastMutexUnsafe(&KtFast);
            return;
        }
        ExAcquireFastMutex(&KtFast);
    } else {
        if (i % 4 == 1 && KeTryToAcquireGuardedMutex(&KtGuarded))
            return;
        if (i % 4 == 1)
            __atomic_fetch_add(&s->TryFailed, 1, __ATOMIC_RELAXED);
        if (i % 4 == 2) {
            KeEnterGuardedRegion();
            KeAcquireGuardedMutexUnsafe(&KtGuarded);
            return;
        }
        KeAcquireGuardedMutex(&KtGuarded);
    }
}

static VOID stress_release(KT_STRESS *s, ULONG i)
{
    if (s->Kind == KtFastKind) {
        if (i % 4 == 2) {
            ExReleaseFastMutexUnsafe(&KtFast);
            KeLeaveCriticalRegion();
        } else {
            ExReleaseFastMutex(&KtFast);
        }
    } else {
        if (i % 4 == 2) {
            KeReleaseGuardedMutexUnsafe(&KtGuarded);
            KeLeaveGuardedRegion();
        } else {
            KeReleaseGuardedMutex(&KtGuarded);
        }
    }
}

static VOID NTAPI stress_thread(PVOID Context)
{
    KT_STRESS *s = Context;
    PKTHREAD self = KeGetCurrentThread();
    PVOID *owner = s->Kind == KtFastKind ? &KtFast.Owner : (PVOID *)&KtGuarded.Owner;
    LARGE_INTEGER nap = kt_ms(1);

    __atomic_fetch_add(&s->Ready, 1, __ATOMIC_SEQ_CST);
    KeWaitForSingleObject(&s->Go, Executive, KernelMode, FALSE, NULL);
    for (ULONG i = 0; i < KT_STRESS_ITERATIONS; i++) {
        stress_acquire(s, i);
        if (__atomic_fetch_add(&s->Inside, 1, __ATOMIC_SEQ_CST) != 0)
            __atomic_fetch_add(&s->Overlaps, 1, __ATOMIC_RELAXED);
        if (*(PVOID volatile *)owner != self)
            __atomic_fetch_add(&s->BadOwner, 1, __ATOMIC_RELAXED);
        BOOLEAN state_ok = s->Kind == KtFastKind
            ? (i % 4 == 2 ? KeAreApcsDisabled() : KeGetCurrentIrql() == APC_LEVEL)
            : (KeGetCurrentIrql() == PASSIVE_LEVEL && KeAreAllApcsDisabled());
        if (!state_ok)
            __atomic_fetch_add(&s->BadState, 1, __ATOMIC_RELAXED);
        /* A read, a pause, a write: a second thread inside loses an increment. */
        ULONG seen = *(volatile ULONG *)&s->Counter;
        for (volatile ULONG d = 0; d < 64; d++)
            ;
        *(volatile ULONG *)&s->Counter = seen + 1;
        if (i % 128 == 0)               /* sleep holding it: the others must sleep too */
            KeDelayExecutionThread(KernelMode, FALSE, &nap);
        __atomic_fetch_sub(&s->Inside, 1, __ATOMIC_SEQ_CST);
        stress_release(s, i);
        if (KeGetCurrentIrql() != PASSIVE_LEVEL)
            __atomic_fetch_add(&s->BadState, 1, __ATOMIC_RELAXED);
    }
}

static VOID kt_mutual_exclusion(KT_KIND Kind)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG threads = 2 * cpus;
    PETHREAD thread[2 * 64];
    PFAST_MUTEX mutex = Kind == KtFastKind ? &KtFast : (PFAST_MUTEX)&KtGuarded;

    if (Kind == KtFastKind)
        ExInitializeFastMutex(&KtFast);
    else
        KeInitializeGuardedMutex(&KtGuarded);
    RtlZeroMemory(&KtStress, sizeof(KtStress));
    KtStress.Kind = Kind;
    KeInitializeEvent(&KtStress.Go, NotificationEvent, FALSE);
    if (threads > 2 * 64)
        threads = 2 * 64;
    for (ULONG t = 0; t < threads; t++)   /* two on every CPU */
        thread[t] = kt_start(stress_thread, &KtStress, (KAFFINITY)1 << (t % cpus),
                             KI_SYSTEM_BASE_PRIORITY);
    LARGE_INTEGER tick = kt_ms(1);
    for (ULONG waited = 0; KtStress.Ready < threads && waited < KT_WAITER_MS; waited++)
        KeDelayExecutionThread(KernelMode, FALSE, &tick);
    KeSetEvent(&KtStress.Go, 0, FALSE);
    for (ULONG t = 0; t < threads; t++)
        kt_join(thread[t]);

    ULONG acquisitions = threads * KT_STRESS_ITERATIONS;
    kprintf("    # %u threads, %u acquisitions, %u slept (Contention), %u try-acquires failed\n",
            threads, acquisitions, mutex->Contention, KtStress.TryFailed);
    KT_EXPECT_EQ(KtStress.Counter, acquisitions);
    KT_EXPECT_EQ(KtStress.Overlaps, 0);
    KT_EXPECT_EQ(KtStress.BadOwner, 0);
    KT_EXPECT_EQ(KtStress.BadState, 0);
    KT_EXPECT_EQ(mutex->Count, FM_LOCK_BIT);            /* free, no one counted, no W */
    KT_EXPECT_EQ((ULONG_PTR)mutex->Owner, 0);
    KT_EXPECT_EQ(KeReadStateEvent(&mutex->Event), 0);   /* no set left over */
    KT_EXPECT_TRUE(mutex->Contention <= acquisitions);
    KT_EXPECT_TRUE(mutex->Contention > 0);  /* the naps inside made some sleep */
}

KTEST(fast_mutex_mutual_exclusion_every_cpu)
{
    kt_mutual_exclusion(KtFastKind);
}

KTEST(guarded_mutex_mutual_exclusion_every_cpu)
{
    kt_mutual_exclusion(KtGuardedKind);
}
