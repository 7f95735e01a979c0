/*
 * demo.c - `demo`: the list, and running one.  Each demo is a file of its
 * own (demo_*.c): it says what it shows, shows it in a second or two, and
 * ends with the code to read.  A demo that needs a feature the kernel does
 * not have yet is listed with the reason, not hidden.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "ktest.h"
#include "string.h"
#include "arch/x86_64/cpu.h"

static const KI_SHELL_DEMO KiShellDemos[] = {
    { "lost-update", 1, "N CPUs increment one counter without a lock, with a spin lock, with "
      "InterlockedIncrement", NULL, KiDemoLostUpdate },
    { "raise", 2, "why spin locks raise to DISPATCH_LEVEL: a DPC on the holder's CPU wants the "
      "lock (stop: the spin timeout STOP)", NULL, KiDemoRaise },
    { "abba", 3, "two CPUs, two locks, opposite orders: the deadlock, and the validator's report "
      "(stop: its STOP)", NULL, KiDemoAbba },
    { "isr-dpc", 4, "an ISR and a DPC share a counter: without the interrupt spin lock, then with "
      "KeSynchronizeExecution", NULL, KiDemoIsrDpc },
    { "fairness", 5, "acquisitions per CPU for test-and-set, executive and in-stack queued locks",
      NULL, KiDemoFairness },
    { "dpc-targeting", 6, "DPC importance and targeting: who runs first, where, and when (tick or "
      "IPI)", NULL, KiDemoDpcTargeting },
    { "irql-masking", 7, "the clock stops at CLOCK_LEVEL, IPIs still arrive, and stop at "
      "IPI_LEVEL", NULL, KiDemoIrqlMasking },
    { "rw-preference", 8, "reader/writer spin lock: a waiting writer goes before new readers",
      NULL, KiDemoReaderWriter },
    { "preempt", 9, "a spin lock holder is never preempted on its own CPU, a mutex holder is",
      NULL, KiDemoPreempt },
    { "inversion", 10, "priority inversion with a mutex versus with a spin lock",
      NULL, KiDemoInversion },
};

const KI_SHELL_DEMO *KiShellFindDemo(const char *Name)
{
    ULONG best = ~0u;
    const KI_SHELL_DEMO *nearest = NULL;

    for (ULONG i = 0; i < ARRAYSIZE(KiShellDemos); i++) {
        const KI_SHELL_DEMO *d = &KiShellDemos[i];
        char number[4] = { 0 };
        number[0] = (char)('0' + d->Number % 10);
        if (d->Number >= 10) {
            number[0] = (char)('0' + d->Number / 10);
            number[1] = (char)('0' + d->Number % 10);
        }
        if (strcmp(Name, d->Name) == 0 || strcmp(Name, number) == 0)
            return d;
        ULONG distance = KiShellEditDistance(Name, d->Name);
        if (distance < best) {
            best = distance;
            nearest = d;
        }
    }
    if (nearest && best <= 3)
        kprintf("no demo '%s': did you mean %s? (demo lists them)\n", Name, nearest->Name);
    else
        kprintf("no demo '%s': demo lists them\n", Name);
    return NULL;
}

VOID KiShellCmdDemo(int Argc, char **Argv)
{
    if (Argc < 2) {
        kprintf("demos (demo <name or number>; those marked [stop] have a variant that really "
                "stops the machine):\n");
        for (ULONG i = 0; i < ARRAYSIZE(KiShellDemos); i++) {
            const KI_SHELL_DEMO *d = &KiShellDemos[i];
            kprintf("  %2u %-14s %s%s%s%s\n", d->Number, d->Name, d->Title,
                    d->Needs ? " -- " : "", d->Needs ? d->Needs : "",
                    d->Number == 2 || d->Number == 3 ? " [stop]" : "");
        }
        return;
    }
    const KI_SHELL_DEMO *d = KiShellFindDemo(Argv[1]);
    if (!d)
        return;
    if (d->Needs) {
        kprintf("demo %s: %s\n", d->Name, d->Needs);
        return;
    }
    kprintf("=== demo %u, %s: %s\n", d->Number, d->Name, d->Title);
    d->Run(Argc - 1, Argv + 1);
    kprintf("=== end of demo %s\n", d->Name);
}

VOID KiShellDemoRead(const char *What)
{
    kprintf("read: %s\n", What);
}

VOID KiShellRunOnAllCpus(VOID (*Routine)(PVOID Context), PVOID Context)
{
    ktest_run_on_all_cpus(Routine, Context);
}

VOID KiShellBarrier(volatile LONG *Arrived, ULONG Cpus)
{
    __atomic_fetch_add(Arrived, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(Arrived, __ATOMIC_ACQUIRE) < (LONG)Cpus)
        cpu_relax();
}
