/*
 * dpc_generic.c - KeGenericCallDpc: one routine on every CPU at
 * DISPATCH_LEVEL, with a barrier they can meet at (undocumented on Windows;
 * docs/dpc.md states the contract third-party drivers rely on).
 *
 * The caller queues one HighImportance DPC per active CPU, each aimed at
 * its CPU, with SystemArgument1 = the count of CPUs yet to finish and
 * SystemArgument2 = the barrier.  Each routine ends with
 * KeSignalCallDpcDone(SystemArgument1); the caller waits for the count to
 * reach zero.  KeSignalCallDpcSynchronize(SystemArgument2) holds every CPU
 * until all have arrived and returns TRUE on the last one only; it can be
 * used again within the same call (each use is a new generation).
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/dpc/dpc.h"
#include "kernel/smp/smp.h"
#include "arch/x86_64/cpu.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

typedef struct _KI_DPC_BARRIER {
    volatile LONG Remaining;            /* CPUs still to arrive this generation */
    LONG Total;
    volatile LONG Generation;           /* bumped by the last arrival: the release */
} KI_DPC_BARRIER;

/*
 * KiGenericCallLock: one generic call at a time.  Two at once could
 * deadlock: each holds some CPUs in its barrier while waiting for CPUs held
 * in the other's.  A plain xchg lock, spun on at the caller's IRQL (at most
 * APC_LEVEL) with interrupts enabled, so a waiting CPU still takes the 0x2F
 * of the call in progress.  It protects KiGenericCall.
 */
static volatile LONG KiGenericCallLock;
static struct {
    KDPC Dpcs[MAXIMUM_PROCESSORS];
    volatile LONG Unfinished;           /* SystemArgument1 */
    KI_DPC_BARRIER Barrier;             /* SystemArgument2 */
} KiGenericCall;

VOID NTAPI KeGenericCallDpc(PKDEFERRED_ROUTINE Routine, PVOID Context)
{
    KiCheckDpcWaitIrql(KeGenericCallDpc, CALLER);
    while (__atomic_exchange_n(&KiGenericCallLock, 1, __ATOMIC_ACQUIRE))   /* xchg */
        while (__atomic_load_n(&KiGenericCallLock, __ATOMIC_RELAXED))
            cpu_relax();

    KI_RACE_POINT("dpc.generic_call.locked");
    ULONG count = KiActiveProcessorCount();
    KiGenericCall.Unfinished = (LONG)count;
    KiGenericCall.Barrier.Remaining = (LONG)count;
    KiGenericCall.Barrier.Total = (LONG)count;

    /* At DISPATCH_LEVEL while queueing: our own CPU's DPC must not start
     * (and wait in the barrier) before the others are queued. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (ULONG n = 0; n < count; n++) {
        PKDPC dpc = &KiGenericCall.Dpcs[n];
        KeInitializeDpc(dpc, Routine, Context);
        KeSetImportanceDpc(dpc, HighImportance);
        KeSetTargetProcessorDpc(dpc, (CCHAR)n);
        KeInsertQueueDpc(dpc, (PVOID)&KiGenericCall.Unfinished, &KiGenericCall.Barrier);
    }
    KeLowerIrql(old);                   /* ours runs here */

    while (__atomic_load_n(&KiGenericCall.Unfinished, __ATOMIC_ACQUIRE) != 0)
        cpu_relax();
    KI_RACE_POINT("dpc.generic_call.all_done");
    /* Safe to reuse the DPCs now: each was unqueued before its routine ran. */
    __atomic_store_n(&KiGenericCallLock, 0, __ATOMIC_RELEASE);     /* a plain mov */
}

VOID NTAPI KeSignalCallDpcDone(PVOID SystemArgument1)
{
    __atomic_fetch_sub((volatile LONG *)SystemArgument1, 1, __ATOMIC_RELEASE);  /* lock xadd */
}

LOGICAL NTAPI KeSignalCallDpcSynchronize(PVOID SystemArgument2)
{
    KI_DPC_BARRIER *barrier = SystemArgument2;
    /* Read before arriving: once we count ourselves in, the last arrival
     * may bump it at any moment. */
    LONG generation = __atomic_load_n(&barrier->Generation, __ATOMIC_ACQUIRE);

    KI_RACE_POINT("dpc.barrier.arriving");
    if (__atomic_sub_fetch(&barrier->Remaining, 1, __ATOMIC_ACQ_REL) == 0) {   /* lock xadd */
        KI_RACE_POINT("dpc.barrier.last_arrived");
        barrier->Remaining = barrier->Total;    /* re-armed before anyone leaves */
        KI_RACE_POINT("dpc.barrier.rearmed");
        __atomic_store_n(&barrier->Generation, generation + 1, __ATOMIC_RELEASE);
        return TRUE;
    }
    while (__atomic_load_n(&barrier->Generation, __ATOMIC_ACQUIRE) == generation)
        cpu_relax();
    KI_RACE_POINT("dpc.barrier.released");      /* may arrive at the next use at once */
    return FALSE;
}
