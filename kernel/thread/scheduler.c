/*
 * scheduler.c - ready queues, choosing a CPU for a thread, choosing a thread
 * for a CPU, and the switch itself (docs/threads.md).
 *
 * Each CPU has 32 ready lists, one per priority, and a summary word with a
 * bit per non-empty list (KPRCB.DispatcherReadyListHead, ReadySummary).  A
 * thread that becomes ready goes to the queue of one CPU (KiReadyThread):
 * an idle one if its affinity has one, else the one running the lowest
 * priority below its own, else its last one.  If it outranks what that CPU
 * runs, the CPU gets a DISPATCH_LEVEL software interrupt (an IPI when it is
 * another CPU), sent once the dispatcher lock is released.  That interrupt's handler drains the DPC queue first, then
 * calls KiSwitchThreadIfNeeded, which switches if a queued thread outranks
 * the current one, or on quantum end if one equals it.
 *
 * Why DISPATCH_LEVEL: while a CPU's IRQL is DISPATCH_LEVEL or above, the
 * 0x2F interrupt is masked (SDM Vol. 3A 11.8.3.1), so nothing switches the
 * running thread out.  A thread holding a spin lock (raised to DISPATCH_LEVEL
 * or above) keeps its CPU until it releases the lock and lowers IRQL; the
 * pending interrupt is taken at that instruction.
 *
 * Everything here runs under KiDispatcherLock at SYNCH_LEVEL.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/dpc/dpc.h"
#include "kernel/irql/interrupt.h"
#include "kernel/smp/smp.h"
#include "arch/x86_64/cpu.h"

KSPIN_LOCK KiDispatcherLock;
static volatile LONG KiReadyThreadCount;        /* on any ready queue: the idle loops' hint */

C_ASSERT(offsetof(KTHREAD, KernelStack) == 0x18);  /* arch/x86_64/context.S */
C_ASSERT(offsetof(KTHREAD, SwapBusy) == 0x20);

/* CPUs owed a DISPATCH_LEVEL software interrupt by the lock's holder
 * (KiReadyThread): sent after the release, since an IPI to a halted vCPU
 * can cost more than everything else done under the lock. */
static KAFFINITY KiDeferredDispatchTargets;
static KAFFINITY KiDeferredApcTargets;      /* the same for APC_LEVEL (kernel/thread/apc.c) */

VOID KiRequestApcDelivery(ULONG Number)
{
    KiDeferredApcTargets |= (KAFFINITY)1 << Number;
}

static VOID request_software_interrupts(KAFFINITY Targets, KIRQL Level)
{
    for (ULONG n = 0; Targets; n++, Targets >>= 1)
        if (Targets & 1)
            KiRequestSoftwareInterruptOn(n, Level);
}

KIRQL KiLockDispatcherDatabase(VOID)
{
    KIRQL old = KeRaiseIrqlToSynchLevel();

    KeAcquireSpinLockAtDpcLevel(&KiDispatcherLock);
    return old;
}

VOID KiUnlockDispatcherDatabase(KIRQL OldIrql)
{
    KAFFINITY dispatch = KiDeferredDispatchTargets, apc = KiDeferredApcTargets;

    KiDeferredDispatchTargets = KiDeferredApcTargets = 0;
    KeReleaseSpinLockFromDpcLevel(&KiDispatcherLock);
    KI_RACE_POINT("dispatcher.unlocked");   /* the targets may switch before they hear */
    request_software_interrupts(dispatch, DISPATCH_LEVEL);
    request_software_interrupts(apc, APC_LEVEL);
    KeLowerIrql(OldIrql);
}

static PKPRCB prcb_of(ULONG Number)
{
    return &KiProcessorBlock[Number].Prcb;
}

static KAFFINITY bit(ULONG Number)
{
    return (KAFFINITY)1 << Number;
}

/* The highest priority queued on Prcb, -1 if none. */
static LONG highest_ready(PKPRCB Prcb)
{
    ULONG summary = Prcb->ReadySummary;
    return summary ? 31 - __builtin_clz(summary) : -1;
}

static VOID insert_ready(PKPRCB Prcb, PKTHREAD Thread, BOOLEAN AtHead)
{
    PLIST_ENTRY list = &Prcb->DispatcherReadyListHead[Thread->Priority];

    if (AtHead)
        InsertHeadList(list, &Thread->ReadyListEntry);
    else
        InsertTailList(list, &Thread->ReadyListEntry);
    Prcb->ReadySummary |= 1u << Thread->Priority;
    Thread->State = Ready;
    Thread->NextProcessor = Prcb->Number;
    KiReadyThreadCount++;
}

VOID KiRemoveReadyThread(PKTHREAD Thread)
{
    PKPRCB prcb = prcb_of(Thread->NextProcessor);

    RemoveEntryList(&Thread->ReadyListEntry);
    if (IsListEmpty(&prcb->DispatcherReadyListHead[Thread->Priority]))
        prcb->ReadySummary &= ~(1u << Thread->Priority);
    KiReadyThreadCount--;
}

