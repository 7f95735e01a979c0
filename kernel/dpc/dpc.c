/*
 * dpc.c - the DPC object (WDK: KeInitializeDpc, KeInitializeThreadedDpc,
 * KeSetImportanceDpc, KeSetTargetProcessorDpc[Ex]) and KeFlushQueuedDpcs.
 *
 * A KDPC says what to run (DeferredRoutine, DeferredContext), where
 * (Number: 0 = the inserting CPU, MAXIMUM_PROCESSORS + n = CPU n) and how
 * urgently (Importance); kernel/dpc/dpc_queue.c queues and runs it.  None of
 * these setters lock anything: the WDK allows them only while the DPC is
 * not queued, and then its owner alone touches it.
 *
 * Flushing appends a marker DPC to every CPU's queue (threaded queues
 * first) that has work queued or running and waits for all markers: a CPU runs its queue in order, so
 * its marker runs after every DPC queued there before it (High importance
 * ones sit at the head, ahead of it anyway) and after the routine running
 * when it was queued.
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/dpc/dpc.h"
#include "kernel/smp/smp.h"
#include "arch/x86_64/cpu.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

static VOID initialize(PRKDPC Dpc, UCHAR Type, PKDEFERRED_ROUTINE DeferredRoutine,
                       PVOID DeferredContext)
{
    /* The WDK's fields, no more: DpcListEntry and the system arguments are
     * left as they are (Windows does the same). */
    Dpc->Type = Type;
    Dpc->Importance = MediumImportance;
    Dpc->Number = 0;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->DpcData = NULL;
}

VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
    initialize(Dpc, DpcObject, DeferredRoutine, DeferredContext);
}

/* Runs at PASSIVE_LEVEL on the target CPU's DPC thread
 * (kernel/dpc/dpc_thread.c); with threaded_dpcs=off, as an ordinary DPC at
 * DISPATCH_LEVEL, as Windows does when threaded DPCs are turned off.  The
 * WDK requires its routine to work at either level. */
VOID NTAPI KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine,
                                   PVOID DeferredContext)
{
    initialize(Dpc, ThreadedDpcObject, DeferredRoutine, DeferredContext);
}

VOID NTAPI KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
    Dpc->Importance = (UCHAR)Importance;
}

VOID NTAPI KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    /* Windows 7 and later: a CPU group 0 does not have changes nothing. */
    if ((UCHAR)Number < KiActiveProcessorCount())
        Dpc->Number = (USHORT)(MAXIMUM_PROCESSORS + (UCHAR)Number);
}

NTSTATUS NTAPI KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber)
{
    /* One group; a non-zero Reserved is not a processor number either. */
    if (ProcNumber->Group != 0 || ProcNumber->Reserved != 0 ||
        ProcNumber->Number >= KiActiveProcessorCount())
        return STATUS_INVALID_PARAMETER;
    Dpc->Number = (USHORT)(MAXIMUM_PROCESSORS + ProcNumber->Number);
    return STATUS_SUCCESS;
}

/* Waiting for DPCs above APC_LEVEL could wait for this very CPU's queue,
 * which cannot run until IRQL drops.  Checked build: IRQL_NOT_LESS_OR_EQUAL
 * (WDK: Bug Check 0xA) with P1 the routine called, P2 the IRQL, P3 8 (an
 * execute access: the call itself), P4 the caller. */
VOID KiCheckDpcWaitIrql(PVOID Routine, ULONG_PTR Caller)
{
    KIRQL irql = KeGetCurrentIrql();

    if (DBG && irql > APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Routine, irql, 8, Caller);
}

static VOID flush_marker(PKDPC Dpc, PVOID Context, PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    /* lock xadd; the last touch of the flusher's stack, where Dpc lives too
     * (the drain loop no longer reads a DPC once its routine is called). */
    __atomic_fetch_sub((volatile LONG *)Context, 1, __ATOMIC_RELEASE);
}

/* One marker per busy queue of one kind, then wait for them all.  A
 * threaded marker sits at the tail of a threaded queue: the DPC thread runs
 * its queue one routine at a time, in order, so the marker runs after every
 * threaded DPC queued there before it and after the one running. */
static VOID flush(KDPC Markers[], ULONG Count, BOOLEAN Threaded)
{
    volatile LONG remaining = 0;

    for (ULONG n = 0; n < Count; n++) {
        if (!KiDpcQueueBusy(n, Threaded))
            continue;                   /* nothing queued before us, nothing running */
        if (Threaded) {
            KI_RACE_POINT("dpc.flush.saw_threaded_busy");
            KeInitializeThreadedDpc(&Markers[n], flush_marker, (PVOID)&remaining);
        } else {
            KI_RACE_POINT("dpc.flush.saw_busy");
            KeInitializeDpc(&Markers[n], flush_marker, (PVOID)&remaining);
            /* MediumHigh: at the tail like Medium, but another CPU is
             * interrupted at once instead of at its next tick. */
            KeSetImportanceDpc(&Markers[n], MediumHighImportance);
        }
        KeSetTargetProcessorDpc(&Markers[n], (CCHAR)n);
        __atomic_fetch_add(&remaining, 1, __ATOMIC_RELAXED);
        KeInsertQueueDpc(&Markers[n], NULL, NULL);
    }
    while (__atomic_load_n(&remaining, __ATOMIC_ACQUIRE) != 0)
        cpu_relax();
}

VOID NTAPI KeFlushQueuedDpcs(VOID)
{
    KDPC markers[MAXIMUM_PROCESSORS];   /* 4 KiB of stack: one per CPU */
    ULONG count = KiActiveProcessorCount();

    KiCheckDpcWaitIrql(KeFlushQueuedDpcs, CALLER);
    /* Threaded queues first: the ordinary pass then also covers any
     * ordinary DPC a threaded routine queued.  Off, there are none. */
    if (KiThreadedDpcEnable)
        flush(markers, count, TRUE);
    flush(markers, count, FALSE);
}
