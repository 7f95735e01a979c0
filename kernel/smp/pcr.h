/*
 * pcr.h - per-processor state: the KPCR and its KPRCB, reached through GS.
 *
 * Each CPU's GS base (MSR 0xC0000101) holds the address of its own KPCR, whose
 * first field points at itself, so `mov %gs:0, %rax` yields a plain pointer
 * (NT's KeGetPcr()).  The fields are NT's names; the layout is ours (drivers
 * never see it).  Fields used from assembly have their offsets asserted.
 */
#ifndef KERNEL_PCR_H
#define KERNEL_PCR_H

#include "ntdef.h"
#include "kernel/locks/spinlock_check.h"     /* KSPIN_LOCK_QUEUE, KI_SPIN_LOCK_TRACE */
#include "wdm.h"                             /* KEVENT */

#define MAXIMUM_PROCESSORS 64

typedef struct _KPRCB {
    ULONG Number;               /* processor number, 0 = boot CPU */
    ULONG ApicId;               /* local APIC id, from the MADT / CPUID */
    struct _KTHREAD *volatile CurrentThread;    /* at +8: gs:0x188 (wdm/thread.h) */
    struct _KTHREAD *IdleThread;
    KIRQL DebuggerSavedIrql;    /* IRQL seen when a bug check froze this CPU */
    /* A threaded DPC routine is running on this CPU's DPC thread (the KPRCB
     * field Windows calls DpcThreadActive): the ForDpc lock routines raise
     * and lower only while it is set.  At a fixed offset for their free-build
     * fast paths (KI_PCR_DPC_THREAD_ACTIVE). */
    volatile UCHAR DpcThreadActive;

    /* Threads (kernel/thread/scheduler.c, docs/threads.md).  The ready queue:
     * one list per priority and a bit per non-empty list, guarded by the
     * dispatcher lock.  QuantumEnd: set by this CPU's clock, read by its
     * DISPATCH_LEVEL software interrupt. */
    volatile ULONG ReadySummary;
    volatile UCHAR QuantumEnd;
    LIST_ENTRY DispatcherReadyListHead[32];
    volatile ULONG64 ContextSwitches;

    /* Clock and IPIs (kernel/irql/clock.c, kernel/irql/ipi.c). */
    volatile ULONG64 ClockTicks;        /* this CPU's clock interrupts */
    volatile LONG IpiRequests;          /* KI_IPI_* bits; set by senders, taken by xchg */
    volatile ULONG IpiPingCount;        /* KI_IPI_PING requests served (tests) */
    volatile LONG NmiPingsExpected;     /* NMIs sent on purpose, not yet taken (KiSendNmiPing) */
    volatile ULONG NmiPingCount;        /* ... and taken */

    /* Work for this CPU's idle loop, at PASSIVE_LEVEL (kernel/smp/smp.c). */
    VOID (*volatile IdleRoutine)(PVOID Context);
    PVOID IdleContext;

    /* Spin locks (kernel/locks/queuedlock.c, kernel/locks/spinlock.c, kernel/locks/spinlock_check.h).
     * LockQueue: this CPU's queue entry for each numbered queued lock, each
     * pointing at its global lock word (KiInitializeLockQueues); used only
     * by this CPU, at DISPATCH_LEVEL or above.  SpinLockTrace: the locks
     * this CPU holds (checked build only; the free build never touches it). */
    KSPIN_LOCK_QUEUE LockQueue[LockQueueMaximumLock];
    KI_SPIN_LOCK_TRACE SpinLockTrace;

    /* DPCs (kernel/dpc/dpc_queue.c, kernel/dpc/dpc_watchdog.c, docs/dpc.md).  DpcData
     * is this CPU's queue; its DpcLock, taken with interrupts off, guards
     * the list, the depth and the clearing of the two flags below.  The
     * thresholds and counts after them belong to this CPU's clock tick. */
    struct _KDPC_DATA {
        LIST_ENTRY DpcListHead;
        volatile LONG DpcLock;
        volatile ULONG DpcQueueDepth;
        volatile ULONG DpcCount;        /* DPCs ever queued here */
        /* Threaded DPCs (DPC_THREADED): run by this CPU's DPC thread at
         * PASSIVE_LEVEL, under the same lock (kernel/dpc/dpc_thread.c). */
        LIST_ENTRY ThreadedDpcListHead;
        volatile ULONG ThreadedDpcQueueDepth;
    } DpcData;
    volatile UCHAR DpcRoutineActive;    /* the drain loop is running */
    volatile UCHAR DpcInterruptRequested; /* a 0x2F is on its way here */
    ULONG MaximumDpcQueueDepth;
    ULONG MinimumDpcRate;
    ULONG DpcRequestRate;
    ULONG DpcLastCount;
    ULONG AdjustDpcThreshold;           /* ticks until MaximumDpcQueueDepth grows */
    volatile ULONG64 DpcRoutineStart;   /* TSC when the running DPC routine was called */
    ULONG64 DpcRoutineCount;            /* DPC routines called here (the tracer's check) */
    ULONG64 DpcWatchdogStart;           /* TSC a tick before the stretch at >= DISPATCH_LEVEL was seen */
    volatile ULONG DpcWatchdogCount;    /* that stretch in ticks (TSC time), 0 = none */
    PVOID DpcStack;                     /* top of this CPU's DPC stack */
    /* The DPC thread (kernel/dpc/dpc_thread.c).  DpcThreadRequested: set
     * by an inserter under DpcLock when the threaded queue gains work,
     * cleared only by the thread under DpcLock once it finds that queue
     * empty.  DpcSetEventRequest: the next 0x2F here must set DpcEvent. */
    volatile UCHAR DpcThreadRequested;
    volatile UCHAR DpcSetEventRequest;
    struct _KTHREAD *DpcThread;         /* NULL until created (or threaded_dpcs=off) */
    KEVENT DpcEvent;                    /* synchronization event the thread waits on */

    /* Race points (kernel/debug/race.c; RACE=1 builds, `race=` on): this CPU's
     * generator, the waits it made, and a software-interrupt self-IPI held
     * back by the APIC latency model.  This CPU's alone. */
    ULONG64 RaceState;
    ULONG64 RaceWaits;
    ULONG RaceHeldVector;               /* 0: none held */
    ULONG RaceHeldReads;                /* IRR reads until it is sent */
} KPRCB, *PKPRCB;

