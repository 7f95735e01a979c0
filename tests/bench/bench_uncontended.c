/*
 * bench_uncontended.c - one acquire + release of every spin lock in the
 * family, and raise + lower IRQL, on one CPU with nobody else near the lock:
 * the fixed cost a driver pays every time, as a ratio to its floor.
 *
 * Each lock routine is an exported function, entered with call and left
 * with ret, so each pair is compared with two floors (bench_floors.c):
 *
 *   AtDpcLevel / FromDpcLevel forms   floor.xchg_pair_called or
 *                                     two_locked_rmw_called; inline floor
 *                                     floor.xchg_pair or two_locked_rmw
 *   raising forms, interrupt spin     floor.raise_xchg_pair_lower_called;
 *   lock, KeSynchronizeExecution      inline floor.raise_xchg_pair_lower
 *
 * The interrupt spin lock belongs to a KINTERRUPT connected for the run on
 * KI_VECTOR_BENCH_ISR (0x9E, DIRQL 9), whose ISR never runs: nothing sends
 * that vector.
 */
#include "wdm.h"
#include "kbench.h"
#include "kernel/irql/vectors.h"

static ULONG64 KbSamples[KBENCH_SAMPLES];
static KSPIN_LOCK KbLock, KbOuterLock;  /* KbOuterLock: held around a pair of KbLock */
static EX_SPIN_LOCK KbRwLock;

#define REPORT(metric, ...) REPORT_(metric, __VA_ARGS__)    /* expands the *_FLOORS pairs */
#define REPORT_(metric, floor, inline_floor) \
    kbench_report2(metric, "ticks", KbSamples, KBENCH_SAMPLES, floor, inline_floor)
#define TAS_FLOORS "floor.xchg_pair_called", "floor.xchg_pair"
#define RMW_FLOORS "floor.two_locked_rmw_called", "floor.two_locked_rmw"
#define RAISE_FLOORS "floor.raise_xchg_pair_lower_called", "floor.raise_xchg_pair_lower"

/* Free build: KfRaiseIrql and KeLowerIrql are inline, one CR8 read and two
 * CR8 writes (include/wdm/irql.h). */
KBENCH(uncontended_irql)
{
    KBENCH_TIME(KbSamples, {
        KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
        KeLowerIrql(old);
    });
    REPORT("uncontended.raise_lower_irql", "floor.cr8_write", NULL);
}

KBENCH(uncontended_executive)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KBENCH_TIME(KbSamples, {
        KeAcquireSpinLockAtDpcLevel(&KbLock);
        KeReleaseSpinLockFromDpcLevel(&KbLock);
    });
    REPORT("uncontended.executive_at_dpc", TAS_FLOORS);
    KBENCH_TIME(KbSamples, {
        if (KeTryToAcquireSpinLockAtDpcLevel(&KbLock))
            KeReleaseSpinLockFromDpcLevel(&KbLock);
    });
    REPORT("uncontended.executive_try_at_dpc", TAS_FLOORS);
    KeLowerIrql(old);

    KBENCH_TIME(KbSamples, {
        KIRQL irql;
        KeAcquireSpinLock(&KbLock, &irql);
        KeReleaseSpinLock(&KbLock, irql);
    });
    REPORT("uncontended.executive_raise", RAISE_FLOORS);
}

/* The AtDpcLevel pair under an outer lock: in the checked build, an edge
 * the lock-order validator has seen already (docs/validator.md), its hot
 * path; tests/bench.py boots the checked build with and without it. */
KBENCH(uncontended_executive_nested)
{
    KIRQL old;

    KeAcquireSpinLock(&KbOuterLock, &old);
    KBENCH_TIME(KbSamples, {
        KeAcquireSpinLockAtDpcLevel(&KbLock);
        KeReleaseSpinLockFromDpcLevel(&KbLock);
    });
    REPORT("uncontended.executive_at_dpc_nested", TAS_FLOORS);
    KeReleaseSpinLock(&KbOuterLock, old);
}

