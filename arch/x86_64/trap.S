/*
 * trap.S - the 256 interrupt/exception entry stubs and their common path.
 *
 * Contract with C: stub v (at KiVectorStubs + 16 * v) pushes a zero error code
 * when the CPU pushes none (SDM Vol. 3A 6.13), then the vector number, and
 * jumps to KiTrapCommon.  KiTrapCommon saves all general registers below that
 * and reserves two words (PreviousIrql, Reserved), forming a KTRAP_FRAME
 * (arch/x86_64/trap.h: PreviousIrql at 0, Rax at 16, Vector at 136, ErrorCode
 * at 144, then the CPU's Rip/SegCs/EFlags/Rsp/SegSs), and calls
 * KiDispatchTrap(frame) with RDI = frame.  The CPU aligned RSP to 16 before
 * pushing its five words (6.14.2); 5 + 2 + 15 + 2 words keep it 16-aligned
 * at the call.  On return everything is restored from the frame (C may edit it) and
 * iretq resumes the interrupted code.  The kernel runs only in ring 0 with one
 * GS base per CPU, so there is no swapgs.  KiTrapCommonReturn, the return
 * address of that call, tells the STOP screen's backtrace where a trap frame
 * sits on the stack (16 bytes above KiDispatchTrap's frame record), so it
 * can go on into the interrupted code (kernel/debug/bugcheck.c).
 */

    .text
    .align 16
    .globl KiVectorStubs
KiVectorStubs:
    .set vector, 0
    .rept 256
    .align 16
    /* Exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF,
     * #AC, #CP, #VC, #SX. */
    .if (vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq   $0
    .endif
    pushq   $vector
    jmp     KiTrapCommon
    .set vector, vector + 1
    .endr

    .align 16
KiTrapCommon:
    pushq   %r15
    pushq   %r14
    pushq   %r13
    pushq   %r12
    pushq   %r11
    pushq   %r10
    pushq   %r9
    pushq   %r8
    pushq   %rbp
    pushq   %rdi
    pushq   %rsi
    pushq   %rdx
    pushq   %rcx
    pushq   %rbx
    pushq   %rax
    sub     $16, %rsp                   /* PreviousIrql, Reserved */
    cld                                 /* the ABI wants DF = 0 in C */
    mov     %rsp, %rdi
    call    KiDispatchTrap
    .globl  KiTrapCommonReturn
KiTrapCommonReturn:                     /* a backtrace that returns here crosses the trap */
    add     $16, %rsp
    popq    %rax
    popq    %rbx
    popq    %rcx
    popq    %rdx
    popq    %rsi
    popq    %rdi
    popq    %rbp
    popq    %r8
    popq    %r9
    popq    %r10
    popq    %r11
    popq    %r12
    popq    %r13
    popq    %r14
    popq    %r15
    add     $16, %rsp                   /* vector and error code */
    iretq
