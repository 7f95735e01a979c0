/*
 * wdm/bugcheck.h - bug check callbacks (part of <wdm.h>;
 * kernel/debug/bugcheck_callback.c).  WDK: KeRegisterBugCheckCallback,
 * KeDeregisterBugCheckCallback, KBUGCHECK_CALLBACK_ROUTINE.
 *
 * A driver hands in a record it owns (nonpaged, alive until deregistered),
 * a routine and a buffer; when the machine bug-checks, the routine is called
 * once with that buffer and length, after the STOP screen and before the
 * halt, at HIGH_LEVEL with interrupts off and every other CPU frozen.  It
 * must take no lock and allocate nothing; a bug check or a fault inside it
 * is reported as one "nested bug check" line under the first STOP screen.
 */
#ifndef WDM_BUGCHECK_H
#define WDM_BUGCHECK_H

#include "ntdef.h"
#include "ntlist.h"

typedef enum _KBUGCHECK_BUFFER_DUMP_STATE {
    BufferEmpty,            /* initialized or deregistered */
    BufferInserted,         /* registered */
    BufferStarted,          /* its routine is running in a bug check */
    BufferFinished,         /* its routine returned */
    BufferIncomplete        /* (not used by this kernel) */
} KBUGCHECK_BUFFER_DUMP_STATE;

typedef VOID KBUGCHECK_CALLBACK_ROUTINE(_In_ PVOID Buffer, _In_ ULONG Length);
typedef KBUGCHECK_CALLBACK_ROUTINE *PKBUGCHECK_CALLBACK_ROUTINE;

typedef struct _KBUGCHECK_CALLBACK_RECORD {
    LIST_ENTRY Entry;
    PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine;
    PVOID Buffer;
    ULONG Length;
    PUCHAR Component;
    ULONG_PTR Checksum;     /* routine + buffer + length + component: a record
                               overwritten since registration is skipped */
    UCHAR State;            /* KBUGCHECK_BUFFER_DUMP_STATE */
} KBUGCHECK_CALLBACK_RECORD, *PKBUGCHECK_CALLBACK_RECORD;

/* A macro in the WDK too: the record starts out BufferEmpty. */
#define KeInitializeCallbackRecord(CallbackRecord) ((CallbackRecord)->State = BufferEmpty)

/* FALSE if the record is already registered (State not BufferEmpty).  Any IRQL. */
NTKERNELAPI BOOLEAN NTAPI KeRegisterBugCheckCallback(
    _Out_ PKBUGCHECK_CALLBACK_RECORD CallbackRecord,
    _In_ PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine, _In_opt_ PVOID Buffer,
    _In_ ULONG Length, _In_ PUCHAR Component);
/* FALSE if the record is not registered.  Any IRQL. */
NTKERNELAPI BOOLEAN NTAPI KeDeregisterBugCheckCallback(
    _Inout_ PKBUGCHECK_CALLBACK_RECORD CallbackRecord);

#endif
