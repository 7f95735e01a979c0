/*
 * wdm/dpc.h - deferred procedure calls (part of <wdm.h>; kernel/dpc/,
 * docs/dpc.md).
 *
 * A DPC is a routine an interrupt service routine (or anything else) asks a
 * CPU to run later at DISPATCH_LEVEL.  Each CPU has its own queue, drained by
 * the DISPATCH_LEVEL software interrupt (vector 0x2F) once that CPU's IRQL
 * drops below DISPATCH_LEVEL.  The names, types and rules are the WDK's.
 */
#ifndef WDM_DPC_H
#define WDM_DPC_H

#include "ntdef.h"
#include "wdm/processor.h"

#ifndef MAXIMUM_PROCESSORS
#define MAXIMUM_PROCESSORS 64           /* wdm.h on x64; kernel/smp/pcr.h agrees */
#endif

/* KOBJECTS values for KDPC.Type (the Vista/7 numbering, which goes with the
 * classic KDPC layout below). */
#define DpcObject           19
#define ThreadedDpcObject   24

#define DPC_NORMAL          0
#define DPC_THREADED        1

typedef enum _KDPC_IMPORTANCE {
    LowImportance,                      /* queue tail; may wait for the clock tick */
    MediumImportance,                   /* queue tail; the default */
    HighImportance,                     /* queue head */
    MediumHighImportance                /* queue tail, but interrupts another CPU at once */
} KDPC_IMPORTANCE;

struct _KDPC;

/* Runs at DISPATCH_LEVEL, on the CPU whose queue held the DPC, and must
 * return there (WDK: KDEFERRED_ROUTINE). */
typedef VOID (NTAPI KDEFERRED_ROUTINE)(_In_ struct _KDPC *Dpc, _In_opt_ PVOID DeferredContext,
                                       _In_opt_ PVOID SystemArgument1,
                                       _In_opt_ PVOID SystemArgument2);
typedef KDEFERRED_ROUTINE *PKDEFERRED_ROUTINE;

/*
 * KDPC: the classic x64 layout, 0x40 bytes (opaque to drivers, who only
 * allocate it in nonpaged memory and pass it around).
 *
 *   Number    0 = the CPU that inserts it; MAXIMUM_PROCESSORS + n = CPU n
 *             (so a DPC aimed at CPU 0 differs from an untargeted one).
 *   DpcData   NULL when not queued; else the per-CPU queue (KDPC_DATA in the
 *             KPRCB) it sits on.  Set by an atomic compare-exchange, so of
 *             two CPUs inserting the same DPC exactly one wins.
 */
typedef struct _KDPC {
    UCHAR Type;
    UCHAR Importance;
    volatile USHORT Number;
    LIST_ENTRY DpcListEntry;
    PKDEFERRED_ROUTINE DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    PVOID volatile DpcData;
} KDPC, *PKDPC, *PRKDPC;

C_ASSERT(offsetof(KDPC, Type) == 0x00);
C_ASSERT(offsetof(KDPC, Importance) == 0x01);
C_ASSERT(offsetof(KDPC, Number) == 0x02);
C_ASSERT(offsetof(KDPC, DpcListEntry) == 0x08);
C_ASSERT(offsetof(KDPC, DeferredRoutine) == 0x18);
C_ASSERT(offsetof(KDPC, DeferredContext) == 0x20);
C_ASSERT(offsetof(KDPC, SystemArgument1) == 0x28);
C_ASSERT(offsetof(KDPC, SystemArgument2) == 0x30);
C_ASSERT(offsetof(KDPC, DpcData) == 0x38);
C_ASSERT(sizeof(KDPC) == 0x40);

/* Time figures are dimensionless (here: clock ticks); a limit of 0 means
 * that check is off; a count is the time left (WDK:
 * KDPC_WATCHDOG_INFORMATION). */
typedef struct _KDPC_WATCHDOG_INFORMATION {
    ULONG DpcTimeLimit;
    ULONG DpcTimeCount;
    ULONG DpcWatchdogLimit;
    ULONG DpcWatchdogCount;
    ULONG Reserved;
} KDPC_WATCHDOG_INFORMATION, *PKDPC_WATCHDOG_INFORMATION;

