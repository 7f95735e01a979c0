/*
 * wdm/apc.h - kernel APCs and the regions that hold them off (part of
 * <wdm.h>; kernel/thread/apc.c, docs/apc.md).
 *
 * KeEnterCriticalRegion, KeLeaveCriticalRegion, KeEnterGuardedRegion,
 * KeLeaveGuardedRegion, KeAreApcsDisabled and KeAreAllApcsDisabled are the
 * WDK's.  The KAPC object and KeInitializeApc / KeInsertQueueApc are not
 * public WDK: Windows keeps them internal (ntoskrnl exports them, no kit
 * header declares them).  Their shapes here are the ones Windows Internals
 * describes, so this kernel's own code (and a reader) can use them.
 */
#ifndef WDM_APC_H
#define WDM_APC_H

#include "ntdef.h"
#include "wdm/dispatcher.h"

/* ---- Regions (WDK) -------------------------------------------------------- */

/* <= APC_LEVEL.  Normal kernel APCs to this thread wait until the matching
 * leave (they nest; special kernel APCs still run). */
NTKERNELAPI VOID NTAPI KeEnterCriticalRegion(VOID);
NTKERNELAPI VOID NTAPI KeLeaveCriticalRegion(VOID);
/* <= APC_LEVEL.  Every kernel APC to this thread waits (they nest). */
NTKERNELAPI VOID NTAPI KeEnterGuardedRegion(VOID);
NTKERNELAPI VOID NTAPI KeLeaveGuardedRegion(VOID);
/* In a critical or guarded region. */
NTKERNELAPI BOOLEAN NTAPI KeAreApcsDisabled(VOID);
/* In a guarded region, or at APC_LEVEL or above. */
NTKERNELAPI BOOLEAN NTAPI KeAreAllApcsDisabled(VOID);

/* ---- KAPC (internal to Windows; Windows Internals' shapes) ----------------- */

typedef enum _KAPC_ENVIRONMENT {
    OriginalApcEnvironment, AttachedApcEnvironment, CurrentApcEnvironment,
    InsertApcEnvironment
} KAPC_ENVIRONMENT;

struct _KAPC;
typedef VOID (NTAPI *PKNORMAL_ROUTINE)(PVOID NormalContext, PVOID SystemArgument1,
                                       PVOID SystemArgument2);
typedef VOID (NTAPI *PKKERNEL_ROUTINE)(struct _KAPC *Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                       PVOID *NormalContext, PVOID *SystemArgument1,
                                       PVOID *SystemArgument2);
typedef VOID (NTAPI *PKRUNDOWN_ROUTINE)(struct _KAPC *Apc);

typedef struct _KAPC {
    UCHAR Type;                 /* 0x12, ApcObject */
    UCHAR SpareByte0;
    UCHAR Size;
    UCHAR SpareByte1;
    ULONG SpareLong0;
    struct _KTHREAD *Thread;
    LIST_ENTRY ApcListEntry;    /* on the thread's kernel APC list while queued */
    PKKERNEL_ROUTINE KernelRoutine;     /* at APC_LEVEL, always */
    PKRUNDOWN_ROUTINE RundownRoutine;   /* if the thread ends with the APC queued */
    PKNORMAL_ROUTINE NormalRoutine;     /* NULL: a special kernel APC; else at PASSIVE_LEVEL */
    PVOID NormalContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    CCHAR ApcStateIndex;
    KPROCESSOR_MODE ApcMode;    /* KernelMode: there is no user mode here */
    BOOLEAN Inserted;
} KAPC, *PKAPC, *PRKAPC;
C_ASSERT(sizeof(KAPC) == 0x58);

/* Any IRQL.  A special kernel APC has no NormalRoutine. */
VOID NTAPI KeInitializeApc(_Out_ PRKAPC Apc, _In_ struct _KTHREAD *Thread,
                           _In_ KAPC_ENVIRONMENT Environment, _In_ PKKERNEL_ROUTINE KernelRoutine,
                           _In_opt_ PKRUNDOWN_ROUTINE RundownRoutine,
                           _In_opt_ PKNORMAL_ROUTINE NormalRoutine,
                           _In_ KPROCESSOR_MODE ApcMode, _In_opt_ PVOID NormalContext);
/* <= DISPATCH_LEVEL.  FALSE if it is queued already or the thread is ending. */
BOOLEAN NTAPI KeInsertQueueApc(_Inout_ PRKAPC Apc, _In_opt_ PVOID SystemArgument1,
                               _In_opt_ PVOID SystemArgument2, _In_ KPRIORITY Increment);

#endif
