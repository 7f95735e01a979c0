/*
 * test_thread_negative.c - the dispatcher's rules end in the bug checks
 * docs/bugchecks.md lists ("Threads and waits"), and the calls those rules
 * allow do not.  Each KTEST_BUGCHECK runs alone in its own boot (the runner
 * asks for it by name) and names every parameter it can know.
 *
 * Where a rule is about what a thread does, a thread created for the test
 * breaks it (the culprit) while the test thread waits for it with a
 * deadline: a check that no longer fires fails the test ("ended without a
 * bug check") instead of hanging the boot.  The rules about DPC routines
 * are broken by a DPC the test thread queues on its own CPU, so the thread
 * it interrupts, P1 of 0xB8, is the test thread.
 *
 * A caller's address (P2 of 0x7E and 0x1E, P4 of 0x0A and of 0xC4/0x80, the
 * acquisition site of 0xC4/0x6002) is computed, not matched as "any": the
 * call goes through kt_call (KT_CALL), whose call instruction is followed
 * by the label kt_call_returns_here, the return address the callee sees.
 */
#include "wdm.h"
#include "ktest.h"
#include "kt_thread.h"
#include "kernel/thread/thread.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "kt_call.h"


static KEVENT KtEvent;          /* never set unless a test says so */
static KMUTEX KtMutex;
static KSEMAPHORE KtSemaphore;
static KDPC KtDpc;

/* ---- A wait that must block at or above DISPATCH_LEVEL: 0xA -------------- */

/* WDK: KeWaitForSingleObject: a wait at DISPATCH_LEVEL must not block (a
 * zero timeout, or an object already signalled); the switch it needs would
 * be the very thing DISPATCH_LEVEL holds off. */
static VOID NTAPI waits_at_dispatch_level(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeRaiseIrqlToDpcLevel();
    KT_CALL(KeWaitForSingleObject, (ULONG_PTR)&KtEvent, Executive, KernelMode, FALSE, 0);
}

KTEST_BUGCHECK(wait_blocking_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    KeInitializeEvent(&KtEvent, NotificationEvent, FALSE);
    ktest_expect_bugcheck(KT_P(&KtEvent), KT_P(DISPATCH_LEVEL), KT_P(0), KT_CALLER);
    KT_RUN_CULPRIT(waits_at_dispatch_level, NULL);
}

/* KeDelayExecutionThread waits on no object: P1 is NULL. */
static VOID NTAPI delays_at_dispatch_level(PVOID Context)
{
    LARGE_INTEGER interval = { .QuadPart = -10000 };     /* 1 ms */

    UNREFERENCED_PARAMETER(Context);
    KeRaiseIrqlToDpcLevel();
    KT_CALL(KeDelayExecutionThread, KernelMode, FALSE, (ULONG_PTR)&interval);
}

KTEST_BUGCHECK(delay_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(0), KT_P(DISPATCH_LEVEL), KT_P(0), KT_CALLER);
    KT_RUN_CULPRIT(delays_at_dispatch_level, NULL);
}

#define KT_ABOVE_DISPATCH 5             /* a device IRQL: the clock still ticks */

static VOID NTAPI waits_above_dispatch_level(PVOID Context)
{
    KIRQL old;

    KeRaiseIrql(KT_ABOVE_DISPATCH, &old);
    KT_CALL(KeWaitForSingleObject, (ULONG_PTR)Context, Executive, KernelMode, FALSE, 0);
}

KTEST_BUGCHECK(wait_blocking_above_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    KeInitializeEvent(&KtEvent, NotificationEvent, FALSE);
    ktest_expect_bugcheck(KT_P(&KtEvent), KT_P(KT_ABOVE_DISPATCH), KT_P(0), KT_CALLER);
    KT_RUN_CULPRIT(waits_above_dispatch_level, &KtEvent);
}

/* Above DISPATCH_LEVEL not even a wait that would not block is allowed
 * (WDK: KeWaitForSingleObject, IRQL <= DISPATCH_LEVEL). */
KTEST_BUGCHECK(wait_satisfied_above_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    KeInitializeEvent(&KtEvent, NotificationEvent, TRUE);
    ktest_expect_bugcheck(KT_P(&KtEvent), KT_P(KT_ABOVE_DISPATCH), KT_P(0), KT_CALLER);
    KT_RUN_CULPRIT(waits_above_dispatch_level, &KtEvent);
}

/* ---- ... and the waits DISPATCH_LEVEL allows ------------------------------ */

