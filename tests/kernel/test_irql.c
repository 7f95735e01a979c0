/*
 * test_irql.c - IRQL is CR8 and CR8 masks in hardware: at IRQL L an
 * interrupt of class L waits in the IRR, one of a higher class nests, and
 * lowering below L delivers it at once (kernel/irql/irql.c, kernel/irql/interrupt.c,
 * docs/irql.md).  Every level 1..15 gets a self-IPI source of its own class.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/irql/interrupt.h"
#include "kernel/irql/ipi.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

#define WAIT_US 2000000

static volatile ULONG KtFired[MAXIMUM_PROCESSORS][16];     /* [cpu][level] */
static volatile KIRQL KtIrqlSeen[MAXIMUM_PROCESSORS][16];

static VOID level_handler(PKTRAP_FRAME f, PVOID context)
{
    ULONG level = (ULONG)(ULONG_PTR)context;
    ULONG cpu = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(f);
    KtIrqlSeen[cpu][level] = KeGetCurrentIrql();
    KtFired[cpu][level]++;
}

/* The handlers the test borrows a vector from (0x1F is the APC interrupt's). */
static PKI_INTERRUPT_HANDLER KtSavedHandler[16];
static PVOID KtSavedContext[16];

static void install_level_handlers(void)
{
    for (ULONG level = 1; level <= 15; level++) {
        KtSavedHandler[level] = KiGetInterruptHandler(KI_VECTOR_IRQL_TEST(level),
                                                      &KtSavedContext[level]);
        KiSetInterruptHandler(KI_VECTOR_IRQL_TEST(level), level_handler, (PVOID)(ULONG_PTR)level);
        for (ULONG cpu = 0; cpu < MAXIMUM_PROCESSORS; cpu++) {
            KtFired[cpu][level] = 0;
            KtIrqlSeen[cpu][level] = 0xFF;
        }
    }
}

static void remove_level_handlers(void)
{
    for (ULONG level = 1; level <= 15; level++)
        KiSetInterruptHandler(KI_VECTOR_IRQL_TEST(level), KtSavedHandler[level],
                              KtSavedContext[level]);
}

static void fire_self(ULONG level)
{
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | KI_VECTOR_IRQL_TEST(level));
}

KTEST(irql_raise_lower_round_trips)
{
    for (KIRQL level = 0; level <= HIGH_LEVEL; level++) {
        KIRQL old;
        KeRaiseIrql(level, &old);
        KT_EXPECT_EQ(old, PASSIVE_LEVEL);
        KT_EXPECT_EQ(KeGetCurrentIrql(), level);
        KT_EXPECT_EQ(__readcr8(), level);
        KT_EXPECT_EQ(KiApicRead(APIC_TPR) >> 4, level);     /* CR8 is TPR[7:4] */
        for (KIRQL higher = level; higher <= HIGH_LEVEL; higher++) {
            KT_EXPECT_EQ(KfRaiseIrql(higher), level);
            KT_EXPECT_EQ(KeGetCurrentIrql(), higher);
            KeLowerIrql(level);
            KT_EXPECT_EQ(KeGetCurrentIrql(), level);
        }
        KeLowerIrql(old);
        KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
        KT_EXPECT_TRUE(read_rflags() & RFLAGS_IF);
    }
    KT_EXPECT_EQ(KeRaiseIrqlToDpcLevel(), PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeRaiseIrqlToSynchLevel(), DISPATCH_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), SYNCH_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);
}

KTEST(irql_constants_are_the_x64_wdk_values)
{
    KT_EXPECT_EQ(PASSIVE_LEVEL, 0);
    KT_EXPECT_EQ(LOW_LEVEL, 0);
    KT_EXPECT_EQ(APC_LEVEL, 1);
    KT_EXPECT_EQ(DISPATCH_LEVEL, 2);
    KT_EXPECT_EQ(CMCI_LEVEL, 5);
    KT_EXPECT_EQ(SYNCH_LEVEL, 12);
    KT_EXPECT_EQ(CLOCK_LEVEL, 13);
    KT_EXPECT_EQ(IPI_LEVEL, 14);
    KT_EXPECT_EQ(DRS_LEVEL, 14);
    KT_EXPECT_EQ(POWER_LEVEL, 14);
    KT_EXPECT_EQ(PROFILE_LEVEL, 15);
    KT_EXPECT_EQ(HIGH_LEVEL, 15);
    KT_EXPECT_EQ(KI_VECTOR_IRQL(KI_VECTOR_CLOCK), CLOCK_LEVEL);
    KT_EXPECT_EQ(KI_VECTOR_IRQL(KI_VECTOR_IPI), IPI_LEVEL);
    KT_EXPECT_EQ(KI_VECTOR_IRQL(KI_VECTOR_DPC), DISPATCH_LEVEL);
    KT_EXPECT_EQ(KI_VECTOR_IRQL(KI_VECTOR_APC), APC_LEVEL);
}

