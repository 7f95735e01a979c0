/*
 * wdm/thread.h - threads, their priorities and affinity, and the object
 * manager routines drivers use on them (part of <wdm.h>; kernel/thread/,
 * kernel/ob/, docs/threads.md).
 *
 * KTHREAD and ETHREAD are opaque to drivers, as in the WDK: a driver holds
 * pointers (PKTHREAD, PETHREAD: the same object) and handles.
 */
#ifndef WDM_THREAD_H
#define WDM_THREAD_H

#include "ntdef.h"
#include "wdm/dispatcher.h"

typedef struct _KTHREAD *PKTHREAD, *PRKTHREAD;
typedef struct _ETHREAD *PETHREAD;
typedef struct _OBJECT_TYPE *POBJECT_TYPE;

#define LOW_PRIORITY            0       /* reserved for the idle threads here */
#define LOW_REALTIME_PRIORITY   16      /* 1..15 variable, 16..31 real-time */
#define HIGH_PRIORITY           31
#define MAXIMUM_PRIORITY        32

/* Access rights (winnt.h). */
#define SYNCHRONIZE             0x00100000L
#define STANDARD_RIGHTS_REQUIRED 0x000F0000L
#define THREAD_ALL_ACCESS       (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0xFFFF)

typedef VOID (NTAPI KSTART_ROUTINE)(_In_ PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

/* The running thread: gs:[0x188], as in the WDK's x64 header (the KPCR's
 * KPRCB starts at 0x180, its CurrentThread at +8; kernel/smp/pcr.h). */
FORCEINLINE PKTHREAD KeGetCurrentThread(VOID)
{
    PKTHREAD thread;
    __asm__ volatile("mov %%gs:0x188, %0" : "=r"(thread));
    return thread;
}
/* WDK: the same object as KeGetCurrentThread, as an executive thread. */
NTKERNELAPI PETHREAD NTAPI PsGetCurrentThread(VOID);
NTKERNELAPI HANDLE NTAPI PsGetCurrentThreadId(VOID);

/* ---- System threads (kernel/thread/thread.c) ------------------------------ */

/* PASSIVE_LEVEL.  The thread starts at PASSIVE_LEVEL, priority 8, on any
 * CPU; ProcessHandle NULL (the System process).  *ThreadHandle is a kernel
 * handle: close it with ZwClose (that does not end the thread). */
NTKERNELAPI NTSTATUS NTAPI PsCreateSystemThread(
    _Out_ PHANDLE ThreadHandle, _In_ ULONG DesiredAccess,
    _In_opt_ POBJECT_ATTRIBUTES ObjectAttributes, _In_opt_ HANDLE ProcessHandle,
    _Out_opt_ PCLIENT_ID ClientId, _In_ PKSTART_ROUTINE StartRoutine,
    _In_opt_ PVOID StartContext);
/* Ends the calling system thread; returns only if it is not one. */
NTKERNELAPI NTSTATUS NTAPI PsTerminateSystemThread(_In_ NTSTATUS ExitStatus);

/* ---- Priority and affinity (kernel/thread/priority.c) --------------------- */

NTKERNELAPI KPRIORITY NTAPI KeSetPriorityThread(_Inout_ PKTHREAD Thread, _In_ KPRIORITY Priority);
NTKERNELAPI KPRIORITY NTAPI KeQueryPriorityThread(_In_ PKTHREAD Thread);
/* Base = 8 (the System process) + Increment, kept within 1..15; returns the
 * previous increment (ntddk.h). */
NTKERNELAPI LONG NTAPI KeSetBasePriorityThread(_Inout_ PKTHREAD Thread, _In_ LONG Increment);
/* <= DISPATCH_LEVEL.  Returns the previous system affinity (0: none). */
NTKERNELAPI KAFFINITY NTAPI KeSetSystemAffinityThreadEx(_In_ KAFFINITY Affinity);
NTKERNELAPI VOID NTAPI KeRevertToUserAffinityThreadEx(_In_ KAFFINITY Affinity);
/* <= APC_LEVEL.  Interval: < 0 relative, > 0 absolute, 100 ns units. */
NTKERNELAPI NTSTATUS NTAPI KeDelayExecutionThread(_In_ KPROCESSOR_MODE WaitMode,
                                                  _In_ BOOLEAN Alertable,
                                                  _In_ PLARGE_INTEGER Interval);

/* ---- Objects and handles (kernel/ob/object.c) ----------------------------- */

typedef struct _OBJECT_HANDLE_INFORMATION {
    ULONG HandleAttributes;
    ACCESS_MASK GrantedAccess;
} OBJECT_HANDLE_INFORMATION, *POBJECT_HANDLE_INFORMATION;

extern POBJECT_TYPE *PsThreadType;

/* PASSIVE_LEVEL.  +1 reference on the handle's object. */
NTKERNELAPI NTSTATUS NTAPI ObReferenceObjectByHandle(
    _In_ HANDLE Handle, _In_ ACCESS_MASK DesiredAccess, _In_opt_ POBJECT_TYPE ObjectType,
    _In_ KPROCESSOR_MODE AccessMode, _Out_ PVOID *Object,
    _Out_opt_ POBJECT_HANDLE_INFORMATION HandleInformation);
NTKERNELAPI LONG_PTR FASTCALL ObfReferenceObject(_In_ PVOID Object);
NTKERNELAPI LONG_PTR FASTCALL ObfDereferenceObject(_In_ PVOID Object);
#define ObReferenceObject(Object) ObfReferenceObject(Object)
#define ObDereferenceObject(Object) ObfDereferenceObject(Object)
/* PASSIVE_LEVEL. */
NTSYSAPI NTSTATUS NTAPI ZwClose(_In_ HANDLE Handle);

#endif
