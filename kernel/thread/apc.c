/*
 * apc.c - kernel APCs: a routine queued to one thread, run in that thread
 * (docs/apc.md).
 *
 * An APC is what a thread does next, in its own context, as soon as its
 * IRQL allows: KeInsertQueueApc puts the KAPC on the thread's list and,
 * if the thread runs, asks its CPU for the APC_LEVEL software interrupt
 * (vector 0x1F; an IPI for another CPU, sent once the dispatcher lock is
 * released).  The interrupt is taken when that CPU's IRQL drops below
 * APC_LEVEL, and KiDeliverApc runs the list in the thread that is current
 * there: a thread switched out meanwhile asks again when it is switched in
 * (kernel/thread/scheduler.c).  A thread waiting at PASSIVE_LEVEL leaves its
 * wait to run it and then waits again (kernel/thread/wait.c).
 *
 * Two kinds: a special kernel APC (no NormalRoutine) runs its KernelRoutine
 * at APC_LEVEL; a normal kernel APC runs its KernelRoutine at APC_LEVEL,
 * then its NormalRoutine at PASSIVE_LEVEL, one at a time.  What holds them
 * off (WDK: Disabling APCs): IRQL APC_LEVEL or above (both kinds), a
 * guarded region (both), a critical region or an owned KMUTEX (normal ones).
 *
 * The APC lists are guarded by the dispatcher lock.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/debug/race.h"
#include "kernel/irql/interrupt.h"
#include "kernel/irql/vectors.h"
#include "kernel/locks/spinlock_check.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))
#define KI_APC_OBJECT 0x12

/* Windows' subcode 0x3E of Bug Check 0xC4 (WDK: Bug Check 0xC4): leaving a
 * region that was not entered.  P2 the count, P3 the caller. */
#define KI_VERIFIER_LEAVE_REGION 0x3E
/* Subcodes 0x11A / 0x11B: a critical region entered / left above APC_LEVEL
 * (P2 the IRQL, P3 the caller); the same for guarded regions here. */
#define KI_VERIFIER_ENTER_REGION_IRQL 0x11A
#define KI_VERIFIER_LEAVE_REGION_IRQL 0x11B

/* IRQL_UNEXPECTED_VALUE's "Unique" (WDK: Bug Check 0xC8): 0 for a kernel
 * routine, 1 for a normal routine that returned at the wrong IRQL. */
#define KI_IRQL_UNIQUE_KERNEL_ROUTINE 0
#define KI_IRQL_UNIQUE_NORMAL_ROUTINE 1

static VOID check_region_irql(ULONG Subcode, ULONG_PTR Caller)
{
    KIRQL irql = KeGetCurrentIrql();

    if (DBG && irql > APC_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Subcode, irql, Caller, 0);
}

VOID KiCheckForKernelApcDelivery(VOID)
{
    PKTHREAD thread = KeGetCurrentThread();

    if (thread->KernelApcPending && thread->SpecialApcDisable == 0)
        KiRequestSoftwareInterrupt(APC_LEVEL);  /* taken once IRQL is below APC_LEVEL */
}

/* A region's count: one lower on entry (only this thread writes it), one
 * higher on leaving; at 0 again, APCs held off may run now. */
static VOID enter_region(volatile SHORT *Count, ULONG_PTR Caller)
{
    check_region_irql(KI_VERIFIER_ENTER_REGION_IRQL, Caller);
    (*Count)--;
}

static VOID leave_region(volatile SHORT *Count, ULONG_PTR Caller)
{
    check_region_irql(KI_VERIFIER_LEAVE_REGION_IRQL, Caller);
    if (DBG && *Count >= 0)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_LEAVE_REGION,
                     (ULONG_PTR)(LONG_PTR)*Count, Caller, 0);
    if (++*Count == 0)
        KiCheckForKernelApcDelivery();
}