/* Idle, and nothing queued for it yet. */
static BOOLEAN is_idle(PKPRCB Prcb)
{
    return Prcb->CurrentThread == Prcb->IdleThread && Prcb->ReadySummary == 0;
}

/* What a CPU is about to run: its current thread or its best queued one. */
static LONG busy_priority(PKPRCB Prcb)
{
    LONG running = Prcb->CurrentThread == Prcb->IdleThread ? -1 : Prcb->CurrentThread->Priority;
    LONG queued = highest_ready(Prcb);
    return running > queued ? running : queued;
}

static PKPRCB choose_processor(PKTHREAD Thread)
{
    KAFFINITY allowed = Thread->Affinity & KiActiveProcessorSet();
    ULONG last = Thread->NextProcessor;
    PKPRCB lowest = NULL;
    LONG lowest_priority = Thread->Priority;

    if ((allowed & bit(last)) && is_idle(prcb_of(last)))
        return prcb_of(last);           /* warm caches, and no one else needs it */
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        if (!(allowed & bit(n)))
            continue;
        if (is_idle(prcb_of(n)))
            return prcb_of(n);
        LONG busy = busy_priority(prcb_of(n));
        if (busy < lowest_priority) {
            lowest = prcb_of(n);
            lowest_priority = busy;
        }
    }
    if (lowest)
        return lowest;                  /* it will preempt what runs there */
    return prcb_of((allowed & bit(last)) ? last : (ULONG)__builtin_ctzll(allowed));
}

VOID KiReadyThread(PKTHREAD Thread)
{
    PKPRCB target = choose_processor(Thread);
    BOOLEAN at_head = Thread->Preempted;    /* a preempted thread goes first again */

    Thread->Preempted = FALSE;
    insert_ready(target, Thread, at_head);
    KI_TRACE(KI_TRACE_THREADS, KI_TRACE_THREAD_READY, KI_TRACE_THREAD_ID(Thread), target->Number,
             Thread->Priority);
    KI_RACE_POINT("thread.ready.queued");
    PKTHREAD running = target->CurrentThread;
    if (running == target->IdleThread || Thread->Priority > running->Priority)
        KiDeferredDispatchTargets |= bit(target->Number);   /* sent at the unlock */
}

VOID KiRescheduleThread(PKTHREAD Thread)
{
    if (Thread->State == Ready) {
        KiRemoveReadyThread(Thread);
        KiReadyThread(Thread);
    } else if (Thread->State == Running) {
        KiDeferredDispatchTargets |= bit(Thread->NextProcessor);
    }
}

static PKTHREAD take_first(PKPRCB Prcb, LONG Priority)
{
    PKTHREAD thread = CONTAINING_RECORD(Prcb->DispatcherReadyListHead[Priority].Flink, KTHREAD,
                                        ReadyListEntry);
    KiRemoveReadyThread(thread);
    return thread;
}

/* The best ready thread on another CPU's queue that may run on Prcb. */
static PKTHREAD steal(PKPRCB Prcb)
{
    PKTHREAD best = NULL;

    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        PKPRCB other = prcb_of(n);
        if (other == Prcb || !(KiActiveProcessorSet() & bit(n)))
            continue;
        for (LONG p = highest_ready(other); p > (best ? best->Priority : -1); p--) {
            PLIST_ENTRY head = &other->DispatcherReadyListHead[p];
            for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
                PKTHREAD t = CONTAINING_RECORD(e, KTHREAD, ReadyListEntry);
                if (t->Affinity & bit(Prcb->Number)) {
                    best = t;
                    break;
                }
            }
        }
    }
    if (best)
        KiRemoveReadyThread(best);
    return best;
}

PKTHREAD KiPeekNextThread(PKPRCB Prcb)
{
    LONG p = highest_ready(Prcb);

    return p >= 0 ? CONTAINING_RECORD(Prcb->DispatcherReadyListHead[p].Flink, KTHREAD,
                                      ReadyListEntry)
                  : Prcb->IdleThread;
}

PKTHREAD KiSelectNextThread(PKPRCB Prcb)
{
    LONG p = highest_ready(Prcb);
    PKTHREAD next = p >= 0 ? take_first(Prcb, p) : steal(Prcb);

    return next ? next : Prcb->IdleThread;
}

/* Switch this CPU from Current to Next.  Dispatcher lock held at
 * SYNCH_LEVEL, Current->SwapBusy set (so no CPU resumes it before its
 * registers are saved).  Returns when Current runs again, at DISPATCH_LEVEL;
 * a terminated Current never does. */
