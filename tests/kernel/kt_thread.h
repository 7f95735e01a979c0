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

/* ---- The culprit of a negative test (test_*_negative.c) ------------------ */

#define KT_CULPRIT_WAIT_MS 10000        /* generous: vCPUs share 2 host cores */

/* A thread at the test thread's priority, on any CPU, not started yet: the
 * expectation may name it before it runs. */
static inline PETHREAD kt_culprit(PKSTART_ROUTINE Routine, PVOID Context)
{
    PETHREAD thread = NULL;
    NTSTATUS status = KiCreateSystemThread(Routine, Context, ~(KAFFINITY)0,
                                           KI_SYSTEM_BASE_PRIORITY, &thread);

    if (!NT_SUCCESS(status))
        ktest_fail(__FILE__, __LINE__, "KiCreateSystemThread: 0x%08x", (ULONG)status);
    return thread;
}

/* Start it and wait for the bug check it must cause; a culprit that ends
 * instead fails the test (a check that no longer fires does not hang the boot). */
static inline VOID kt_run_culprit(PETHREAD Thread)
{
    LARGE_INTEGER timeout = kt_ms(KT_CULPRIT_WAIT_MS);

    if (Thread == NULL)
        return;
    KiStartThread(Thread);
    NTSTATUS status = KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, &timeout);
    if (status == STATUS_WAIT_0)
        ktest_fail(__FILE__, __LINE__, "the thread ended without a bug check");
    else
        ktest_fail(__FILE__, __LINE__, "no bug check in %u ms (wait status 0x%x)",
                   KT_CULPRIT_WAIT_MS, (ULONG)status);
    ObDereferenceObject(Thread);
}

/* Create, announce, run: for the culprits whose expectation does not name them. */
#define KT_RUN_CULPRIT(routine, context) kt_run_culprit(kt_culprit((routine), (context)))

#endif