VOID NTAPI KeEnterCriticalRegion(VOID)
{
    enter_region(&KeGetCurrentThread()->KernelApcDisable, CALLER);     /* normal APCs */
}

VOID NTAPI KeLeaveCriticalRegion(VOID)
{
    leave_region(&KeGetCurrentThread()->KernelApcDisable, CALLER);
}

VOID NTAPI KeEnterGuardedRegion(VOID)
{
    enter_region(&KeGetCurrentThread()->SpecialApcDisable, CALLER);    /* all kernel APCs */
}

VOID NTAPI KeLeaveGuardedRegion(VOID)
{
    leave_region(&KeGetCurrentThread()->SpecialApcDisable, CALLER);
}

BOOLEAN NTAPI KeAreApcsDisabled(VOID)
{
    return KeGetCurrentThread()->CombinedApcDisable != 0;
}

BOOLEAN NTAPI KeAreAllApcsDisabled(VOID)
{
    return KeGetCurrentThread()->SpecialApcDisable != 0 || KeGetCurrentIrql() >= APC_LEVEL;
}

VOID NTAPI KeInitializeApc(PRKAPC Apc, struct _KTHREAD *Thread, KAPC_ENVIRONMENT Environment,
                           PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                           PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                           PVOID NormalContext)
{
    UNREFERENCED_PARAMETER(Environment);    /* no process attach here: always the thread's own */
    Apc->Type = KI_APC_OBJECT;
    Apc->Size = sizeof(KAPC);
    Apc->Thread = Thread;
    Apc->KernelRoutine = KernelRoutine;
    Apc->RundownRoutine = RundownRoutine;
    Apc->NormalRoutine = NormalRoutine;
    Apc->NormalContext = NormalRoutine ? NormalContext : NULL;
    Apc->ApcStateIndex = 0;
    Apc->ApcMode = ApcMode;
    Apc->Inserted = FALSE;
}

BOOLEAN KiApcDeliverable(PKTHREAD Thread, PKAPC Apc)
{
    if (Thread->SpecialApcDisable != 0)
        return FALSE;
    return Apc->NormalRoutine == NULL ||
           (Thread->KernelApcDisable == 0 && !Thread->KernelApcInProgress);
}

BOOLEAN NTAPI KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                               KPRIORITY Increment)
{
    PKTHREAD thread = Apc->Thread;
    KIRQL old = KiLockDispatcherDatabase();

    if (Apc->Inserted || !thread->ApcQueueable) {
        KiUnlockDispatcherDatabase(old);
        return FALSE;
    }
    Apc->SystemArgument1 = SystemArgument1;
    Apc->SystemArgument2 = SystemArgument2;
    Apc->Inserted = TRUE;
    PLIST_ENTRY head = &thread->KernelApcListHead, before = head->Flink;
    if (Apc->NormalRoutine == NULL)     /* special: after the other special ones */
        while (before != head && CONTAINING_RECORD(before, KAPC, ApcListEntry)->NormalRoutine == NULL)
            before = before->Flink;
    else
        before = head;                  /* normal: at the end */
    InsertTailList(before, &Apc->ApcListEntry);
    thread->KernelApcPending = TRUE;
    KI_RACE_POINT("apc.insert.queued");
    if (thread->State == Running)
        KiRequestApcDelivery(thread->NextProcessor);    /* sent when the lock is released */
    else if (thread->State == Waiting && thread->WaitIrql < APC_LEVEL &&
             KiApcDeliverable(thread, Apc))
        KiUnwaitThread(thread, STATUS_KERNEL_APC, Increment);   /* it waits again after */
    KiUnlockDispatcherDatabase(old);
    return TRUE;
}

