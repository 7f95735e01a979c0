/*
 * ioapic.h - the I/O APICs behind one small interface (arch/x86_64/ioapic.c).
 *
 * An I/O APIC turns a device's interrupt line (a "global system interrupt",
 * GSI) into a message to a local APIC: vector, delivery mode, destination.
 * Each input has one 64-bit redirection entry (Intel 82093AA I/O APIC
 * datasheet, 3.2.4).  The MADT tells where the I/O APICs are and which GSI
 * each ISA IRQ arrives on (kernel/acpi/acpi.h); the code above this interface
 * speaks in GSIs and never touches IOREGSEL/IOWIN itself.
 */
#ifndef ARCH_X86_64_IOAPIC_H
#define ARCH_X86_64_IOAPIC_H

#include "ntdef.h"

/* Redirection entry, low dword (82093AA 3.2.4, "IOREDTBL"): */
#define IOAPIC_RTE_VECTOR_MASK      0x000000FFu     /* 7:0 vector, 0x10..0xFE */
#define IOAPIC_RTE_DELIVERY_MASK    0x00000700u     /* 10:8 delivery mode */
#define   IOAPIC_RTE_FIXED            0x00000000u
#define   IOAPIC_RTE_LOWEST           0x00000100u
#define   IOAPIC_RTE_NMI              0x00000400u
#define   IOAPIC_RTE_EXTINT           0x00000700u
#define IOAPIC_RTE_LOGICAL          0x00000800u     /* 11 destination mode: 0 physical */
#define IOAPIC_RTE_PENDING          0x00001000u     /* 12 delivery status (read-only) */
#define IOAPIC_RTE_ACTIVE_LOW       0x00002000u     /* 13 polarity: 0 high, 1 low */
#define IOAPIC_RTE_REMOTE_IRR       0x00004000u     /* 14 level: accepted, no EOI yet (RO) */
#define IOAPIC_RTE_LEVEL            0x00008000u     /* 15 trigger: 0 edge, 1 level */
#define IOAPIC_RTE_MASKED           0x00010000u     /* 16 mask */
/* high dword: */
#define IOAPIC_RTE_DEST_SHIFT       56              /* 63:56 destination APIC id */

/* How an input is wired: from the MADT's MPS INTI flags, or the ISA bus
 * default (active high, edge) when the MADT says nothing. */
typedef struct _KI_IOAPIC_WIRING {
    BOOLEAN ActiveLow;
    BOOLEAN LevelTriggered;
} KI_IOAPIC_WIRING;

/* Boot CPU, after KiInitializeAcpi: find each I/O APIC of KiMadt, read its
 * id and size, mask every input, and print one line.  Returns the number of
 * inputs found (0: no I/O APIC, so no device interrupts). */
ULONG KiInitializeIoApics(void);

/* TRUE if some I/O APIC has an input for Gsi. */
BOOLEAN KiIoApicHasGsi(ULONG Gsi);

/* Decode the polarity and trigger bits of MPS INTI flags (ACPI 6.x table
 * 5.26) for an ISA source: "conforms to the bus" means active high, edge. */
KI_IOAPIC_WIRING KiIoApicDecodeIntiFlags(USHORT Flags);

/* ISA IRQ 0..15 -> GSI and wiring, honouring the MADT's interrupt source
 * overrides; without an override the IRQ is the GSI of the same number
 * (identity), active high, edge (ACPI 6.x 5.2.12.5).  FALSE if Irq > 15,
 * or if it has no override and another IRQ's override took its GSI. */
BOOLEAN KiIoApicIsaIrqToGsi(ULONG Irq, PULONG Gsi, KI_IOAPIC_WIRING *Wiring);

/* Write the whole redirection entry of Gsi: fixed delivery of Vector to the
 * local APIC DestApicId (physical mode), with this wiring, masked or not.
 * The entry is masked first, so no half-written entry is ever live.
 * STATUS_INVALID_PARAMETER for an unknown GSI, a vector below 0x10 or an
 * APIC id above 255 (the entry's destination field has 8 bits). */
NTSTATUS KiIoApicProgram(ULONG Gsi, ULONG Vector, KI_IOAPIC_WIRING Wiring, ULONG DestApicId,
                         BOOLEAN Masked);

/* Set or clear the mask bit only, or change only the destination. */
VOID KiIoApicMask(ULONG Gsi);
VOID KiIoApicUnmask(ULONG Gsi);
VOID KiIoApicSetDestination(ULONG Gsi, ULONG DestApicId);

/* The raw 64-bit redirection entry (0 for an unknown GSI). */
ULONG64 KiIoApicReadEntry(ULONG Gsi);

#endif
