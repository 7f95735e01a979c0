/*
 * interrupt.h - dispatch of vectors 32-255 and of the NMI (kernel/interrupt.c).
 */
#ifndef KERNEL_INTERRUPT_H
#define KERNEL_INTERRUPT_H

#include "ntdef.h"
#include "arch/x86_64/trap.h"

void KiDispatchInterrupt(PKTRAP_FRAME TrapFrame);

/* TRUE if the NMI was expected (a bug check freezing this CPU). */
BOOLEAN KiHandleNmi(PKTRAP_FRAME TrapFrame);

#endif
