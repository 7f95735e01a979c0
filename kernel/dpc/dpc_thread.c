/*
 * dpc_thread.c - threaded DPCs: one DPC thread per CPU, the `threaded_dpcs`
 * boot option (docs/dpc.md, "Threaded DPCs").
 *
 * KeInsertQueueDpc puts a threaded DPC (KeInitializeThreadedDpc) on its
 * target CPU's threaded queue, sets DpcThreadRequested and
 * DpcSetEventRequest under the queue lock and asks that CPU for a
 * DISPATCH_LEVEL software interrupt; the 0x2F handler, after the ordinary
 * queue, sets the CPU's DpcEvent (kernel/dpc/dpc_queue.c).  The thread below
 * waits for that event and runs its queue dry at PASSIVE_LEVEL.
 *
 * Priority 31, the top real-time priority: WDK "Introduction to Threaded
 * DPCs" says a threaded DPC runs at PASSIVE_LEVEL in a real-time priority
 * thread, so it is preempted by ordinary DPCs and interrupts but by almost
 * no thread; Windows Internals (System Mechanisms, "Deferred Procedure
 * Call Interrupts") gives that priority as 31.
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/dpc/dpc.h"
#include "kernel/options.h"
#include "kernel/smp/smp.h"
#include "kernel/thread/thread.h"
#include "string.h"

/* WDK: "Introduction to Threaded DPCs": on by default; off, a threaded DPC
 * runs as an ordinary one, at DISPATCH_LEVEL (the ThreadDpcEnable registry
 * value's effect). */
BOOLEAN KiThreadedDpcEnable = TRUE;

static void apply_threaded_dpcs(const char *value)
{
    if (strcmp(value, "on") == 0)
        KiThreadedDpcEnable = TRUE;
    else if (strcmp(value, "off") == 0)
        KiThreadedDpcEnable = FALSE;
    else
        DbgPrint("warning: threaded_dpcs must be on or off, not '%s'; keeping %s\n", value,
                KiThreadedDpcEnable ? "on" : "off");
}
KERNEL_OPTION("threaded_dpcs",
              "threaded DPCs on a per-CPU thread at PASSIVE_LEVEL (on, the default) or run as "
              "ordinary DPCs (off)",
              apply_threaded_dpcs);

/* The DPC thread of one CPU: its KPRCB is the context. */
static VOID NTAPI dpc_thread(PVOID Context)
{
    PKPRCB prcb = Context;

    for (;;) {
        /* First pass before the first wait: DPCs queued before this
         * thread existed had no one to set the event. */
        KiRetireThreadedDpcList(prcb);
        KI_RACE_POINT("dpc.thread.waiting");
        KeWaitForSingleObject(&prcb->DpcEvent, Executive, KernelMode, FALSE, NULL);
    }
}

VOID KiStartDpcThreads(VOID)
{
    if (!KiThreadedDpcEnable)
        return;
    for (ULONG n = 0; n < KiActiveProcessorCount(); n++) {
        PKPRCB prcb = &KiProcessorBlock[n].Prcb;
        PETHREAD thread;

        if (!NT_SUCCESS(KiCreateSystemThread(dpc_thread, prcb, (KAFFINITY)1 << n, HIGH_PRIORITY,
                                             &thread)))
            KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 1, n, 0, 0);
        /* Published before it runs: the 0x2F handler sets the event only
         * once there is a thread to wake. */
        __atomic_store_n(&prcb->DpcThread, &thread->Tcb, __ATOMIC_RELEASE);
        KiStartThread(thread);
        ObDereferenceObject(thread);    /* it never ends: its own reference keeps it */
    }
}
