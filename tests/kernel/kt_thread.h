/*
 * kt_thread.h - helpers for the thread and wait tests (test_thread*.c,
 * test_wait*.c): start a system thread at a priority on a set of CPUs, and
 * wait for it with a deadline, so a broken dispatcher fails a test instead
 * of hanging the boot.
 */
#ifndef KT_THREAD_H
#define KT_THREAD_H

#include "wdm.h"
#include "ktest.h"
#include "kernel/thread/thread.h"

#define KT_JOIN_SECONDS 20              /* generous: a vCPU can be descheduled for a while */

/* A relative timeout of Milliseconds, for the Timeout parameters. */
static inline LARGE_INTEGER kt_ms(LONGLONG Milliseconds)
{
    LARGE_INTEGER t;
    t.QuadPart = -Milliseconds * 10000;
    return t;
}

/* A started thread, referenced (kt_join drops the reference). */
static inline PETHREAD kt_start(PKSTART_ROUTINE Routine, PVOID Context, KAFFINITY Affinity,
                                KPRIORITY Priority)
{
    PETHREAD thread = NULL;
    NTSTATUS status = KiCreateSystemThread(Routine, Context, Affinity, Priority, &thread);

    if (!NT_SUCCESS(status)) {
        ktest_fail(__FILE__, __LINE__, "KiCreateSystemThread: 0x%08x", (ULONG)status);
        return NULL;
    }
    KiStartThread(thread);
    return thread;
}

/* Wait for Thread to end; FALSE (and a failure) if it did not in time. */
static inline BOOLEAN kt_join(PETHREAD Thread)
{
    LARGE_INTEGER timeout = kt_ms(KT_JOIN_SECONDS * 1000);
    NTSTATUS status;

    if (Thread == NULL)
        return FALSE;
    status = KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, &timeout);
    if (status != STATUS_WAIT_0) {
        ktest_fail(__FILE__, __LINE__, "thread %p did not end in %u s (status 0x%x)",
                   (void *)Thread, KT_JOIN_SECONDS, (ULONG)status);
        return FALSE;                   /* keep the reference: it still runs */
    }
    ObDereferenceObject(Thread);
    return TRUE;
}

/* Until Thread blocks in a wait (a timed delay alone may end before the
 * other thread ran, if the host holds this vCPU back); FALSE, and a failure,
 * after KT_JOIN_SECONDS. */
static inline BOOLEAN kt_wait_until_waiting(PETHREAD Thread)
{
    LARGE_INTEGER ms = kt_ms(1);

    for (ULONG i = 0; i < KT_JOIN_SECONDS * 1000; i++) {
        if (__atomic_load_n(&((PKTHREAD)Thread)->State, __ATOMIC_ACQUIRE) == Waiting)
            return TRUE;
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    }
    ktest_fail(__FILE__, __LINE__, "thread %p never waited", (void *)Thread);
    return FALSE;
}

/* Every online CPU's bit. */
static inline KAFFINITY kt_all_cpus(void)
{
    return KeQueryActiveProcessors();
}

/* The last online CPU (CPU 0 on one CPU): away from the test thread's CPU 0. */
static inline ULONG kt_last_cpu(void)
{
    return KeQueryActiveProcessorCount(NULL) - 1;
}

#endif
