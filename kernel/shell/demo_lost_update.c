/*
 * demo_lost_update.c - demo 1: a counter incremented by every CPU at once.
 *
 * `Counter = Counter + 1` is a load and a store.  Two CPUs that both load
 * 41 both store 42: one increment is lost.  The pause between the two
 * widens the window so that it shows in a short run.  A spin lock makes
 * the load and the store one step for the other CPUs (they wait); for a
 * single counter, `lock xadd` (InterlockedIncrement) does it in one
 * instruction.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "arch/x86_64/cpu.h"

#define ROUNDS 20000                    /* increments per CPU and way */

enum { NO_LOCK, SPIN_LOCK, INTERLOCKED };

static struct {
    volatile LONG Arrived;
    ULONG Cpus;
    ULONG Way;
    volatile LONG Counter;
    KSPIN_LOCK Lock;
} Demo;

static VOID increment(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KiShellBarrier(&Demo.Arrived, Demo.Cpus);
    for (ULONG i = 0; i < ROUNDS; i++) {
        if (Demo.Way == INTERLOCKED) {
            InterlockedIncrement(&Demo.Counter);
        } else if (Demo.Way == SPIN_LOCK) {
            KIRQL old;
            KeAcquireSpinLock(&Demo.Lock, &old);
            LONG seen = Demo.Counter;
            cpu_relax();
            Demo.Counter = seen + 1;
            KeReleaseSpinLock(&Demo.Lock, old);
        } else {
            LONG seen = Demo.Counter;   /* load ... */
            cpu_relax();                /* ... another CPU may store here ... */
            Demo.Counter = seen + 1;    /* ... store: its increment is overwritten */
        }
    }
}

static VOID run(ULONG Way, const char *Name)
{
    ULONG64 expected = (ULONG64)ROUNDS * Demo.Cpus;

    Demo.Way = Way;
    Demo.Counter = 0;
    Demo.Arrived = 0;
    ULONG64 start = rdtsc();
    KiShellRunOnAllCpus(increment, NULL);
    ULONG64 us = KiShellMicroseconds(rdtsc() - start);
    kprintf("  %-22s expected %llu, got %d: %lld lost  (%llu us)\n", Name,
            (unsigned long long)expected, (int)Demo.Counter, (long long)expected - Demo.Counter,
            (unsigned long long)us);
}

VOID KiDemoLostUpdate(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    Demo.Cpus = KeQueryActiveProcessorCount(NULL);
    KeInitializeSpinLock(&Demo.Lock);
    kprintf("%u CPUs each add 1 to one counter %u times, three ways:\n", Demo.Cpus, ROUNDS);
    run(NO_LOCK, "no lock:");
    run(SPIN_LOCK, "KeAcquireSpinLock:");
    run(INTERLOCKED, "InterlockedIncrement:");
    if (Demo.Cpus == 1)
        kprintf("one CPU: nothing can be lost without a second one (make run SMP=4)\n");
    else
        kprintf("without a lock two CPUs load the same value and both store value + 1; the spin "
                "lock and lock xadd keep every increment\n");
    KiShellDemoRead("kernel/shell/demo_lost_update.c (increment); kernel/locks/spinlock.c "
                    "(KeAcquireSpinLockRaiseToDpc); docs/spinlocks.md");
}
