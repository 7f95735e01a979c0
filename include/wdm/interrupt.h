/*
 * wdm/interrupt.h - interrupt objects, connecting an ISR, and interrupt spin
 * locks (part of <wdm.h>), with the WDK's names, types and signatures:
 * KINTERRUPT, KSERVICE_ROUTINE, KSYNCHRONIZE_ROUTINE, IoConnectInterrupt,
 * IoDisconnectInterrupt, KeAcquireInterruptSpinLock,
 * KeReleaseInterruptSpinLock, KeSynchronizeExecution.
 *
 * Where they live: kernel/io/iointerrupt.c (connect, disconnect, the dispatch
 * that calls ISRs), kernel/locks/intspinlock.c (the interrupt spin lock routines).
 * docs/interrupts.md has the whole path from a device's line through the I/O
 * APIC to the ISR.
 *
 * IRQL, entry -> while held -> after (S = Interrupt->SynchronizeIrql):
 *   KeAcquireInterruptSpinLock / KeReleaseInterruptSpinLock   <= S -> S -> old
 *   KeSynchronizeExecution                                   <= S -> S -> old
 *   an ISR                          runs at S holding *ActualLock, returns at S
 */
#ifndef WDM_INTERRUPT_H
#define WDM_INTERRUPT_H

#include "ntdef.h"
#include "wdm/irql.h"
#include "wdm/spinlock.h"

/* The object type in KINTERRUPT.Type (NT's KOBJECTS numbering). */
#define KI_INTERRUPT_OBJECT_TYPE 22
enum { InterruptObject = KI_INTERRUPT_OBJECT_TYPE };

typedef enum _KINTERRUPT_MODE {
    LevelSensitive,             /* the line stays asserted until serviced */
    Latched                     /* an edge: one event per transition */
} KINTERRUPT_MODE;

typedef enum _KINTERRUPT_POLARITY {
    InterruptPolarityUnknown,
    InterruptActiveHigh,
    InterruptRisingEdge = InterruptActiveHigh,
    InterruptActiveLow,
    InterruptFallingEdge = InterruptActiveLow,
} KINTERRUPT_POLARITY, *PKINTERRUPT_POLARITY;

struct _KINTERRUPT;

/* WDK: KSERVICE_ROUTINE.  Runs at SynchronizeIrql holding *ActualLock;
 * returns TRUE if its device interrupted (it serviced it), FALSE if not. */
typedef _Function_class_(KSERVICE_ROUTINE) BOOLEAN NTAPI KSERVICE_ROUTINE(
    _In_ struct _KINTERRUPT *Interrupt, _In_opt_ PVOID ServiceContext);
typedef KSERVICE_ROUTINE *PKSERVICE_ROUTINE;

/* WDK: KSYNCHRONIZE_ROUTINE (a SynchCritSection).  Its value becomes
 * KeSynchronizeExecution's, unchanged. */
typedef _Function_class_(KSYNCHRONIZE_ROUTINE) BOOLEAN NTAPI KSYNCHRONIZE_ROUTINE(
    _In_opt_ PVOID SynchronizeContext);
typedef KSYNCHRONIZE_ROUTINE *PKSYNCHRONIZE_ROUTINE;

/*
 * An interrupt object (opaque to WDK drivers; the field names are NT's, the
 * layout ours).  IoConnectInterrupt fills every field; after that only the
 * dispatcher writes (the counts), under *ActualLock.  One object serves all
 * the processors of its ProcessorEnableMask: the vector table is global here,
 * where Windows makes one object per processor.
 */
typedef struct _KINTERRUPT {
    SHORT Type;                         /* InterruptObject */
    SHORT Size;                         /* sizeof(KINTERRUPT) */
    LIST_ENTRY InterruptListEntry;      /* on its vector's chain (shared vectors) */
    PKSERVICE_ROUTINE ServiceRoutine;
    PVOID ServiceContext;
    KSPIN_LOCK SpinLock;                /* the lock when IoConnectInterrupt got none */
    PKSPIN_LOCK ActualLock;             /* &SpinLock, or the caller's SpinLock */
    ULONG Vector;                       /* 0x30 .. 0xCF */
    KIRQL Irql;                         /* Vector >> 4: the DIRQL it arrives at */
    KIRQL SynchronizeIrql;              /* >= Irql: the ISR runs at this level */
    BOOLEAN FloatingSave;               /* always FALSE on x64 */
    BOOLEAN Connected;
    CCHAR Number;                       /* the processor the device is routed to */
    BOOLEAN ShareVector;
    KINTERRUPT_MODE Mode;
    KINTERRUPT_POLARITY Polarity;       /* of its I/O APIC input; Unknown if none */
    KAFFINITY ProcessorEnableMask;      /* where the ISR may run */
    volatile ULONG ServiceCount;        /* times the ISR returned TRUE */
    volatile ULONG DispatchCount;       /* times the ISR was called */
} KINTERRUPT, *PKINTERRUPT, *PRKINTERRUPT;