/* The DPC object (kernel/dpc/dpc.c).  Any IRQL. */
NTKERNELAPI VOID NTAPI KeInitializeDpc(_Out_ PRKDPC Dpc, _In_ PKDEFERRED_ROUTINE DeferredRoutine,
                                       _In_opt_ PVOID DeferredContext);
/* Runs at PASSIVE_LEVEL on the target CPU's DPC thread; with the boot option
 * threaded_dpcs=off, as an ordinary DPC at DISPATCH_LEVEL, as on Windows
 * with threaded DPCs disabled (kernel/dpc/dpc_thread.c). */
NTKERNELAPI VOID NTAPI KeInitializeThreadedDpc(_Out_ PRKDPC Dpc,
                                               _In_ PKDEFERRED_ROUTINE DeferredRoutine,
                                               _In_opt_ PVOID DeferredContext);
NTKERNELAPI VOID NTAPI KeSetImportanceDpc(_Inout_ PRKDPC Dpc, _In_ KDPC_IMPORTANCE Importance);
/* A Number that is not an active CPU of group 0 leaves the DPC unchanged. */
NTKERNELAPI VOID NTAPI KeSetTargetProcessorDpc(_Inout_ PRKDPC Dpc, _In_ CCHAR Number);
/* STATUS_INVALID_PARAMETER (DPC unchanged) for a CPU that does not exist. */
NTKERNELAPI NTSTATUS NTAPI KeSetTargetProcessorDpcEx(_Inout_ PKDPC Dpc,
                                                     _In_ PPROCESSOR_NUMBER ProcNumber);

/* The queues (kernel/dpc/dpc_queue.c).  Any IRQL.  Insert: FALSE, and nothing
 * changed, if the DPC is already queued.  Remove: TRUE only if it was taken
 * off a queue before its routine started. */
NTKERNELAPI BOOLEAN NTAPI KeInsertQueueDpc(_Inout_ PRKDPC Dpc, _In_opt_ PVOID SystemArgument1,
                                           _In_opt_ PVOID SystemArgument2);
NTKERNELAPI BOOLEAN NTAPI KeRemoveQueueDpc(_Inout_ PRKDPC Dpc);
/* Non-zero inside a DPC routine (and in an interrupt that interrupted one). */
NTKERNELAPI LOGICAL NTAPI KeIsExecutingDpc(VOID);

/* Returns once every DPC queued on any CPU before the call has finished
 * running (kernel/dpc/dpc.c).  IRQL <= APC_LEVEL. */
_IRQL_requires_max_(APC_LEVEL)
NTKERNELAPI VOID NTAPI KeFlushQueuedDpcs(VOID);

/* Run Routine(Dpc, Context, SystemArgument1, SystemArgument2) once on every
 * active CPU at DISPATCH_LEVEL and return when each has called
 * KeSignalCallDpcDone(SystemArgument1) (kernel/dpc/dpc_generic.c; undocumented
 * on Windows).  KeSignalCallDpcSynchronize(SystemArgument2) is a barrier
 * across all of them that returns TRUE on exactly one.  IRQL <= APC_LEVEL. */
_IRQL_requires_max_(APC_LEVEL)
NTKERNELAPI VOID NTAPI KeGenericCallDpc(_In_ PKDEFERRED_ROUTINE Routine, _In_opt_ PVOID Context);
NTKERNELAPI VOID NTAPI KeSignalCallDpcDone(_In_ PVOID SystemArgument1);
NTKERNELAPI LOGICAL NTAPI KeSignalCallDpcSynchronize(_In_ PVOID SystemArgument2);

/* This CPU's watchdog limits and the time left (kernel/dpc/dpc_watchdog.c).
 * STATUS_SUCCESS inside a DPC, else STATUS_UNSUCCESSFUL (the structure is
 * filled either way).  DISPATCH_LEVEL. */
NTKERNELAPI NTSTATUS NTAPI KeQueryDpcWatchdogInformation(
    _Out_ PKDPC_WATCHDOG_INFORMATION WatchdogInformation);

#endif
