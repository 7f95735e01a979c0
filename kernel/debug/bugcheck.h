/*
 * bugcheck.h - the kernel-internal side of bug checks (kernel/debug/bugcheck.c).
 */
#ifndef KERNEL_BUGCHECK_H
#define KERNEL_BUGCHECK_H

#include "ntdef.h"
#include "arch/x86_64/trap.h"

/* QEMU isa-debug-exit values (port 0xF4); QEMU exits with (v << 1) | 1. */
#define KI_EXIT_TESTS_PASSED    0x10    /* QEMU status 33 */
#define KI_EXIT_TESTS_FAILED    0x11    /* QEMU status 35 */
#define KI_EXIT_BUGCHECK        0x12    /* QEMU status 37 */

/* A bug check from an exception: the STOP screen shows the trap frame's
 * registers and walks the interrupted code's stack. */
DECLSPEC_NORETURN void KiBugCheckWithTrapFrame(ULONG BugCheckCode, ULONG_PTR P1,
                                               ULONG_PTR P2, ULONG_PTR P3,
                                               ULONG_PTR P4, PKTRAP_FRAME TrapFrame);

/* Call every registered bug check callback (kernel/debug/bugcheck_callback.c);
 * from the bug check only, other CPUs frozen. */
VOID KiCallBugCheckCallbacks(VOID);

/* TRUE once some CPU has started a bug check (its NMI freezes the rest). */
BOOLEAN KiBugCheckInProgress(void);

/* Leave QEMU with the given isa-debug-exit value; halt forever elsewhere. */
DECLSPEC_NORETURN void KiExitMachine(ULONG Value);

#endif
