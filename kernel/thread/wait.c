/*
 * wait.c - KeWaitForSingleObject, KeWaitForMultipleObjects,
 * KeDelayExecutionThread, and the other half: releasing waiters when an
 * object is signalled (docs/threads.md, "Waits").
 *
 * A wait links one KWAIT_BLOCK per object onto that object's wait list
 * (plus one on the thread's own timer for a timeout), marks the thread
 * Waiting and switches away, all under the dispatcher lock: an object
 * signalled on another CPU either was signalled before we took the lock
 * (and the wait is satisfied at once) or finds our blocks on its list.
 * Whoever signals an object calls KiWaitTest, which satisfies the waiters
 * the new state allows, unlinks all their blocks and readies them.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/dpc/dpc.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

static BOOLEAN is_signalled(PDISPATCHER_HEADER Object, PKTHREAD Thread)
{
    if (Object->Type == KI_OBJECT_MUTANT)   /* its owner may take it again */
        return Object->SignalState > 0 || ((PKMUTEX)Object)->OwnerThread == Thread;
    return Object->SignalState > 0;
}

/* What a satisfied wait does to the object (WDK: "Defining Dispatcher
 * Objects" semantics): auto-reset objects reset, a semaphore's count drops,
 * a mutex becomes the waiter's; notification objects stay as they are. */
static VOID satisfy(PDISPATCHER_HEADER Object, PKTHREAD Thread)
{
    switch (Object->Type) {
    case KI_OBJECT_SYNCHRONIZATION_EVENT:
    case KI_OBJECT_SYNCHRONIZATION_TIMER:
        Object->SignalState = 0;
        break;
    case KI_OBJECT_SEMAPHORE:
        Object->SignalState--;
        break;
    case KI_OBJECT_MUTANT:
        KiTakeMutex((PKMUTEX)Object, Thread);
        break;
    default:
        break;
    }
}

static BOOLEAN all_signalled(PKTHREAD Thread)
{
    for (ULONG i = 0; i < Thread->WaitCount; i++)
        if (!is_signalled(Thread->WaitBlockList[i].Object, Thread))
            return FALSE;
    return TRUE;
}

static VOID satisfy_all(PKTHREAD Thread)
{
    for (ULONG i = 0; i < Thread->WaitCount; i++)
        satisfy(Thread->WaitBlockList[i].Object, Thread);
}

static VOID unlink(PKWAIT_BLOCK Block)
{
    if (Block->BlockState) {
        RemoveEntryList(&Block->WaitListEntry);
        Block->BlockState = FALSE;
    }
}

VOID KiUnwaitThread(PKTHREAD Thread, NTSTATUS Status, KPRIORITY Increment)
{
    for (ULONG i = 0; i < Thread->WaitCount; i++)
        unlink(&Thread->WaitBlockList[i]);
    unlink(&Thread->WaitBlock[KI_TIMER_WAIT_BLOCK]);
    KiRemoveTimer(&Thread->Timer);
    Thread->WaitStatus = Status;
    /* A variable-priority waiter gets the set's increment, up to 15; it
     * decays a level a quantum (kernel/thread/scheduler.c). */
    if (Increment > 0 && Thread->BasePriority < LOW_REALTIME_PRIORITY) {
        KPRIORITY boosted = Thread->BasePriority + Increment;
        if (boosted > LOW_REALTIME_PRIORITY - 1)
            boosted = LOW_REALTIME_PRIORITY - 1;
        if (boosted > Thread->Priority)
            Thread->Priority = boosted;
    }
    KI_RACE_POINT("wait.unwaited");
    KiReadyThread(Thread);
}

VOID KiWaitTest(PVOID Object, KPRIORITY Increment)
{
    PDISPATCHER_HEADER header = Object;
    PLIST_ENTRY entry = header->WaitListHead.Flink;

    while (entry != &header->WaitListHead && header->SignalState > 0) {
        PKWAIT_BLOCK block = CONTAINING_RECORD(entry, KWAIT_BLOCK, WaitListEntry);
        PKTHREAD thread = block->Thread;

        if (block->WaitType == WaitAny) {
            satisfy(header, thread);
            KiUnwaitThread(thread, (NTSTATUS)block->WaitKey, Increment);
        } else if (all_signalled(thread)) {
            satisfy_all(thread);
            KiUnwaitThread(thread, STATUS_WAIT_0, Increment);
        } else {
            entry = entry->Flink;       /* a WaitAll still missing another object */
            continue;
        }
        /* The unwait unlinked every block of that thread, which may include
         * the next one on this list: start over (satisfied waiters are gone). */
        entry = header->WaitListHead.Flink;
    }
}

