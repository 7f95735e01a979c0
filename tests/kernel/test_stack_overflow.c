/*
 * test_stack_overflow.c - a kernel stack that runs off its bottom hits the
 * unmapped guard page below it (kernel/smp/stackguard.c): the #PF cannot push
 * its frame, the CPU takes a #DF on its IST stack, and the STOP screen is
 * 0x7F UNEXPECTED_KERNEL_MODE_TRAP (8, 0, RIP, 0) plus a line naming the
 * stack and its guard page.  Both builds.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/smp/stackguard.h"
#include "kernel/thread/thread.h"

#define KT_DOUBLE_FAULT KT_P(8), KT_P(0), KT_ANY, KT_P(0)

/* Set by each test.  Volatile: the compiler can neither prove the recursion
 * endless (and warn) nor turn it into a loop. */
static volatile BOOLEAN KtKeepRecursing;

static ULONG recurse(ULONG Depth)
{
    volatile UCHAR frame[256];          /* well under the 4 KiB guard: cannot skip it */

    frame[0] = (UCHAR)Depth;
    if (!KtKeepRecursing)
        return Depth;
    return recurse(Depth + 1) + frame[0];
}

static void expect_overflow(const char *Owner, ULONG Number, const char *What, PVOID Guard)
{
    KtKeepRecursing = TRUE;
    ktest_expect_bugcheck(KT_DOUBLE_FAULT);
    ktest_expect_line("stack overflow: %s %u's %s, guard page 0x%016llX", Owner, Number, What,
                      (unsigned long long)(ULONG_PTR)Guard);
}

/* The tests run in a system thread, on its stack from the thread pool. */
KTEST_BUGCHECK(stack_overflow_at_passive_level, UNEXPECTED_KERNEL_MODE_TRAP)
{
    PKTHREAD thread = KeGetCurrentThread();
    ULONG slot = KiThreadSlot(thread);

    expect_overflow("thread slot", slot, "stack", KiThreadStackGuard(slot));
    (void)recurse(0);
}

static VOID recursing_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    (void)recurse(0);
}

KTEST_BUGCHECK(stack_overflow_in_dpc_routine, UNEXPECTED_KERNEL_MODE_TRAP)
{
    static KDPC dpc;

    expect_overflow("CPU", KeGetCurrentProcessorNumber(), "DPC stack",
                    KiDpcStackGuard(KeGetCurrentProcessorNumber()));
    KeInitializeDpc(&dpc, recursing_dpc, NULL);
    KeInsertQueueDpc(&dpc, NULL, NULL);     /* runs now, on this CPU's DPC stack */
}

/* An application processor's own stack (its idle thread's): idle work on CPU 1. */
static void recurse_on_cpu1(void *Context)
{
    UNREFERENCED_PARAMETER(Context);
    if (KeGetCurrentProcessorNumber() == 1)
        (void)recurse(0);
}

KTEST_BUGCHECK(stack_overflow_on_processor_stack, UNEXPECTED_KERNEL_MODE_TRAP)
{
    KT_REQUIRE_CPUS(2);
    expect_overflow("CPU", 1, "stack", KiProcessorStackGuard(1));
    ktest_run_on_all_cpus(recurse_on_cpu1, NULL);
}