/* The IRQL a routine must give back, or the bug check it gets. */
static VOID check_returned(KIRQL Expected, ULONG Unique, PKAPC Apc, PKKERNEL_ROUTINE Kernel,
                           PKNORMAL_ROUTINE Normal, ULONG Held, PVOID Routine)
{
    if (DBG)
        KiCheckNoLockKept(Held, Routine);
    KIRQL found = KeGetCurrentIrql();
    if (found != Expected)
        /* WDK: Bug Check 0xC8, Unique 0/1: P2 KernelRoutine, P3 the APC, P4 NormalRoutine. */
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE, ((ULONG_PTR)found << 16) | (Expected << 8) | Unique,
                     (ULONG_PTR)Kernel, (ULONG_PTR)Apc, (ULONG_PTR)Normal);
}

/* The APC_LEVEL software interrupt: run what the current thread may run. */
static VOID deliver_apcs(PKTRAP_FRAME TrapFrame, PVOID Context)
{
    PKTHREAD thread = KeGetCurrentThread();

    UNREFERENCED_PARAMETER(TrapFrame);
    UNREFERENCED_PARAMETER(Context);
    for (;;) {
        KIRQL old = KiLockDispatcherDatabase();
        PLIST_ENTRY head = &thread->KernelApcListHead;
        if (IsListEmpty(head) || !KiApcDeliverable(thread, CONTAINING_RECORD(head->Flink, KAPC,
                                                                             ApcListEntry))) {
            KiUnlockDispatcherDatabase(old);
            return;                     /* none, or held off: a leave asks again */
        }
        PKAPC apc = CONTAINING_RECORD(RemoveHeadList(head), KAPC, ApcListEntry);
        thread->KernelApcPending = !IsListEmpty(head);
        apc->Inserted = FALSE;
        PKKERNEL_ROUTINE kernel = apc->KernelRoutine;
        PKNORMAL_ROUTINE normal = apc->NormalRoutine;
        PVOID context = apc->NormalContext;
        PVOID argument1 = apc->SystemArgument1, argument2 = apc->SystemArgument2;
        KiUnlockDispatcherDatabase(old);
        KI_RACE_POINT("apc.deliver.dequeued");

        ULONG held = DBG ? KiHeldSpinLockCount() : 0;
        /* The kernel routine may change or cancel the normal one; the APC
         * may be freed by it. */
        kernel(apc, &normal, &context, &argument1, &argument2);
        check_returned(APC_LEVEL, KI_IRQL_UNIQUE_KERNEL_ROUTINE, apc, kernel, normal, held,
                       (PVOID)kernel);
        if (normal == NULL)
            continue;
        thread->KernelApcInProgress = TRUE;
        KeLowerIrql(PASSIVE_LEVEL);     /* the normal routine: PASSIVE_LEVEL, may wait */
        normal(context, argument1, argument2);
        check_returned(PASSIVE_LEVEL, KI_IRQL_UNIQUE_NORMAL_ROUTINE, apc, kernel, normal, held,
                       (PVOID)normal);
        KfRaiseIrql(APC_LEVEL);         /* the interrupt path expects its own level back */
        thread->KernelApcInProgress = FALSE;
    }
}

VOID KiRundownApcs(PKTHREAD Thread)
{
    KIRQL old = KiLockDispatcherDatabase();
    LIST_ENTRY queued;

    Thread->ApcQueueable = FALSE;       /* KeInsertQueueApc says FALSE from here */
    InitializeListHead(&queued);
    while (!IsListEmpty(&Thread->KernelApcListHead))
        InsertTailList(&queued, RemoveHeadList(&Thread->KernelApcListHead));
    Thread->KernelApcPending = FALSE;
    KiUnlockDispatcherDatabase(old);
    while (!IsListEmpty(&queued)) {
        PKAPC apc = CONTAINING_RECORD(RemoveHeadList(&queued), KAPC, ApcListEntry);
        apc->Inserted = FALSE;
        if (apc->RundownRoutine)
            apc->RundownRoutine(apc);   /* the APC's owner frees or reuses it */
    }
}

VOID KiInitializeApcs(VOID)
{
    KiSetInterruptHandler(KI_VECTOR_APC, deliver_apcs, NULL);
}
