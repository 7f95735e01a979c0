/*
 * bugcheck.c - KeBugCheckEx and the STOP screen.
 *
 * A bug check is the kernel's only answer to a broken invariant: print what
 * is known, stop every CPU, and leave QEMU with the "bug check" status so the
 * test runner can tell it from a pass or a failure.  The first line's format
 * is fixed (tools parse it):
 *     *** STOP: 0x0000000A (0x...,0x...,0x...,0x...)
 * then the code's name, CPU, IRQL, RIP, registers and a symbolic backtrace;
 * then the registered bug check callbacks run (kernel/debug/bugcheck_callback.c).
 *
 * A bug check on the CPU that is already printing one (a callback that
 * bug-checks or faults, or a bug in this file) must not hide the first: it
 * prints one line that is not a STOP line,
 *     *** nested bug check 0x... (0x...,...) while printing the STOP screen
 * and leaves QEMU with the bug check status at once.
 */
#include "wdm.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/console/console.h"
#include "kernel/console/framebuffer.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"
#include "kernel/smp/stackguard.h"
#include "kernel/thread/thread.h"
#include "kernel/debug/symbols.h"
#include "kernel/trace/trace.h"
#include "arch/x86_64/cpu.h"
#include "printf.h"

#define QEMU_EXIT_PORT  0xF4
#define MAX_FRAMES      24

#define NAME(code) { code, #code }
static const struct {
    ULONG code;
    const char *name;
} KiBugCheckNames[] = {
    NAME(IRQL_NOT_GREATER_OR_EQUAL),
    NAME(IRQL_NOT_LESS_OR_EQUAL),
    NAME(SPIN_LOCK_ALREADY_OWNED),
    NAME(SPIN_LOCK_NOT_OWNED),
    NAME(MAXIMUM_WAIT_OBJECTS_EXCEEDED),
    NAME(KMODE_EXCEPTION_NOT_HANDLED),
    NAME(KERNEL_APC_PENDING_DURING_EXIT),
    NAME(SYSTEM_THREAD_EXCEPTION_NOT_HANDLED),
    NAME(THREAD_TERMINATE_HELD_MUTEX),
    NAME(PAGE_FAULT_IN_NONPAGED_AREA),
    NAME(MANUALLY_INITIATED_CRASH),
    NAME(UNEXPECTED_KERNEL_MODE_TRAP),
    NAME(NMI_HARDWARE_FAILURE),
    NAME(MACHINE_CHECK_EXCEPTION),
    NAME(ATTEMPTED_SWITCH_FROM_DPC),
    NAME(DRIVER_VERIFIER_DETECTED_VIOLATION),
    NAME(TIMER_OR_DPC_INVALID),
    NAME(IRQL_UNEXPECTED_VALUE),
    NAME(DRIVER_IRQL_NOT_LESS_OR_EQUAL),
    NAME(DPC_WATCHDOG_VIOLATION),
    NAME(CLOCK_WATCHDOG_TIMEOUT),
    NAME(HAL_INITIALIZATION_FAILED),
    NAME(PHASE0_INITIALIZATION_FAILED),
    NAME(INTERRUPT_EXCEPTION_NOT_HANDLED),
};

/* The CPU that owns the STOP screen, or -1.  Claimed with lock cmpxchg; a
 * second CPU loses and halts quietly (the owner's NMI freezes it anyway). */
static volatile LONG KiBugCheckOwner = -1;

BOOLEAN KiBugCheckInProgress(void)
{
    return __atomic_load_n(&KiBugCheckOwner, __ATOMIC_ACQUIRE) != -1;
}

static const char *bugcheck_name(ULONG code)
{
    for (size_t i = 0; i < ARRAYSIZE(KiBugCheckNames); i++)
        if (KiBugCheckNames[i].code == code)
            return KiBugCheckNames[i].name;
    return "UNKNOWN_BUGCHECK_CODE";
}

/* All bug check output goes through here: unlocked, in whole lines. */
static void stop_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void stop_print(const char *fmt, ...)
{
    char line[256];
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    KiConsoleWriteUnlocked(line);
}

/* A return address is the instruction after a call; the call itself is
 * one byte back, and that byte is what names the caller (after a call that
 * never returns, the return address may already be the next function). */
enum address_kind { EXACT, RETURN_ADDRESS };

static void print_address(const char *label, ULONG_PTR address, enum address_kind kind)
{
    ULONG_PTR offset, back = kind == RETURN_ADDRESS ? 1 : 0;
    const char *name = KiLookupSymbol(address - back, &offset);

    if (name)
        stop_print("%s0x%016llX %s+0x%llx\n", label, (unsigned long long)address, name,
                   (unsigned long long)(offset + back));
    else
        stop_print("%s0x%016llX\n", label, (unsigned long long)address);
}

