/*
 * dpc_queue.c - the per-CPU DPC queues: insert, remove, the drain loop run
 * by the DISPATCH_LEVEL software interrupt (vector 0x2F), and the clock
 * tick's share (thresholds, DPCs left for the tick).  docs/dpc.md.
 *
 * Each CPU's KPRCB holds a KDPC_DATA: a list of KDPCs, its lock, its depth.
 * KeInsertQueueDpc puts a DPC on the queue of the CPU it names (or the
 * current one), at the head for HighImportance, else at the tail, and then
 * asks that CPU for a DISPATCH_LEVEL software interrupt if the importance
 * table says so (WDK: Organization of DPC Queues) and none is already on its
 * way.  That CPU takes the interrupt once its IRQL drops below
 * DISPATCH_LEVEL, moves to its DPC stack and runs the queue dry, one DPC at
 * a time, each with interrupts enabled (docs/dpc.md, "The drain loop").
 *
 * The one invariant that keeps a DPC from being stranded: a CPU's queue is
 * never non-empty with DpcRoutineActive and DpcInterruptRequested both clear
 * unless every DPC on it was allowed to wait for the tick.  Inserters read
 * the flags under the queue lock; the drain loop clears them only under the
 * lock after finding the queue empty; the tick sets DpcInterruptRequested
 * for whatever was left waiting.
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/dpc/dpc.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/irql/interrupt.h"
#include "kernel/smp/smp.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/locks/lockorder.h"
#include "kernel/smp/stackguard.h"
#include "kernel/thread/thread.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/callstack.h"
#include "arch/x86_64/cpu.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))
#define KI_DPC_STACK_SIZE   16384
#define KI_NULL_PAGE_END    0xFFF       /* page 0 is never mapped (docs/boot.md) */

/* IRQL_UNEXPECTED_VALUE's "Unique" for a DPC routine that returned at the
 * wrong IRQL (the WDK uses 0-3 and 0xFE; 3 is an ISR, kernel/irql/interrupt.c). */
#define KI_IRQL_UNIQUE_DPC  4

C_ASSERT(MAXIMUM_PROCESSORS == 64);     /* wdm/dpc.h's KDPC.Number encoding */

/* Each with an unmapped guard page below it (kernel/smp/stackguard.h). */
static KI_GUARDED_STACK(KI_DPC_STACK_SIZE) KiDpcStacks[MAXIMUM_PROCESSORS];

PVOID KiDpcStackGuard(ULONG Number)
{
    return KiDpcStacks[Number].Guard;
}

/*
 * KDPC_DATA.DpcLock: a test-and-test-and-set lock on one word.  Taken with
 * interrupts disabled (cli) at any IRQL, and never held across a DPC
 * routine: the same CPU also takes it from its 0x2F handler, its clock tick
 * and any ISR that inserts a DPC, and an interrupt arriving while this CPU
 * held it would spin forever.  It protects the list and the links of the
 * DPCs on it, DpcQueueDepth and DpcCount, each queued DPC's DpcData while it
 * points here, the setting of DpcInterruptRequested by an inserter and the
 * clearing of both flags by the drain loop.
 */
static void dpc_lock(PKDPC_DATA Queue)
{
    /* Checked build: it takes part in the lock-order validator and the
     * held-lock records like any spin lock (kernel/locks/lockorder.c): the
     * spin locks callers hold when they queue a DPC are ordered before it. */
    if (DBG)
        KiLockOrderAcquire((PVOID)&Queue->DpcLock, KI_LOCK_DPC_QUEUE, CALLER);
    while (__atomic_exchange_n(&Queue->DpcLock, 1, __ATOMIC_ACQUIRE))  /* xchg: locked by itself */
        while (__atomic_load_n(&Queue->DpcLock, __ATOMIC_RELAXED))    /* spin reading, not writing */
            cpu_relax();                                             /* pause */
    if (DBG)
        KiTrackAcquire((PVOID)&Queue->DpcLock, KI_LOCK_DPC_QUEUE, KeGetCurrentIrql(),
                       KeGetCurrentIrql(), CALLER);
}

static void dpc_unlock(PKDPC_DATA Queue)
{
    if (DBG)
        KiTrackRelease((PVOID)&Queue->DpcLock, KI_LOCK_DPC_QUEUE, KI_RELEASE_KEEPS_IRQL, CALLER);
    /* A plain mov: x86 keeps it after every access made under the lock. */
    __atomic_store_n(&Queue->DpcLock, 0, __ATOMIC_RELEASE);
}

