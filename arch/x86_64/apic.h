/*
 * apic.h - the local APIC behind one small interface (arch/x86_64/apic.c).
 *
 * At boot the kernel picks x2APIC mode (registers are MSRs) when CPUID says
 * the CPU has it, else xAPIC mode (registers are memory-mapped at the
 * APIC base).  Everything above this interface is the same in both modes.
 */
#ifndef ARCH_X86_64_APIC_H
#define ARCH_X86_64_APIC_H

#include "ntdef.h"

/* Register offsets in xAPIC MMIO space; x2APIC MSR = 0x800 + offset / 16
 * (SDM Vol. 3A Table 11-6 "Local APIC Register Address Map"). */
#define APIC_ID             0x020
#define APIC_VERSION        0x030
#define APIC_TPR            0x080
#define APIC_PPR            0x0A0
#define APIC_EOI            0x0B0
#define APIC_SVR            0x0F0   /* spurious vector */
#define   APIC_SVR_ENABLE     0x100
#define APIC_ISR            0x100   /* in service: 8 registers, 32 vectors each */
#define APIC_IRR            0x200   /* requested: 8 registers, 32 vectors each */
#define APIC_ESR            0x280   /* error status */
#define APIC_ICR_LOW        0x300   /* interrupt command */
#define APIC_ICR_HIGH       0x310   /* xAPIC only: destination in bits 31:24 */
#define APIC_LVT_TIMER      0x320
#define   APIC_TIMER_PERIODIC 0x20000
#define APIC_LVT_LINT0      0x350
#define APIC_LVT_LINT1      0x360
#define APIC_LVT_ERROR      0x370
#define   APIC_LVT_MASKED     0x10000
#define   APIC_LVT_NMI        0x400   /* delivery mode NMI */
#define APIC_TIMER_INITIAL  0x380
#define APIC_TIMER_CURRENT  0x390
#define APIC_TIMER_DIVIDE   0x3E0
#define   APIC_TIMER_DIVIDE_BY_16 0x3

/* Interrupt command fields (SDM Vol. 3A 11.6.1). */
#define ICR_FIXED           0x000
#define ICR_NMI             0x400
#define ICR_INIT            0x500
#define ICR_STARTUP         0x600
#define ICR_DELIVERY_PENDING 0x1000  /* xAPIC: send still in progress */
#define ICR_ASSERT          0x4000
#define ICR_LEVEL           0x8000
#define ICR_DEST_SELF       0x40000
#define ICR_DEST_ALL        0x80000
#define ICR_DEST_OTHERS     0xC0000  /* all excluding self */

BOOLEAN KiApicIsX2Apic(void);
ULONG KiApicRead(ULONG reg);
void KiApicWrite(ULONG reg, ULONG value);
ULONG KiApicId(void);               /* this CPU's APIC id */

/* End of interrupt for the highest in-service vector. */
void KiApicEoi(void);

/* Send an IPI: Command is the ICR low word (vector | delivery mode | ...);
 * Shorthand (ICR_DEST_SELF/ALL/OTHERS) or 0 for the one CPU ApicId.
 * Returns once the local APIC has accepted it. */
void KiApicSendIpi(ULONG ApicId, ULONG Command);

/* TRUE if Vector is pending (its IRR bit is set) on this CPU. */
BOOLEAN KiApicIsPending(ULONG Vector);

/* RACE builds: send a self-IPI the latency model held back (kernel/debug/race.c);
 * every interrupt entry calls it.  Nothing in other builds. */
void KiApicSendHeldSelfIpi(void);

/* Choose the mode (boot CPU) and enable this CPU's local APIC: spurious,
 * error and LINT vectors set, timer masked, TPR 0. */
void KiInitializeLocalApic(BOOLEAN BootProcessor);

#endif