KTEST(wait_satisfied_at_dispatch_level_returns)
{
    static KEVENT notification, synchronization;
    PVOID both[2] = { &notification, &synchronization };

    KeInitializeEvent(&notification, NotificationEvent, TRUE);
    KeInitializeEvent(&synchronization, SynchronizationEvent, TRUE);
    KeInitializeSemaphore(&KtSemaphore, 1, 1);
    KeInitializeMutex(&KtMutex, 0);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    KT_EXPECT_EQ(KeWaitForSingleObject(&notification, Executive, KernelMode, FALSE, NULL),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&synchronization, Executive, KernelMode, FALSE, NULL),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtSemaphore, Executive, KernelMode, FALSE, NULL),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL),
                 STATUS_WAIT_0);        /* its owner again: recursion does not block */
    KeSetEvent(&synchronization, 0, FALSE);
    KT_EXPECT_EQ(KeWaitForMultipleObjects(2, both, WaitAll, Executive, KernelMode, FALSE,
                                          NULL, NULL),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseMutex(&KtMutex, FALSE);
    KeReleaseMutex(&KtMutex, FALSE);
    KeLowerIrql(old);

    /* The satisfied waits did what satisfied waits do. */
    KT_EXPECT_EQ(KeReadStateEvent(&notification), 1);
    KT_EXPECT_EQ(KeReadStateEvent(&synchronization), 0);
    KT_EXPECT_EQ(KeReadStateSemaphore(&KtSemaphore), 0);
    KT_EXPECT_EQ(KeReadStateMutex(&KtMutex), 1);
}

KTEST(wait_zero_timeout_at_dispatch_level_returns)
{
    static KEVENT other;
    PVOID both[2] = { &KtEvent, &other };
    LARGE_INTEGER zero = { .QuadPart = 0 };

    KeInitializeEvent(&KtEvent, NotificationEvent, FALSE);
    KeInitializeEvent(&other, SynchronizationEvent, TRUE);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtEvent, Executive, KernelMode, FALSE, &zero),
                 STATUS_TIMEOUT);
    KT_EXPECT_EQ(KeWaitForMultipleObjects(2, both, WaitAll, Executive, KernelMode, FALSE,
                                          &zero, NULL),
                 STATUS_TIMEOUT);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    /* A WaitAll that timed out took nothing. */
    KT_EXPECT_EQ(KeReadStateEvent(&other), 1);
}

/* ---- A wait inside a DPC routine: 0xB8 ----------------------------------- */

typedef struct _KT_DPC_RESULT {
    volatile NTSTATUS Status;
    KEVENT Done;
} KT_DPC_RESULT;

static VOID waits_in_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KeWaitForSingleObject(&KtEvent, Executive, KernelMode, FALSE, NULL);
}

static VOID delays_in_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    LARGE_INTEGER interval = { .QuadPart = -10000 };     /* 1 ms */

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

/* Queue Routine on this CPU; at PASSIVE_LEVEL it runs before the insert
 * returns, in the DISPATCH_LEVEL software interrupt, interrupting this thread. */
static VOID kt_run_dpc_here(PKDEFERRED_ROUTINE Routine, PVOID Context)
{
    KeInitializeDpc(&KtDpc, Routine, Context);
    KeSetTargetProcessorDpc(&KtDpc, (CCHAR)KeGetCurrentProcessorNumber());
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
}

/* After a DPC that must bug-check: give it time, in case it did not run at once. */
#define KT_DPC_MUST_HAVE_STOPPED(what)                                                \
    do {                                                                              \
        KeStallExecutionProcessor(100000);                                            \
        ktest_fail(__FILE__, __LINE__, "the DPC routine's " what " returned");        \
    } while (0)

/* No thread is ready on this CPU: the one that would run next is its idle thread. */
KTEST_BUGCHECK(wait_in_dpc_routine, ATTEMPTED_SWITCH_FROM_DPC)
{
    PKTHREAD me = KeGetCurrentThread();

    KeInitializeEvent(&KtEvent, NotificationEvent, FALSE);
    ktest_expect_bugcheck(KT_P(me), KT_P(KeGetCurrentPrcb()->IdleThread), KT_P(me->StackBase),
                          KT_P(0));
    kt_run_dpc_here(waits_in_dpc, NULL);
    KT_DPC_MUST_HAVE_STOPPED("wait");
}

static VOID NTAPI kt_nothing(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
}

/* A lower-priority thread bound to this CPU is ready (it cannot run while
 * this one does): it is the one that would run next. */