BOOLEAN KiDpcRequestNow(KDPC_IMPORTANCE Importance, BOOLEAN OnCurrentCpu, ULONG Depth,
                        ULONG MaximumDepth, ULONG RequestRate, ULONG MinimumRate)
{
    if (Depth > MaximumDepth)
        return TRUE;                    /* any importance, any CPU: the queue is too deep */
    if (OnCurrentCpu)
        return Importance != LowImportance || RequestRate < MinimumRate;
    return Importance == HighImportance || Importance == MediumHighImportance;
}

/* The KPRCB whose queue Dpc goes on; bad numbers are a bug check. */
static PKPRCB target_of(PRKDPC Dpc)
{
    ULONG number = Dpc->Number;

    if (number == 0)
        return KeGetCurrentPrcb();
    if (number < MAXIMUM_PROCESSORS || number - MAXIMUM_PROCESSORS >= KiActiveProcessorCount())
        /* WDK: Bug Check 0xC7, P1 3: P2 the DPC, P3 its processor number
         * (Number - MAXIMUM_PROCESSORS, negative for 1..63), P4 the CPU count. */
        KeBugCheckEx(TIMER_OR_DPC_INVALID, 3, (ULONG_PTR)Dpc,
                     (ULONG_PTR)((LONG_PTR)number - MAXIMUM_PROCESSORS), KiActiveProcessorCount());
    return &KiProcessorBlock[number - MAXIMUM_PROCESSORS].Prcb;
}

BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    if (Dpc->DeferredRoutine == NULL)
        /* WDK: Bug Check 0xC7, P1 2: the routine (P2) lies in a range where
         * no DPC routine may be (P3..P4): the null page. */
        KeBugCheckEx(TIMER_OR_DPC_INVALID, 2, 0, 0, KI_NULL_PAGE_END);

    ULONG64 flags = interrupts_save_disable();
    PKPRCB target = target_of(Dpc);
    PKDPC_DATA queue = &target->DpcData;
    PVOID unqueued = NULL;
    BOOLEAN inserted = FALSE, request = FALSE;
    BOOLEAN threaded = KiIsThreadedDpc(Dpc);

    dpc_lock(queue);
    KI_RACE_POINT("dpc.insert.locked");
    /* lock cmpxchg: another CPU may be inserting this DPC on another queue. */
    if (__atomic_compare_exchange_n(&Dpc->DpcData, &unqueued, queue, FALSE, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
        inserted = TRUE;
        Dpc->SystemArgument1 = SystemArgument1;
        Dpc->SystemArgument2 = SystemArgument2;
        PLIST_ENTRY head = threaded ? &queue->ThreadedDpcListHead : &queue->DpcListHead;
        if (Dpc->Importance == HighImportance)
            InsertHeadList(head, &Dpc->DpcListEntry);
        else
            InsertTailList(head, &Dpc->DpcListEntry);
        queue->DpcCount++;
        if (threaded) {
            queue->ThreadedDpcQueueDepth++;
            /* The thread clears DpcThreadRequested only under this lock
             * after finding its queue empty: while set, it will see ours. */
            if (!target->DpcThreadRequested) {
                target->DpcThreadRequested = TRUE;
                target->DpcSetEventRequest = TRUE;  /* for the 0x2F handler */
                request = TRUE;
            }
            KI_RACE_POINT("dpc.insert.threaded_queued");
        } else {
            queue->DpcQueueDepth++;
            if (KiDpcRequestNow((KDPC_IMPORTANCE)Dpc->Importance, target == KeGetCurrentPrcb(),
                                queue->DpcQueueDepth, target->MaximumDpcQueueDepth,
                                target->DpcRequestRate, target->MinimumDpcRate) &&
                !target->DpcRoutineActive && !target->DpcInterruptRequested) {
                target->DpcInterruptRequested = TRUE;   /* later inserters need not ask again */
                request = TRUE;
            }
        }
        KI_RACE_POINT("dpc.insert.queued");     /* on the list, flags decided */
        KI_TRACE(KI_TRACE_DPC, KI_TRACE_DPC_INSERT, Dpc->DeferredRoutine, Dpc,
                 (target->Number << 8) | Dpc->Importance);
    }
    dpc_unlock(queue);
    KI_RACE_POINT("dpc.insert.unlocked");       /* the target may drain it before we ask */

    /* To this CPU: a self-IPI that is pending before this returns, so at
     * PASSIVE_LEVEL the DPC runs the moment popf below sets IF again.  For a
     * threaded DPC the same interrupt wakes the DPC thread: the inserter may
     * be an ISR, which must not take the dispatcher lock KeSetEvent takes. */
    if (request)
        KiRequestSoftwareInterruptOn(target->Number, DISPATCH_LEVEL);
    restore_rflags(flags);
    return inserted;
}