/* At each level L: class L waits, class L + 1 nests and sees its own
 * level, lowering below L delivers class L at once at level L. */
KTEST(irql_masks_exactly_its_class_on_every_level)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    install_level_handlers();
    for (KIRQL level = 1; level <= HIGH_LEVEL; level++) {
        KIRQL old = KfRaiseIrql(level);
        ULONG before = KtFired[cpu][level];

        fire_self(level);
        while (!KiApicIsPending(KI_VECTOR_IRQL_TEST(level)))
            cpu_relax();
        KeStallExecutionProcessor(100);
        KT_EXPECT_EQ(KtFired[cpu][level], before);             /* masked: still pending */

        if (level < HIGH_LEVEL) {
            ULONG above = KtFired[cpu][level + 1];
            fire_self(level + 1);
            KT_EXPECT_TRUE(ktest_wait_count(&KtFired[cpu][level + 1], above + 1, WAIT_US));  /* nested at once */
            KT_EXPECT_EQ(KtIrqlSeen[cpu][level + 1], level + 1);
            KT_EXPECT_EQ(KeGetCurrentIrql(), level);                /* restored after it */
        }

        KeLowerIrql(level - 1);         /* the pending class-L interrupt arrives here */
        KT_EXPECT_EQ(KtFired[cpu][level], before + 1);
        KT_EXPECT_EQ(KtIrqlSeen[cpu][level], level);
        KT_EXPECT_EQ(KeGetCurrentIrql(), level - 1);
        KeLowerIrql(old);
    }
    remove_level_handlers();
}

/* A software interrupt is in the IRR before KiRequestSoftwareInterrupt
 * returns, so the caller's next KeLowerIrql is sure to take it.  Under TCG
 * a self-IPI reaches the IRR during the ICR write itself, so a request
 * that did not wait for the IRR bit would pass here too: race points,
 * which model the APIC's delivery latency, cover that window. */
KTEST(irql_software_interrupt_pending_before_return)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    install_level_handlers();
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    KiRequestSoftwareInterrupt(APC_LEVEL);
    KT_EXPECT_TRUE(KiApicIsPending(KI_VECTOR_APC));    /* in the IRR already */
    KT_EXPECT_EQ(KtFired[cpu][APC_LEVEL], 0);
    KeLowerIrql(old);                                   /* delivered right here */
    KT_EXPECT_EQ(KtFired[cpu][APC_LEVEL], 1);
    KT_EXPECT_EQ(KtIrqlSeen[cpu][APC_LEVEL], APC_LEVEL);
    remove_level_handlers();

    /* DISPATCH_LEVEL: its handler is the DPC drain loop (an empty queue
     * here), so the IRR bit itself is what is seen, set and then taken. */
    old = KeRaiseIrqlToDpcLevel();
    KiRequestSoftwareInterrupt(DISPATCH_LEVEL);
    KT_EXPECT_TRUE(KiApicIsPending(KI_VECTOR_DPC));
    KeLowerIrql(old);
    KT_EXPECT_TRUE(!KiApicIsPending(KI_VECTOR_DPC));
}

/* CPU 1 sits at HIGH_LEVEL while CPU 0 sends it one interrupt of every
 * class from 3 to 14 and a ping: nothing arrives until CPU 1 lowers, then
 * each arrives exactly once. */
struct high_level_test {
    volatile LONG Phase;                /* 1: target at HIGH, 2: all sent */
    volatile ULONG FiredWhileHigh;
    volatile ULONG PingsBefore, PingsWhileHigh, PingsAfter;
};