VOID KiUnlockDispatcherAfterSignal(KIRQL OldIrql, BOOLEAN Wait)
{
    PKTHREAD thread = KeGetCurrentThread();

    if (!Wait) {
        KiUnlockDispatcherDatabase(OldIrql);
        return;
    }
    thread->WaitNext = TRUE;            /* the wait that follows gives OldIrql back */
    thread->WaitIrql = OldIrql;
    KiUnlockDispatcherDatabase(DISPATCH_LEVEL);
}

VOID KiInitializeDispatcherHeader(PDISPATCHER_HEADER Header, UCHAR Type, ULONG Size,
                                  LONG SignalState)
{
    Header->Type = Type;
    Header->Signalling = 0;
    Header->Size = (UCHAR)(Size / sizeof(LONG));
    Header->Reserved1 = 0;
    Header->SignalState = SignalState;
    InitializeListHead(&Header->WaitListHead);
}

/* The rules a wait that must block checks (WDK: KeWaitForSingleObject; a
 * wait may block only below DISPATCH_LEVEL, and never in a DPC routine). */
static VOID check_may_block(PKTHREAD Thread, PVOID Object, KIRQL Irql, ULONG_PTR Caller)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    /* A threaded DPC routine is a DPC routine too (WDK: Introduction to
     * Threaded DPCs: it must not wait, since it may run at DISPATCH_LEVEL). */
    if (KeIsExecutingDpc() || (prcb->DpcThreadActive && Thread == prcb->DpcThread))
        /* WDK: Bug Check 0xB8: P1 the old thread, P2 the new one, P3 the
         * old thread's stack, P4 reserved. */
        KeBugCheckEx(ATTEMPTED_SWITCH_FROM_DPC, (ULONG_PTR)Thread,
                     (ULONG_PTR)KiPeekNextThread(prcb), (ULONG_PTR)Thread->StackBase, 0);
    if (Irql >= DISPATCH_LEVEL || Thread == prcb->IdleThread)
        /* Windows Internals: a wait that needs a switch at DISPATCH_LEVEL or
         * above is 0xA.  P1 the object, P2 the IRQL, P3 0, P4 the caller. */
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Object, Irql, 0, Caller);
}

static VOID link(PKWAIT_BLOCK Block, PKTHREAD Thread, PVOID Object, USHORT Key, UCHAR Type)
{
    Block->Thread = Thread;
    Block->Object = Object;
    Block->WaitKey = Key;
    Block->WaitType = Type;
    Block->BlockState = TRUE;
    InsertTailList(&((PDISPATCHER_HEADER)Object)->WaitListHead, &Block->WaitListEntry);
}

/* The wait itself.  Blocks[] has Count entries (the thread's own, or the
 * caller's WaitBlockArray); Extra adds to a relative timeout. */
static NTSTATUS wait(ULONG Count, PVOID Objects[], WAIT_TYPE Type, PLARGE_INTEGER Timeout,
                     PKWAIT_BLOCK Blocks, LONGLONG Extra, ULONG_PTR Caller)
{
    PKTHREAD thread = KeGetCurrentThread();
    KIRQL irql = KeGetCurrentIrql();
    PVOID first = Count ? Objects[0] : NULL;

    if (thread->WaitNext) {             /* after KeSetEvent(..., TRUE): still raised */
        thread->WaitNext = FALSE;
        irql = thread->WaitIrql;
    }
    if (irql > DISPATCH_LEVEL)          /* not even a satisfied wait is allowed up here */
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)first, irql, 0, Caller);

    ULONG64 due = 0;
    if (Timeout && Timeout->QuadPart != 0)
        due = KiDueInterruptTime(Timeout->QuadPart < 0 ? Timeout->QuadPart - Extra
                                                       : Timeout->QuadPart);
    KIRQL held;
    NTSTATUS status;
