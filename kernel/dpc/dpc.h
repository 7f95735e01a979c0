/*
 * dpc.h - the kernel-internal side of DPCs: per-CPU set-up, the clock-tick
 * hook, and what the tests reach into (kernel/dpc/dpc_queue.c,
 * kernel/dpc/dpc_watchdog.c).
 */
#ifndef KERNEL_DPC_H
#define KERNEL_DPC_H

#include "wdm.h"
#include "kernel/smp/pcr.h"
#include "arch/x86_64/trap.h"

typedef struct _KDPC_DATA KDPC_DATA, *PKDPC_DATA;   /* in the KPRCB (kernel/smp/pcr.h) */

/* Queue-depth and rate thresholds (WDK: Organization of DPC Queues; the
 * registry defaults of Session Manager\Kernel). */
#define KI_DPC_QUEUE_DEPTH          4   /* DpcQueueDepth: MaximumDpcQueueDepth's ceiling */
#define KI_MINIMUM_DPC_RATE         3   /* MinimumDpcRate */
#define KI_ADJUST_DPC_THRESHOLD     20  /* AdjustDpcThreshold, in ticks */
#define KI_IDEAL_DPC_RATE           20  /* IdealDpcRate */

/* This CPU's DPC queue, stack and thresholds; on the boot CPU also the 0x2F
 * handler.  Interrupts off, before this CPU's clock starts. */
VOID KiInitializeDpcProcessor(VOID);

/* From the clock interrupt on every CPU, at CLOCK_LEVEL: adapt the
 * thresholds, pick up DPCs left waiting for the tick, run the watchdog.
 * TrapFrame->PreviousIrql is the IRQL the tick interrupted. */
VOID KiDpcClockTick(PKTRAP_FRAME TrapFrame);

/* The watchdog's share of the tick (kernel/dpc/dpc_watchdog.c). */
VOID KiDpcWatchdogTick(PKPRCB Prcb, PKTRAP_FRAME TrapFrame);

/* The watchdog limits, in ticks, for every CPU (0 = that check off).  The
 * `dpc_timeout_ms` and `dpc_watchdog_ms` options set them at boot; tests
 * set small ones here. */
VOID KiSetDpcWatchdogLimits(ULONG DpcTimeLimit, ULONG DpcWatchdogPeriod);
VOID KiInitializeDpcWatchdog(VOID);

/* The importance table: should inserting a DPC with this importance ask
 * the target CPU to drain its queue now?  Depth is the queue's depth with
 * the new DPC in it.  (kernel/dpc/dpc_queue.c; tests check the table.) */
BOOLEAN KiDpcRequestNow(KDPC_IMPORTANCE Importance, BOOLEAN OnCurrentCpu, ULONG Depth,
                        ULONG MaximumDepth, ULONG RequestRate, ULONG MinimumRate);

/* TRUE if processor Number has DPCs queued or is running one: ordinary
 * ones, or with Threaded its threaded queue and DPC thread (a snapshot
 * taken under its queue lock). */
BOOLEAN KiDpcQueueBusy(ULONG Number, BOOLEAN Threaded);

/* Threaded DPCs (kernel/dpc/dpc_thread.c).  KiThreadedDpcEnable: the
 * `threaded_dpcs` option, fixed before the first DPC is queued.  A
 * threaded DPC goes on the threaded queue only while it is on; off, it is
 * queued and run as an ordinary DPC, as Windows does. */
extern BOOLEAN KiThreadedDpcEnable;
static inline BOOLEAN KiIsThreadedDpc(PRKDPC Dpc)
{
    return Dpc->Type == ThreadedDpcObject && KiThreadedDpcEnable;
}
/* One DPC thread per active CPU; from the boot CPU once threads run. */
VOID KiStartDpcThreads(VOID);
/* The DPC thread's drain of its threaded queue (kernel/dpc/dpc_queue.c). */
VOID KiRetireThreadedDpcList(PKPRCB Prcb);

/* TRUE when this CPU is running on its DPC stack. */
BOOLEAN KiIsOnDpcStack(VOID);

/* The IRQL checks of this file's callers (kernel/dpc/dpc.c): in the checked
 * build a call above APC_LEVEL to a routine that waits for DPCs is
 * IRQL_NOT_LESS_OR_EQUAL. */
VOID KiCheckDpcWaitIrql(PVOID Routine, ULONG_PTR Caller);

#endif
