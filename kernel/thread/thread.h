/*
 * thread.h - the kernel's thread object and the dispatcher's internal
 * interface (the files of kernel/thread/, arch/x86_64/context.S, docs/threads.md).
 *
 * The dispatcher database: every thread's State, Priority, Affinity and
 * wait blocks, every ready queue, every dispatcher object's signal state
 * and wait list, and the timer queue.  One spin lock guards all of it,
 * KiDispatcherLock, taken at SYNCH_LEVEL (as in NT 4 to Windows XP; later
 * kernels split it per object and per CPU).  Taken from threads, DPCs and
 * the timer expiry DPC, never from an ISR: an ISR queues a DPC instead.
 */
#ifndef KERNEL_THREAD_H
#define KERNEL_THREAD_H

#include "wdm.h"
#include "kernel/smp/pcr.h"

/* DISPATCHER_HEADER.Type (the numbers Windows uses). */
#define KI_OBJECT_NOTIFICATION_EVENT    0
#define KI_OBJECT_SYNCHRONIZATION_EVENT 1
#define KI_OBJECT_MUTANT                2
#define KI_OBJECT_SEMAPHORE             5
#define KI_OBJECT_THREAD                6
#define KI_OBJECT_NOTIFICATION_TIMER    8
#define KI_OBJECT_SYNCHRONIZATION_TIMER 9

typedef enum _KTHREAD_STATE {
    Initialized, Ready, Running, Standby, Terminated, Waiting
} KTHREAD_STATE;

#define KI_TIMER_WAIT_BLOCK     THREAD_WAIT_OBJECTS     /* WaitBlock[3]: the timeout */
#define KI_SYSTEM_BASE_PRIORITY 8                       /* the System process's base */
#define KI_QUANTUM_TICKS        3                       /* clock ticks per quantum */
#define KI_THREAD_STACK_SIZE    16384

typedef struct _KTHREAD {
    DISPATCHER_HEADER Header;           /* signalled once it has terminated */

    /* Saved by arch/x86_64/context.S (offsets asserted in kernel/thread/scheduler.c). */
    ULONG_PTR KernelStack;              /* RSP while switched out */
    volatile UCHAR SwapBusy;            /* its registers are still being saved */
    UCHAR Reserved[7];

    /* Guarded by KiDispatcherLock. */
    volatile UCHAR State;               /* KTHREAD_STATE */
    BOOLEAN Preempted;                  /* to the head of its ready queue */
    BOOLEAN WaitNext;                   /* KeSetEvent(..., TRUE): a wait follows at once */
    KIRQL WaitIrql;                     /* the IRQL that wait returns to */
    volatile KPRIORITY Priority;        /* current: base plus any boost */
    KPRIORITY BasePriority;
    LONG Quantum;                       /* clock ticks left; its own CPU's clock */
    ULONG NextProcessor;                /* the CPU it runs on or is queued for */
    KAFFINITY Affinity;                 /* where it may run now */
    KAFFINITY UserAffinity;             /* ... without a system affinity */
    KAFFINITY SystemAffinity;           /* KeSetSystemAffinityThreadEx's; 0 = none */
    LIST_ENTRY ReadyListEntry;          /* on a KPRCB's ready queue */
    PKWAIT_BLOCK WaitBlockList;         /* the blocks of the current wait */
    ULONG WaitCount;                    /* objects in it (the timer not counted) */
    UCHAR WaitType;                     /* WaitAll or WaitAny */
    NTSTATUS WaitStatus;                /* set by whoever ends the wait */
    KWAIT_BLOCK WaitBlock[THREAD_WAIT_OBJECTS + 1];
    KTIMER Timer;                       /* the wait's timeout */
    LIST_ENTRY MutantListHead;          /* KMUTEXes it owns */

    /* Set at creation. */
    PKSTART_ROUTINE StartRoutine;
    PVOID StartContext;
    PVOID StackBase;                    /* top of its kernel stack */
    PVOID StackLimit;                   /* bottom (the guard page is below) */
    BOOLEAN SystemThread;               /* FALSE for the idle threads */

    /* Checked build: the lock-order context of the CPU it was switched out
     * on (kernel/locks/spinlock_check.h, ContextBase and ContextIrql). */
    ULONG SavedLockContext;
    ULONG64 ContextSwitches;            /* times switched in (tests, !thread) */

    /* Kernel APCs (kernel/thread/apc.c).  The disable counts are changed by
     * the thread itself (regions), or for it while it waits (a mutex its
     * wait took); the rest under the dispatcher lock. */
    union {
        struct {
            volatile SHORT KernelApcDisable;    /* < 0 in a critical region, or owning a KMUTEX */
            volatile SHORT SpecialApcDisable;   /* < 0 in a guarded region */
        };
        volatile ULONG CombinedApcDisable;
    };
    LIST_ENTRY KernelApcListHead;       /* special APCs first, then normal ones */
    volatile BOOLEAN KernelApcPending;  /* the list is not empty */
    BOOLEAN KernelApcInProgress;        /* a normal APC's routine runs: no other nests */
    BOOLEAN ApcQueueable;               /* FALSE once the thread is ending */
} KTHREAD;

