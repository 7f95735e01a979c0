/*
 * wdm/irql.h - IRQL levels and routines on x64 (part of <wdm.h>).
 */
#ifndef WDM_IRQL_H
#define WDM_IRQL_H

#include "ntdef.h"

/* IRQL levels on x64 (wdm.h, AMD64 section). */
#define PASSIVE_LEVEL   0
#define LOW_LEVEL       0
#define APC_LEVEL       1
#define DISPATCH_LEVEL  2
#define CMCI_LEVEL      5
#define CLOCK_LEVEL     13
#define IPI_LEVEL       14
#define DRS_LEVEL       14
#define POWER_LEVEL     14
#define PROFILE_LEVEL   15
#define HIGH_LEVEL      15
#define SYNCH_LEVEL     (IPI_LEVEL - 2)

/* MSVC's control-register intrinsics, which WDK headers and drivers use. */
FORCEINLINE ULONG64 __readcr8(VOID)
{
    ULONG64 value;
    __asm__ volatile("mov %%cr8, %0" : "=r"(value));
    return value;
}

/* mov %cr8 sets the local APIC's task priority class (SDM Vol. 3A 11.8.6.1):
 * interrupts of that class and below stop being delivered the moment the
 * instruction completes.  "memory" keeps the compiler from moving accesses
 * of the data the new IRQL protects across it. */
FORCEINLINE VOID __writecr8(ULONG64 Value)
{
    __asm__ volatile("mov %0, %%cr8" : : "r"(Value) : "memory");
}

/*
 * IRQL (kernel/irql/irql.c, docs/irql.md).  IRQL is CR8: nothing else decides
 * masking.  The free build inlines these as the x64 WDK does (a read and a
 * write of CR8); the checked build calls the exported functions, which
 * bug-check misuse: raising to a lower level is IRQL_NOT_GREATER_OR_EQUAL,
 * lowering to a higher one IRQL_NOT_LESS_OR_EQUAL.  Every name is also an
 * exported function in both builds.
 */
NTKERNELAPI KIRQL NTAPI KeGetCurrentIrql(VOID);
NTKERNELAPI KIRQL FASTCALL KfRaiseIrql(_In_ KIRQL NewIrql);
NTKERNELAPI VOID NTAPI KeLowerIrql(_In_ KIRQL NewIrql);
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID);
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID);
#define KeRaiseIrql(NewIrql, OldIrql) (*(OldIrql) = KfRaiseIrql(NewIrql))

#if !DBG && !defined(KI_DEFINE_IRQL_EXPORTS)
#define KeGetCurrentIrql() ((KIRQL)__readcr8())
#define KfRaiseIrql(NewIrql) KiRaiseIrqlInline(NewIrql)
#define KeLowerIrql(NewIrql) __writecr8(NewIrql)
#define KeRaiseIrqlToDpcLevel() KiRaiseIrqlInline(DISPATCH_LEVEL)
#define KeRaiseIrqlToSynchLevel() KiRaiseIrqlInline(SYNCH_LEVEL)
#endif

FORCEINLINE KIRQL KiRaiseIrqlInline(KIRQL NewIrql)
{
    KIRQL old = (KIRQL)__readcr8();
    __writecr8(NewIrql);
    return old;
}

#endif
