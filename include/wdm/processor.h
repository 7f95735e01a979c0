/*
 * wdm/processor.h - processor numbers and sets (part of <wdm.h>;
 * kernel/smp/processor.c).  One processor group (group 0) holds every CPU.
 */
#ifndef WDM_PROCESSOR_H
#define WDM_PROCESSOR_H

#include "ntdef.h"

#define ALL_PROCESSOR_GROUPS 0xFFFF

typedef struct _PROCESSOR_NUMBER {
    USHORT Group;
    UCHAR Number;
    UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;
C_ASSERT(sizeof(PROCESSOR_NUMBER) == 4);

/* The calling CPU's number, 0 .. active count - 1 (read through GS). */
NTKERNELAPI ULONG NTAPI KeGetCurrentProcessorNumber(VOID);
NTKERNELAPI ULONG NTAPI KeGetCurrentProcessorNumberEx(_Out_opt_ PPROCESSOR_NUMBER ProcNumber);

/* How many CPUs are online; ActiveProcessors (may be NULL) gets their set. */
NTKERNELAPI ULONG NTAPI KeQueryActiveProcessorCount(_Out_opt_ PKAFFINITY ActiveProcessors);
NTKERNELAPI ULONG NTAPI KeQueryActiveProcessorCountEx(_In_ USHORT GroupNumber);
NTKERNELAPI KAFFINITY NTAPI KeQueryActiveProcessors(VOID);

/* Run BroadcastFunction(Context) on every CPU at IPI_LEVEL, all entering it
 * together; returns the calling CPU's result (kernel/irql/ipi.c).  IRQL < IPI_LEVEL. */
typedef ULONG_PTR (NTAPI KIPI_BROADCAST_WORKER)(_In_ ULONG_PTR Argument);
typedef KIPI_BROADCAST_WORKER *PKIPI_BROADCAST_WORKER;
NTKERNELAPI ULONG_PTR NTAPI KeIpiGenericCall(_In_ PKIPI_BROADCAST_WORKER BroadcastFunction,
                                            _In_ ULONG_PTR Context);

#endif