typedef struct _ETHREAD {
    KTHREAD Tcb;
    CLIENT_ID Cid;
    NTSTATUS ExitStatus;
} ETHREAD;

/* ---- The dispatcher lock (kernel/thread/scheduler.c) ---------------------- */
KIRQL KiLockDispatcherDatabase(VOID);               /* raise to SYNCH_LEVEL and take it */
VOID KiUnlockDispatcherDatabase(KIRQL OldIrql);      /* release; lower to OldIrql */
extern KSPIN_LOCK KiDispatcherLock;

/* ---- Scheduling (kernel/thread/scheduler.c), under the dispatcher lock ---- */
/* Put Thread on a ready queue, asking a CPU to run it if it outranks what
 * that CPU runs (a DISPATCH_LEVEL software interrupt, an IPI if remote). */
VOID KiReadyThread(PKTHREAD Thread);
/* Take Thread off its ready queue (it is Ready). */
VOID KiRemoveReadyThread(PKTHREAD Thread);
/* The thread this CPU runs next, off its ready queue, or its idle thread. */
PKTHREAD KiSelectNextThread(PKPRCB Prcb);
/* The same from this CPU's own queue, left there (the 0xB8 report). */
PKTHREAD KiPeekNextThread(PKPRCB Prcb);
/* Ask the CPU running or holding Thread to reconsider (its priority or
 * affinity changed). */
VOID KiRescheduleThread(PKTHREAD Thread);
/* Switch this CPU from the current thread (already waiting, ready or
 * terminated) to the next one.  Called holding the dispatcher lock, at
 * SYNCH_LEVEL; returns, when the thread runs again, at DISPATCH_LEVEL
 * with the lock released.  A terminated thread's own reference is dropped
 * on the way (it never runs again). */
VOID KiSwapThread(PKTHREAD Current, PKPRCB Prcb);

/* From the DISPATCH_LEVEL software interrupt after the DPC queue drained,
 * and from the idle loop, at DISPATCH_LEVEL: switch if the current thread
 * is outranked, at quantum end, or outside its affinity. */
VOID KiSwitchThreadIfNeeded(VOID);
/* From the clock tick at CLOCK_LEVEL: charge the running thread's quantum. */
VOID KiThreadClockTick(VOID);
/* Some thread is on some ready queue (a hint, read without the lock). */
BOOLEAN KiReadyThreadsWaiting(VOID);
/* End the current thread's quantum now (KeDelayExecutionThread with 0). */
VOID KiYieldExecution(VOID);

/* ---- Waits (kernel/thread/wait.c), under the dispatcher lock -------------- */
/* Release whatever waits on Object that its state now allows. */
VOID KiWaitTest(PVOID Object, KPRIORITY Increment);
/* End Thread's wait with Status, unlink its blocks, ready it. */
VOID KiUnwaitThread(PKTHREAD Thread, NTSTATUS Status, KPRIORITY Increment);
/* The end of a set or release: unlock and lower to OldIrql, or with
 * Wait = TRUE stay at DISPATCH_LEVEL and remember OldIrql for the wait
 * that must follow (WDK: KeSetEvent). */
VOID KiUnlockDispatcherAfterSignal(KIRQL OldIrql, BOOLEAN Wait);
/* Type, Size (in bytes: stored in LONGs), state, an empty wait list. */
VOID KiInitializeDispatcherHeader(PDISPATCHER_HEADER Header, UCHAR Type, ULONG Size,
                                  LONG SignalState);

