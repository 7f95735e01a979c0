/*
 * idle.c - each CPU's idle thread: what a CPU runs when no thread is ready
 * (docs/threads.md, "Idle threads").
 *
 * The stack a CPU started on becomes its idle thread (the boot stack on the
 * boot CPU, kernel/main.c; its own stack on the others, kernel/smp/smp.c).
 * It runs at PASSIVE_LEVEL and priority 0, below every other thread, and is
 * never on a ready queue: KiSelectNextThread returns it when the queues are
 * empty.  A thread readied for an idle CPU comes with a DISPATCH_LEVEL
 * software interrupt, which wakes `hlt` and switches to it.  Once a wake-up
 * the loop also looks for a thread queued on a busy CPU that may run here.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/smp/smp.h"
#include "arch/x86_64/cpu.h"

DECLSPEC_NORETURN VOID KiIdleLoop(VOID)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    for (;;) {
        if (KiReadyThreadsWaiting()) {  /* may be one to take from another CPU's queue */
            KIRQL old = KeRaiseIrqlToDpcLevel();
            KiSwitchThreadIfNeeded();
            KeLowerIrql(old);
        }
        /* `sti; hlt` back to back: STI's one-instruction interrupt shadow
         * means an interrupt that became pending after the check wakes the
         * hlt instead of slipping in before it (SDM Vol. 2B, STI). */
        cli();
        if (!prcb->IdleRoutine) {
            __asm__ volatile("sti; hlt" : : : "memory");
            continue;
        }
        sti();
        KiRunIdleWork(prcb);            /* ktest_run_on_all_cpus (kernel/smp/smp.c) */
    }
}