KTEST_BUGCHECK(delay_in_dpc_routine, ATTEMPTED_SWITCH_FROM_DPC)
{
    PKTHREAD me = KeGetCurrentThread();
    PETHREAD next;

    if (!NT_SUCCESS(KiCreateSystemThread(kt_nothing, NULL,
                                         (KAFFINITY)1 << KeGetCurrentProcessorNumber(),
                                         KI_SYSTEM_BASE_PRIORITY - 4, &next))) {
        ktest_fail(__FILE__, __LINE__, "KiCreateSystemThread failed");
        return;
    }
    ktest_expect_bugcheck(KT_P(me), KT_P(&next->Tcb), KT_P(me->StackBase), KT_P(0));
    KiStartThread(next);
    kt_run_dpc_here(delays_in_dpc, NULL);
    KT_DPC_MUST_HAVE_STOPPED("delay");
}

/* A zero timeout is a poll, allowed in a DPC routine as at DISPATCH_LEVEL. */
static VOID polls_in_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KT_DPC_RESULT *result = Context;
    LARGE_INTEGER zero = { .QuadPart = 0 };

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    result->Status = KeWaitForSingleObject(&KtEvent, Executive, KernelMode, FALSE, &zero);
    KeSetEvent(&result->Done, 0, FALSE);
}

static NTSTATUS kt_dpc_result(PKDEFERRED_ROUTINE Routine)
{
    static KT_DPC_RESULT result;
    LARGE_INTEGER timeout = { .QuadPart = -(LONGLONG)KT_CULPRIT_WAIT_MS * 10000 };

    result.Status = STATUS_PENDING;
    KeInitializeEvent(&result.Done, NotificationEvent, FALSE);
    kt_run_dpc_here(Routine, &result);
    if (KeWaitForSingleObject(&result.Done, Executive, KernelMode, FALSE, &timeout) !=
        STATUS_WAIT_0)
        ktest_fail(__FILE__, __LINE__, "the DPC did not run");
    return result.Status;
}

KTEST(wait_zero_timeout_in_dpc_routine_returns)
{
    KeInitializeEvent(&KtEvent, NotificationEvent, FALSE);
    KT_EXPECT_EQ(kt_dpc_result(polls_in_dpc), STATUS_TIMEOUT);
    KeSetEvent(&KtEvent, 0, FALSE);
    KT_EXPECT_EQ(kt_dpc_result(polls_in_dpc), STATUS_WAIT_0);
}

/* A DPC routine is no thread: it cannot end one (WDK: PsTerminateSystemThread
 * ends the current system thread; here it would end the thread the DPC
 * interrupted, on that thread's behalf). */
static VOID terminates_in_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KT_DPC_RESULT *result = Context;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    result->Status = PsTerminateSystemThread(STATUS_SUCCESS);
    KeSetEvent(&result->Done, 0, FALSE);
}

KTEST(terminate_from_dpc_routine_returns_invalid_parameter)
{
    KT_EXPECT_EQ(kt_dpc_result(terminates_in_dpc), STATUS_INVALID_PARAMETER);
}

/* ---- A thread that ends above PASSIVE_LEVEL: 0x20 ------------------------ */

/* WDK: Bug Check 0x20 KERNEL_APC_PENDING_DURING_EXIT, P3 the IRQL. */
static VOID NTAPI returns_at_dispatch_level(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeRaiseIrqlToDpcLevel();
}

KTEST_BUGCHECK(thread_returns_at_dispatch_level, KERNEL_APC_PENDING_DURING_EXIT)
{
    ktest_expect_bugcheck(KT_P(0), KT_P(0), KT_P(DISPATCH_LEVEL), KT_P(0));
    KT_RUN_CULPRIT(returns_at_dispatch_level, NULL);
}