/*
 * WDK: IoConnectInterrupt.  Register ServiceRoutine for Vector on the
 * processors of ProcessorEnableMask; *InterruptObject gets the object to
 * pass to KeSynchronizeExecution and IoDisconnectInterrupt.  PASSIVE_LEVEL.
 *
 *   STATUS_SUCCESS                 connected; if Vector has an I/O APIC input
 *                                  (KiGetIsaInterruptVector), it is unmasked
 *   STATUS_INVALID_PARAMETER       InterruptObject or ServiceRoutine NULL;
 *                                  Vector outside 0x30..0xCF; Irql !=
 *                                  Vector >> 4; SynchronizeIrql < Irql or
 *                                  above 12 (the highest DIRQL); a Mode that
 *                                  is neither LevelSensitive nor Latched;
 *                                  ProcessorEnableMask empty or naming a
 *                                  processor that is not online;
 *                                  FloatingSave TRUE (x64: must be FALSE);
 *                                  Vector already connected and this or the
 *                                  existing objects not ShareVector, or of
 *                                  another Mode; an I/O APIC input whose
 *                                  sharers' masks have no processor in common
 *   STATUS_INSUFFICIENT_RESOURCES  all KI_MAX_INTERRUPT_OBJECTS objects in use
 */
#define KI_MAX_INTERRUPT_OBJECTS 32

_IRQL_requires_max_(PASSIVE_LEVEL)
NTKERNELAPI NTSTATUS NTAPI IoConnectInterrupt(
    _Out_ PKINTERRUPT *InterruptObject, _In_ PKSERVICE_ROUTINE ServiceRoutine,
    _In_opt_ PVOID ServiceContext, _In_opt_ PKSPIN_LOCK SpinLock, _In_ ULONG Vector,
    _In_ KIRQL Irql, _In_ KIRQL SynchronizeIrql, _In_ KINTERRUPT_MODE InterruptMode,
    _In_ BOOLEAN ShareVector, _In_ KAFFINITY ProcessorEnableMask, _In_ BOOLEAN FloatingSave);

/* WDK: IoDisconnectInterrupt.  When it returns, the ISR is not running on
 * any processor and will not be called again; the object goes back to the
 * pool.  The last object on a vector with an I/O APIC input masks it.
 * PASSIVE_LEVEL. */
_IRQL_requires_max_(PASSIVE_LEVEL)
NTKERNELAPI VOID NTAPI IoDisconnectInterrupt(_In_ PKINTERRUPT InterruptObject);

/* WDK: KeAcquireInterruptSpinLock.  Raise to SynchronizeIrql, then take
 * *ActualLock; returns the old IRQL.  Checked build: called above
 * SynchronizeIrql is IRQL_NOT_GREATER_OR_EQUAL (0x09), P1 current IRQL,
 * P2 SynchronizeIrql, P3 the KINTERRUPT, P4 the caller's address. */
_IRQL_requires_max_(HIGH_LEVEL) _IRQL_saves_
NTKERNELAPI KIRQL NTAPI KeAcquireInterruptSpinLock(_Inout_ PKINTERRUPT Interrupt);

/* WDK: KeReleaseInterruptSpinLock.  At SynchronizeIrql: release
 * *ActualLock, then lower to OldIrql (KeAcquireInterruptSpinLock's value). */
NTKERNELAPI VOID NTAPI KeReleaseInterruptSpinLock(_Inout_ PKINTERRUPT Interrupt,
                                                  _In_ _IRQL_restores_ KIRQL OldIrql);

/* WDK: KeSynchronizeExecution.  Raise to SynchronizeIrql, take *ActualLock,
 * call SynchronizeRoutine(SynchronizeContext), release, lower; returns the
 * routine's value as is (any BOOLEAN, not only TRUE/FALSE).  Checked build:
 * above SynchronizeIrql, the same bug check as KeAcquireInterruptSpinLock. */
_IRQL_requires_max_(HIGH_LEVEL)
NTKERNELAPI BOOLEAN NTAPI KeSynchronizeExecution(_Inout_ PKINTERRUPT Interrupt,
                                                 _In_ PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                                 _In_opt_ PVOID SynchronizeContext);

#endif
