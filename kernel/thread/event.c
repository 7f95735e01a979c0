/*
 * event.c - KEVENT (WDK: KeInitializeEvent, KeSetEvent, KeResetEvent,
 * KeClearEvent, KeReadStateEvent, KePulseEvent; docs/threads.md).
 *
 * An event's state is its SignalState, 1 set, 0 clear.  A notification
 * event stays set and releases every waiter; a synchronization event
 * releases one waiter and is clear again (kernel/thread/wait.c, satisfy).
 * The state changes under the dispatcher lock, so a waiter either sees it
 * set or is on the wait list when it is set.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/locks/spinlock_check.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

/* Driver Verifier's subcode 0x80 of Bug Check 0xC4 (WDK: Bug Check 0xC4):
 * KeSetEvent above DISPATCH_LEVEL.  P2 the IRQL, P3 the event, P4 (ours) the caller. */
#define KI_VERIFIER_SET_EVENT_IRQL 0x80

VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    KiInitializeDispatcherHeader(&Event->Header,
                                 Type == SynchronizationEvent ? KI_OBJECT_SYNCHRONIZATION_EVENT
                                                              : KI_OBJECT_NOTIFICATION_EVENT,
                                 sizeof(KEVENT), State ? 1 : 0);
}

/* Set (and, for a pulse, clear again) under the lock; returns the old state. */
static LONG set_event(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait, BOOLEAN Pulse,
                      ULONG_PTR Caller)
{
    /* Checked build only: CR8 is read by an asm volatile the compiler may
     * not drop, and the free build has no use for the value. */
    if (DBG) {
        KIRQL irql = KeGetCurrentIrql();
        if (irql > DISPATCH_LEVEL)
            KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_SET_EVENT_IRQL, irql,
                         (ULONG_PTR)Event, Caller);
    }
    KIRQL old = KiLockDispatcherDatabase();
    LONG previous = Event->Header.SignalState;
    if (previous == 0) {
        Event->Header.SignalState = 1;
        KiWaitTest(Event, Increment);
    }
    if (Pulse)
        Event->Header.SignalState = 0;
    KiUnlockDispatcherAfterSignal(old, Wait);
    return previous;
}

LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    return set_event(Event, Increment, Wait, FALSE, CALLER);
}

LONG NTAPI KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    return set_event(Event, Increment, Wait, TRUE, CALLER);
}

LONG NTAPI KeResetEvent(PRKEVENT Event)
{
    KIRQL old = KiLockDispatcherDatabase();
    LONG previous = Event->Header.SignalState;

    Event->Header.SignalState = 0;
    KiUnlockDispatcherDatabase(old);
    return previous;
}

/* No lock, as in Windows: clearing can release no one, and a set racing
 * with it wins or loses as it would a moment earlier or later. */
VOID NTAPI KeClearEvent(PRKEVENT Event)
{
    __atomic_store_n(&Event->Header.SignalState, 0, __ATOMIC_RELAXED);
}

LONG NTAPI KeReadStateEvent(PRKEVENT Event)
{
    return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_RELAXED);
}
