/*
 * test_wait.c - dispatcher objects and waits: events (notification,
 * synchronization, pulse), semaphores and their limit, mutexes and
 * recursion, WaitAny and WaitAll, timeouts, and waking a thread on
 * another CPU (docs/threads.md, "Waits").
 */
#include "kt_thread.h"
#include "kernel/console/console.h"

static LARGE_INTEGER KtZero;            /* a zero timeout: poll */

#define KT_WAITERS 4

static KEVENT KtGate;
static volatile LONG KtReleased;

static VOID NTAPI gate_waiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    if (KeWaitForSingleObject(&KtGate, Executive, KernelMode, FALSE, NULL) == STATUS_WAIT_0)
        __atomic_add_fetch(&KtReleased, 1, __ATOMIC_SEQ_CST);
}

static VOID start_waiters(PETHREAD Threads[], EVENT_TYPE Type)
{
    KeInitializeEvent(&KtGate, Type, FALSE);
    KtReleased = 0;
    for (ULONG i = 0; i < KT_WAITERS; i++)
        Threads[i] = kt_start(gate_waiter, NULL, kt_all_cpus(), 8);
}

/* Wait until the waiters' blocks are on the event (they may start on
 * other CPUs a moment later). */
static VOID wait_until_all_wait(VOID)
{
    ULONG64 deadline = KeQueryInterruptTime() + (ULONG64)KT_JOIN_SECONDS * 10000000;
    LARGE_INTEGER ms = kt_ms(1);

    for (;;) {
        ULONG n = 0;
        KIRQL old = KiLockDispatcherDatabase();
        for (PLIST_ENTRY e = KtGate.Header.WaitListHead.Flink; e != &KtGate.Header.WaitListHead;
             e = e->Flink)
            n++;
        KiUnlockDispatcherDatabase(old);
        if (n == KT_WAITERS || KeQueryInterruptTime() > deadline)
            return;
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    }
}

KTEST(wait_notification_event_releases_every_waiter)
{
    PETHREAD threads[KT_WAITERS];

    start_waiters(threads, NotificationEvent);
    wait_until_all_wait();
    KT_EXPECT_EQ(KtReleased, 0);
    KT_EXPECT_EQ(KeSetEvent(&KtGate, EVENT_INCREMENT, FALSE), 0);
    for (ULONG i = 0; i < KT_WAITERS; i++)
        kt_join(threads[i]);
    KT_EXPECT_EQ(KtReleased, KT_WAITERS);
    KT_EXPECT_EQ(KeReadStateEvent(&KtGate), 1);     /* stays set */
    KT_EXPECT_EQ(KeSetEvent(&KtGate, IO_NO_INCREMENT, FALSE), 1);
    KT_EXPECT_EQ(KeResetEvent(&KtGate), 1);
    KT_EXPECT_EQ(KeReadStateEvent(&KtGate), 0);
}

KTEST(wait_synchronization_event_releases_one_per_set)
{
    PETHREAD threads[KT_WAITERS];
    LARGE_INTEGER ms = kt_ms(2);

    start_waiters(threads, SynchronizationEvent);
    wait_until_all_wait();
    for (ULONG set = 1; set <= KT_WAITERS; set++) {
        KeSetEvent(&KtGate, IO_NO_INCREMENT, FALSE);
        for (ULONG i = 0; i < 5000 && KtReleased < (LONG)set; i++)
            KeDelayExecutionThread(KernelMode, FALSE, &ms);
        KeDelayExecutionThread(KernelMode, FALSE, &ms);     /* time for a wrong second one */
        KT_EXPECT_EQ(KtReleased, set);  /* one, and the event is clear again */
        KT_EXPECT_EQ(KeReadStateEvent(&KtGate), 0);
    }
    for (ULONG i = 0; i < KT_WAITERS; i++)
        kt_join(threads[i]);
    /* No waiter: the set stays until a wait takes it. */
    KeSetEvent(&KtGate, IO_NO_INCREMENT, FALSE);
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtGate, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&KtGate, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_TIMEOUT);
}

