/*
 * bench_uncontended.c - one acquire + release of every spin lock in the
 * family, and raise + lower IRQL, on one CPU with nobody else near the lock:
 * the fixed cost a driver pays every time, as a ratio to its floor.
 *
 *   AtDpcLevel / FromDpcLevel forms   vs floor.xchg_pair or two_locked_rmw
 *   raising forms (KeAcquireSpinLock, vs floor.raise_xchg_pair_lower: the
 *   in-stack queued, numbered)          xchg pair plus two mov %cr8
 */
#include "wdm.h"
#include "kbench.h"

static ULONG64 KbSamples[KBENCH_SAMPLES];
static KSPIN_LOCK KbLock;
static EX_SPIN_LOCK KbRwLock;

#define REPORT(metric, floor) kbench_report(metric, "ticks", KbSamples, KBENCH_SAMPLES, floor)

/* The least a raising test-and-set lock can cost: mov %cr8 up, xchg, store,
 * mov %cr8 down, all inline. */
KBENCH(floor_raise_xchg_pair_lower)
{
    static volatile LONG64 word;

    KBENCH_TIME(KbSamples, {
        LONG64 one = 1;
        __writecr8(DISPATCH_LEVEL);
        __asm__ volatile("xchg %0, %1" : "+r"(one), "+m"(word) : : "memory");
        __asm__ volatile("movq $0, %0" : "=m"(word) : : "memory");
        __writecr8(PASSIVE_LEVEL);
    });
    REPORT("floor.raise_xchg_pair_lower", NULL);
}

KBENCH(uncontended_irql)
{
    KBENCH_TIME(KbSamples, {
        KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
        KeLowerIrql(old);
    });
    REPORT("uncontended.raise_lower_irql", "floor.cr8_write");
}

KBENCH(uncontended_executive)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KBENCH_TIME(KbSamples, {
        KeAcquireSpinLockAtDpcLevel(&KbLock);
        KeReleaseSpinLockFromDpcLevel(&KbLock);
    });
    REPORT("uncontended.executive_at_dpc", "floor.xchg_pair");
    KBENCH_TIME(KbSamples, {
        if (KeTryToAcquireSpinLockAtDpcLevel(&KbLock))
            KeReleaseSpinLockFromDpcLevel(&KbLock);
    });
    REPORT("uncontended.executive_try_at_dpc", "floor.xchg_pair");
    KeLowerIrql(old);

    KBENCH_TIME(KbSamples, {
        KIRQL irql;
        KeAcquireSpinLock(&KbLock, &irql);
        KeReleaseSpinLock(&KbLock, irql);
    });
    REPORT("uncontended.executive_raise", "floor.raise_xchg_pair_lower");
}

KBENCH(uncontended_queued)
{
    KLOCK_QUEUE_HANDLE handle;

    KIRQL old = KeRaiseIrqlToDpcLevel();
    KBENCH_TIME(KbSamples, {
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&KbLock, &handle);
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
    });
    REPORT("uncontended.instack_queued_at_dpc", "floor.two_locked_rmw");
    KeLowerIrql(old);

    KBENCH_TIME(KbSamples, {
        KeAcquireInStackQueuedSpinLock(&KbLock, &handle);
        KeReleaseInStackQueuedSpinLock(&handle);
    });
    REPORT("uncontended.instack_queued_raise", "floor.raise_xchg_pair_lower");

    KBENCH_TIME(KbSamples, {
        KIRQL irql = KeAcquireQueuedSpinLock(LockQueueUnusedSpare16);
        KeReleaseQueuedSpinLock(LockQueueUnusedSpare16, irql);
    });
    REPORT("uncontended.numbered_queued_raise", "floor.raise_xchg_pair_lower");
}

KBENCH(uncontended_reader_writer)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KBENCH_TIME(KbSamples, {
        ExAcquireSpinLockSharedAtDpcLevel(&KbRwLock);
        ExReleaseSpinLockSharedFromDpcLevel(&KbRwLock);
    });
    REPORT("uncontended.rw_shared_at_dpc", "floor.two_locked_rmw");
    KBENCH_TIME(KbSamples, {
        ExAcquireSpinLockExclusiveAtDpcLevel(&KbRwLock);
        ExReleaseSpinLockExclusiveFromDpcLevel(&KbRwLock);
    });
    REPORT("uncontended.rw_exclusive_at_dpc", "floor.two_locked_rmw");
    KeLowerIrql(old);
}
