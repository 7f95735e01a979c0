/*
 * iointerrupt.h - the kernel-internal side of device interrupts
 * (kernel/io/iointerrupt.c): where an ISA IRQ arrives, and what the tests see.
 */
#ifndef KERNEL_IOINTERRUPT_H
#define KERNEL_IOINTERRUPT_H

#include "wdm.h"
#include "arch/x86_64/ioapic.h"

/*
 * The vector of ISA IRQ n (0..15): lower IRQ numbers get higher IRQLs, as
 * the 8259's fixed priorities had it (IRQ 0 highest), two IRQs per class
 * from DIRQL 11 down to DIRQL 4, low nibble 8 or 9:
 *
 *   IRQ    0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 *   vector b8 b9 a8 a9 98 99 88 89 78 79 68 69 58 59 48 49
 *   DIRQL  11 11 10 10  9  9  8  8  7  7  6  6  5  5  4  4
 */
#define KI_ISA_IRQ_VECTOR(n) ((((11 - (n) / 2)) << 4) | 0x8 | ((n) & 1))

/*
 * What HalGetInterruptVector does for the ISA bus: find the GSI of IsaIrq
 * through the MADT's overrides, program its I/O APIC redirection entry
 * (vector KI_ISA_IRQ_VECTOR, the MADT's polarity and trigger, destination
 * the boot CPU) masked, unless an ISR is connected to it already, and
 * remember the vector's input so that IoConnectInterrupt unmasks it and
 * routes it to the ISR's processor.
 * Returns the vector, its DIRQL in *Irql, the processors it may be routed to
 * in *Affinity (every online one) and LevelSensitive or Latched in *Mode;
 * 0 if IsaIrq > 15 or no I/O APIC has its GSI.  PASSIVE_LEVEL.
 */
ULONG KiGetIsaInterruptVector(ULONG IsaIrq, PKIRQL Irql, PKAFFINITY Affinity,
                              KINTERRUPT_MODE *Mode);

/* Tests: make KiGetIsaInterruptVector program IsaIrq (0..15) with *Wiring
 * instead of the MADT's, from its next call while the IRQ has no ISR
 * connected; NULL goes back to the MADT's.  PASSIVE_LEVEL. */
VOID KiOverrideIsaInterruptWiring(ULONG IsaIrq, const KI_IOAPIC_WIRING *Wiring);

/* The GSI behind Vector, if KiGetIsaInterruptVector set one up. */
BOOLEAN KiGetVectorGsi(ULONG Vector, PULONG Gsi);

/* How many interrupts on Vector no connected ISR claimed (returned TRUE) on
 * the processor it arrived at, since boot: with nothing connected, or only
 * ISRs for other processors or that returned FALSE. */
ULONG KiGetUnclaimedInterruptCount(ULONG Vector);

/* A driver whose ISR queues a DPC that calls KeSynchronizeExecution on
 * Interrupt, stopping (its device told to stop interrupting first): set
 * *Stopping under the interrupt lock (the ISR reads it there and queues no
 * more DPCs), wait for a DPC that may be queued or running
 * (KeFlushQueuedDpcs), and only then IoDisconnectInterrupt, which gives the
 * object back to the pool (zeroed).  PASSIVE_LEVEL. */
VOID KiDisconnectInterruptAndDpc(PKINTERRUPT Interrupt, BOOLEAN *Stopping);

/* How many of the KI_MAX_INTERRUPT_OBJECTS objects are in use. */
ULONG KiGetInterruptObjectsInUse(void);

#endif