KTEST(wait_pulse_event_releases_waiters_and_stays_clear)
{
    PETHREAD threads[KT_WAITERS];

    start_waiters(threads, NotificationEvent);
    wait_until_all_wait();
    KT_EXPECT_EQ(KePulseEvent(&KtGate, IO_NO_INCREMENT, FALSE), 0);
    KT_EXPECT_EQ(KeReadStateEvent(&KtGate), 0);
    for (ULONG i = 0; i < KT_WAITERS; i++)
        kt_join(threads[i]);
    KT_EXPECT_EQ(KtReleased, KT_WAITERS);
    KeClearEvent(&KtGate);
    KT_EXPECT_EQ(KeReadStateEvent(&KtGate), 0);
}

/* Timeouts: a poll, a relative wait that times out no earlier than asked,
 * an absolute one in the past. */
KTEST(wait_timeouts)
{
    KEVENT event;
    LARGE_INTEGER timeout = kt_ms(5), now;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    KT_EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_TIMEOUT);
    ULONG64 start = KeQueryInterruptTime();
    KT_EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &timeout),
                 STATUS_TIMEOUT);
    /* Tick resolution (WDK: Timer Accuracy): up to one tick early. */
    KT_EXPECT_TRUE(KeQueryInterruptTime() - start + KeQueryTimeIncrement() >= 5 * 10000);
    KeQuerySystemTime(&now);
    now.QuadPart -= 10000;              /* absolute, already past */
    KT_EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &now),
                 STATUS_TIMEOUT);
    now.QuadPart += 10000 + 3 * 10000;  /* absolute, 3 ms ahead */
    KT_EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &now),
                 STATUS_TIMEOUT);
    /* KeDelayExecutionThread never ends early. */
    start = KeQueryInterruptTime();
    KT_EXPECT_EQ(KeDelayExecutionThread(KernelMode, FALSE, &timeout), STATUS_SUCCESS);
    KT_EXPECT_TRUE(KeQueryInterruptTime() - start >= 5 * 10000);
    /* A satisfied wait and a poll are allowed at DISPATCH_LEVEL. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeSetEvent(&event, IO_NO_INCREMENT, FALSE);
    KT_EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL), STATUS_WAIT_0);
    KeLowerIrql(old);
}

/* WaitAny: the lowest-numbered signalled object wins, and only it is
 * consumed.  WaitAll: nothing is consumed until every object is signalled. */
KTEST(wait_any_and_all)
{
    KEVENT events[3];
    PVOID objects[3] = { &events[0], &events[1], &events[2] };

    for (ULONG i = 0; i < 3; i++)
        KeInitializeEvent(&events[i], SynchronizationEvent, FALSE);
    KeSetEvent(&events[2], IO_NO_INCREMENT, FALSE);
    KeSetEvent(&events[1], IO_NO_INCREMENT, FALSE);
    KT_EXPECT_EQ(KeWaitForMultipleObjects(3, objects, WaitAny, Executive, KernelMode, FALSE,
                                          &KtZero, NULL), STATUS_WAIT_1);
    KT_EXPECT_EQ(KeReadStateEvent(&events[1]), 0);
    KT_EXPECT_EQ(KeReadStateEvent(&events[2]), 1);
    KT_EXPECT_EQ(KeWaitForMultipleObjects(3, objects, WaitAll, Executive, KernelMode, FALSE,
                                          &KtZero, NULL), STATUS_TIMEOUT);
    KT_EXPECT_EQ(KeReadStateEvent(&events[2]), 1);  /* not consumed by a failed WaitAll */
    KeSetEvent(&events[0], IO_NO_INCREMENT, FALSE);
    KeSetEvent(&events[1], IO_NO_INCREMENT, FALSE);
    KT_EXPECT_EQ(KeWaitForMultipleObjects(3, objects, WaitAll, Executive, KernelMode, FALSE,
                                          &KtZero, NULL), STATUS_WAIT_0);
    for (ULONG i = 0; i < 3; i++)
        KT_EXPECT_EQ(KeReadStateEvent(&events[i]), 0);
}

/* More objects than the thread's own blocks: the caller's array.  A
 * thread blocked in WaitAll on 8 events wakes only after the last set,
 * and a WaitAny on 8 reports the index of the one set. */
#define KT_MANY 8
static KEVENT KtMany[KT_MANY];
static PVOID KtManyObjects[KT_MANY];
static volatile NTSTATUS KtManyStatus;
static volatile LONG KtManyDone;

