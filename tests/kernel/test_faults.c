/*
 * test_faults.c - every CPU exception becomes a bug check with the WDK's code
 * and parameters (arch/x86_64/exception.c).  Each test here must stop the
 * machine; the runner boots each alone and compares the STOP line.
 */
#include "wdm.h"
#include "ktest.h"

#define UNMAPPED_ADDRESS 0x100000000ull     /* 4 GiB: just past the identity map */

static volatile int KtZero;
static volatile ULONG_PTR KtNullPageAddress = 8;   /* volatile: GCC rejects a literal */

KTEST_BUGCHECK(fault_divide_error, KMODE_EXCEPTION_NOT_HANDLED)
{
    ktest_expect_bugcheck(KT_P((ULONG)STATUS_INTEGER_DIVIDE_BY_ZERO), KT_ANY, KT_P(0), KT_P(0));
    KtZero = 10 / KtZero;
}

KTEST_BUGCHECK(fault_invalid_opcode, KMODE_EXCEPTION_NOT_HANDLED)
{
    extern const char kt_ud2_site[];

    ktest_expect_bugcheck(KT_P((ULONG)STATUS_ILLEGAL_INSTRUCTION), KT_P(kt_ud2_site), KT_P(0),
                          KT_P(0));
    __asm__ volatile("kt_ud2_site: ud2");
}

KTEST_BUGCHECK(fault_breakpoint, KMODE_EXCEPTION_NOT_HANDLED)
{
    ktest_expect_bugcheck(KT_P((ULONG)STATUS_BREAKPOINT), KT_ANY, KT_P(0), KT_P(0));
    __asm__ volatile("int3");
}

KTEST_BUGCHECK(fault_general_protection, KMODE_EXCEPTION_NOT_HANDLED)
{
    ktest_expect_bugcheck(KT_P((ULONG)STATUS_ACCESS_VIOLATION), KT_ANY, KT_P(0), KT_P(~0ull));
    (void)*(volatile ULONG64 *)0x8000000000000000ull;   /* non-canonical: #GP, not #PF */
}

KTEST_BUGCHECK(fault_page_fault_read_unmapped, PAGE_FAULT_IN_NONPAGED_AREA)
{
    ktest_expect_bugcheck(KT_P(UNMAPPED_ADDRESS), KT_P(0), KT_ANY, KT_ANY);
    (void)*(volatile ULONG64 *)UNMAPPED_ADDRESS;
}

KTEST_BUGCHECK(fault_page_fault_write_null, PAGE_FAULT_IN_NONPAGED_AREA)
{
    ktest_expect_bugcheck(KT_P(8), KT_P(2), KT_ANY, KT_ANY);
    *(volatile ULONG64 *)KtNullPageAddress = 1;     /* page 0 is left unmapped on purpose */
}

/* A stack that runs off the map: the CPU cannot push the #PF frame, which is
 * a double fault; it runs on its IST stack and gets a clean STOP screen. */
KTEST_BUGCHECK(fault_double_fault_on_bad_stack, UNEXPECTED_KERNEL_MODE_TRAP)
{
    ktest_expect_bugcheck(KT_P(8), KT_P(0), KT_ANY, KT_P(0));
    __asm__ volatile("mov %0, %%rsp\n\tpushq $0" : : "r"(UNMAPPED_ADDRESS + 64) : "memory");
}

KTEST_BUGCHECK(bugcheck_parameters_printed, MANUALLY_INITIATED_CRASH)
{
    ktest_expect_bugcheck(KT_P(1), KT_P(0x22), KT_P(0x333), KT_P(0xFFFFFFFFFFFFFFFFull));
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 0x22, 0x333, 0xFFFFFFFFFFFFFFFFull);
}
