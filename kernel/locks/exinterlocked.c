/*
 * exinterlocked.c - the lock-guarded interlocked helpers (WDK:
 * ExInterlockedInsertHeadList and its siblings) and the I/O cancel and VPB
 * spin locks.
 *
 * The ExInterlocked helpers may be called at any IRQL, an ISR included, so
 * they cannot raise IRQL (that would lower it in an ISR above DISPATCH_LEVEL)
 * and they never change CR8.  They disable interrupts instead, for just
 * the few instructions of the list operation:
 *
 *     pushfq; cli            save IF, then no interrupt on this CPU
 *     raw acquire            the same test-and-test-and-set as KSPIN_LOCK
 *     ... list or add ...
 *     raw release            mov $0
 *     popfq                  IF back as found (still off if it was off)
 *
 * With interrupts off, an ISR on this CPU cannot interrupt the holder and
 * spin on the same lock; the lock keeps the other CPUs out.  A lock used here
 * must be used with these routines only (and from an ISR's SynchCritSection
 * when it is the ISR's own).
 *
 * IoAcquireCancelSpinLock is the numbered queued lock LockQueueIoCancelLock,
 * as in Windows; IoAcquireVpbSpinLock is LockQueueIoVpbLock.  The cancel lock
 * protects every IRP's Cancel and CancelRoutine fields; taken at
 * DISPATCH_LEVEL, and a Cancel routine is entered holding it.
 */
#include "wdm.h"
#include "kernel/locks/spinlock_check.h"
#include "arch/x86_64/cpu.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

/* pushfq; cli, then the raw lock. */
static ULONG64 lock_with_interrupts_off(PKSPIN_LOCK Lock, ULONG_PTR Caller)
{
    ULONG64 flags = interrupts_save_disable();

    KiAcquireSpinLockRaw(Lock, Caller);
    return flags;
}

/* Release, then popfq: IF as the caller had it. */
static VOID unlock_and_restore(PKSPIN_LOCK Lock, ULONG64 Flags, ULONG_PTR Caller)
{
    KiReleaseSpinLockRaw(Lock, Caller);
    restore_rflags(Flags);
}

/* Returns the old first entry, or NULL if the list was empty. */
PLIST_ENTRY FASTCALL ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                                 PKSPIN_LOCK Lock)
{
    ULONG64 flags = lock_with_interrupts_off(Lock, CALLER);
    PLIST_ENTRY first = ListHead->Flink;

    InsertHeadList(ListHead, ListEntry);
    unlock_and_restore(Lock, flags, CALLER);
    return first == ListHead ? NULL : first;
}

/* Returns the old last entry, or NULL if the list was empty. */
PLIST_ENTRY FASTCALL ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                                 PKSPIN_LOCK Lock)
{
    ULONG64 flags = lock_with_interrupts_off(Lock, CALLER);
    PLIST_ENTRY last = ListHead->Blink;

    InsertTailList(ListHead, ListEntry);
    unlock_and_restore(Lock, flags, CALLER);
    return last == ListHead ? NULL : last;
}

/* Returns the removed first entry, or NULL if the list was empty. */
PLIST_ENTRY FASTCALL ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    ULONG64 flags = lock_with_interrupts_off(Lock, CALLER);
    PLIST_ENTRY first = IsListEmpty(ListHead) ? NULL : RemoveHeadList(ListHead);

    unlock_and_restore(Lock, flags, CALLER);
    return first;
}

/* Returns the old first entry (NULL if the list was empty). */
PSINGLE_LIST_ENTRY FASTCALL ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                       PSINGLE_LIST_ENTRY ListEntry,
                                                       PKSPIN_LOCK Lock)
{
    ULONG64 flags = lock_with_interrupts_off(Lock, CALLER);
    PSINGLE_LIST_ENTRY first = ListHead->Next;

    PushEntryList(ListHead, ListEntry);
    unlock_and_restore(Lock, flags, CALLER);
    return first;
}

/* Returns the removed first entry, or NULL if the list was empty. */
PSINGLE_LIST_ENTRY FASTCALL ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                      PKSPIN_LOCK Lock)
{
    ULONG64 flags = lock_with_interrupts_off(Lock, CALLER);
    PSINGLE_LIST_ENTRY first = PopEntryList(ListHead);

    unlock_and_restore(Lock, flags, CALLER);
    return first;
}

/* Returns the value before the add. */
ULONG FASTCALL ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock)
{
    ULONG64 flags = lock_with_interrupts_off(Lock, CALLER);
    ULONG old = *Addend;

    *Addend = old + Increment;
    unlock_and_restore(Lock, flags, CALLER);
    return old;
}

/* Returns the value before the add. */
LARGE_INTEGER NTAPI ExInterlockedAddLargeInteger(PLARGE_INTEGER Addend, LARGE_INTEGER Increment,
                                                 PKSPIN_LOCK Lock)
{
    ULONG64 flags = lock_with_interrupts_off(Lock, CALLER);
    LARGE_INTEGER old = *Addend;

    Addend->QuadPart = old.QuadPart + Increment.QuadPart;
    unlock_and_restore(Lock, flags, CALLER);
    return old;
}

VOID NTAPI IoAcquireCancelSpinLock(PKIRQL Irql)
{
    *Irql = KeAcquireQueuedSpinLock(LockQueueIoCancelLock);
}

VOID NTAPI IoReleaseCancelSpinLock(KIRQL Irql)
{
    KeReleaseQueuedSpinLock(LockQueueIoCancelLock, Irql);
}

VOID NTAPI IoAcquireVpbSpinLock(PKIRQL Irql)
{
    *Irql = KeAcquireQueuedSpinLock(LockQueueIoVpbLock);
}

VOID NTAPI IoReleaseVpbSpinLock(KIRQL Irql)
{
    KeReleaseQueuedSpinLock(LockQueueIoVpbLock, Irql);
}