static VOID NTAPI wait_all_many(PVOID Context)
{
    KWAIT_BLOCK blocks[KT_MANY];

    KtManyStatus = KeWaitForMultipleObjects(KT_MANY, KtManyObjects, (WAIT_TYPE)(ULONG_PTR)Context,
                                            Executive, KernelMode, FALSE, NULL, blocks);
    __atomic_store_n(&KtManyDone, 1, __ATOMIC_RELEASE);
}

static VOID run_many(WAIT_TYPE Type)
{
    LARGE_INTEGER ms = kt_ms(2);

    for (ULONG i = 0; i < KT_MANY; i++) {
        KeInitializeEvent(&KtMany[i], NotificationEvent, FALSE);
        KtManyObjects[i] = &KtMany[i];
    }
    KtManyDone = 0;
    KtManyStatus = STATUS_PENDING;
    PETHREAD thread = kt_start(wait_all_many, (PVOID)(ULONG_PTR)Type, kt_all_cpus(), 8);
    ULONG order[KT_MANY] = { 5, 0, 7, 3, 1, 6, 2, 4 };
    for (ULONG i = 0; i < KT_MANY; i++) {
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
        if (Type == WaitAll)
            KT_EXPECT_EQ(__atomic_load_n(&KtManyDone, __ATOMIC_ACQUIRE), 0);
        KeSetEvent(&KtMany[order[i]], IO_NO_INCREMENT, FALSE);
        if (Type == WaitAny)
            break;
    }
    kt_join(thread);
    KT_EXPECT_EQ(KtManyStatus, Type == WaitAll ? STATUS_WAIT_0 : STATUS_WAIT_0 + 5);
}

KTEST(wait_all_eight_objects_with_wait_block_array)
{
    run_many(WaitAll);
}

KTEST(wait_any_eight_objects_reports_the_index)
{
    run_many(WaitAny);
}

/* A release wakes a thread blocked on the semaphore (its long timeout
 * only bounds a broken wakeup). */
static KSEMAPHORE KtBlockedOn;
static volatile NTSTATUS KtBlockedStatus;

static VOID NTAPI semaphore_waiter(PVOID Context)
{
    LARGE_INTEGER timeout = kt_ms(5000);

    UNREFERENCED_PARAMETER(Context);
    KtBlockedStatus = KeWaitForSingleObject(&KtBlockedOn, Executive, KernelMode, FALSE, &timeout);
}

KTEST(wait_semaphore_release_wakes_a_waiter)
{
    LARGE_INTEGER ms = kt_ms(3);

    KeInitializeSemaphore(&KtBlockedOn, 0, 1);
    KtBlockedStatus = STATUS_PENDING;
    PETHREAD thread = kt_start(semaphore_waiter, NULL, kt_all_cpus(), 8);
    KeDelayExecutionThread(KernelMode, FALSE, &ms);     /* let it block */
    KT_EXPECT_EQ(KtBlockedStatus, STATUS_PENDING);
    KT_EXPECT_EQ(KeReleaseSemaphore(&KtBlockedOn, SEMAPHORE_INCREMENT, 1, FALSE), 0);
    kt_join(thread);
    KT_EXPECT_EQ(KtBlockedStatus, STATUS_WAIT_0);
    KT_EXPECT_EQ(KeReadStateSemaphore(&KtBlockedOn), 0);   /* the waiter took it */
}

KTEST(wait_semaphore_counts_and_limit)
{
    KSEMAPHORE semaphore;

    KeInitializeSemaphore(&semaphore, 2, 3);
    KT_EXPECT_EQ(KeReadStateSemaphore(&semaphore), 2);
    KT_EXPECT_EQ(KeWaitForSingleObject(&semaphore, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&semaphore, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeWaitForSingleObject(&semaphore, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_TIMEOUT);
    KT_EXPECT_EQ(KeReleaseSemaphore(&semaphore, IO_NO_INCREMENT, 3, FALSE), 0);  /* to the limit */
    KT_EXPECT_EQ(KeReadStateSemaphore(&semaphore), 3);
    KT_EXPECT_EQ(KeWaitForSingleObject(&semaphore, Executive, KernelMode, FALSE, &KtZero),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KeReleaseSemaphore(&semaphore, IO_NO_INCREMENT, 1, FALSE), 2);
}

/* A mutex: the owner takes it again (1 - depth), and a waiter gets it only
 * with the owner's last release. */
static KMUTEX KtMutex;
static volatile LONG KtMutexTaken;

static VOID NTAPI mutex_waiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL);
    __atomic_store_n(&KtMutexTaken, 1, __ATOMIC_RELEASE);
    KT_EXPECT_EQ((ULONG_PTR)KtMutex.OwnerThread, (ULONG_PTR)KeGetCurrentThread());
    KeReleaseMutex(&KtMutex, FALSE);
}