static void high_level_body(void *context)
{
    struct high_level_test *t = context;
    ULONG cpu = KeGetCurrentProcessorNumber();

    if (cpu == 1) {
        KIRQL old = KfRaiseIrql(HIGH_LEVEL);
        t->PingsBefore = KeGetCurrentPrcb()->IpiPingCount;
        __atomic_store_n(&t->Phase, 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&t->Phase, __ATOMIC_ACQUIRE) != 2)
            cpu_relax();
        KeStallExecutionProcessor(2000);
        for (ULONG level = 3; level <= 14; level++)
            t->FiredWhileHigh += KtFired[1][level];
        t->PingsWhileHigh = KeGetCurrentPrcb()->IpiPingCount;
        KeLowerIrql(old);
        t->PingsAfter = KeGetCurrentPrcb()->IpiPingCount;
    } else if (cpu == 0) {
        while (__atomic_load_n(&t->Phase, __ATOMIC_ACQUIRE) != 1)
            cpu_relax();
        for (ULONG level = 3; level <= 14; level++)
            KiApicSendIpi(KiProcessorBlock[1].Prcb.ApicId,
                          ICR_FIXED | ICR_ASSERT | KI_VECTOR_IRQL_TEST(level));
        KiRequestIpi((KAFFINITY)1 << 1, KI_IPI_PING);
        __atomic_store_n(&t->Phase, 2, __ATOMIC_RELEASE);
    }
}

KTEST(irql_high_level_cpu_receives_nothing_until_it_lowers)
{
    static struct high_level_test t;

    KT_REQUIRE_CPUS(2);
    install_level_handlers();
    ktest_run_on_all_cpus(high_level_body, &t);
    KT_EXPECT_EQ(t.FiredWhileHigh, 0);
    KT_EXPECT_EQ(t.PingsWhileHigh, t.PingsBefore);
    KT_EXPECT_EQ(t.PingsAfter, t.PingsBefore + 1);
    for (ULONG level = 3; level <= 14; level++) {
        KT_EXPECT_EQ(KtFired[1][level], 1);
        KT_EXPECT_EQ(KtIrqlSeen[1][level], level);
    }
    remove_level_handlers();
}

#if DBG
KTEST_BUGCHECK(irql_raise_to_lower_level, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(DISPATCH_LEVEL), KT_P(APC_LEVEL), KT_P(0), KT_ANY);
    KfRaiseIrql(DISPATCH_LEVEL);
    KfRaiseIrql(APC_LEVEL);
}

KTEST_BUGCHECK(irql_raise_above_high_level, IRQL_NOT_GREATER_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(PASSIVE_LEVEL), KT_P(16), KT_P(0), KT_ANY);
    KfRaiseIrql(16);
}

KTEST_BUGCHECK(irql_lower_to_higher_level, IRQL_NOT_LESS_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(DISPATCH_LEVEL), KT_P(APC_LEVEL), KT_P(0), KT_ANY);
    KfRaiseIrql(APC_LEVEL);
    KeLowerIrql(DISPATCH_LEVEL);
}

static VOID raises_and_returns(PKTRAP_FRAME f, PVOID context)
{
    UNREFERENCED_PARAMETER(f);
    UNREFERENCED_PARAMETER(context);
    KfRaiseIrql(5);                     /* and "forgets" to lower */
}

KTEST_BUGCHECK(irql_handler_returns_at_other_irql, IRQL_UNEXPECTED_VALUE)
{
    ULONG vector = KI_VECTOR_IRQL_TEST(3);

    ktest_expect_bugcheck(KT_P((5 << 16) | (3 << 8) | 3), KT_P(raises_and_returns), KT_P(0x77),
                          KT_P(vector));
    KiSetInterruptHandler(vector, raises_and_returns, (PVOID)0x77);
    fire_self(3);
    KeStallExecutionProcessor(WAIT_US);
}
#endif

KTEST_BUGCHECK(irql_page_fault_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(0x100000000ull), KT_P(DISPATCH_LEVEL), KT_P(1), KT_ANY);
    KfRaiseIrql(DISPATCH_LEVEL);
    *(volatile ULONG *)0x100000000ull = 1;      /* unmapped, and a write */
}

/* Level 15 masks every interrupt, but not an NMI (SDM Vol. 3A 6.7.1: the
 * NMI is not blocked by IF, and the TPR only orders maskable interrupts):
 * at HIGH_LEVEL with interrupts disabled, an NMI to this CPU is taken at once. */
KTEST(irql_nmi_passes_high_level)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    ULONG before = prcb->NmiPingCount;
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    ULONG64 flags = interrupts_save_disable();

    KiSendNmiPing(prcb->Number);
    for (ULONG us = 0; us < 100000 && prcb->NmiPingCount == before; us += 10)
        KeStallExecutionProcessor(10);
    ULONG during = prcb->NmiPingCount - before;
    restore_rflags(flags);
    KeLowerIrql(old);
    KT_EXPECT_EQ(during, 1);
    KT_EXPECT_EQ(prcb->NmiPingsExpected, 0);
}
