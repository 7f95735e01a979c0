/*
 * test_smp.c - every vCPU comes online with its own identity, runs code, and
 * receives exactly the IPIs sent to it (kernel/smp/smp.c, kernel/irql/ipi.c).
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/boot_info.h"
#include "kernel/irql/ipi.h"
#include "kernel/options.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"
#include "arch/x86_64/cpu.h"

#define IPI_WAIT_US 2000000             /* generous: 8 vCPUs share 2 host cores */

static ULONG KtExpectedCpus;

static void apply_expect_cpus(const char *value)
{
    KtExpectedCpus = 0;
    for (; *value >= '0' && *value <= '9'; value++)
        KtExpectedCpus = KtExpectedCpus * 10 + (ULONG)(*value - '0');
}
KERNEL_OPTION("expect_cpus", "tests: how many vCPUs QEMU was given (the runner sets it)",
              apply_expect_cpus);

/* The AP trampoline's page is free RAM by the firmware's memory map, under
 * the BIOS and under UEFI (make test-uefi), else no AP could start. */
KTEST(smp_trampoline_page_is_available_ram)
{
    KT_EXPECT_TRUE(KiBootInfo.MemoryMapPresent);
    KT_EXPECT_TRUE(KiBootInfo.TrampolinePageUsable);
}

KTEST(smp_all_cpus_online)
{
    KAFFINITY set = 0;
    ULONG count = KeQueryActiveProcessorCount(&set);

    if (KtExpectedCpus == 0) {
        ktest_skip("expect_cpus not given");
        return;
    }
    KT_EXPECT_EQ(count, KtExpectedCpus);
    KT_EXPECT_EQ(set, KtExpectedCpus == 64 ? ~0ull : (1ull << KtExpectedCpus) - 1);
    KT_EXPECT_EQ(KeQueryActiveProcessors(), set);
    KT_EXPECT_EQ(KeQueryActiveProcessorCountEx(0), count);
    KT_EXPECT_EQ(KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS), count);
    KT_EXPECT_EQ(KeQueryActiveProcessorCountEx(1), 0);
}

KTEST(smp_apic_ids_distinct)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    for (ULONG i = 0; i < count; i++) {
        KT_EXPECT_EQ(KiProcessorBlock[i].Prcb.Number, i);
        KT_EXPECT_EQ(KiProcessorBlock[i].Self, &KiProcessorBlock[i]);
        for (ULONG j = i + 1; j < count; j++)
            KT_EXPECT_NE(KiProcessorBlock[i].Prcb.ApicId, KiProcessorBlock[j].Prcb.ApicId);
    }
}

struct who_ran {
    volatile ULONG Ran[MAXIMUM_PROCESSORS];         /* per processor number */
    volatile ULONG ApicIdSeen[MAXIMUM_PROCESSORS];
    volatile ULONG BadIrqlOrFlags;
};

static void report_identity(void *context)
{
    struct who_ran *w = context;
    PROCESSOR_NUMBER pn;
    ULONG n = KeGetCurrentProcessorNumberEx(&pn);

    if (KeGetCurrentIrql() != PASSIVE_LEVEL || !(read_rflags() & RFLAGS_IF))
        w->BadIrqlOrFlags++;
    if (pn.Group != 0 || pn.Number != n || n != KeGetCurrentProcessorNumber())
        w->BadIrqlOrFlags++;
    __atomic_fetch_add(&w->Ran[n], 1, __ATOMIC_RELAXED);
    w->ApicIdSeen[n] = KeGetCurrentPrcb()->ApicId;
}

KTEST(smp_every_cpu_runs_and_knows_itself)
{
    static struct who_ran w;
    ULONG count = KeQueryActiveProcessorCount(NULL);

    ktest_run_on_all_cpus(report_identity, &w);
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        KT_EXPECT_EQ(w.Ran[n], n < count ? 1 : 0);
        if (n < count)
            KT_EXPECT_EQ(w.ApicIdSeen[n], KiProcessorBlock[n].Prcb.ApicId);
    }
    KT_EXPECT_EQ(w.BadIrqlOrFlags, 0);
}

/* Send one ping to Targets and check that each target counted exactly one
 * and every other CPU none. */
