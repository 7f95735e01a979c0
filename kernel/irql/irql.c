/*
 * irql.c - the exported IRQL routines (WDK: KeGetCurrentIrql, KeRaiseIrql,
 * KeLowerIrql, KeRaiseIrqlToDpcLevel, KeRaiseIrqlToSynchLevel).
 *
 * IRQL is CR8, the local APIC task priority class: raising it masks every
 * interrupt whose vector class is at or below it, in hardware, on this CPU
 * only (SDM Vol. 3A 11.8.3.1 "Task and Processor Priorities").  The free
 * build's header inlines the CR8 access; these functions exist for both
 * builds, and in the checked build they also check the caller:
 *
 *   KfRaiseIrql to a level below the current one
 *       IRQL_NOT_GREATER_OR_EQUAL (0x09): P1 current, P2 requested,
 *       P3 0, P4 caller's return address
 *   KeLowerIrql to a level above the current one
 *       IRQL_NOT_LESS_OR_EQUAL (0x0A): P1 requested (where the WDK puts the
 *       address), P2 current, P3 0, P4 caller's return address
 *   either, with a level above HIGH_LEVEL: the same codes.
 */
#define KI_DEFINE_IRQL_EXPORTS
#include "wdm.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/trace/trace.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

KIRQL NTAPI KeGetCurrentIrql(VOID)
{
    return (KIRQL)__readcr8();
}

static KIRQL raise(KIRQL NewIrql, ULONG_PTR caller)
{
    KIRQL old = (KIRQL)__readcr8();

    if (DBG && (NewIrql < old || NewIrql > HIGH_LEVEL))
        KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, old, NewIrql, 0, caller);
    __writecr8(NewIrql);
    KI_TRACE(KI_TRACE_IRQL, KI_TRACE_IRQL_RAISE, old, NewIrql, 0);
    return old;
}

KIRQL FASTCALL KfRaiseIrql(KIRQL NewIrql)
{
    return raise(NewIrql, CALLER);
}

KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID)
{
    return raise(DISPATCH_LEVEL, CALLER);
}

KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID)
{
    return raise(SYNCH_LEVEL, CALLER);
}

VOID KiLowerIrqlChecked(KIRQL NewIrql, ULONG_PTR Caller)
{
    KIRQL current = (KIRQL)__readcr8();

    if (NewIrql > current || NewIrql > HIGH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, NewIrql, current, 0, Caller);
    KiCheckIrqlLowering(NewIrql, Caller);      /* spin locks held, stale raise: 0x0F, 0xC8 */
    KI_TRACE(KI_TRACE_IRQL, KI_TRACE_IRQL_LOWER, current, NewIrql, 0);   /* before: a DPC may run at once */
    __writecr8(NewIrql);
}

VOID NTAPI KeLowerIrql(KIRQL NewIrql)
{
    if (DBG)
        KiLowerIrqlChecked(NewIrql, CALLER);
    else
        /* Interrupts of the classes now unmasked that were pending in the
         * IRR are delivered right after this instruction (IF = 1). */
        __writecr8(NewIrql);
}
