/*
 * exception.c - what each CPU exception becomes: a bug check with the WDK's
 * code and parameters (docs/bugchecks.md lists them).
 *
 * The kernel has no user mode and no pageable memory, so no exception is ever
 * expected: each one is a kernel bug and stops the machine with its trap
 * frame on the STOP screen.  Vectors 32-255 go to the interrupt dispatcher.
 */
#include "wdm.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/irql/interrupt.h"
#include "kernel/irql/vectors.h"

/* Exceptions that map to an NTSTATUS: KMODE_EXCEPTION_NOT_HANDLED with
 * P1 = the status, P2 = the faulting address (WDK: Bug Check 0x1E). */
static NTSTATUS exception_status(ULONG64 vector)
{
    switch (vector) {
    case X86_TRAP_DE: return STATUS_INTEGER_DIVIDE_BY_ZERO;
    case X86_TRAP_DB: return STATUS_SINGLE_STEP;
    case X86_TRAP_BP: return STATUS_BREAKPOINT;
    case X86_TRAP_OF: return STATUS_INTEGER_OVERFLOW;
    case X86_TRAP_BR: return STATUS_ARRAY_BOUNDS_EXCEEDED;
    case X86_TRAP_UD: return STATUS_ILLEGAL_INSTRUCTION;
    case X86_TRAP_GP: return STATUS_ACCESS_VIOLATION;
    case X86_TRAP_AC: return STATUS_DATATYPE_MISALIGNMENT;
    case X86_TRAP_MF:
    case X86_TRAP_XM: return STATUS_FLOAT_INVALID_OPERATION;
    default: return 0;
    }
}

/* WDK: Bug Check 0x50 on x64 since Windows 10 1507: P2 is 0 for a read,
 * 2 for a write, 0x10 for an instruction fetch. */
static ULONG_PTR page_fault_access(ULONG64 error_code)
{
    if (error_code & PF_FETCH)
        return 0x10;
    return (error_code & PF_WRITE) ? 2 : 0;
}

/* A fault at DISPATCH_LEVEL or above could never be resolved even with
 * paging (the pager needs lower IRQLs), so Windows, free and checked, reports
 * IRQL_NOT_LESS_OR_EQUAL: P1 address, P2 IRQL, P3 bit 0 write / bit 3
 * execute, P4 the faulting instruction (WDK: Bug Check 0xA).  Below
 * DISPATCH_LEVEL an unmapped address is PAGE_FAULT_IN_NONPAGED_AREA. */
static DECLSPEC_NORETURN void page_fault(PKTRAP_FRAME f)
{
    ULONG_PTR address = read_cr2();
    KIRQL irql = (KIRQL)__readcr8();

    if (irql >= DISPATCH_LEVEL)
        KiBugCheckWithTrapFrame(IRQL_NOT_LESS_OR_EQUAL, address, irql,
                                ((f->ErrorCode & PF_WRITE) ? 1 : 0) | ((f->ErrorCode & PF_FETCH) ? 8 : 0),
                                f->Rip, f);
    KiBugCheckWithTrapFrame(PAGE_FAULT_IN_NONPAGED_AREA, address, page_fault_access(f->ErrorCode),
                            f->Rip, f->ErrorCode, f);
}

void KiDispatchTrap(PKTRAP_FRAME f)
{
    if (f->Vector >= 32 || f->Vector == KI_VECTOR_APC) {   /* 0x1F: reserved as an exception */
        KiDispatchInterrupt(f);
        return;
    }
    if (f->Vector == X86_TRAP_NMI && KiHandleNmi(f))
        return;
    if (f->Vector == X86_TRAP_PF)
        page_fault(f);
    if (f->Vector == X86_TRAP_MC)
        KiBugCheckWithTrapFrame(MACHINE_CHECK_EXCEPTION, f->Vector, f->Rip, 0, 0, f);

    NTSTATUS status = exception_status(f->Vector);
    if (status == 0)                    /* #DF, #TS, #NP, #SS, #NM, ...: WDK 0x7F */
        KiBugCheckWithTrapFrame(UNEXPECTED_KERNEL_MODE_TRAP, f->Vector, f->ErrorCode, f->Rip, 0, f);
    /* #GP has no faulting address; Windows reports P4 = -1 for it. */
    ULONG_PTR p4 = f->Vector == X86_TRAP_GP ? ~(ULONG_PTR)0 : 0;
    KiBugCheckWithTrapFrame(KMODE_EXCEPTION_NOT_HANDLED, (ULONG)status, f->Rip, 0, p4, f);
}