static void ping_and_check(KAFFINITY targets)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    ULONG before[MAXIMUM_PROCESSORS];

    for (ULONG n = 0; n < count; n++)
        before[n] = KiProcessorBlock[n].Prcb.IpiPingCount;
    KiRequestIpi(targets, KI_IPI_PING);
    for (ULONG n = 0; n < count; n++) {
        ULONG expected = before[n] + ((targets >> n) & 1);
        ktest_wait_count(&KiProcessorBlock[n].Prcb.IpiPingCount, expected, IPI_WAIT_US);
        KT_EXPECT_EQ(KiProcessorBlock[n].Prcb.IpiPingCount, expected);
    }
    KeStallExecutionProcessor(1000);    /* a stray second delivery would show now */
    for (ULONG n = 0; n < count; n++)
        KT_EXPECT_EQ(KiProcessorBlock[n].Prcb.IpiPingCount, before[n] + ((targets >> n) & 1));
}

KTEST(smp_ipi_to_each_single_cpu)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    for (ULONG n = 0; n < count; n++)
        ping_and_check((KAFFINITY)1 << n);          /* n == 0: the self shorthand */
}

KTEST(smp_ipi_to_all_and_to_all_but_self)
{
    KAFFINITY all = KeQueryActiveProcessors();

    ping_and_check(all);
    ping_and_check(all & ~(KAFFINITY)1);
}

KTEST(smp_ipi_to_a_set)
{
    KAFFINITY all = KeQueryActiveProcessors();

    KT_REQUIRE_CPUS(3);
    ping_and_check(all & 0x5555555555555555ull);    /* every other CPU, self included */
    ping_and_check(all & 0xAAAAAAAAAAAAAAAAull);
}

/* An APIC id nobody has: INIT-SIPI-SIPI goes unanswered, the kernel gives
 * up after its timeout and the online set does not change. */
KTEST(smp_processor_that_does_not_answer_is_left_out)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);
    KAFFINITY before = KeQueryActiveProcessors();

    if (count == MAXIMUM_PROCESSORS) {
        ktest_skip("no free processor number");
        return;
    }
    KT_EXPECT_EQ(KiStartProcessorAt(count, 0xF0), FALSE);
    KT_EXPECT_EQ(KeQueryActiveProcessorCount(NULL), count);
    KT_EXPECT_EQ(KeQueryActiveProcessors(), before);
    KiProcessorBlock[count].Prcb.ApicId = 0;
}

static void bugcheck_on_cpu1(void *context)
{
    UNREFERENCED_PARAMETER(context);
    if (KeGetCurrentProcessorNumber() == 1)
        KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 0xA9, 0, 0);
    for (;;)                            /* the others wait to be frozen */
        cpu_relax();
}

/* The STOP screen comes from CPU 1 and no other CPU prints after it (the
 * runner checks the screen; the NMI freeze keeps the rest quiet). */
KTEST_BUGCHECK(smp_bugcheck_on_ap_freezes_all, MANUALLY_INITIATED_CRASH)
{
    ktest_expect_bugcheck(KT_P(1), KT_P(0xA9), KT_P(0), KT_P(0));
    if (KeQueryActiveProcessorCount(NULL) < 2)
        KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 0xA9, 0, 0);   /* nothing to freeze */
    ktest_run_on_all_cpus(bugcheck_on_cpu1, NULL);
}

#if DBG
/* Idle work (ktest_run_on_all_cpus) must give its CPU back at PASSIVE_LEVEL:
 * one that returns at DISPATCH_LEVEL would leave that CPU's idle loop unable
 * to run DPCs.  WDK: Bug Check 0xC8, P1 = (found << 16) | 2 ("Unique" 2),
 * P2 the routine, P3 its context. */
static void returns_at_dispatch_level(void *context)
{
    UNREFERENCED_PARAMETER(context);
    if (KeGetCurrentProcessorNumber() != 0)     /* CPU 0 runs the test: it must come back */
        KfRaiseIrql(DISPATCH_LEVEL);
}

KTEST_BUGCHECK(idle_work_returns_above_passive_level, IRQL_UNEXPECTED_VALUE)
{
    KT_REQUIRE_CPUS(2);
    ktest_expect_bugcheck(KT_P((DISPATCH_LEVEL << 16) | 2), KT_P(returns_at_dispatch_level),
                          KT_P(0x1D1E), KT_P(0));
    ktest_run_on_all_cpus(returns_at_dispatch_level, (void *)0x1D1E);
}
#endif
