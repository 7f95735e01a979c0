/*
 * callstack.h - run a C function on another stack (arch/x86_64/callstack.S,
 * which states the register contract).  The DPC drain loop uses it to move
 * onto the per-CPU DPC stack.
 */
#ifndef ARCH_X86_64_CALLSTACK_H
#define ARCH_X86_64_CALLSTACK_H

#include "ntdef.h"

/* Routine(Argument) with RSP = StackTop (16-byte aligned); returns on the
 * caller's stack. */
VOID KiCallOnStack(VOID (*Routine)(PVOID Argument), PVOID Argument, PVOID StackTop);

#endif
