/*
 * smp.h - which processors are online, starting them, and stopping them
 * (kernel/smp/smp.c).
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include "ntdef.h"

/* Processors that finished bring-up, and their set (bit n = processor n). */
ULONG KiActiveProcessorCount(void);
KAFFINITY KiActiveProcessorSet(void);

/* The idle thread's share of ktest_run_on_all_cpus: run the routine posted
 * in Prcb->IdleRoutine (set: the caller checked), at PASSIVE_LEVEL, check
 * it left no lock and PASSIVE_LEVEL, and count it done. */
struct _KPRCB;
VOID KiRunIdleWork(struct _KPRCB *Prcb);

/* Boot CPU: start every enabled processor the MADT lists. */
void KiStartApplicationProcessors(void);

/* Start the processor with APIC id ApicId as processor Number with
 * INIT-SIPI-SIPI; FALSE if it did not come online within a second. */
BOOLEAN KiStartProcessorAt(ULONG Number, ULONG ApicId);

/* From a bug check, with interrupts off: stop every other online CPU (NMI),
 * waiting briefly until they have, so the STOP screen is the last output.
 * Returns how many stopped. */
ULONG KiFreezeOtherProcessors(void);

/* The NMI handler's half of the freeze: record this CPU's IRQL, halt
 * forever. */
DECLSPEC_NORETURN void KiFreezeThisProcessor(void);

#endif