BOOLEAN NTAPI KeRemoveQueueDpc(PRKDPC Dpc)
{
    ULONG64 flags = interrupts_save_disable();
    BOOLEAN removed = FALSE;
    PKDPC_DATA queue;

    /* DpcData may change under us (drained, then queued elsewhere): only a
     * check under the lock of the queue it names counts. */
    while (!removed && (queue = __atomic_load_n(&Dpc->DpcData, __ATOMIC_ACQUIRE)) != NULL) {
        KI_RACE_POINT("dpc.remove.read_queue");     /* it may be drained and queued elsewhere */
        dpc_lock(queue);
        if (Dpc->DpcData == queue) {
            RemoveEntryList(&Dpc->DpcListEntry);
            if (KiIsThreadedDpc(Dpc))
                queue->ThreadedDpcQueueDepth--;
            else
                queue->DpcQueueDepth--;
            __atomic_store_n(&Dpc->DpcData, NULL, __ATOMIC_RELEASE);
            removed = TRUE;
        }
        dpc_unlock(queue);
    }
    restore_rflags(flags);
    return removed;
}

LOGICAL NTAPI KeIsExecutingDpc(VOID)
{
    return KeGetCurrentPrcb()->DpcRoutineActive;
}

BOOLEAN KiDpcQueueBusy(ULONG Number, BOOLEAN Threaded)
{
    PKPRCB prcb = &KiProcessorBlock[Number].Prcb;
    PKDPC_DATA queue = &prcb->DpcData;
    ULONG64 flags = interrupts_save_disable();

    dpc_lock(queue);
    BOOLEAN busy = Threaded ? queue->ThreadedDpcQueueDepth != 0 || prcb->DpcThreadActive
                            : queue->DpcQueueDepth != 0 || prcb->DpcRoutineActive;
    dpc_unlock(queue);
    restore_rflags(flags);
    return busy;
}

BOOLEAN KiIsOnDpcStack(VOID)
{
    UCHAR here;
    PUCHAR top = KeGetCurrentPrcb()->DpcStack;

    return &here < top && &here >= top - KI_DPC_STACK_SIZE;
}

/* A DPC routine must give back the level it was called at: DISPATCH_LEVEL,
 * or PASSIVE_LEVEL for a threaded one.  Checked build: WDK Bug Check 0xC8,
 * P1 (found << 16) | (Expected << 8) | 4, P2 the routine, P3 the KDPC, P4
 * its context.  Free build: put Expected back, so the loop goes on at its
 * own level and 0x2F cannot nest on the DPC stack. */
static void check_returned_irql(KIRQL Expected, PKDEFERRED_ROUTINE Routine, PKDPC Dpc,
                                PVOID Context)
{
    KIRQL found = (KIRQL)__readcr8();

    if (found == Expected)
        return;
    if (DBG)
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE,
                     ((ULONG_PTR)found << 16) | ((ULONG_PTR)Expected << 8) | KI_IRQL_UNIQUE_DPC,
                     (ULONG_PTR)Routine, (ULONG_PTR)Dpc, (ULONG_PTR)Context);
    __writecr8(Expected);
}

/* What a drain loop calls, taken off its list under the queue lock. */
typedef struct _KI_DPC_CALL {
    PKDPC Dpc;
    PKDEFERRED_ROUTINE Routine;
    PVOID Context, Argument1, Argument2;
} KI_DPC_CALL;

/* Under the queue lock: the head of List, unqueued before its routine is
 * called (the routine may queue it again, and KeRemoveQueueDpc now says
 * FALSE: it has started). */
static VOID dequeue(PLIST_ENTRY List, volatile ULONG *Depth, KI_DPC_CALL *Call)
{
    PKDPC dpc = CONTAINING_RECORD(RemoveHeadList(List), KDPC, DpcListEntry);

    Call->Dpc = dpc;
    Call->Routine = dpc->DeferredRoutine;
    Call->Context = dpc->DeferredContext;
    Call->Argument1 = dpc->SystemArgument1;
    Call->Argument2 = dpc->SystemArgument2;
    (*Depth)--;
    __atomic_store_n(&dpc->DpcData, NULL, __ATOMIC_RELEASE);
}

