/*
 * demo_dpc.c - demo 6: DPC importance and targeting.
 *
 * Importance decides two things (WDK: Organization of DPC Queues):
 * where in the queue a DPC goes (HighImportance at the head, the rest at
 * the tail) and whether its CPU is asked for the DISPATCH_LEVEL interrupt
 * at once.  On the inserting CPU it is asked for anything but a Low one
 * (and for a Low one too while the queue is quiet); on another CPU only
 * for High and MediumHigh, by an IPI; a Medium or Low DPC queued for
 * another CPU waits for that CPU's next clock tick.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/irql/clock.h"
#include "arch/x86_64/cpu.h"

#define ORDERED 4
#define REMOTE_TRIES 5

static const char *const Importance[] = { "Low", "Medium", "High", "MediumHigh" };

static struct {
    KDPC Dpc[ORDERED];
    ULONG Order[ORDERED];
    volatile LONG Ran;
    volatile ULONG64 RanAt;
    volatile ULONG RanOn;
} Demo;

static VOID record(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    Demo.RanAt = rdtsc();
    Demo.RanOn = KeGetCurrentProcessorNumber();
    LONG slot = __atomic_fetch_add(&Demo.Ran, 1, __ATOMIC_ACQ_REL);
    if (slot < ORDERED)
        Demo.Order[slot] = (ULONG)(ULONG_PTR)Context;
}

static VOID order_here(VOID)
{
    static const KDPC_IMPORTANCE inserted[ORDERED] = {
        LowImportance, MediumImportance, HighImportance, MediumHighImportance,
    };

    kprintf("1. on this CPU, at DISPATCH_LEVEL, insert Low, Medium, High, MediumHigh; then lower:\n");
    Demo.Ran = 0;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (ULONG i = 0; i < ORDERED; i++) {
        KeInitializeDpc(&Demo.Dpc[i], record, (PVOID)(ULONG_PTR)inserted[i]);
        KeSetImportanceDpc(&Demo.Dpc[i], inserted[i]);
        KeInsertQueueDpc(&Demo.Dpc[i], NULL, NULL);
    }
    kprintf("   queued, none run yet (%d run): DISPATCH_LEVEL masks the DPC interrupt\n",
            (int)Demo.Ran);
    KeLowerIrql(old);
    kprintf("   ran in this order:");
    for (LONG i = 0; i < Demo.Ran && i < ORDERED; i++)
        kprintf(" %s", Importance[Demo.Order[i]]);
    kprintf("\n   High went to the head of the queue, the rest in insertion order\n");
}

/* Insert on CPU Target with Importance, REMOTE_TRIES times; the latencies. */
static VOID remote(ULONG Target, KDPC_IMPORTANCE Level)
{
    ULONG64 lowest = ~0ull, highest = 0;

    for (ULONG t = 0; t < REMOTE_TRIES; t++) {
        KeInitializeDpc(&Demo.Dpc[0], record, (PVOID)(ULONG_PTR)Level);
        KeSetImportanceDpc(&Demo.Dpc[0], Level);
        KeSetTargetProcessorDpc(&Demo.Dpc[0], (CCHAR)Target);
        Demo.Ran = 0;
        KeStallExecutionProcessor(137 * t + 50);   /* land at different points of the tick */
        ULONG64 start = rdtsc();
        KeInsertQueueDpc(&Demo.Dpc[0], NULL, NULL);
        while (!__atomic_load_n(&Demo.Ran, __ATOMIC_ACQUIRE))
            cpu_relax();
        ULONG64 us = KiShellMicroseconds(Demo.RanAt - start);
        lowest = us < lowest ? us : lowest;
        highest = us > highest ? us : highest;
    }
    kprintf("   %-10s on CPU %u: ran there %llu-%llu us after the insert (%u tries)\n",
            Importance[Level], Demo.RanOn, (unsigned long long)lowest,
            (unsigned long long)highest, REMOTE_TRIES);
}

VOID KiDemoDpcTargeting(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    order_here();
    if (KeQueryActiveProcessorCount(NULL) < 2) {
        kprintf("2. targeting another CPU needs 2 CPUs (make run SMP=4)\n");
    } else {
        kprintf("2. from CPU %u, a DPC targeted at CPU 1 (KeSetTargetProcessorDpc); the clock "
                "ticks every %u us:\n", KeGetCurrentProcessorNumber(), KiClockPeriodMicroseconds());
        remote(1, MediumImportance);
        remote(1, HighImportance);
        kprintf("   Medium waited for CPU 1's next clock tick; High was sent an IPI at once\n");
    }
    KiShellDemoRead("kernel/shell/demo_dpc.c; kernel/dpc/dpc_queue.c (KeInsertQueueDpc, "
                    "KiDpcRequestNow); docs/dpc.md");
}
