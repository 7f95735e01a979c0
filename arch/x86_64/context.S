/*
 * context.S - the context switch: leave one thread's kernel stack for
 * another's (docs/threads.md, "A context switch").
 *
 * Contract with C (kernel/thread/thread.h):
 *
 *     VOID KiSwapContext(PKTHREAD Old, PKTHREAD New);
 *
 *   in:   RDI = Old (the thread running now), RSI = New; at DISPATCH_LEVEL
 *         or above, interrupts enabled or not, no spin lock held.  Old's
 *         SwapBusy is 1: the caller set it under the dispatcher lock, before
 *         Old could be seen ready or waiting by another CPU.
 *   does: pushes RFLAGS, disables interrupts (an interrupt frame pushed on
 *         Old's stack after SwapBusy clears would land on a stack another
 *         CPU may be running), pushes RBX, RBP, R12-R15 on Old's stack and stores RSP in
 *         Old->KernelStack (offset 0x18); then clears Old->SwapBusy (0x20):
 *         from that store on another CPU may resume Old.  Waits until
 *         New->SwapBusy is 0 (New may still be being saved by the CPU that
 *         switched away from it), loads New->KernelStack and pops New's
 *         registers and RFLAGS: the `ret` returns from the KiSwapContext call New made
 *         when it was switched out, or, for a new thread, into
 *         KiThreadStartup with RBX = the thread.
 *   The other registers are caller-saved (System V), so the compiler has
 *   saved what it needs around the call.  This kernel uses no FPU/SSE
 *   registers (-mgeneral-regs-only), so there is no extended state to save.
 *   CR8 stays as it is: every thread is switched out and resumes at
 *   DISPATCH_LEVEL or above, and lowers to its own IRQL after.
 */

#define KTHREAD_KERNEL_STACK    0x18
#define KTHREAD_SWAP_BUSY       0x20

    .text
    .globl KiSwapContext
    .type KiSwapContext, @function
KiSwapContext:
    pushfq
    cli                                     /* no interrupt frame may land on Old's stack
                                             * once another CPU can resume Old */
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, KTHREAD_KERNEL_STACK(%rdi)
    /* A plain store releases: x86 keeps it after every store above (SDM
     * Vol. 3A 9.2.2), so whoever sees 0 sees the saved registers. */
    movb    $0, KTHREAD_SWAP_BUSY(%rdi)
1:  cmpb    $0, KTHREAD_SWAP_BUSY(%rsi)     /* New fully saved? (a load: no lock) */
    jne     2f
    movq    KTHREAD_KERNEL_STACK(%rsi), %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    popfq                                   /* New's IF, as it was switched out */
    ret
2:  pause                                   /* another CPU is mid-switch away from New */
    jmp     1b
    .size KiSwapContext, . - KiSwapContext

/* A new thread's stack (kernel/thread/thread.c) holds RFLAGS 0x2 (IF off),
 * six zero registers with RBX = the thread, then this address: KiSwapContext's ret lands here.
 * RBP = 0 ends the STOP screen's backtrace. */
    .globl KiThreadStartup
    .type KiThreadStartup, @function
KiThreadStartup:
    movq    %rbx, %rdi
    andq    $-16, %rsp                      /* the ABI's alignment at a call */
    call    KiStartSystemThread             /* never returns */
    ud2
    .size KiThreadStartup, . - KiThreadStartup