/* Call a dequeued routine at Level, then check it kept no lock (first: its
 * raise would explain a wrong IRQL; else the next DPC, or the code below
 * us, takes the blame) and gave Level back.  The KDPC may be gone by then:
 * a number only. */
static VOID call_dpc(PKPRCB Prcb, const KI_DPC_CALL *Call, KIRQL Level)
{
    ULONG held = DBG ? KiHeldSpinLockCount() : 0;

    Prcb->DpcRoutineCount++;
    KI_TRACE(KI_TRACE_DPC, KI_TRACE_DPC_START, Call->Routine, Call->Dpc, 0);
    Call->Routine(Call->Dpc, Call->Context, Call->Argument1, Call->Argument2);
    KI_TRACE(KI_TRACE_DPC, KI_TRACE_DPC_END, Call->Routine, Call->Dpc, 0);
    if (DBG)
        KiCheckNoLockKept(held, (PVOID)Call->Routine);
    check_returned_irql(Level, Call->Routine, Call->Dpc, Call->Context);
}

/* The drain loop (docs/dpc.md), on the DPC stack at DISPATCH_LEVEL. */
static VOID retire_dpc_list(PVOID Context)
{
    PKPRCB prcb = Context;
    PKDPC_DATA queue = &prcb->DpcData;

    prcb->DpcRoutineActive = TRUE;
    for (;;) {
        cli();
        dpc_lock(queue);
        if (IsListEmpty(&queue->DpcListHead)) {
            /* Cleared under the lock: an inserter that held it before us
             * left its DPC on the list (not empty, then); one that takes it
             * after us sees the flags clear and asks for a new interrupt. */
            prcb->DpcRoutineActive = FALSE;
            prcb->DpcInterruptRequested = FALSE;
            KI_RACE_POINT("dpc.drain.found_empty");
            dpc_unlock(queue);
            KI_RACE_POINT("dpc.drain.idle");    /* an inserter now sees the flags clear */
            sti();
            return;
        }
        KI_DPC_CALL call;
        dequeue(&queue->DpcListHead, &queue->DpcQueueDepth, &call);
        KI_RACE_POINT("dpc.drain.dequeued");
        dpc_unlock(queue);
        sti();
        KI_RACE_POINT("dpc.drain.calling");      /* it may be queued again already */

        prcb->DpcRoutineStart = rdtsc();        /* the watchdog's single-DPC clock */
        call_dpc(prcb, &call, DISPATCH_LEVEL);
    }
}

/* The DPC thread's drain loop (kernel/dpc/dpc_thread.c), at PASSIVE_LEVEL
 * in that thread: the threaded queue in order, each routine called with
 * DpcThreadActive set and interrupts enabled, so an ordinary DPC (0x2F)
 * may preempt it at any point it runs below DISPATCH_LEVEL. */
VOID KiRetireThreadedDpcList(PKPRCB Prcb)
{
    PKDPC_DATA queue = &Prcb->DpcData;

    for (;;) {
        cli();
        dpc_lock(queue);
        if (IsListEmpty(&queue->ThreadedDpcListHead)) {
            /* Under the lock, as the ordinary loop clears its flags: an
             * inserter after us sees it clear and wakes us again. */
            Prcb->DpcThreadActive = FALSE;
            Prcb->DpcThreadRequested = FALSE;
            KI_RACE_POINT("dpc.thread.found_empty");
            dpc_unlock(queue);
            sti();
            return;
        }
        KI_DPC_CALL call;
        dequeue(&queue->ThreadedDpcListHead, &queue->ThreadedDpcQueueDepth, &call);
        /* Set under the lock: KeFlushQueuedDpcs reads the queue and this
         * flag together and must see one or the other. */
        Prcb->DpcThreadActive = TRUE;
        KI_RACE_POINT("dpc.thread.dequeued");
        dpc_unlock(queue);
        sti();
        KI_RACE_POINT("dpc.thread.calling");
        call_dpc(Prcb, &call, PASSIVE_LEVEL);
    }
}