KBENCH(uncontended_queued)
{
    KLOCK_QUEUE_HANDLE handle;

    KIRQL old = KeRaiseIrqlToDpcLevel();
    KBENCH_TIME(KbSamples, {
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&KbLock, &handle);
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
    });
    REPORT("uncontended.instack_queued_at_dpc", RMW_FLOORS);
    KeLowerIrql(old);

    KBENCH_TIME(KbSamples, {
        KeAcquireInStackQueuedSpinLock(&KbLock, &handle);
        KeReleaseInStackQueuedSpinLock(&handle);
    });
    REPORT("uncontended.instack_queued_raise", RAISE_FLOORS);

    /* The numbered forms index this CPU's KPRCB.LockQueue (C wrappers
     * around the assembly cores, kernel/locks/queuedlock.c). */
    KBENCH_TIME(KbSamples, {
        KIRQL irql = KeAcquireQueuedSpinLock(LockQueueUnusedSpare16);
        KeReleaseQueuedSpinLock(LockQueueUnusedSpare16, irql);
    });
    REPORT("uncontended.numbered_queued_raise", RAISE_FLOORS);
}

KBENCH(uncontended_reader_writer)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KBENCH_TIME(KbSamples, {
        ExAcquireSpinLockSharedAtDpcLevel(&KbRwLock);
        ExReleaseSpinLockSharedFromDpcLevel(&KbRwLock);
    });
    REPORT("uncontended.rw_shared_at_dpc", RMW_FLOORS);
    KBENCH_TIME(KbSamples, {
        ExAcquireSpinLockExclusiveAtDpcLevel(&KbRwLock);
        ExReleaseSpinLockExclusiveFromDpcLevel(&KbRwLock);
    });
    REPORT("uncontended.rw_exclusive_at_dpc", RMW_FLOORS);
    KeLowerIrql(old);

    KBENCH_TIME(KbSamples, {
        KIRQL irql = ExAcquireSpinLockShared(&KbRwLock);
        ExReleaseSpinLockShared(&KbRwLock, irql);
    });
    REPORT("uncontended.rw_shared_raise", RAISE_FLOORS);
    KBENCH_TIME(KbSamples, {
        KIRQL irql = ExAcquireSpinLockExclusive(&KbRwLock);
        ExReleaseSpinLockExclusive(&KbRwLock, irql);
    });
    REPORT("uncontended.rw_exclusive_raise", RAISE_FLOORS);
}

static BOOLEAN NTAPI never_called_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    return FALSE;
}

static BOOLEAN NTAPI empty_synch_routine(PVOID SynchronizeContext)
{
    UNREFERENCED_PARAMETER(SynchronizeContext);
    return TRUE;
}

/* KeAcquireInterruptSpinLock raises to SynchronizeIrql (9 here) and takes
 * *ActualLock; KeSynchronizeExecution does that around a call of the
 * routine (kernel/locks/intspinlock.c: C, calling the executive AtDpcLevel
 * routines). */
KBENCH(uncontended_interrupt)
{
    PKINTERRUPT interrupt;
    ULONG irql = KI_VECTOR_IRQL(KI_VECTOR_BENCH_ISR);

    if (!NT_SUCCESS(IoConnectInterrupt(&interrupt, never_called_isr, NULL, NULL,
                                       KI_VECTOR_BENCH_ISR, (KIRQL)irql, (KIRQL)irql, Latched,
                                       FALSE, 1, FALSE)))
        return;
    KBENCH_TIME(KbSamples, {
        KIRQL old = KeAcquireInterruptSpinLock(interrupt);
        KeReleaseInterruptSpinLock(interrupt, old);
    });
    REPORT("uncontended.interrupt_spinlock", RAISE_FLOORS);
    KBENCH_TIME(KbSamples, KeSynchronizeExecution(interrupt, empty_synch_routine, NULL));
    REPORT("uncontended.synchronize_execution", RAISE_FLOORS);
    IoDisconnectInterrupt(interrupt);
}
