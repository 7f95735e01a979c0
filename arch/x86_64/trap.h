/*
 * trap.h - the trap frame every interrupt and exception builds, and the
 * vector numbers of the CPU's exceptions (SDM Vol. 3A 6.15).
 *
 * KTRAP_FRAME keeps NT's name and field names; the layout is ours and is fixed
 * by arch/x86_64/trap.S, which pushes it (offsets asserted below).
 */
#ifndef ARCH_X86_64_TRAP_H
#define ARCH_X86_64_TRAP_H

#include "ntdef.h"

typedef struct _KTRAP_FRAME {
    ULONG64 PreviousIrql;                           /* set by KiDispatchInterrupt */
    ULONG64 Reserved;                               /* keeps RSP 16-byte aligned */
    ULONG64 Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp;      /* pushed by KiTrapCommon */
    ULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
    ULONG64 Vector;                                 /* pushed by the stub */
    ULONG64 ErrorCode;                              /* by the CPU, or 0 by the stub */
    ULONG64 Rip, SegCs, EFlags, Rsp, SegSs;         /* pushed by the CPU */
} KTRAP_FRAME, *PKTRAP_FRAME;

C_ASSERT(offsetof(KTRAP_FRAME, Rax) == 16);
C_ASSERT(offsetof(KTRAP_FRAME, Vector) == 17 * 8);
C_ASSERT(offsetof(KTRAP_FRAME, Rip) == 19 * 8);
C_ASSERT(sizeof(KTRAP_FRAME) == 24 * 8);

enum {
    X86_TRAP_DE = 0,    /* divide error */
    X86_TRAP_DB = 1,
    X86_TRAP_NMI = 2,
    X86_TRAP_BP = 3,
    X86_TRAP_OF = 4,
    X86_TRAP_BR = 5,
    X86_TRAP_UD = 6,    /* invalid opcode */
    X86_TRAP_NM = 7,
    X86_TRAP_DF = 8,    /* double fault: runs on its own IST stack */
    X86_TRAP_TS = 10,
    X86_TRAP_NP = 11,
    X86_TRAP_SS = 12,
    X86_TRAP_GP = 13,
    X86_TRAP_PF = 14,
    X86_TRAP_MF = 16,
    X86_TRAP_AC = 17,
    X86_TRAP_MC = 18,   /* machine check: IST stack */
    X86_TRAP_XM = 19,
    X86_TRAP_VE = 20,
    X86_TRAP_CP = 21,
};

/* Page-fault error code bits (SDM Vol. 3A 4.7). */
#define PF_PRESENT  (1u << 0)
#define PF_WRITE    (1u << 1)
#define PF_FETCH    (1u << 4)

/* The 256 entry stubs, 16 bytes apart (trap.S). */
extern const char KiVectorStubs[];
#define KI_VECTOR_STUB_SIZE 16

/* Called by KiTrapCommon with interrupts off, as the CPU left them. */
void KiDispatchTrap(PKTRAP_FRAME TrapFrame);

/* The return address of that call (trap.S): a frame record whose return
 * address is this one is KiDispatchTrap's, and the trap frame lies right
 * above it. */
extern const char KiTrapCommonReturn[];

#endif
