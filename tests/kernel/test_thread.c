/*
 * test_thread.c - system threads and the scheduler: creation the driver way
 * (handles, references, waiting for the thread object), priorities,
 * affinity, and the rule DISPATCH_LEVEL exists for: a thread holding a spin
 * lock is never switched out on its own CPU, and is switched out the moment
 * it releases when a higher-priority thread is ready there (docs/threads.md).
 */
#include "kt_thread.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/calibrate.h"

#define KT_SPIN_MS 20

static volatile LONG KtRan;
static volatile ULONG64 KtRanAt;        /* TSC when the high-priority thread ran */
static volatile KIRQL KtIrqlSeen;
static volatile PKTHREAD KtSelfSeen;
static volatile HANDLE KtIdSeen;
static volatile PETHREAD KtEthreadSeen;

static VOID NTAPI record_and_exit(PVOID Context)
{
    KtIrqlSeen = KeGetCurrentIrql();
    KtSelfSeen = KeGetCurrentThread();
    KtIdSeen = PsGetCurrentThreadId();
    KtEthreadSeen = PsGetCurrentThread();
    KtRanAt = rdtsc();
    __atomic_store_n(&KtRan, 1, __ATOMIC_RELEASE);
    PsTerminateSystemThread((NTSTATUS)(ULONG_PTR)Context);
}

/* The WDK's way: create, reference the object by handle, close the handle,
 * wait for the thread object, dereference. */
KTEST(thread_create_reference_close_wait)
{
    HANDLE handle;
    CLIENT_ID cid;
    PVOID object;
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);

    KtRan = 0;
    KT_ASSERT_EQ(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, &cid,
                                      record_and_exit, (PVOID)0x1234), STATUS_SUCCESS);
    KT_EXPECT_EQ((ULONG_PTR)handle >> 32, 0xFFFFFFFF);     /* a kernel handle */
    KT_ASSERT_EQ(ObReferenceObjectByHandle(handle, SYNCHRONIZE, *PsThreadType, KernelMode,
                                           &object, NULL), STATUS_SUCCESS);
    KT_EXPECT_EQ(ZwClose(handle), STATUS_SUCCESS);          /* the thread goes on */
    KT_EXPECT_EQ(ZwClose(handle), STATUS_INVALID_HANDLE);
    KT_EXPECT_EQ(KeWaitForSingleObject(object, Executive, KernelMode, FALSE, &timeout),
                 STATUS_WAIT_0);
    KT_EXPECT_EQ(KtRan, 1);
    KT_EXPECT_EQ(KtIrqlSeen, PASSIVE_LEVEL);                /* WDK: starts at PASSIVE_LEVEL */
    KT_EXPECT_EQ((ULONG_PTR)KtSelfSeen, (ULONG_PTR)object);
    KT_EXPECT_EQ((ULONG_PTR)KtEthreadSeen, (ULONG_PTR)object);
    KT_EXPECT_EQ((ULONG_PTR)KtIdSeen, (ULONG_PTR)cid.UniqueThread);
    KT_EXPECT_NE((ULONG_PTR)cid.UniqueThread, (ULONG_PTR)PsGetCurrentThreadId());
    KT_EXPECT_EQ(((PETHREAD)object)->ExitStatus, 0x1234);
    /* Signalled for good: a second wait is satisfied at once. */
    KT_EXPECT_EQ(KeWaitForSingleObject(object, Executive, KernelMode, FALSE, &timeout),
                 STATUS_WAIT_0);
    ObDereferenceObject(object);
}

KTEST(thread_handle_errors)
{
    HANDLE handle;
    PVOID object = (PVOID)1;
    KEVENT event;

    KT_EXPECT_EQ(ObReferenceObjectByHandle(NULL, 0, *PsThreadType, KernelMode, &object, NULL),
                 STATUS_INVALID_HANDLE);
    KT_EXPECT_EQ((ULONG_PTR)object, 0);
    KT_EXPECT_EQ(ZwClose((HANDLE)0x1234), STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                      record_and_exit, NULL), STATUS_SUCCESS);
    /* A kernel handle is no user-mode handle. */
    KT_EXPECT_EQ(ObReferenceObjectByHandle(handle, 0, *PsThreadType, UserMode, &object, NULL),
                 STATUS_INVALID_HANDLE);
    KT_ASSERT_EQ(ObReferenceObjectByHandle(handle, 0, NULL, KernelMode, &object, NULL),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(ZwClose(handle), STATUS_SUCCESS);
    kt_join(object);
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    OBJECT_ATTRIBUTES attributes;
    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE | OBJ_PERMANENT, NULL, NULL);
    KT_EXPECT_EQ(PsCreateSystemThread(&handle, 0, &attributes, NULL, NULL, record_and_exit,
                                      NULL), STATUS_INVALID_PARAMETER);
}

