/*
 * object.c - references and handles (WDK: ObReferenceObjectByHandle,
 * ObfReferenceObject, ObfDereferenceObject, ZwClose).
 *
 * Each object carries a reference count in the OBJECT_HEADER before it; the
 * last ObfDereferenceObject calls its type's delete routine.  Handles are
 * indexes into one table of kernel handles: an entry owns one reference, so
 * an object outlives every open handle.  Kernel handles have the top bits
 * set, as Windows' do (KERNEL_HANDLE_MASK), so a handle value tells its
 * table; user mode, which this kernel does not have, could not use them.
 *
 * KiHandleTableLock (a spin lock, DISPATCH_LEVEL) guards the table; Windows
 * uses a pushable lock at PASSIVE_LEVEL, which needs the waits this kernel
 * has only in threads.
 */
#include "wdm.h"
#include "kernel/ob/object.h"
#include "kernel/thread/thread.h"

#define KI_HANDLE_TABLE_SIZE    1024
#define KERNEL_HANDLE_MASK      0xFFFFFFFF80000000ull

/* Windows' subcode 0x3F of Bug Check 0xC4 (WDK: Bug Check 0xC4): a
 * reference count already at 0; P2 the object, P3 -1 dereference. */
#define KI_VERIFIER_REFERENCE_COUNT_ZERO 0x3F

static KSPIN_LOCK KiHandleTableLock;
static struct {
    PVOID Object;
    ACCESS_MASK GrantedAccess;
} KiHandleTable[KI_HANDLE_TABLE_SIZE];

LONG_PTR FASTCALL ObfReferenceObject(PVOID Object)
{
    return __atomic_add_fetch(&OBJECT_TO_OBJECT_HEADER(Object)->PointerCount, 1,
                              __ATOMIC_RELAXED);
}

LONG_PTR FASTCALL ObfDereferenceObject(PVOID Object)
{
    POBJECT_HEADER header = OBJECT_TO_OBJECT_HEADER(Object);
    /* acq_rel: every use of the object before this release happens before
     * the delete routine that sees the count reach zero. */
    LONG_PTR count = __atomic_sub_fetch(&header->PointerCount, 1, __ATOMIC_ACQ_REL);

    if (count == 0)
        header->Type->Delete(Object);
    else if (DBG && count < 0)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_REFERENCE_COUNT_ZERO,
                     (ULONG_PTR)Object, (ULONG_PTR)-1, 0);
    return count;
}

HANDLE ObpCreateHandle(PVOID Object, ACCESS_MASK GrantedAccess)
{
    HANDLE handle = NULL;
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&KiHandleTableLock);

    for (ULONG i = 0; i < KI_HANDLE_TABLE_SIZE; i++)
        if (KiHandleTable[i].Object == NULL) {
            KiHandleTable[i].Object = Object;
            KiHandleTable[i].GrantedAccess = GrantedAccess;
            handle = (HANDLE)(KERNEL_HANDLE_MASK | ((ULONG_PTR)(i + 1) << 2));
            break;
        }
    KeReleaseSpinLock(&KiHandleTableLock, old);
    return handle;
}

/* The table index of Handle, or -1 for a value that is no kernel handle. */
static LONG index_of(HANDLE Handle)
{
    ULONG_PTR value = (ULONG_PTR)Handle;
    ULONG_PTR index = ((value & ~KERNEL_HANDLE_MASK) >> 2) - 1;

    if ((value & KERNEL_HANDLE_MASK) != KERNEL_HANDLE_MASK || (value & 3) ||
        index >= KI_HANDLE_TABLE_SIZE)
        return -1;
    return (LONG)index;
}

NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                         POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                         PVOID *Object,
                                         POBJECT_HANDLE_INFORMATION HandleInformation)
{
    LONG index = index_of(Handle);
    NTSTATUS status = STATUS_INVALID_HANDLE;

    *Object = NULL;
    if (index < 0 || AccessMode != KernelMode)  /* a kernel handle is not user mode's */
        return STATUS_INVALID_HANDLE;
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&KiHandleTableLock);
    PVOID object = KiHandleTable[index].Object;
    ACCESS_MASK granted = KiHandleTable[index].GrantedAccess;
    if (object == NULL)
        status = STATUS_INVALID_HANDLE;
    else if (ObjectType && OBJECT_TO_OBJECT_HEADER(object)->Type != ObjectType)
        status = STATUS_OBJECT_TYPE_MISMATCH;
    else {
        ObfReferenceObject(object);     /* under the lock: ZwClose cannot drop it first */
        *Object = object;
        status = STATUS_SUCCESS;
    }
    KeReleaseSpinLock(&KiHandleTableLock, old);
    /* KernelMode: no access check (WDK: ObReferenceObjectByHandle). */
    UNREFERENCED_PARAMETER(DesiredAccess);
    if (NT_SUCCESS(status) && HandleInformation) {
        HandleInformation->HandleAttributes = OBJ_KERNEL_HANDLE;
        HandleInformation->GrantedAccess = granted;
    }
    return status;
}

NTSTATUS NTAPI ZwClose(HANDLE Handle)
{
    LONG index = index_of(Handle);
    PVOID object = NULL;

    if (index < 0)
        return STATUS_INVALID_HANDLE;
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&KiHandleTableLock);
    object = KiHandleTable[index].Object;
    KiHandleTable[index].Object = NULL;
    KeReleaseSpinLock(&KiHandleTableLock, old);
    if (object == NULL)
        return STATUS_INVALID_HANDLE;
    ObfDereferenceObject(object);       /* the handle's reference */
    return STATUS_SUCCESS;
}
