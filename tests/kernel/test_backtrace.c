/*
 * test_backtrace.c - the STOP screen names the right functions: a known
 * chain of three functions (chain_a calls chain_b calls chain_c) appears on
 * it in order, innermost first, with no frame missing and none named after
 * the function that follows the real one in memory (kernel/debug/bugcheck.c).
 *
 * Three ways to stop: chain_c calls KeBugCheckEx; chain_c faults (the trap
 * frame's RIP); an ISR runs the chain (interrupt entry, the dispatch code
 * and the ISR between the trap and the bug check).  Each in both builds.
 *
 * The calls are the ones that lose frames when the compiler is let: chain_b
 * ends in a call to chain_c (a sibling call, which -O2 would turn into a
 * jump), and chain_c's last instruction is a call that never returns, so
 * its return address lies past the end of chain_c.
 */
#include "wdm.h"
#include "ktest.h"
#include "arch/x86_64/apic.h"

#define NEVER_MAPPED    0x100000000000ull   /* above the 4 GiB identity map */
#define KT_VECTOR       0x7A                /* DIRQL 7, a test vector (test_interrupts.c) */

enum how { BY_CALL, BY_FAULT };

/* Never set: it only keeps the compiler from finding that chain_c never
 * returns, which would make it keep chain_b's call as a call. */
static volatile BOOLEAN KtChainReturns;

static __attribute__((noinline)) void chain_c(enum how How)
{
    if (KtChainReturns)
        return;
    if (How == BY_FAULT)
        *(volatile ULONG *)NEVER_MAPPED = 1;
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 0xC, 0xB, 0xA, 0);
}

static __attribute__((noinline)) void chain_b(enum how How)
{
    chain_c(How);                               /* a sibling call */
}

static __attribute__((noinline)) void chain_a(enum how How)
{
    chain_b(How);
    __asm__ volatile("" : : : "memory");        /* chain_a itself keeps its frame */
}

/* The frames every variant must show after the STOP line, in this order;
 * First is the RIP line's. */
static void expect_chain(const char *First)
{
    ktest_expect_line("%s *chain_c+", First);
    ktest_expect_line("  #* *chain_b+");
    ktest_expect_line("  #* *chain_a+");
}

KTEST_BUGCHECK(backtrace_names_the_chain_from_a_call, MANUALLY_INITIATED_CRASH)
{
    expect_chain("RIP");
    ktest_expect_line("  #* *backtrace_names_the_chain_from_a_call+");
    ktest_expect_bugcheck(KT_P(0xC), KT_P(0xB), KT_P(0xA), KT_P(0));
    chain_a(BY_CALL);
}

KTEST_BUGCHECK(backtrace_names_the_chain_from_a_fault, IRQL_NOT_LESS_OR_EQUAL)
{
    KIRQL old;

    expect_chain("RIP");
    ktest_expect_line("  #* *backtrace_names_the_chain_from_a_fault+");
    ktest_expect_bugcheck(KT_P(NEVER_MAPPED), KT_P(DISPATCH_LEVEL), KT_P(1), KT_ANY);
    KeRaiseIrql(DISPATCH_LEVEL, &old);          /* a fault at DISPATCH_LEVEL: 0x0A */
    chain_a(BY_FAULT);
}

static BOOLEAN chain_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    chain_a(BY_CALL);
    return TRUE;
}

/* From an ISR: the chain, then the ISR, then the kernel's dispatch. */
KTEST_BUGCHECK(backtrace_names_the_chain_from_an_isr, MANUALLY_INITIATED_CRASH)
{
    PKINTERRUPT interrupt;
    KAFFINITY self = (KAFFINITY)1 << KeGetCurrentProcessorNumber();

    if (!NT_SUCCESS(IoConnectInterrupt(&interrupt, chain_isr, NULL, NULL, KT_VECTOR, 7, 7,
                                       Latched, FALSE, self, FALSE)))
        return;
    expect_chain("RIP");
    ktest_expect_line("  #* *chain_isr+");
    ktest_expect_line("  #* *KiInterruptDispatch+");
    ktest_expect_line("  -- interrupt 0x%02X --", KT_VECTOR);
    ktest_expect_line("  #* *backtrace_names_the_chain_from_an_isr+");
    ktest_expect_bugcheck(KT_P(0xC), KT_P(0xB), KT_P(0xA), KT_P(0));
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | KT_VECTOR);
    KeStallExecutionProcessor(2000000);
}
