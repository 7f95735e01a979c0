/*
 * bench_apc.c - how long a kernel APC takes to run (kernel/thread/apc.c,
 * docs/apc.md).
 *
 *   apc.latency.special.same_thread   a special APC the running thread queues
 *                                     to itself at PASSIVE_LEVEL: TSC before
 *                                     KeInsertQueueApc to its kernel routine;
 *                                     floor.self_ipi (the APC_LEVEL interrupt
 *                                     is a self-IPI)
 *   apc.latency.normal.same_thread    the same to a normal APC's normal routine
 *   apc.latency.special.other_cpu     to a thread spinning at PASSIVE_LEVEL on
 *                                     CPU 1: an IPI to vector 0x1F;
 *                                     floor.ipi_one_way
 *
 * Every wait for another CPU is a bare load, as in the other benchmarks.
 */
#include "wdm.h"
#include "kbench.h"
#include "kernel/thread/thread.h"
#include "arch/x86_64/cpu.h"

#define KB_JOIN_MS 5000

static ULONG64 KbSamples[KBENCH_SAMPLES];
static volatile ULONG64 KbArrived;
static KAPC KbApc;

static VOID NTAPI stamp_kernel(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context,
                               PVOID *Argument1, PVOID *Argument2)
{
    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    if (*Normal == NULL)
        KbArrived = kbench_end();
}

static VOID NTAPI stamp_normal(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KbArrived = kbench_end();
}

/* Queue KbApc to Thread KBENCH_WARMUP + KBENCH_SAMPLES times, each time
 * waiting for its stamp: the latencies in KbSamples. */
static VOID time_apcs(PKTHREAD Thread, PKNORMAL_ROUTINE Normal)
{
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        KeInitializeApc(&KbApc, Thread, OriginalApcEnvironment, stamp_kernel, NULL, Normal,
                        KernelMode, NULL);
        KbArrived = 0;
        ULONG64 sent = kbench_begin();
        KeInsertQueueApc(&KbApc, NULL, NULL, IO_NO_INCREMENT);
        while (KbArrived == 0)
            ;
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = KbArrived - sent;
        while (KbApc.Inserted)          /* delivered and done with before it is reused */
            ;
    }
}

KBENCH(apc_latency_same_thread)
{
    time_apcs(KeGetCurrentThread(), NULL);
    kbench_report("apc.latency.special.same_thread", "ticks", KbSamples, KBENCH_SAMPLES,
                  "floor.self_ipi");
    time_apcs(KeGetCurrentThread(), stamp_normal);
    kbench_report("apc.latency.normal.same_thread", "ticks", KbSamples, KBENCH_SAMPLES,
                  "floor.self_ipi");
}

static volatile BOOLEAN KbSpin;

static VOID NTAPI spin_at_passive(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    while (KbSpin)
        ;
}

KBENCH(apc_latency_other_cpu)
{
    PETHREAD thread;
    LARGE_INTEGER timeout = { .QuadPart = -(LONGLONG)KB_JOIN_MS * 10000 };

    if (KeQueryActiveProcessorCount(NULL) < 2)
        return;
    KbSpin = TRUE;
    if (!NT_SUCCESS(KiCreateSystemThread(spin_at_passive, NULL, 2, LOW_REALTIME_PRIORITY,
                                         &thread)))
        return;
    KiStartThread(thread);
    while (((PKTHREAD)thread)->State != Running)
        ;
    time_apcs((PKTHREAD)thread, NULL);
    KbSpin = FALSE;
    KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, &timeout);
    ObDereferenceObject(thread);
    kbench_report("apc.latency.special.other_cpu", "ticks", KbSamples, KBENCH_SAMPLES,
                  "floor.ipi_one_way");
}