/* Vector 0x2F, at DISPATCH_LEVEL with interrupts enabled (kernel/irql/interrupt.c
 * raised CR8 and sent the EOI): the DPC queue first, then the thread
 * dispatcher.  Nesting here is impossible while a DPC
 * keeps DISPATCH_LEVEL; should one lower it anyway (free build), the nested
 * drain stays on the stack it is on. */
static VOID dpc_interrupt(PKTRAP_FRAME TrapFrame, PVOID Context)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    UNREFERENCED_PARAMETER(TrapFrame);
    UNREFERENCED_PARAMETER(Context);
    if (KiIsOnDpcStack()) {
        retire_dpc_list(prcb);          /* nested in a DPC routine: never a switch here */
        return;
    }
    KiCallOnStack(retire_dpc_list, prcb, prcb->DpcStack);
    /* Threaded DPCs were queued here: wake the DPC thread.  Here, at
     * DISPATCH_LEVEL, the dispatcher lock may be taken; in the inserter,
     * perhaps an ISR, it may not.  The switch below runs the thread at
     * once if it outranks the current one (it has priority 31). */
    if (prcb->DpcThread != NULL && __atomic_exchange_n(&prcb->DpcSetEventRequest, 0,
                                                       __ATOMIC_ACQ_REL)) {
        KI_RACE_POINT("dpc.thread.set_event");
        KeSetEvent(&prcb->DpcEvent, 0, FALSE);
    }
    /* The queue is empty and no DPC routine runs: the dispatcher's turn
     * (preemption, quantum end; kernel/thread/scheduler.c). */
    KiSwitchThreadIfNeeded();
}

/* Thresholds per tick (WDK: Organization of DPC Queues): the request rate
 * is a running average of DPCs queued per tick; a queue left waiting gets
 * its interrupt now, and the depth that forces one shrinks while DPCs come
 * slowly, and grows back every AdjustDpcThreshold quiet ticks. */
VOID KiDpcClockTick(PKTRAP_FRAME TrapFrame)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    PKDPC_DATA queue = &prcb->DpcData;
    ULONG count = queue->DpcCount;
    BOOLEAN request = FALSE;

    prcb->DpcRequestRate = ((count - prcb->DpcLastCount) + prcb->DpcRequestRate) / 2;
    prcb->DpcLastCount = count;

    ULONG64 flags = interrupts_save_disable();
    dpc_lock(queue);
    KI_RACE_POINT("dpc.tick.locked");
    if (queue->DpcQueueDepth != 0 && !prcb->DpcRoutineActive && !prcb->DpcInterruptRequested) {
        prcb->DpcInterruptRequested = TRUE;
        request = TRUE;
    }
    dpc_unlock(queue);
    if (request) {
        KiRequestSoftwareInterrupt(DISPATCH_LEVEL);     /* taken once the tick returns */
        if (prcb->DpcRequestRate < KI_IDEAL_DPC_RATE && prcb->MaximumDpcQueueDepth > 1)
            prcb->MaximumDpcQueueDepth--;
    } else if (--prcb->AdjustDpcThreshold == 0) {
        prcb->AdjustDpcThreshold = KI_ADJUST_DPC_THRESHOLD;
        if (prcb->MaximumDpcQueueDepth < KI_DPC_QUEUE_DEPTH)
            prcb->MaximumDpcQueueDepth++;
    }
    restore_rflags(flags);

    KiDpcWatchdogTick(prcb, TrapFrame);
}

VOID KiInitializeDpcProcessor(VOID)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    InitializeListHead(&prcb->DpcData.DpcListHead);
    InitializeListHead(&prcb->DpcData.ThreadedDpcListHead);
    KeInitializeEvent(&prcb->DpcEvent, SynchronizationEvent, FALSE);
    if (DBG)        /* every CPU's queue lock one class: initialised here */
        KiLockOrderInitialize((PVOID)&prcb->DpcData.DpcLock, (ULONG_PTR)KiInitializeDpcProcessor);
    prcb->MaximumDpcQueueDepth = KI_DPC_QUEUE_DEPTH;
    prcb->MinimumDpcRate = KI_MINIMUM_DPC_RATE;
    prcb->AdjustDpcThreshold = KI_ADJUST_DPC_THRESHOLD;
    prcb->DpcStack = &KiDpcStacks[prcb->Number].Stack[KI_DPC_STACK_SIZE];
    if (prcb->Number == 0) {
        KiInitializeDpcWatchdog();
        KiSetInterruptHandler(KI_VECTOR_DPC, dpc_interrupt, NULL);
    }
}