static VOID NTAPI terminates_at_apc_level(PVOID Context)
{
    KIRQL old;

    UNREFERENCED_PARAMETER(Context);
    KeRaiseIrql(APC_LEVEL, &old);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

KTEST_BUGCHECK(thread_terminates_at_apc_level, KERNEL_APC_PENDING_DURING_EXIT)
{
    ktest_expect_bugcheck(KT_P(0), KT_P(0), KT_P(APC_LEVEL), KT_P(0));
    KT_RUN_CULPRIT(terminates_at_apc_level, NULL);
}

/* Holding a spin lock: the checked build names the lock (it is why IRQL is
 * raised); the free build keeps no records and sees the raised IRQL. */
static KSPIN_LOCK KtLock;

static VOID NTAPI returns_holding_spin_lock(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KT_CALL(KeAcquireSpinLockRaiseToDpc, (ULONG_PTR)&KtLock);     /* and returns holding it */
}

KTEST_BUGCHECK(thread_returns_holding_spin_lock,
               DBG ? DRIVER_VERIFIER_DETECTED_VIOLATION : KERNEL_APC_PENDING_DURING_EXIT)
{
    KeInitializeSpinLock(&KtLock);
#if DBG
    ktest_expect_bugcheck(KT_P(KI_VERIFIER_LOCK_HELD_AT_RETURN), KT_P(&KtLock),
                          KT_P(returns_holding_spin_lock), KT_CALLER);
#else
    ktest_expect_bugcheck(KT_P(0), KT_P(0), KT_P(DISPATCH_LEVEL), KT_P(0));
#endif
    KT_RUN_CULPRIT(returns_holding_spin_lock, NULL);
}

/* ---- Mutexes and semaphores ---------------------------------------------- */

static VOID NTAPI returns_owning_mutex(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL);
}

/* WDK: Bug Check 0x4000008A THREAD_TERMINATE_HELD_MUTEX: P1 the thread,
 * P2 the mutex. */
KTEST_BUGCHECK(thread_ends_owning_mutex, THREAD_TERMINATE_HELD_MUTEX)
{
    KeInitializeMutex(&KtMutex, 0);
    PETHREAD thread = kt_culprit(returns_owning_mutex, NULL);
    ktest_expect_bugcheck(KT_P(thread), KT_P(&KtMutex), KT_P(0), KT_P(0));
    kt_run_culprit(thread);
}

static VOID NTAPI releases_mutex(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KT_CALL(KeReleaseMutex, (ULONG_PTR)&KtMutex, FALSE);
}

/* The test thread owns the mutex; another thread releases it (WDK:
 * KeReleaseMutex raises STATUS_MUTANT_NOT_OWNED; nothing here can catch
 * it, so it is Bug Check 0x7E, P1 the status, P2 where it was raised). */
KTEST_BUGCHECK(mutex_released_by_non_owner, SYSTEM_THREAD_EXCEPTION_NOT_HANDLED)
{
    KeInitializeMutex(&KtMutex, 0);
    KT_ASSERT_EQ(KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL),
                 STATUS_WAIT_0);
    ktest_expect_bugcheck(KT_P((ULONG)STATUS_MUTANT_NOT_OWNED), KT_CALLER, KT_P(0), KT_P(0));
    KT_RUN_CULPRIT(releases_mutex, NULL);
}

/* A semaphore at its limit released once more (WDK: KeReleaseSemaphore
 * raises STATUS_SEMAPHORE_LIMIT_EXCEEDED): from a system thread 0x7E, from
 * a DPC routine, which runs in no thread, 0x1E; the same parameters. */
#define KT_LIMIT 2

static VOID kt_expect_limit_exceeded(VOID)
{
    KeInitializeSemaphore(&KtSemaphore, KT_LIMIT, KT_LIMIT);
    ktest_expect_bugcheck(KT_P((ULONG)STATUS_SEMAPHORE_LIMIT_EXCEEDED), KT_CALLER, KT_P(0),
                          KT_P(0));
}

static VOID NTAPI releases_semaphore_past_limit(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KT_CALL(KeReleaseSemaphore, (ULONG_PTR)&KtSemaphore, 0, 1, FALSE);
}

KTEST_BUGCHECK(semaphore_released_past_limit, SYSTEM_THREAD_EXCEPTION_NOT_HANDLED)
{
    kt_expect_limit_exceeded();
    KT_RUN_CULPRIT(releases_semaphore_past_limit, NULL);
}

static VOID releases_semaphore_in_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1,
                                      PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    releases_semaphore_past_limit(Context);
}

KTEST_BUGCHECK(semaphore_released_past_limit_in_dpc_routine, KMODE_EXCEPTION_NOT_HANDLED)
{
    kt_expect_limit_exceeded();
    kt_run_dpc_here(releases_semaphore_in_dpc, NULL);
    KT_DPC_MUST_HAVE_STOPPED("release past the limit");
}

/* ---- KeWaitForMultipleObjects' counts: 0xC -------------------------------- */

#define KT_MANY (MAXIMUM_WAIT_OBJECTS + 1)
static KEVENT KtEvents[KT_MANY];
static PVOID KtObjects[KT_MANY];
static KWAIT_BLOCK KtWaitBlocks[KT_MANY];

/* Context: the count; a wait block array only past MAXIMUM_WAIT_OBJECTS, so
 * each test breaks one rule. */
