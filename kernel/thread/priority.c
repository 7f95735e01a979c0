/*
 * priority.c - a thread's priority and affinity (WDK: KeSetPriorityThread,
 * KeQueryPriorityThread, KeSetBasePriorityThread,
 * KeSetSystemAffinityThreadEx, KeRevertToUserAffinityThreadEx).
 *
 * Each change is made under the dispatcher lock and then acted on as the
 * scheduler would for a thread made ready: a ready thread is queued again
 * at its new priority, a running one's CPU reconsiders at its next
 * DISPATCH_LEVEL software interrupt (kernel/thread/scheduler.c).
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/smp/smp.h"
#include "kernel/irql/interrupt.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

/* Both priorities at once, and the thread placed as the new one says.
 * Dispatcher lock held. */
static VOID set_priority(PKTHREAD Thread, KPRIORITY Priority)
{
    if (Thread->State == Ready) {
        KiRemoveReadyThread(Thread);
        Thread->Priority = Thread->BasePriority = Priority;
        KiReadyThread(Thread);
        return;
    }
    Thread->Priority = Thread->BasePriority = Priority;
    if (Thread->State == Running)
        KiRescheduleThread(Thread);     /* lowered below a queued thread: it may go now */
}

KPRIORITY NTAPI KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    /* LOW_PRIORITY (0) is the idle threads'; 1..31 are the others'. */
    if (Priority <= LOW_PRIORITY || Priority > HIGH_PRIORITY)
        KiRaiseStatus(STATUS_INVALID_PARAMETER, CALLER);
    KIRQL old = KiLockDispatcherDatabase();
    KPRIORITY previous = Thread->Priority;

    set_priority(Thread, Priority);
    KiUnlockDispatcherDatabase(old);
    return previous;
}

KPRIORITY NTAPI KeQueryPriorityThread(PKTHREAD Thread)
{
    return __atomic_load_n(&Thread->Priority, __ATOMIC_RELAXED);
}

LONG NTAPI KeSetBasePriorityThread(PKTHREAD Thread, LONG Increment)
{
    /* WDK: the base stays in the process's class: 1..15 for the System
     * process's variable class. */
    KPRIORITY base = KI_SYSTEM_BASE_PRIORITY + Increment;
    if (base < 1)
        base = 1;
    if (base > LOW_REALTIME_PRIORITY - 1)
        base = LOW_REALTIME_PRIORITY - 1;
    KIRQL old = KiLockDispatcherDatabase();
    LONG previous = Thread->BasePriority - KI_SYSTEM_BASE_PRIORITY;

    set_priority(Thread, base);
    KiUnlockDispatcherDatabase(old);
    return previous;
}

/* The running thread's new affinity; it leaves this CPU if it must: now at
 * or below APC_LEVEL, when IRQL drops below DISPATCH_LEVEL otherwise (the
 * software interrupt's handler moves it). */
static VOID set_affinity(PKTHREAD Thread, KAFFINITY Affinity, KAFFINITY System)
{
    KIRQL old = KiLockDispatcherDatabase();

    Thread->Affinity = Affinity;
    Thread->SystemAffinity = System;
    KiUnlockDispatcherDatabase(old);
    if (Affinity & ((KAFFINITY)1 << KeGetCurrentProcessorNumber()))
        return;
    if (old <= APC_LEVEL) {
        KIRQL irql = KeRaiseIrqlToDpcLevel();
        KiSwitchThreadIfNeeded();       /* on an allowed CPU when this returns */
        KeLowerIrql(irql);
    } else {
        KiRequestSoftwareInterrupt(DISPATCH_LEVEL);
    }
}

KAFFINITY NTAPI KeSetSystemAffinityThreadEx(KAFFINITY Affinity)
{
    PKTHREAD thread = KeGetCurrentThread();
    KAFFINITY previous = thread->SystemAffinity;
    KAFFINITY online = KiActiveProcessorSet();

    /* WDK: no effect if a bit names an absent CPU or none is active. */
    if ((Affinity & ~online) || (Affinity & online) == 0)
        return previous;
    set_affinity(thread, Affinity, Affinity);
    return previous;
}

VOID NTAPI KeRevertToUserAffinityThreadEx(KAFFINITY Affinity)
{
    PKTHREAD thread = KeGetCurrentThread();

    if (Affinity == 0)
        set_affinity(thread, thread->UserAffinity, 0);
    else if ((Affinity & ~KiActiveProcessorSet()) == 0)
        set_affinity(thread, Affinity, Affinity);
}