KTEST(wait_mutex_recursion_and_ownership)
{
    LARGE_INTEGER ms = kt_ms(3);

    KeInitializeMutex(&KtMutex, 0);
    KtMutexTaken = 0;
    KT_EXPECT_EQ(KeReadStateMutex(&KtMutex), 1);
    for (ULONG depth = 1; depth <= 3; depth++) {
        KT_EXPECT_EQ(KeWaitForSingleObject(&KtMutex, Executive, KernelMode, FALSE, NULL),
                     STATUS_WAIT_0);
        KT_EXPECT_EQ(KeReadStateMutex(&KtMutex), 1 - (LONG)depth);
    }
    KT_EXPECT_EQ((ULONG_PTR)KtMutex.OwnerThread, (ULONG_PTR)KeGetCurrentThread());
    PETHREAD waiter = kt_start(mutex_waiter, NULL, kt_all_cpus(), 8);
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
    KT_EXPECT_EQ(KeReleaseMutex(&KtMutex, FALSE), -2);
    KT_EXPECT_EQ(KeReleaseMutex(&KtMutex, FALSE), -1);
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
    KT_EXPECT_EQ(__atomic_load_n(&KtMutexTaken, __ATOMIC_ACQUIRE), 0);  /* still ours */
    KT_EXPECT_EQ(KeReleaseMutex(&KtMutex, FALSE), 0);
    kt_join(waiter);
    KT_EXPECT_EQ(KtMutexTaken, 1);
    KT_EXPECT_EQ(KeReadStateMutex(&KtMutex), 1);
    KT_EXPECT_EQ((ULONG_PTR)KtMutex.OwnerThread, 0);
}

/* KeSetEvent with Wait = TRUE returns at DISPATCH_LEVEL; the wait that
 * follows gives back the caller's IRQL. */