again:
    held = KiLockDispatcherDatabase();
    status = STATUS_TIMEOUT;
    if (Type == WaitAny) {
        for (ULONG i = 0; i < Count; i++)
            if (is_signalled(Objects[i], thread)) {
                satisfy(Objects[i], thread);
                status = STATUS_WAIT_0 + (NTSTATUS)i;
                goto done;
            }
    } else {
        ULONG i = 0;
        while (i < Count && is_signalled(Objects[i], thread))
            i++;
        if (Count && i == Count) {
            for (i = 0; i < Count; i++)
                satisfy(Objects[i], thread);
            status = STATUS_WAIT_0;
            goto done;
        }
    }
    if (Timeout) {
        thread->Timer.Header.SignalState = 0;
        if (Timeout->QuadPart == 0 || !KiInsertTimer(&thread->Timer, due))
            goto done;                  /* STATUS_TIMEOUT: a poll, or already past */
    }

    check_may_block(thread, first, irql, Caller);
    for (ULONG i = 0; i < Count; i++)
        link(&Blocks[i], thread, Objects[i], (USHORT)i, (UCHAR)Type);
    thread->WaitBlockList = Blocks;
    thread->WaitCount = Count;
    thread->WaitType = (UCHAR)Type;
    if (Timeout)        /* the timer cannot expire before this: its DPC needs our lock */
        link(&thread->WaitBlock[KI_TIMER_WAIT_BLOCK], thread, &thread->Timer,
             (USHORT)STATUS_TIMEOUT, WaitAny);
    thread->WaitStatus = STATUS_PENDING;
    thread->WaitIrql = irql;            /* below APC_LEVEL, an APC may interrupt the wait */
    thread->State = Waiting;
    KI_RACE_POINT("wait.blocked");
    KI_TRACE(KI_TRACE_THREADS, KI_TRACE_THREAD_WAIT, KI_TRACE_THREAD_ID(thread), first, Count);
    KiSwapThread(thread, KeGetCurrentPrcb());   /* back at DISPATCH_LEVEL, lock released */
    status = thread->WaitStatus;
    thread->WaitCount = 0;
    KeLowerIrql(irql);                  /* a kernel APC that ended the wait runs here */
    if (status == STATUS_KERNEL_APC)
        goto again;                     /* and the wait resumes, with the same due time */
    return status;

done:
    KiUnlockDispatcherDatabase(held);
    if (held != irql)
        KeLowerIrql(irql);              /* the WaitNext case: down from DISPATCH_LEVEL */
    return status;
}

NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                     KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                     PLARGE_INTEGER Timeout)
{
    /* No user mode and no alerts here: WaitMode and Alertable change nothing. */
    UNREFERENCED_PARAMETER(WaitReason);
    UNREFERENCED_PARAMETER(WaitMode);
    UNREFERENCED_PARAMETER(Alertable);
    return wait(1, &Object, WaitAny, Timeout, KeGetCurrentThread()->WaitBlock, 0, CALLER);
}

NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                        KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                        PKWAIT_BLOCK WaitBlockArray)
{
    UNREFERENCED_PARAMETER(WaitReason);
    UNREFERENCED_PARAMETER(WaitMode);
    UNREFERENCED_PARAMETER(Alertable);
    /* WDK: Bug Check 0xC, no parameters. */
    if (Count > MAXIMUM_WAIT_OBJECTS || (Count > THREAD_WAIT_OBJECTS && WaitBlockArray == NULL))
        KeBugCheck(MAXIMUM_WAIT_OBJECTS_EXCEEDED);
    if (Count == 0 || (WaitType != WaitAll && WaitType != WaitAny))
        KiRaiseStatus(STATUS_INVALID_PARAMETER, CALLER);
    return wait(Count, Object, WaitType, Timeout,
                WaitBlockArray ? WaitBlockArray : KeGetCurrentThread()->WaitBlock, 0, CALLER);
}

NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                      PLARGE_INTEGER Interval)
{
    UNREFERENCED_PARAMETER(WaitMode);
    UNREFERENCED_PARAMETER(Alertable);
    if (Interval->QuadPart == 0) {      /* no time: give the CPU to an equal or better thread */
        KiYieldExecution();
        return STATUS_SUCCESS;
    }
    /* A relative delay never ends early (WDK: KeDelayExecutionThread): the
     * interrupt time is up to a tick old, so wait one tick longer. */
    wait(0, NULL, WaitAny, Interval, NULL, (LONGLONG)KeQueryTimeIncrement(), CALLER);
    return STATUS_SUCCESS;
}