static VOID NTAPI waits_for_many(PVOID Context)
{
    ULONG count = (ULONG)(ULONG_PTR)Context;

    for (ULONG i = 0; i < count; i++) {
        KeInitializeEvent(&KtEvents[i], NotificationEvent, TRUE);
        KtObjects[i] = &KtEvents[i];
    }
    KeWaitForMultipleObjects(count, KtObjects, WaitAll, Executive, KernelMode, FALSE, NULL,
                             count > MAXIMUM_WAIT_OBJECTS ? KtWaitBlocks : NULL);
}

/* WDK: KeWaitForMultipleObjects: more than THREAD_WAIT_OBJECTS objects need
 * a WaitBlockArray; Bug Check 0xC MAXIMUM_WAIT_OBJECTS_EXCEEDED has no
 * parameters. */
KTEST_BUGCHECK(wait_multiple_four_objects_without_array, MAXIMUM_WAIT_OBJECTS_EXCEEDED)
{
    ktest_expect_bugcheck(KT_P(0), KT_P(0), KT_P(0), KT_P(0));
    KT_RUN_CULPRIT(waits_for_many, (PVOID)(ULONG_PTR)(THREAD_WAIT_OBJECTS + 1));
}

KTEST_BUGCHECK(wait_multiple_65_objects, MAXIMUM_WAIT_OBJECTS_EXCEEDED)
{
    ktest_expect_bugcheck(KT_P(0), KT_P(0), KT_P(0), KT_P(0));
    KT_RUN_CULPRIT(waits_for_many, (PVOID)(ULONG_PTR)KT_MANY);
}

/* WDK: KeWaitForMultipleObjects raises STATUS_INVALID_PARAMETER for a Count
 * of 0 (or a WaitType neither WaitAll nor WaitAny); uncaught, 0x7E. */
static VOID NTAPI waits_for_nothing(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KT_CALL(KeWaitForMultipleObjects, 0, (ULONG_PTR)KtObjects, WaitAll, Executive, KernelMode,
            FALSE, 0, (ULONG_PTR)KtWaitBlocks);
}

KTEST_BUGCHECK(wait_multiple_no_objects, SYSTEM_THREAD_EXCEPTION_NOT_HANDLED)
{
    ktest_expect_bugcheck(KT_P((ULONG)STATUS_INVALID_PARAMETER), KT_CALLER, KT_P(0), KT_P(0));
    KT_RUN_CULPRIT(waits_for_nothing, NULL);
}

/* ---- Checked build: KeSetEvent above DISPATCH_LEVEL, a reference too many -- */
#if DBG

static VOID NTAPI sets_event_at_high_level(PVOID Context)
{
    KIRQL old;

    UNREFERENCED_PARAMETER(Context);
    KeRaiseIrql(HIGH_LEVEL, &old);
    KT_CALL(KeSetEvent, (ULONG_PTR)&KtEvent, 0, FALSE);
}

/* WDK: KeSetEvent, IRQL <= DISPATCH_LEVEL; Driver Verifier's 0xC4/0x80. */
KTEST_BUGCHECK(event_set_at_high_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KeInitializeEvent(&KtEvent, NotificationEvent, FALSE);
    ktest_expect_bugcheck(KT_P(0x80), KT_P(HIGH_LEVEL), KT_P(&KtEvent), KT_CALLER);
    KT_RUN_CULPRIT(sets_event_at_high_level, NULL);
}

/* A thread object's last reference dropped, then dropped again: the count
 * goes below zero (Driver Verifier's 0xC4/0x3F). */
static VOID NTAPI dereferences_twice(PVOID Context)
{
    PETHREAD ended = Context;
    LARGE_INTEGER timeout = { .QuadPart = -(LONGLONG)KT_CULPRIT_WAIT_MS * 10000 };

    if (KeWaitForSingleObject(ended, Executive, KernelMode, FALSE, &timeout) != STATUS_WAIT_0)
        return;                         /* the test fails: this thread ends */
    ObDereferenceObject(ended);         /* the last reference: its slot goes back */
    ObDereferenceObject(ended);
}

KTEST_BUGCHECK(object_dereferenced_twice, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    PETHREAD ended = kt_culprit(kt_nothing, NULL);

    if (ended == NULL)
        return;
    ktest_expect_bugcheck(KT_P(0x3F), KT_P(ended), KT_P((ULONG_PTR)-1), KT_P(0));
    KiStartThread(ended);               /* it ends at once; ours is its last reference */
    KT_RUN_CULPRIT(dereferences_twice, ended);
}

#endif /* DBG */