/* The rule of DISPATCH_LEVEL.  On one CPU: this thread (priority 8) holds a
 * spin lock while a priority-16 thread for the same CPU is made ready; it
 * must not run until the release, and must have run when the release
 * returns. */
KTEST(thread_spin_lock_holder_not_preempted_until_release)
{
    KSPIN_LOCK lock;
    ULONG cpu = KeGetCurrentProcessorNumber();
    KIRQL old;

    KeInitializeSpinLock(&lock);
    KtRan = 0;
    KeAcquireSpinLock(&lock, &old);
    PETHREAD high = kt_start(record_and_exit, NULL, (KAFFINITY)1 << cpu, LOW_REALTIME_PRIORITY);
    ULONG64 end = rdtsc() + KiTscFrequency * KT_SPIN_MS / 1000;
    while (rdtsc() < end)
        if (__atomic_load_n(&KtRan, __ATOMIC_ACQUIRE))
            break;
    KT_EXPECT_EQ(KtRan, 0);             /* not while the lock is held */
    ULONG64 released = rdtsc();
    KeReleaseSpinLock(&lock, old);
    KT_EXPECT_EQ(__atomic_load_n(&KtRan, __ATOMIC_ACQUIRE), 1);   /* at once */
    KT_EXPECT_TRUE(KtRanAt > released);
    kt_join(high);
}

/* The contrast: a mutex holder runs at PASSIVE_LEVEL and is preempted the
 * moment the higher-priority thread is ready. */
KTEST(thread_mutex_holder_preempted_at_once)
{
    KMUTEX mutex;
    ULONG cpu = KeGetCurrentProcessorNumber();

    KeInitializeMutex(&mutex, 0);
    KtRan = 0;
    KT_ASSERT_EQ(KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    PETHREAD high = kt_start(record_and_exit, NULL, (KAFFINITY)1 << cpu, LOW_REALTIME_PRIORITY);
    KT_EXPECT_EQ(__atomic_load_n(&KtRan, __ATOMIC_ACQUIRE), 1);   /* before kt_start returned */
    KT_EXPECT_EQ(KeReleaseMutex(&mutex, FALSE), 0);
    kt_join(high);
}

/* A lower-priority thread for this CPU does not preempt; it runs once this
 * thread waits.  The wait is for the low thread itself: a timed delay could
 * end before it blocks if the host held this vCPU back past its due time. */
KTEST(thread_lower_priority_waits_for_the_cpu)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);

    KtRan = 0;
    PETHREAD low = kt_start(record_and_exit, NULL, (KAFFINITY)1 << cpu, 4);
    KeStallExecutionProcessor(5000);    /* ticks go by, quantum ends: still not its turn */
    KT_EXPECT_EQ(__atomic_load_n(&KtRan, __ATOMIC_ACQUIRE), 0);
    KT_EXPECT_EQ(KeWaitForSingleObject(low, Executive, KernelMode, FALSE, &timeout),
                 STATUS_WAIT_0);        /* this thread blocks: the CPU is the low one's */
    KT_EXPECT_EQ(__atomic_load_n(&KtRan, __ATOMIC_ACQUIRE), 1);
    KT_EXPECT_EQ(KtIrqlSeen, PASSIVE_LEVEL);
    ObDereferenceObject(low);
}

/* Round robin: equal-priority threads on one CPU take turns at quantum
 * end.  Each spins until it has seen every other one make progress
 * KT_TURNS times (it cannot, unless the others get the CPU in between),
 * and goes on counting until all have, so the others can see it move. */
#define KT_RR_THREADS 3
#define KT_TURNS 4

static volatile ULONG KtRrCount[KT_RR_THREADS];
static volatile ULONG KtRrSeen[KT_RR_THREADS];
static volatile LONG KtRrFinished;
static volatile LONG KtRrAbort;

static VOID NTAPI round_robin_worker(PVOID Context)
{
    ULONG me = (ULONG)(ULONG_PTR)Context;
    ULONG last[KT_RR_THREADS] = { 0 };

    while (!KtRrAbort && KtRrFinished < KT_RR_THREADS) {
        KtRrCount[me]++;
        BOOLEAN all_moved = TRUE;
        for (ULONG i = 0; i < KT_RR_THREADS; i++)
            if (i != me && KtRrCount[i] == last[i])
                all_moved = FALSE;
        if (all_moved && KtRrSeen[me] < KT_TURNS) {
            for (ULONG i = 0; i < KT_RR_THREADS; i++)
                last[i] = KtRrCount[i];
            if (++KtRrSeen[me] == KT_TURNS)
                __atomic_add_fetch(&KtRrFinished, 1, __ATOMIC_SEQ_CST);
        }
    }
}