extern const char __kernel_start[], __kernel_end[], __text_end[];   /* linker.ld */

static BOOLEAN in_kernel_image(ULONG_PTR address, ULONG_PTR size)
{
    return address >= (ULONG_PTR)__kernel_start && address + size <= (ULONG_PTR)__kernel_end;
}

/* The interrupted code was a function that keeps no frame of its own (the
 * assembly fast paths): its caller's return address is then still on top of
 * its stack.  Trusted only if the bytes before it are a call rel32 (0xE8),
 * as a debugger without unwind data would check. */
static BOOLEAN frameless_return_address(PKTRAP_FRAME f, ULONG_PTR *ret)
{
    ULONG_PTR offset;

    if (!KiLookupSymbol(f->Rip, &offset) || !in_kernel_image(f->Rsp, 8))
        return FALSE;
    if (*(const UCHAR *)(f->Rip - offset) == 0x55)      /* push %rbp: it has a frame */
        return FALSE;
    *ret = *(ULONG_PTR *)f->Rsp;
    return *ret > (ULONG_PTR)__kernel_start + 5 && *ret < (ULONG_PTR)__text_end &&
           *(const UCHAR *)(*ret - 5) == 0xE8;
}

/* Follow the RBP chain (the kernel keeps frame pointers, and no call is
 * turned into a jump: -fno-optimize-sibling-calls): [rbp] is the caller's
 * RBP, [rbp + 8] the return address.  A return into KiTrapCommon means a
 * trap frame: show the interrupted instruction, then go on from its RBP.
 * Stop at a frame outside the kernel image, where every stack lives. */
static void print_frame(int *Number, ULONG_PTR Address, enum address_kind Kind)
{
    char label[16];

    ksnprintf(label, sizeof(label), "  #%-2d ", (*Number)++);
    print_address(label, Address, Kind);
}

static void print_backtrace(ULONG_PTR rbp)
{
    int i = 0;

    stop_print("Backtrace:\n");
    while (i < MAX_FRAMES && in_kernel_image(rbp, 16) && !(rbp & 7)) {
        ULONG_PTR ret = ((ULONG_PTR *)rbp)[1];
        if (ret == 0)
            break;
        print_frame(&i, ret, RETURN_ADDRESS);
        if (ret != (ULONG_PTR)KiTrapCommonReturn) {
            rbp = ((ULONG_PTR *)rbp)[0];
            continue;
        }
        PKTRAP_FRAME f = (PKTRAP_FRAME)(rbp + 16);
        ULONG_PTR caller;
        stop_print("  -- %s 0x%02llX --\n", f->Vector < 32 ? "exception" : "interrupt",
                   (unsigned long long)f->Vector);
        print_frame(&i, f->Rip, EXACT);
        if (frameless_return_address(f, &caller))
            print_frame(&i, caller, RETURN_ADDRESS);
        rbp = f->Rbp;
    }
}

/* A double fault whose CR2 is in a guard page: a stack ran off its bottom
 * (kernel/smp/stackguard.h).  Say which. */
static void print_stack_overflow(ULONG_PTR address)
{
    ULONG number;
    ULONG_PTR page;
    const char *owner;
    const char *what = KiFindStackGuard(address, &owner, &number, &page);

    if (what)
        stop_print("stack overflow: %s %u's %s, guard page 0x%016llX\n", owner, number, what,
                   (unsigned long long)page);
}

/* The thread this CPU was running (docs/threads.md): which one stopped. */
static void print_thread(void)
{
    PKTHREAD thread = KeGetCurrentPrcb()->CurrentThread;

    if (thread == NULL)
        return;                         /* before this CPU's idle thread existed */
    if (!thread->SystemThread) {
        stop_print("Thread: the idle thread\n");
        return;
    }
    ULONG_PTR offset;
    const char *start = KiLookupSymbol((ULONG_PTR)thread->StartRoutine, &offset);
    stop_print("Thread: id %llu, start routine %s\n",
               (unsigned long long)(ULONG_PTR)PsGetCurrentThreadId(), start ? start : "?");
}

