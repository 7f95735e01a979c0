/*
 * smp.h - which processors are online, and stopping them (kernel/smp.c).
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include "ntdef.h"

/* Processors that finished bring-up (1 until the application processors
 * start). */
ULONG KiActiveProcessorCount(void);
KAFFINITY KiActiveProcessorSet(void);

/* From a bug check, with interrupts off: stop every other online CPU (NMI), so
 * the STOP screen is the last thing printed. */
void KiFreezeOtherProcessors(void);

#endif