KTEST(thread_round_robin_at_quantum_end)
{
    PVOID threads[KT_RR_THREADS];
    KWAIT_BLOCK blocks[KT_RR_THREADS];
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);
    KAFFINITY one = (KAFFINITY)1 << kt_last_cpu();

    KtRrAbort = 0;
    KtRrFinished = 0;
    for (ULONG i = 0; i < KT_RR_THREADS; i++) {
        KtRrCount[i] = KtRrSeen[i] = 0;
        /* Below this thread (8): a broken round robin cannot keep it from
         * waking at its timeout and stopping them. */
        threads[i] = kt_start(round_robin_worker, (PVOID)(ULONG_PTR)i, one, 7);
        KT_ASSERT_TRUE(threads[i] != NULL);
    }
    NTSTATUS status = KeWaitForMultipleObjects(KT_RR_THREADS, threads, WaitAll, Executive,
                                               KernelMode, FALSE, &timeout, blocks);
    KT_EXPECT_EQ(status, STATUS_WAIT_0);
    if (status != STATUS_WAIT_0) {
        KtRrAbort = 1;                  /* stop the spinners before the next test */
        timeout = kt_ms(KT_JOIN_SECONDS * 1000);
        KeWaitForMultipleObjects(KT_RR_THREADS, threads, WaitAll, Executive, KernelMode, FALSE,
                                 &timeout, blocks);
    }
    for (ULONG i = 0; i < KT_RR_THREADS; i++) {
        KT_EXPECT_EQ(KtRrSeen[i], KT_TURNS);
        /* Switched in at least once a turn: it shared the CPU by quanta. */
        KT_EXPECT_TRUE(((PKTHREAD)threads[i])->ContextSwitches >= KT_TURNS);
        ObDereferenceObject(threads[i]);
    }
}

KTEST(thread_priority_routines)
{
    PKTHREAD self = KeGetCurrentThread();

    /* A wait satisfied with a priority increment may have boosted this
     * thread above its base for a while: start from the base. */
    KeSetPriorityThread(self, KI_SYSTEM_BASE_PRIORITY);
    KT_EXPECT_EQ(KeQueryPriorityThread(self), KI_SYSTEM_BASE_PRIORITY);
    KT_EXPECT_EQ(KeSetPriorityThread(self, 12), KI_SYSTEM_BASE_PRIORITY);
    KT_EXPECT_EQ(KeQueryPriorityThread(self), 12);
    KT_EXPECT_EQ(KeSetPriorityThread(self, KI_SYSTEM_BASE_PRIORITY), 12);
    /* Base = 8 + increment, within 1..15; returns the old increment. */
    KT_EXPECT_EQ(KeSetBasePriorityThread(self, 2), 0);
    KT_EXPECT_EQ(KeQueryPriorityThread(self), 10);
    KT_EXPECT_EQ(KeSetBasePriorityThread(self, 20), 2);
    KT_EXPECT_EQ(KeQueryPriorityThread(self), 15);
    KT_EXPECT_EQ(KeSetBasePriorityThread(self, 0), 7);
    KT_EXPECT_EQ(KeQueryPriorityThread(self), KI_SYSTEM_BASE_PRIORITY);
}

/* KeSetSystemAffinityThreadEx at PASSIVE_LEVEL moves the thread before it
 * returns; the revert takes the old affinity back. */
KTEST(thread_system_affinity_moves_the_thread)
{
    ULONG last = kt_last_cpu();
    ULONG start = KeGetCurrentProcessorNumber();

    KAFFINITY previous = KeSetSystemAffinityThreadEx((KAFFINITY)1 << last);
    KT_EXPECT_EQ(KeGetCurrentProcessorNumber(), last);
    KeStallExecutionProcessor(4000);    /* quantum ends: it stays */
    KT_EXPECT_EQ(KeGetCurrentProcessorNumber(), last);
    /* A set naming an absent CPU changes nothing. */
    KT_EXPECT_EQ(KeSetSystemAffinityThreadEx((KAFFINITY)1 << 63), (KAFFINITY)1 << last);
    KeRevertToUserAffinityThreadEx(previous);
    KT_EXPECT_EQ(KeGetCurrentProcessorNumber(), start);    /* the test thread's own: CPU 0 */
}

