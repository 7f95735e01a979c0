/*
 * interrupt.h - dispatch of vectors 32-255 and of the NMI (kernel/irql/interrupt.c).
 */
#ifndef KERNEL_INTERRUPT_H
#define KERNEL_INTERRUPT_H

#include "ntdef.h"
#include "arch/x86_64/trap.h"

/* A handler runs at its vector's IRQL (vector >> 4) with interrupts enabled,
 * so higher classes can nest; it must return at that same IRQL. */
typedef VOID (*PKI_INTERRUPT_HANDLER)(PKTRAP_FRAME TrapFrame, PVOID Context);

/* Interrupts taken (vectors 32-255, spurious included), per CPU and vector. */
extern ULONG KiInterruptCount[64][256];

/* Install (or, with NULL, remove) the handler of a vector. */
VOID KiSetInterruptHandler(ULONG Vector, PKI_INTERRUPT_HANDLER Handler, PVOID Context);
/* The handler on Vector now and its context (a test borrows a vector). */
PKI_INTERRUPT_HANDLER KiGetInterruptHandler(ULONG Vector, PVOID *Context);

/* Whether Vector comes from a level-triggered I/O APIC input, whose EOI
 * must wait until the handler has run (kernel/irql/interrupt.c).  Set while the
 * input is masked. */
VOID KiSetInterruptLevelTriggered(ULONG Vector, BOOLEAN LevelTriggered);

/* Request the APC_LEVEL (vector 0x1F) or DISPATCH_LEVEL (0x2F) software
 * interrupt on this CPU: a self-IPI that is pending in the IRR before this
 * returns, so it is delivered the moment IRQL drops below Level. */
VOID KiRequestSoftwareInterrupt(KIRQL Level);

/* The same on processor Number: a fixed IPI to the same vector. */
VOID KiRequestSoftwareInterruptOn(ULONG Number, KIRQL Level);

/* Called by KiDispatchTrap for vectors 32-255. */
void KiDispatchInterrupt(PKTRAP_FRAME TrapFrame);

/* TRUE if the NMI was expected: a bug check freezing this CPU (never
 * returns then), or a KiSendNmiPing. */
BOOLEAN KiHandleNmi(PKTRAP_FRAME TrapFrame);
/* An NMI to CPU Number that its handler counts (KPRCB.NmiPingCount) instead
 * of taking it for a hardware failure: to show that no IRQL masks an NMI
 * (the IRQL tests, the shell's demo 7).  Any IRQL. */
VOID KiSendNmiPing(ULONG Number);

#endif