static VOID switch_to(PKTHREAD Current, PKTHREAD Next, PKPRCB Prcb)
{
    KI_SPIN_LOCK_TRACE *locks = &Prcb->SpinLockTrace;

    Next->State = Running;
    Next->NextProcessor = Prcb->Number;
    if (Next == Current) {              /* requeued and picked again: nothing to switch */
        Current->SwapBusy = FALSE;
        KiUnlockDispatcherDatabase(DISPATCH_LEVEL);
        return;
    }
    Prcb->CurrentThread = Next;
    Prcb->ContextSwitches++;
    Next->ContextSwitches++;
    /* Under the lock: Current cannot be readied elsewhere (nor, ending, freed) before it. */
    KI_TRACE(KI_TRACE_THREADS, KI_TRACE_THREAD_SWITCH, Next->StartRoutine,
             ((ULONG64)Current->State << 32) | KI_TRACE_THREAD_ID(Current), KI_TRACE_THREAD_ID(Next));
    if (DBG)    /* the lock-order context belongs to the thread, not the CPU */
        Current->SavedLockContext = (locks->ContextBase << 8) | locks->ContextIrql;
    KiUnlockDispatcherDatabase(DISPATCH_LEVEL);
    KI_RACE_POINT("thread.swap.unlocked");   /* Current may be readied elsewhere already */
    if (Current->State == Terminated)
        /* Its own reference (kernel/thread/thread.c): the slot may be taken
         * now, and its next owner waits for SwapBusy before using the stack. */
        ObfDereferenceObject(Current);
    KiSwapContext(Current, Next);
    /* Current again, perhaps on another CPU: its KPRCB now. */
    locks = &KeGetCurrentPrcb()->SpinLockTrace;
    if (DBG) {
        locks->ContextBase = Current->SavedLockContext >> 8;
        locks->ContextIrql = (KIRQL)Current->SavedLockContext;
    }
    if (Current->KernelApcPending)      /* queued while it was not running: run them now */
        KiRequestSoftwareInterrupt(APC_LEVEL);
}

VOID KiSwapThread(PKTHREAD Current, PKPRCB Prcb)
{
    Current->SwapBusy = TRUE;
    switch_to(Current, KiSelectNextThread(Prcb), Prcb);
}

/*
 * From the DISPATCH_LEVEL software interrupt once the DPC queue is empty
 * (kernel/dpc/dpc_queue.c), never inside a DPC routine, and from the idle
 * loop at DISPATCH_LEVEL.  Switches when the current thread must leave this
 * CPU (affinity), is outranked by a queued thread (preemption: back to the
 * head of its queue), or used up its quantum and a queued thread of equal
 * priority waits (round robin: to the tail).
 */
VOID KiSwitchThreadIfNeeded(VOID)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    PKTHREAD current = prcb->CurrentThread;

    if (current == NULL)                /* before this CPU's idle thread exists */
        return;
    if (!prcb->QuantumEnd && prcb->ReadySummary == 0 && (current->Affinity & bit(prcb->Number)) &&
        !(current == prcb->IdleThread && KiReadyThreadCount != 0))
        return;                         /* the common case, without the lock */

    KiLockDispatcherDatabase();
    BOOLEAN quantum_end = prcb->QuantumEnd;
    PKTHREAD next = NULL;
    LONG queued = highest_ready(prcb);
    prcb->QuantumEnd = FALSE;
    if (current == prcb->IdleThread) {
        next = KiSelectNextThread(prcb);
        if (next == current)
            next = NULL;
    } else if (!(current->Affinity & bit(prcb->Number))) {
        next = KiSelectNextThread(prcb);
    } else if (queued > current->Priority) {
        current->Preempted = TRUE;
        next = take_first(prcb, queued);
    } else if (quantum_end) {
        current->Quantum = KI_QUANTUM_TICKS;
        if (current->Priority > current->BasePriority)
            current->Priority--;        /* a wait's boost decays one level a quantum */
        if (queued >= current->Priority && queued >= 0)
            next = take_first(prcb, queued);
    }
    if (next == NULL) {
        KiUnlockDispatcherDatabase(DISPATCH_LEVEL);
        return;
    }
    current->SwapBusy = TRUE;           /* before another CPU can see it ready */
    if (current != prcb->IdleThread)
        KiReadyThread(current);
    KI_RACE_POINT("thread.switch.decided");
    switch_to(current, next, prcb);
}

/* From this CPU's clock tick, at CLOCK_LEVEL: charge the running thread. */
VOID KiThreadClockTick(VOID)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    PKTHREAD current = prcb->CurrentThread;

    if (current == NULL || current == prcb->IdleThread || prcb->QuantumEnd)
        return;
    if (--current->Quantum <= 0) {
        prcb->QuantumEnd = TRUE;
        KiRequestSoftwareInterrupt(DISPATCH_LEVEL);     /* taken once IRQL drops below 2 */
    }
}

BOOLEAN KiReadyThreadsWaiting(VOID)
{
    return KiReadyThreadCount != 0;
}

VOID KiYieldExecution(VOID)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();

    KeGetCurrentPrcb()->QuantumEnd = TRUE;  /* end the quantum now: round robin */
    KiSwitchThreadIfNeeded();
    KeLowerIrql(old);
}