static void print_trap_frame(PKTRAP_FRAME f)
{
    stop_print("Trap: vector 0x%02llX, error code 0x%llx, CR2 0x%016llX\n",
               (unsigned long long)f->Vector, (unsigned long long)f->ErrorCode,
               (unsigned long long)read_cr2());
    if (f->Vector == X86_TRAP_DF)
        print_stack_overflow(read_cr2());
    stop_print("RAX=%016llX RBX=%016llX RCX=%016llX RDX=%016llX\n",
               (unsigned long long)f->Rax, (unsigned long long)f->Rbx,
               (unsigned long long)f->Rcx, (unsigned long long)f->Rdx);
    stop_print("RSI=%016llX RDI=%016llX RBP=%016llX RSP=%016llX\n",
               (unsigned long long)f->Rsi, (unsigned long long)f->Rdi,
               (unsigned long long)f->Rbp, (unsigned long long)f->Rsp);
    stop_print("R8 =%016llX R9 =%016llX R10=%016llX R11=%016llX\n",
               (unsigned long long)f->R8, (unsigned long long)f->R9,
               (unsigned long long)f->R10, (unsigned long long)f->R11);
    stop_print("R12=%016llX R13=%016llX R14=%016llX R15=%016llX\n",
               (unsigned long long)f->R12, (unsigned long long)f->R13,
               (unsigned long long)f->R14, (unsigned long long)f->R15);
    stop_print("CS=%04llx SS=%04llx RFLAGS=%016llX\n", (unsigned long long)f->SegCs,
               (unsigned long long)f->SegSs, (unsigned long long)f->EFlags);
}

static DECLSPEC_NORETURN void bugcheck(ULONG code, ULONG_PTR p1, ULONG_PTR p2, ULONG_PTR p3,
                                       ULONG_PTR p4, PKTRAP_FRAME frame, ULONG_PTR rip,
                                       ULONG_PTR rbp)
{
    KIRQL irql = (KIRQL)read_cr8();
    ULONG cpu = KeGetCurrentPrcb()->Number;

    cli();
    write_cr8(HIGH_LEVEL);
    LONG unclaimed = -1;
    if (!__atomic_compare_exchange_n(&KiBugCheckOwner, &unclaimed, (LONG)cpu, FALSE,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (unclaimed == (LONG)cpu) {   /* we recursed: the first screen stays the one */
            stop_print("*** nested bug check 0x%08X (0x%llX,0x%llX,0x%llX,0x%llX) while printing "
                       "the STOP screen\n", code, (unsigned long long)p1, (unsigned long long)p2,
                       (unsigned long long)p3, (unsigned long long)p4);
            KiExitMachine(KI_EXIT_BUGCHECK);
        }
        for (;;)                        /* another CPU is printing */
            hlt();
    }

    KI_TRACE(KI_TRACE_BUGCHECK, KI_TRACE_BUGCHECK_EVENT, code, p1, p2);
    ULONG frozen = KiFreezeOtherProcessors();
    KiFramebufferBeginStopScreen();     /* the same text on the screen, white on blue */
    stop_print("\n*** STOP: 0x%08X (0x%016llX,0x%016llX,0x%016llX,0x%016llX)\n", code,
               (unsigned long long)p1, (unsigned long long)p2, (unsigned long long)p3,
               (unsigned long long)p4);
    stop_print("%s\n", bugcheck_name(code));
    stop_print("CPU %u  IRQL %u  (processors online: %u, frozen by NMI: %u)\n", cpu, irql,
               KiActiveProcessorCount(), frozen);
    print_thread();
    print_address("RIP ", rip, frame ? EXACT : RETURN_ADDRESS);   /* KeBugCheckEx's caller */
    if (frame)
        print_trap_frame(frame);
    stop_print("CR0=%016llX CR3=%016llX CR4=%016llX\n", (unsigned long long)read_cr0(),
               (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
    print_backtrace(rbp);
    KiCallBugCheckCallbacks();
    stop_print("*** System halted.\n");
    KiExitMachine(KI_EXIT_BUGCHECK);
}

void KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1, ULONG_PTR BugCheckParameter2,
                  ULONG_PTR BugCheckParameter3, ULONG_PTR BugCheckParameter4)
{
    ULONG_PTR *frame = __builtin_frame_address(0);

    bugcheck(BugCheckCode, BugCheckParameter1, BugCheckParameter2, BugCheckParameter3,
             BugCheckParameter4, NULL, (ULONG_PTR)__builtin_return_address(0), frame[0]);
}

void KeBugCheck(ULONG BugCheckCode)
{
    ULONG_PTR *frame = __builtin_frame_address(0);

    bugcheck(BugCheckCode, 0, 0, 0, 0, NULL, (ULONG_PTR)__builtin_return_address(0), frame[0]);
}

void KiBugCheckWithTrapFrame(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3,
                             ULONG_PTR P4, PKTRAP_FRAME TrapFrame)
{
    bugcheck(BugCheckCode, P1, P2, P3, P4, TrapFrame, TrapFrame->Rip, TrapFrame->Rbp);
}

void KiExitMachine(ULONG Value)
{
    KiTraceDump();                      /* trace=: the rings, the STOP's last events included */
    outl(QEMU_EXIT_PORT, Value);        /* isa-debug-exit: QEMU ends here */
    cli();
    for (;;)
        hlt();
}