/* ---- Kernel APCs (kernel/thread/apc.c) ------------------------------------ */
#define STATUS_KERNEL_APC ((NTSTATUS)0x00000100L)   /* a wait ended to run an APC */
VOID KiInitializeApcs(VOID);
/* Under the dispatcher lock: CPU Number is owed an APC_LEVEL software
 * interrupt, sent when the lock is released (kernel/thread/scheduler.c). */
VOID KiRequestApcDelivery(ULONG Number);
/* Request the APC_LEVEL software interrupt on this CPU if the current
 * thread has an APC it may now run (after a region or a mutex ends). */
VOID KiCheckForKernelApcDelivery(VOID);
/* A thread ending: no more APCs; run the rundown routines of those queued. */
VOID KiRundownApcs(PKTHREAD Thread);
/* Under the dispatcher lock: Thread (waiting at WaitIrql) would run Apc now. */
BOOLEAN KiApcDeliverable(PKTHREAD Thread, PKAPC Apc);

/* ---- Mutexes (kernel/thread/mutex.c), under the dispatcher lock ----------- */
VOID KiTakeMutex(PKMUTEX Mutex, PKTHREAD Thread);

/* ---- Timers (kernel/thread/timer.c) --------------------------------------- */
/* Set Timer to expire at interrupt time Due; under the dispatcher lock.
 * FALSE if Due has passed (the caller signals it instead). */
BOOLEAN KiInsertTimer(PKTIMER Timer, ULONG64 Due);
VOID KiRemoveTimer(PKTIMER Timer);
/* From every CPU's clock tick, at CLOCK_LEVEL, with the IRQL the tick
 * interrupted: queue the expiry DPC when due. */
VOID KiTimerClockTick(KIRQL Interrupted);
VOID KiInitializeTimers(VOID);
/* Interrupt time (100 ns) for a WDK due time: < 0 relative, >= 0 absolute. */
ULONG64 KiDueInterruptTime(LONGLONG DueTime);

/* ---- Threads (kernel/thread/thread.c) ------------------------------------- */
/* A system thread at Priority that may run on Affinity, not started yet,
 * with two references: its own and the caller's.  STATUS_INVALID_PARAMETER
 * if Affinity names no online CPU, STATUS_INSUFFICIENT_RESOURCES if all
 * KI_MAXIMUM_THREADS slots are in use. */
NTSTATUS KiCreateSystemThread(PKSTART_ROUTINE StartRoutine, PVOID StartContext,
                              KAFFINITY Affinity, KPRIORITY Priority, PETHREAD *Thread);
/* Make a created thread ready to run. */
VOID KiStartThread(PETHREAD Thread);
/* This CPU's idle thread from the stack it runs on now (boot or AP start). */
VOID KiInitializeIdleThread(PVOID StackTop);
DECLSPEC_NORETURN VOID KiIdleLoop(VOID);
#define KI_MAXIMUM_THREADS 256
/* A system thread's slot in the pool: its stack and guard page. */
ULONG KiThreadSlot(PKTHREAD Thread);
/* The object manager's delete routine for a thread (kernel/ob/object.c). */
VOID KiDeleteThread(PVOID Object);
/* A running dispatcher: FALSE before the boot CPU's idle thread exists. */
BOOLEAN KiThreadsRunning(VOID);
/* The live threads (each online CPU's idle thread, then every started
 * system thread that has not ended), for the shell's !thread: the first Max
 * into Threads, the count of all returned.  Called holding the dispatcher
 * lock; the pointers are good only until it is released. */
ULONG KiEnumerateThreads(PKTHREAD *Threads, ULONG Max);

/* An exception nothing can catch (this kernel has no structured exception
 * handling): the bug check an unhandled one gets, 0x7E in a thread, 0x1E
 * elsewhere, P1 the status, P2 the address that raised it. */
DECLSPEC_NORETURN VOID KiRaiseStatus(NTSTATUS Status, ULONG_PTR Address);

/* ---- arch/x86_64/context.S ------------------------------------------------ */
/* Save the callee-saved registers and RSP in Old, clear Old->SwapBusy, wait
 * for New->SwapBusy to clear, and resume New where it was switched out. */
VOID KiSwapContext(PKTHREAD Old, PKTHREAD New);
/* First instructions of a new thread (its initial stack returns here). */
VOID KiThreadStartup(VOID);

#endif
