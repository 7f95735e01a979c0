/*
 * callstack.S - call a C function on another stack (the per-CPU DPC stack).
 *
 * Contract with C (arch/x86_64/callstack.h):
 *
 *     VOID KiCallOnStack(VOID (*Routine)(PVOID), PVOID Argument, PVOID StackTop);
 *
 *   in:   RDI = Routine, RSI = Argument, RDX = StackTop (16-byte aligned,
 *         one past the highest byte of the new stack; nothing may live on it)
 *   does: Routine(Argument) with RSP = StackTop, then returns on the
 *         caller's stack.  RBX, RBP, R12-R15 are preserved (System V):
 *         Routine preserves them, and RBP carries the old RSP across it.
 *   stack: the frame this builds on the old stack is a normal RBP frame, and
 *         Routine's own frame links to it, so the bug check's RBP walk goes
 *         from the DPC stack back onto the interrupted one.
 * Interrupts may stay enabled: at every instruction RSP is a valid stack.
 */

    .text
    .globl KiCallOnStack
    .type KiCallOnStack, @function
KiCallOnStack:
    pushq   %rbp                /* frame on the old stack: [rbp] = caller's rbp */
    movq    %rsp, %rbp          /* RBP: the way back (callee-saved, so Routine keeps it) */
    movq    %rdx, %rsp          /* switch; StackTop is 16-aligned, as a call site must be */
    movq    %rdi, %rax
    movq    %rsi, %rdi          /* Argument becomes Routine's first parameter */
    call    *%rax
    movq    %rbp, %rsp          /* back to the old stack */
    popq    %rbp
    ret
    .size KiCallOnStack, . - KiCallOnStack
