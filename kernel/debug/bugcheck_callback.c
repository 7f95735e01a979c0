/*
 * bugcheck_callback.c - KeRegisterBugCheckCallback and
 * KeDeregisterBugCheckCallback (WDK pages of those names; the types are in
 * include/wdm/bugcheck.h), and the call of every registered routine from the
 * bug check (kernel/debug/bugcheck.c).
 *
 * The bug check walks the list without the lock: the CPU that held it may be
 * frozen by the bug check's NMI half-way through an update.  So an insert
 * fills the record and links it last (Flink of the old tail is the one store
 * that makes it reachable), and the walk trusts a record only if its checksum
 * still matches, as Windows does.
 */
#include "wdm.h"
#include "kernel/debug/bugcheck.h"

/* KiBugCheckCallbackLock: taken at HIGH_LEVEL (register and deregister may
 * be called at any IRQL), protects KiBugCheckCallbackList and the State and
 * links of every record on it.  Never taken by the bug check itself. */
static KSPIN_LOCK KiBugCheckCallbackLock;
static LIST_ENTRY KiBugCheckCallbackList = { &KiBugCheckCallbackList, &KiBugCheckCallbackList };

static ULONG_PTR checksum(PKBUGCHECK_CALLBACK_RECORD Record)
{
    return (ULONG_PTR)Record->CallbackRoutine + (ULONG_PTR)Record->Buffer + Record->Length +
           (ULONG_PTR)Record->Component;
}

static KIRQL lock_list(void)
{
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);

    KeAcquireSpinLockAtDpcLevel(&KiBugCheckCallbackLock);
    return old;
}

static void unlock_list(KIRQL Old)
{
    KeReleaseSpinLockFromDpcLevel(&KiBugCheckCallbackLock);
    KeLowerIrql(Old);
}

BOOLEAN NTAPI KeRegisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord,
                                         PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine,
                                         PVOID Buffer, ULONG Length, PUCHAR Component)
{
    BOOLEAN inserted = FALSE;
    KIRQL old = lock_list();

    if (CallbackRecord->State == BufferEmpty) {
        CallbackRecord->CallbackRoutine = CallbackRoutine;
        CallbackRecord->Buffer = Buffer;
        CallbackRecord->Length = Length;
        CallbackRecord->Component = Component;
        CallbackRecord->Checksum = checksum(CallbackRecord);
        CallbackRecord->State = BufferInserted;
        InsertTailList(&KiBugCheckCallbackList, &CallbackRecord->Entry);
        inserted = TRUE;
    }
    unlock_list(old);
    return inserted;
}

BOOLEAN NTAPI KeDeregisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord)
{
    BOOLEAN removed = FALSE;
    KIRQL old = lock_list();

    if (CallbackRecord->State == BufferInserted) {
        RemoveEntryList(&CallbackRecord->Entry);
        CallbackRecord->State = BufferEmpty;
        removed = TRUE;
    }
    unlock_list(old);
    return removed;
}

VOID KiCallBugCheckCallbacks(VOID)
{
    for (PLIST_ENTRY e = KiBugCheckCallbackList.Flink; e && e != &KiBugCheckCallbackList;
         e = e->Flink) {
        PKBUGCHECK_CALLBACK_RECORD r = CONTAINING_RECORD(e, KBUGCHECK_CALLBACK_RECORD, Entry);
        if (r->State != BufferInserted || r->Checksum != checksum(r))
            continue;                   /* damaged, or caught mid-update: skip it */
        r->State = BufferStarted;
        r->CallbackRoutine(r->Buffer, r->Length);
        r->State = BufferFinished;
    }
}
