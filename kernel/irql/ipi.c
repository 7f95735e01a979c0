/*
 * ipi.c - inter-processor interrupts: the request mailbox and
 * KeIpiGenericCall (WDK: KeIpiGenericCall).
 *
 * A sender ORs request bits into the target's KPRCB.IpiRequests (lock or),
 * then sends a fixed IPI to vector 0xE1.  The target's handler, at IPI_LEVEL,
 * takes all bits at once with xchg: requests that arrive while one IPI is
 * pending coalesce into it, and none is lost, because the bit is set before
 * the interrupt is sent (SDM Vol. 3A 11.6 "Issuing Interprocessor
 * Interrupts").
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/irql/ipi.h"
#include "kernel/irql/interrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

/* KiGenericCallLock: one KeIpiGenericCall at a time.  Taken at
 * DISPATCH_LEVEL, so the IPIs of a call in progress still reach a CPU that
 * waits for it; a plain xchg lock. */
static volatile LONG KiGenericCallLock;
static struct {
    PKIPI_BROADCAST_WORKER Worker;
    ULONG_PTR Context;
    ULONG Processors;           /* how many take part */
    volatile LONG Arrived;      /* barrier: all enter the worker together */
    volatile LONG Finished;
} KiGenericCall;

static ULONG_PTR generic_call_target(void)
{
    KI_RACE_POINT("ipi.generic_call.arriving");
    __atomic_fetch_add(&KiGenericCall.Arrived, 1, __ATOMIC_ACQ_REL);     /* lock xadd */
    while (__atomic_load_n(&KiGenericCall.Arrived, __ATOMIC_ACQUIRE) < (LONG)KiGenericCall.Processors)
        cpu_relax();
    ULONG_PTR result = KiGenericCall.Worker(KiGenericCall.Context);
    KI_RACE_POINT("ipi.generic_call.worked");
    __atomic_fetch_add(&KiGenericCall.Finished, 1, __ATOMIC_RELEASE);
    return result;
}

static VOID ipi_interrupt(PKTRAP_FRAME f, PVOID context)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    LONG requests = __atomic_exchange_n(&prcb->IpiRequests, 0, __ATOMIC_ACQUIRE);

    KI_RACE_POINT("ipi.receive.taken");
    KI_TRACE(KI_TRACE_IPI, KI_TRACE_IPI_RECEIVE, requests, 0, 0);

    UNREFERENCED_PARAMETER(f);
    UNREFERENCED_PARAMETER(context);
    if (requests & KI_IPI_PING)
        prcb->IpiPingCount++;
    if (requests & KI_IPI_GENERIC_CALL)
        generic_call_target();
    /* KI_IPI_WAKE needs nothing here: the interrupt itself ended hlt. */
}

void KiInitializeIpi(void)
{
    KiSetInterruptHandler(KI_VECTOR_IPI, ipi_interrupt, NULL);
}

void KiRequestIpi(KAFFINITY Targets, LONG Requests)
{
    ULONG self = KeGetCurrentPrcb()->Number;
    KAFFINITY online = KiActiveProcessorSet();
    KAFFINITY others = online & ~((KAFFINITY)1 << self);

    Targets &= online;
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
        if (Targets & ((KAFFINITY)1 << n))
            __atomic_fetch_or(&KiProcessorBlock[n].Prcb.IpiRequests, Requests, __ATOMIC_RELEASE);
    KI_RACE_POINT("ipi.request.posted");        /* a target may take the bits early */

    ULONG command = ICR_FIXED | ICR_ASSERT | KI_VECTOR_IPI;
    if (Targets == 0)
        return;
    KI_TRACE(KI_TRACE_IPI, KI_TRACE_IPI_SEND, Requests, Targets, 0);
    if (Targets == online)
        KiApicSendIpi(0, command | ICR_DEST_ALL);
    else if (Targets == others)
        KiApicSendIpi(0, command | ICR_DEST_OTHERS);
    else if (Targets == ((KAFFINITY)1 << self))
        KiApicSendIpi(0, command | ICR_DEST_SELF);
    else
        for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
            if (Targets & ((KAFFINITY)1 << n))
                KiApicSendIpi(KiProcessorBlock[n].Prcb.ApicId, command);
}

ULONG_PTR NTAPI KeIpiGenericCall(PKIPI_BROADCAST_WORKER BroadcastFunction, ULONG_PTR Context)
{
    KIRQL old = KeGetCurrentIrql();

    if (old < DISPATCH_LEVEL)
        KfRaiseIrql(DISPATCH_LEVEL);
    while (__atomic_exchange_n(&KiGenericCallLock, 1, __ATOMIC_ACQUIRE))   /* xchg */
        while (__atomic_load_n(&KiGenericCallLock, __ATOMIC_RELAXED))
            cpu_relax();

    KiGenericCall.Worker = BroadcastFunction;
    KiGenericCall.Context = Context;
    KiGenericCall.Processors = KiActiveProcessorCount();
    KiGenericCall.Arrived = 0;
    KiGenericCall.Finished = 0;

    KIRQL dispatch = KfRaiseIrql(IPI_LEVEL);
    KAFFINITY others = KiActiveProcessorSet() & ~((KAFFINITY)1 << KeGetCurrentPrcb()->Number);
    KiRequestIpi(others, KI_IPI_GENERIC_CALL);
    ULONG_PTR result = generic_call_target();
    while (__atomic_load_n(&KiGenericCall.Finished, __ATOMIC_ACQUIRE) < (LONG)KiGenericCall.Processors)
        cpu_relax();
    KeLowerIrql(dispatch);

    __atomic_store_n(&KiGenericCallLock, 0, __ATOMIC_RELEASE);     /* a plain mov */
    KeLowerIrql(old);
    return result;
}