/* At DISPATCH_LEVEL the move waits until IRQL drops. */
KTEST(thread_system_affinity_at_dispatch_level_moves_on_lowering)
{
    KT_REQUIRE_CPUS(2);
    ULONG last = kt_last_cpu();
    KIRQL old = KeRaiseIrqlToDpcLevel();

    KAFFINITY previous = KeSetSystemAffinityThreadEx((KAFFINITY)1 << last);
    KT_EXPECT_EQ(KeGetCurrentProcessorNumber(), 0);
    KeLowerIrql(old);
    KT_EXPECT_EQ(KeGetCurrentProcessorNumber(), last);
    KeRevertToUserAffinityThreadEx(previous);
    KT_EXPECT_EQ(KeGetCurrentProcessorNumber(), 0);
}

/* Many threads, each taking a mutex to bump a plain counter and releasing
 * a semaphore slot, in waves that reuse the pool's slots: exact totals. */
#define KT_WAVES 16
#define KT_WAVE_THREADS 64
#define KT_ROUNDS 20

static KMUTEX KtCounterMutex;
static volatile ULONG64 KtCounter;      /* only under KtCounterMutex: a plain += */
static KSEMAPHORE KtDone;

static VOID NTAPI counting_worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (ULONG i = 0; i < KT_ROUNDS; i++) {
        KeWaitForSingleObject(&KtCounterMutex, Executive, KernelMode, FALSE, NULL);
        ULONG64 value = KtCounter;
        if ((i & 3) == 0)
            KeDelayExecutionThread(KernelMode, FALSE, &(LARGE_INTEGER){ .QuadPart = 0 });
        KtCounter = value + 1;          /* lost if another thread got in between */
        KeReleaseMutex(&KtCounterMutex, FALSE);
    }
    KeReleaseSemaphore(&KtDone, IO_NO_INCREMENT, 1, FALSE);
}

KTEST(thread_thousand_threads_exact_accounting)
{
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);
    ULONG started = 0;

    KeInitializeMutex(&KtCounterMutex, 0);
    KeInitializeSemaphore(&KtDone, 0, KT_WAVE_THREADS);
    KtCounter = 0;
    for (ULONG wave = 0; wave < KT_WAVES; wave++) {
        for (ULONG i = 0; i < KT_WAVE_THREADS; i++) {
            HANDLE handle;
            KT_ASSERT_EQ(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                              counting_worker, NULL), STATUS_SUCCESS);
            ZwClose(handle);
            started++;
        }
        for (ULONG i = 0; i < KT_WAVE_THREADS; i++)
            KT_ASSERT_EQ(KeWaitForSingleObject(&KtDone, Executive, KernelMode, FALSE, &timeout),
                         STATUS_WAIT_0);
    }
    KT_EXPECT_EQ(started, KT_WAVES * KT_WAVE_THREADS);
    KT_EXPECT_EQ(KtCounter, (ULONG64)KT_WAVES * KT_WAVE_THREADS * KT_ROUNDS);
    KT_EXPECT_EQ(KeReadStateMutex(&KtCounterMutex), 1);
    KT_EXPECT_EQ(KeReadStateSemaphore(&KtDone), 0);
}

/* The pool has KI_MAXIMUM_THREADS slots: past them creation fails cleanly,
 * and an affinity with no online CPU is refused. */
static KEVENT KtHold;

static VOID NTAPI wait_for_hold(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeWaitForSingleObject(&KtHold, Executive, KernelMode, FALSE, NULL);
}

KTEST(thread_pool_exhausted_and_bad_affinity_refused)
{
    static PETHREAD threads[KI_MAXIMUM_THREADS];
    ULONG created = 0;
    PETHREAD extra;

    KT_EXPECT_EQ(KiCreateSystemThread(wait_for_hold, NULL, (KAFFINITY)1 << 63, 8, &extra),
                 STATUS_INVALID_PARAMETER);
    KeInitializeEvent(&KtHold, NotificationEvent, FALSE);
    for (; created < KI_MAXIMUM_THREADS; created++)
        if (!NT_SUCCESS(KiCreateSystemThread(wait_for_hold, NULL, kt_all_cpus(), 8,
                                             &threads[created])))
            break;
    /* The slots taken already: this thread's, each CPU's DPC thread's, and a
     * few of earlier tests' threads still on their way out. */
    KT_EXPECT_TRUE(created >= KI_MAXIMUM_THREADS - 1 - KeQueryActiveProcessorCount(NULL) - 4);
    KT_EXPECT_TRUE(created < KI_MAXIMUM_THREADS);
    HANDLE handle;
    KT_EXPECT_EQ(PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                      wait_for_hold, NULL), STATUS_INSUFFICIENT_RESOURCES);
    for (ULONG i = 0; i < created; i++)
        KiStartThread(threads[i]);
    KeSetEvent(&KtHold, IO_NO_INCREMENT, FALSE);
    for (ULONG i = 0; i < created; i++)
        kt_join(threads[i]);
}
