/*
 * semaphore.c - KSEMAPHORE (WDK: KeInitializeSemaphore, KeReleaseSemaphore,
 * KeReadStateSemaphore; docs/threads.md).
 *
 * The count is the SignalState: signalled while above zero, each satisfied
 * wait takes one (kernel/thread/wait.c), a release adds Adjustment but
 * never past Limit.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    KiInitializeDispatcherHeader(&Semaphore->Header, KI_OBJECT_SEMAPHORE, sizeof(KSEMAPHORE),
                                 Count);
    Semaphore->Limit = Limit;
}

LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                              BOOLEAN Wait)
{
    KIRQL old = KiLockDispatcherDatabase();
    LONG previous = Semaphore->Header.SignalState;

    /* WDK: past Limit (or wrapping) the count stays and the call raises
     * STATUS_SEMAPHORE_LIMIT_EXCEEDED. */
    if (Adjustment <= 0 || previous > Semaphore->Limit - Adjustment) {
        KiUnlockDispatcherDatabase(old);
        KiRaiseStatus(STATUS_SEMAPHORE_LIMIT_EXCEEDED, CALLER);
    }
    Semaphore->Header.SignalState = previous + Adjustment;
    if (previous == 0)
        KiWaitTest(Semaphore, Increment);
    KiUnlockDispatcherAfterSignal(old, Wait);
    return previous;
}

LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    return __atomic_load_n(&Semaphore->Header.SignalState, __ATOMIC_RELAXED);
}