typedef struct _KPCR {
    struct _KPCR *Self;         /* gs:0, this block */
    struct _KPRCB *CurrentPrcb; /* gs:8, &Prcb */
    UCHAR Reserved[0x170];      /* the KPRCB where the WDK's x64 KPCR has it */
    KPRCB Prcb;                 /* gs:0x180 */
} KPCR, *PKPCR;

C_ASSERT(offsetof(KPCR, Self) == 0);
C_ASSERT(offsetof(KPCR, CurrentPrcb) == 8);
C_ASSERT(offsetof(KPCR, Prcb) == 0x180);
C_ASSERT(offsetof(KPCR, Prcb.CurrentThread) == 0x188);     /* KeGetCurrentThread */
C_ASSERT(offsetof(KPCR, Prcb.DpcThreadActive) == KI_PCR_DPC_THREAD_ACTIVE);

extern KPCR KiProcessorBlock[MAXIMUM_PROCESSORS];

/* gs:0 holds the KPCR's own address: one load, no MSR read. */
static inline PKPCR KeGetPcr(void)
{
    PKPCR pcr;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(pcr));
    return pcr;
}

static inline PKPRCB KeGetCurrentPrcb(void)
{
    PKPRCB prcb;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(prcb));
    return prcb;
}

/* Point this CPU's GS base at KiProcessorBlock[Number] and fill its self
 * pointers (kernel/smp/pcr.c). */
void KiInitializePcr(ULONG Number, ULONG ApicId);

#endif
