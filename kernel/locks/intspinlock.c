/*
 * intspinlock.c - interrupt spin locks: KeAcquireInterruptSpinLock,
 * KeReleaseInterruptSpinLock, KeSynchronizeExecution (WDK pages of those
 * names).
 *
 * The lock of an interrupt object is *ActualLock: its own SpinLock, or the
 * one the driver gave IoConnectInterrupt for several vectors.  The ISR runs
 * holding it at SynchronizeIrql (kernel/io/iointerrupt.c), so code that shares
 * data with the ISR does the same two steps, in this order:
 *
 *   1. raise IRQL to SynchronizeIrql: from here the ISR's vector (class
 *      Irql <= SynchronizeIrql) cannot be delivered on this CPU, so the ISR
 *      cannot interrupt us here and spin forever on the lock we hold;
 *   2. take *ActualLock (an executive spin lock word, taken like the
 *      at-DPC-level routine: one `lock` instruction when free, spinning on
 *      plain reads while another CPU holds it), which keeps the ISR out
 *      on every other CPU.  The checked build records it as held at
 *      SynchronizeIrql (kernel/locks/spinlock_check.h), so lowering below that
 *      level while holding it is SPIN_LOCK_ALREADY_OWNED (0x0F).
 *
 * Release is the reverse: drop the lock, then lower IRQL; an interrupt of
 * the vector that arrived meanwhile was held pending in the local APIC's IRR
 * (or waits on the other CPU, spinning on the lock) and runs right after.
 */
#include "wdm.h"
#include "kernel/locks/spinlock_check.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

static KIRQL raise_to_synchronize_irql(PKINTERRUPT Interrupt, ULONG_PTR Caller)
{
    KIRQL current = KeGetCurrentIrql();

    /* Raising to a lower level would unmask the very ISR the caller is
     * synchronising with (or be any raise below the current level). */
    if (DBG && current > Interrupt->SynchronizeIrql)
        KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, current, Interrupt->SynchronizeIrql,
                     (ULONG_PTR)Interrupt, Caller);
    return KfRaiseIrql(Interrupt->SynchronizeIrql);
}

KIRQL NTAPI KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt)
{
    KIRQL old = raise_to_synchronize_irql(Interrupt, CALLER);

    KiAcquireInterruptSpinLock(Interrupt->ActualLock, old, CALLER);
    return old;
}

VOID NTAPI KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql)
{
    KiReleaseInterruptSpinLock(Interrupt->ActualLock, CALLER);
    KeLowerIrql(OldIrql);           /* a pending interrupt of the vector arrives here */
}

BOOLEAN NTAPI KeSynchronizeExecution(PKINTERRUPT Interrupt,
                                     PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                     PVOID SynchronizeContext)
{
    KIRQL old = raise_to_synchronize_irql(Interrupt, CALLER);

    KiAcquireInterruptSpinLock(Interrupt->ActualLock, old, CALLER);
    BOOLEAN result = SynchronizeRoutine(SynchronizeContext);
    KiReleaseInterruptSpinLock(Interrupt->ActualLock, CALLER);
    KeLowerIrql(old);
    return result;                  /* as the routine returned it: 7 stays 7 */
}
