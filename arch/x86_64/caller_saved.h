/*
 * caller_saved.h - for assembly that calls C from the middle of a fast path
 * (RACE_POINT in kernel/debug/race.h, TRACE_LOCK in kernel/trace/trace.h):
 * save and restore every register a C function may change, so the code
 * around the call sees none of them move.
 *
 * Those are RAX, RCX, RDX, RSI, RDI and R8-R11 (System V AMD64 ABI, 3.2.1
 * "Registers"); a C function keeps RBX, RBP and R12-R15 itself.  The flags
 * are the caller's to save (pushfq), since only some call sites need them.
 * 72 bytes of stack; the kernel has no red zone (-mno-red-zone).
 */
#ifndef ARCH_X86_64_CALLER_SAVED_H
#define ARCH_X86_64_CALLER_SAVED_H
#ifdef __ASSEMBLER__

.macro PUSH_CALLER_SAVED
    push    %rax
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %r8
    push    %r9
    push    %r10
    push    %r11
.endm

.macro POP_CALLER_SAVED
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rax
.endm

#endif /* __ASSEMBLER__ */
#endif