KTEST(wait_set_event_then_wait)
{
    KEVENT set, other;

    KeInitializeEvent(&set, NotificationEvent, FALSE);
    KeInitializeEvent(&other, NotificationEvent, TRUE);
    KT_EXPECT_EQ(KeSetEvent(&set, IO_NO_INCREMENT, TRUE), 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeWaitForSingleObject(&other, Executive, KernelMode, FALSE, NULL), STATUS_WAIT_0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* Ping-pong between a thread on the last CPU and this one: every round is
 * a wake across CPUs (on one CPU, a switch), counted exactly. */
#define KT_ROUNDS 500
static KEVENT KtPing, KtPong;
static volatile ULONG KtPongs;

static VOID NTAPI ponger(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (ULONG i = 0; i < KT_ROUNDS; i++) {
        KeWaitForSingleObject(&KtPing, Executive, KernelMode, FALSE, NULL);
        KtPongs++;
        KeSetEvent(&KtPong, IO_NO_INCREMENT, FALSE);
    }
}

KTEST(wait_cross_cpu_ping_pong)
{
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);

    KeInitializeEvent(&KtPing, SynchronizationEvent, FALSE);
    KeInitializeEvent(&KtPong, SynchronizationEvent, FALSE);
    KtPongs = 0;
    PETHREAD thread = kt_start(ponger, NULL, (KAFFINITY)1 << kt_last_cpu(), 8);
    for (ULONG i = 0; i < KT_ROUNDS; i++) {
        KeSetEvent(&KtPing, IO_NO_INCREMENT, FALSE);
        KT_ASSERT_EQ(KeWaitForSingleObject(&KtPong, Executive, KernelMode, FALSE, &timeout),
                     STATUS_WAIT_0);
        KT_ASSERT_EQ(KtPongs, i + 1);
    }
    kt_join(thread);
}

/* Timeouts racing releases: consumers wait on a semaphore with 1-2 ms
 * timeouts while producers release it a unit at a time.  A wait either
 * takes a unit or times out, never both and never neither: when every
 * unit is released the successes equal the units exactly, and the count
 * ends at 0.  Threads spread over every CPU (with race points, the windows
 * between timer expiry and release widen). */
#define KT_PRODUCERS 4
#define KT_CONSUMERS 8
#define KT_UNITS_EACH 150
static KSEMAPHORE KtUnits;
static volatile LONG KtTaken, KtTimeouts, KtProducersLeft;

static VOID NTAPI producer(PVOID Context)
{
    LARGE_INTEGER ms = kt_ms(1);

    UNREFERENCED_PARAMETER(Context);
    for (ULONG i = 0; i < KT_UNITS_EACH; i++) {
        KeReleaseSemaphore(&KtUnits, SEMAPHORE_INCREMENT, 1, FALSE);
        if ((i & 15) == 15)
            KeDelayExecutionThread(KernelMode, FALSE, &ms);
    }
    __atomic_sub_fetch(&KtProducersLeft, 1, __ATOMIC_SEQ_CST);
}

static VOID NTAPI consumer(PVOID Context)
{
    ULONG me = (ULONG)(ULONG_PTR)Context;

    for (ULONG round = 0;; round++) {
        LARGE_INTEGER timeout = kt_ms(1 + ((me + round) & 1));
        NTSTATUS status = KeWaitForSingleObject(&KtUnits, Executive, KernelMode, FALSE, &timeout);
        if (status == STATUS_WAIT_0)
            __atomic_add_fetch(&KtTaken, 1, __ATOMIC_SEQ_CST);
        else if (status == STATUS_TIMEOUT)
            __atomic_add_fetch(&KtTimeouts, 1, __ATOMIC_SEQ_CST);
        else
            KT_EXPECT_EQ(status, STATUS_WAIT_0);
        if (__atomic_load_n(&KtProducersLeft, __ATOMIC_SEQ_CST) == 0 &&
            KeReadStateSemaphore(&KtUnits) == 0)
            return;
    }
}

KTEST(wait_timeouts_racing_releases_count_exactly)
{
    PETHREAD threads[KT_PRODUCERS + KT_CONSUMERS];

    KeInitializeSemaphore(&KtUnits, 0, KT_PRODUCERS * KT_UNITS_EACH);
    KtTaken = KtTimeouts = 0;
    KtProducersLeft = KT_PRODUCERS;
    for (ULONG i = 0; i < KT_CONSUMERS; i++)
        threads[i] = kt_start(consumer, (PVOID)(ULONG_PTR)i, kt_all_cpus(), 8 + (i & 3));
    for (ULONG i = 0; i < KT_PRODUCERS; i++)
        threads[KT_CONSUMERS + i] = kt_start(producer, NULL, kt_all_cpus(), 8);
    for (ULONG i = 0; i < KT_PRODUCERS + KT_CONSUMERS; i++)
        kt_join(threads[i]);
    KT_EXPECT_EQ(KtTaken, KT_PRODUCERS * KT_UNITS_EACH);
    KT_EXPECT_EQ(KeReadStateSemaphore(&KtUnits), 0);
    kprintf("    # %d units taken, %d waits timed out\n", KtTaken, KtTimeouts);
}

/* A set with a priority increment boosts a variable-priority waiter above
 * its base (to at most 15), and the boost decays a level a quantum. */
static KEVENT KtBoostEvent;
static volatile KPRIORITY KtBoostedTo;
static volatile LONG KtBoostDecayed;

static VOID NTAPI boosted_waiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeWaitForSingleObject(&KtBoostEvent, Executive, KernelMode, FALSE, NULL);
    KtBoostedTo = KeQueryPriorityThread(KeGetCurrentThread());
    for (ULONG ms = 0; ms < 5000 && KeQueryPriorityThread(KeGetCurrentThread()) > 8; ms++)
        KeStallExecutionProcessor(1000);    /* quanta end: it decays */
    KtBoostDecayed = KeQueryPriorityThread(KeGetCurrentThread()) == 8;
}

KTEST(wait_increment_boosts_the_waiter_then_decays)
{
    KeInitializeEvent(&KtBoostEvent, NotificationEvent, FALSE);
    KtBoostedTo = 0;
    KtBoostDecayed = 0;
    PETHREAD thread = kt_start(boosted_waiter, NULL, (KAFFINITY)1 << kt_last_cpu(), 8);
    kt_wait_until_waiting(thread);      /* the boost comes with ending a wait */
    KeSetEvent(&KtBoostEvent, 5, FALSE);
    kt_join(thread);
    KT_EXPECT_EQ(KtBoostedTo, 13);
    KT_EXPECT_EQ(KtBoostDecayed, 1);
}
