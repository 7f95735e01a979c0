/*
 * demo_abba.c - demo 3: two locks taken in opposite orders.
 *
 * CPU 0 takes A then B, CPU 1 takes B then A.  When their timing meets,
 * each holds the lock the other waits for, and both spin for ever.  The
 * first half makes the timing meet on purpose (a barrier after the first
 * lock) and waits for the second lock with try-acquires for 200 ms only,
 * so the deadlock shows and the demo goes on.
 *
 * The order is wrong every time the code runs, not only when the timing
 * meets.  The checked build's lock-order validator (kernel/locks/lockorder.c)
 * learns "B was taken while A was held" and stops the first acquire that
 * closes the cycle, on one CPU, with no luck needed.  The second half runs
 * the two orders one after the other on this CPU with the validator in
 * report-only mode: it prints the report it would stop with.  `demo abba
 * stop` lets it stop (0xC4 / 0x1001).
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/locks/lockorder.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"
#include "string.h"

#define TRY_US 200000

static struct {
    KSPIN_LOCK A, B;
    volatile LONG Arrived, Done;
    BOOLEAN Got[2];
    ULONG64 WaitedUs[2];
} Demo;

/* CPU 0: A then B; CPU 1: B then A; any other CPU sits it out. */
static VOID opposite_orders(PVOID Context)
{
    ULONG n = KeGetCurrentProcessorNumber();
    KIRQL old;

    UNREFERENCED_PARAMETER(Context);
    if (n > 1)
        return;
    PKSPIN_LOCK first = n == 0 ? &Demo.A : &Demo.B, second = n == 0 ? &Demo.B : &Demo.A;
    KeAcquireSpinLock(first, &old);
    KiShellBarrier(&Demo.Arrived, 2);          /* both hold their first lock now */
    ULONG64 start = rdtsc(), limit = KiTscFrequency / 1000000 * TRY_US;
    Demo.Got[n] = FALSE;
    while (rdtsc() - start < limit) {
        if (KeTryToAcquireSpinLockAtDpcLevel(second)) {
            Demo.Got[n] = TRUE;
            KeReleaseSpinLockFromDpcLevel(second);
            break;
        }
        cpu_relax();
    }
    Demo.WaitedUs[n] = KiShellMicroseconds(rdtsc() - start);
    KiShellBarrier(&Demo.Done, 2);              /* nobody lets go while the other still tries */
    KeReleaseSpinLock(first, old);
}

static VOID deadlock(VOID)
{
    if (KeQueryActiveProcessorCount(NULL) < 2) {
        kprintf("1. the deadlock needs 2 CPUs (make run SMP=4); the validator half below needs "
                "only one\n");
        return;
    }
    kprintf("1. CPU 0 takes A then B, CPU 1 takes B then A, at the same moment:\n");
    Demo.Arrived = Demo.Done = 0;
    KiShellRunOnAllCpus(opposite_orders, NULL);
    for (ULONG n = 0; n < 2; n++)
        kprintf("   CPU %u holds %s, wants %s: %s after %llu us\n", n, n ? "B" : "A",
                n ? "A" : "B", Demo.Got[n] ? "got it" : "never free, gave up",
                (unsigned long long)Demo.WaitedUs[n]);
    if (!Demo.Got[0] && !Demo.Got[1])
        kprintf("   deadlock: each waits for the other; with KeAcquireSpinLock both would spin "
                "for ever\n");
}

#if DBG
static VOID both_orders_here(VOID)
{
    KIRQL old;

    KeAcquireSpinLock(&Demo.A, &old);
    KeAcquireSpinLockAtDpcLevel(&Demo.B);       /* learned: B taken while A held */
    KeReleaseSpinLockFromDpcLevel(&Demo.B);
    KeReleaseSpinLock(&Demo.A, old);
    KeAcquireSpinLock(&Demo.B, &old);
    KeAcquireSpinLockAtDpcLevel(&Demo.A);       /* A while B held: closes the cycle */
    KeReleaseSpinLockFromDpcLevel(&Demo.A);
    KeReleaseSpinLock(&Demo.B, old);
}
#endif

VOID KiDemoAbba(int Argc, char **Argv)
{
    BOOLEAN stop = Argc > 1 && strcmp(Argv[1], "stop") == 0;

    if (Argc > 1 && !stop) {
        kprintf("demo abba: '%s'? (demo abba, or demo abba stop)\n", Argv[1]);
        return;
    }
    KeInitializeSpinLock(&Demo.A);              /* two init sites: two validator classes */
    KeInitializeSpinLock(&Demo.B);
    if (!stop)
        deadlock();
    if (!DBG) {
        kprintf("%s the free build has no lock-order validator; the checked build reports this "
                "order on one CPU the first time it runs (make run without CHECKED=0)\n",
                stop ? "demo abba stop:" : "2.");
        return;
    }
#if DBG
    if (stop) {
        kprintf("demo abba stop: THIS STOPS THE MACHINE: on this CPU alone, A then B, then B then "
                "A; the validator stops the second order with 0xC4, P1 = 0x1001, and prints both "
                "orders after the STOP line. QEMU then exits; make run boots again.\n");
        both_orders_here();
        kprintf("(not reached)\n");
        return;
    }
    kprintf("2. the validator (checked build), on CPU %u alone: A then B, then B then A "
            "(report-only mode; demo abba stop: the real STOP)\n", KeGetCurrentProcessorNumber());
    KiLockOrderSetReportOnly(TRUE);
    both_orders_here();
    KiLockOrderSetReportOnly(FALSE);
#endif
    KiShellDemoRead("kernel/shell/demo_abba.c (opposite_orders, both_orders_here); "
                    "kernel/locks/lockorder.c (KiLockOrderAcquire, add_edge, reaches); "
                    "docs/validator.md");
}
