/*
 * demo_fairness.c - demo 5: who gets a contended lock.
 *
 * Every CPU takes the same lock over and over for a fixed time, holding it
 * a moment each time, and counts its acquisitions.  A test-and-set lock
 * goes to whichever CPU's xchg lands first when it is released, often the
 * releasing CPU itself, whose cache already has the line: the counts
 * spread wide.  The executive spin lock is test-and-test-and-set, the same
 * free-for-all.  The in-stack queued (MCS) lock hands the lock to the next
 * waiter in arrival order: the counts come out nearly equal.
 * `trace demo fairness` records every acquisition for a timeline picture.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/smp/pcr.h"
#include "printf.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define RUN_US  250000
#define HOLD    20                      /* pauses inside the lock */

enum { TEST_AND_SET, EXECUTIVE, IN_STACK_QUEUED };

static struct {
    volatile LONG Arrived;
    ULONG Cpus;
    ULONG Kind;
    ULONG64 Deadline;
    volatile LONG Tas;
    KSPIN_LOCK Lock;
    ULONG Count[MAXIMUM_PROCESSORS];
} Demo;

static VOID hold(VOID)
{
    for (ULONG i = 0; i < HOLD; i++)
        cpu_relax();
}

static VOID contend(PVOID Context)
{
    ULONG n = KeGetCurrentProcessorNumber(), count = 0;

    UNREFERENCED_PARAMETER(Context);
    KiShellBarrier(&Demo.Arrived, Demo.Cpus);
    while (rdtsc() < Demo.Deadline) {
        if (Demo.Kind == TEST_AND_SET) {
            KIRQL old = KeRaiseIrqlToDpcLevel();
            while (__atomic_exchange_n(&Demo.Tas, 1, __ATOMIC_ACQUIRE))
                cpu_relax();
            hold();
            __atomic_store_n(&Demo.Tas, 0, __ATOMIC_RELEASE);
            KeLowerIrql(old);
        } else if (Demo.Kind == EXECUTIVE) {
            KIRQL old;
            KeAcquireSpinLock(&Demo.Lock, &old);
            hold();
            KeReleaseSpinLock(&Demo.Lock, old);
        } else {
            KLOCK_QUEUE_HANDLE handle;
            KeAcquireInStackQueuedSpinLock(&Demo.Lock, &handle);
            hold();
            KeReleaseInStackQueuedSpinLock(&handle);
        }
        count++;
    }
    Demo.Count[n] = count;
}

static VOID run(ULONG Kind, const char *Name)
{
    ULONG64 total = 0, least = ~0ull, most = 0;
    char row[200];
    ULONG k = 0;

    Demo.Kind = Kind;
    Demo.Arrived = 0;
    Demo.Deadline = rdtsc() + KiTscFrequency / 1000000 * RUN_US;
    KiShellRunOnAllCpus(contend, NULL);
    for (ULONG n = 0; n < Demo.Cpus; n++) {
        total += Demo.Count[n];
        least = Demo.Count[n] < least ? Demo.Count[n] : least;
        most = Demo.Count[n] > most ? Demo.Count[n] : most;
        if (n < 8)
            k += ksnprintf(row + k, sizeof(row) - k, " %8u", Demo.Count[n]);
    }
    kprintf("  %-16s%s  total %llu, fewest/most %llu%%\n", Name, row, (unsigned long long)total,
            (unsigned long long)(most ? least * 100 / most : 0));
}

VOID KiDemoFairness(int Argc, char **Argv)
{
    char head[200];
    ULONG k = 0;

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    Demo.Cpus = KeQueryActiveProcessorCount(NULL);
    KeInitializeSpinLock(&Demo.Lock);
    if (Demo.Cpus < 2)
        kprintf("one CPU: nobody to compete with (make run SMP=4)\n");
    for (ULONG n = 0; n < Demo.Cpus && n < 8; n++)
        k += ksnprintf(head + k, sizeof(head) - k, "     cpu%u", n);
    kprintf("acquisitions per CPU in %u ms each, all CPUs wanting one lock:\n", RUN_US / 1000);
    kprintf("  %-16s%s\n", "", head);
    run(TEST_AND_SET, "test-and-set");
    run(EXECUTIVE, "executive");
    run(IN_STACK_QUEUED, "in-stack queued");
    kprintf("the queued lock hands over in arrival order (FIFO); the others go to whoever's xchg "
            "wins (fewest/most near 100%% is fair; under QEMU's TCG vCPUs also get uneven host "
            "time)\n");
    KiShellDemoRead("kernel/shell/demo_fairness.c (contend); kernel/locks/queuedlock.c "
                    "(KeAcquireInStackQueuedSpinLock); docs/spinlocks.md; trace demo fairness");
}
