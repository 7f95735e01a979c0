/*
 * acpi.h - the firmware's ACPI tables, read once at boot: where the CPUs,
 * I/O APICs and ISA interrupt overrides are (kernel/acpi/acpi.c, kernel/acpi/madt.c).
 *
 * The path is the ACPI specification's (6.x, section 5.2): GRUB hands us a
 * copy of the RSDP (5.2.5); it points at the XSDT (5.2.8, 64-bit entries) or,
 * for ACPI 1.0 firmware, the RSDT (5.2.7, 32-bit entries); among their entries
 * is the MADT, signature "APIC" (5.2.12), a list of variable-length interrupt
 * controller structures.  Everything is checked before it is believed
 * (signatures, lengths, checksums, every entry's length), and a bad table is
 * an error with a one-line reason, never a hang or a fault: SMP bring-up then
 * continues on the boot CPU alone.
 *
 * Tables live at physical addresses; the first 4 GiB are identity-mapped, so
 * an address below 4 GiB is used as a pointer and one above is refused.
 * Nothing here takes a lock: KiInitializeAcpi runs once on the boot CPU before
 * the others start, and KiMadt is read-only afterwards.
 */
#ifndef KERNEL_ACPI_H
#define KERNEL_ACPI_H

#include "ntdef.h"
#include "kernel/smp/pcr.h"

#define KI_MAX_IOAPICS 8
#define KI_MAX_OVERRIDES 16
#define KI_MAX_ACPI_NMIS 16

/* One processor from a Processor Local APIC (type 0) or Local x2APIC (type 9)
 * entry. */
typedef struct _KI_ACPI_PROCESSOR {
    ULONG ApicId;               /* local APIC id (8 bits) or x2APIC id (32) */
    ULONG AcpiUid;              /* ACPI processor UID, matched by NMI entries */
    BOOLEAN X2Apic;             /* from a type 9 entry */
    BOOLEAN Enabled;            /* flags bit 0: usable now */
    BOOLEAN OnlineCapable;      /* flags bit 1 (ACPI 6.3+): may be enabled later */
} KI_ACPI_PROCESSOR;

/* An I/O APIC (type 1): its registers at Address, its first input is
 * global system interrupt GsiBase. */
typedef struct _KI_ACPI_IOAPIC {
    ULONG Id;
    ULONG Address;
    ULONG GsiBase;
} KI_ACPI_IOAPIC;

/* An interrupt source override (type 2): ISA IRQ SourceIrq arrives on
 * global system interrupt Gsi, with the polarity and trigger in Flags. */
typedef struct _KI_ACPI_OVERRIDE {
    UCHAR Bus;                  /* 0 = ISA */
    UCHAR SourceIrq;
    ULONG Gsi;
    USHORT Flags;               /* MPS INTI flags: polarity bits 0-1, trigger bits 2-3 */
} KI_ACPI_OVERRIDE;

#define KI_MPS_INTI_POLARITY_MASK       0x0003
#define     KI_MPS_INTI_POLARITY_BUS    0x0000  /* conforms to the bus (ISA: high) */
#define     KI_MPS_INTI_POLARITY_HIGH   0x0001
#define     KI_MPS_INTI_POLARITY_LOW    0x0003
#define KI_MPS_INTI_TRIGGER_MASK        0x000C
#define     KI_MPS_INTI_TRIGGER_BUS     0x0000  /* conforms to the bus (ISA: edge) */
#define     KI_MPS_INTI_TRIGGER_EDGE    0x0004
#define     KI_MPS_INTI_TRIGGER_LEVEL   0x000C

/* Which local APIC input (LINT0/1) carries NMI: type 4, or type 0xA for
 * x2APIC UIDs. */
typedef struct _KI_ACPI_NMI {
    ULONG AcpiUid;              /* 0xFF (type 4) or 0xFFFFFFFF (type 0xA) = all */
    USHORT Flags;               /* MPS INTI flags, as in KI_ACPI_OVERRIDE */
    UCHAR Lint;                 /* 0 or 1 */
} KI_ACPI_NMI;

#define KI_ACPI_NMI_ALL_XAPIC   0xFF
#define KI_ACPI_NMI_ALL_X2APIC  0xFFFFFFFF

typedef struct _KI_MADT_INFO {
    ULONG LocalApicAddress;     /* from the MADT header, or the 64-bit override entry (type 5) */
    ULONG Flags;                /* bit 0 PCAT_COMPAT: dual 8259s present */
    ULONG ProcessorCount;       /* entries filled in Processors[]: enabled or online-capable */
    ULONG IgnoredProcessors;    /* disabled and not online-capable, duplicates, past 64 */
    KI_ACPI_PROCESSOR Processors[MAXIMUM_PROCESSORS];   /* in MADT order */
    ULONG IoApicCount;
    KI_ACPI_IOAPIC IoApics[KI_MAX_IOAPICS];
    ULONG OverrideCount;
    KI_ACPI_OVERRIDE Overrides[KI_MAX_OVERRIDES];
    ULONG NmiCount;
    KI_ACPI_NMI Nmis[KI_MAX_ACPI_NMIS];
} KI_MADT_INFO;

#define KI_MADT_PCAT_COMPAT 0x1

/*
 * Validate and decode a MADT of Length bytes at Table (kernel/acpi/madt.c): the
 * signature "APIC", the header's length (at least 44, at most Length), the
 * checksum, and every entry's length (at least 2, at least what its type
 * needs, inside the table).  Decodes types 0 (local APIC; id 0xFF is a
 * placeholder and skipped), 9 (local x2APIC), 1 (I/O APIC), 2 (interrupt
 * source override), 4 and 0xA (local APIC and x2APIC NMI) and 5 (local APIC
 * address override; an address at or above 4 GiB is an error); any other
 * type is stepped over by its length.  A processor whose APIC id is already
 * listed, and processors past MAXIMUM_PROCESSORS, are counted in
 * IgnoredProcessors with a console message; I/O APICs, overrides and NMIs
 * past their arrays are dropped with a message.
 *
 * Returns STATUS_SUCCESS, or STATUS_INVALID_PARAMETER with *Info zeroed and a
 * one-line reason in Reason (which may be NULL), such as
 * "MADT entry at offset 0x4c has length 0".  Any IRQL; touches only *Info.
 */
NTSTATUS KiParseMadt(const void *Table, ULONG_PTR Length, KI_MADT_INFO *Info, char *Reason,
                     ULONG ReasonSize);

/*
 * Find the ACPI table with this signature, starting from a full RSDP (36
 * bytes for revision 2 and later): checks the RSDP's signature "RSD PTR ",
 * its checksum over the first 20 bytes and, for revision >= 2, the extended
 * checksum over its Length; then reads the XSDT (revision >= 2 with a
 * non-zero address) or else the RSDT, checking its signature, length and
 * checksum; then takes the first entry with this signature and checks its
 * length and checksum (a broken one is an error: there is no looking for a
 * second copy).  Entries at or above 4 GiB cannot be read and are stepped
 * over; if nothing is found the reason names them.
 *
 * Returns the table, or NULL with a one-line reason in Reason (which may be
 * NULL).  On success Reason is set to "".
 */
const void *KiFindAcpiTable(const void *Rsdp, const char Signature[4], char *Reason,
                            ULONG ReasonSize);

/*
 * Boot-time entry, on the boot CPU: find and parse the MADT from
 * KiBootInfo.AcpiRsdp into KiMadt and print one summary line.  On any error
 * (no RSDP, bad tables, no MADT, a MADT with no usable processor) prints
 * "ACPI: <reason>; continuing on the boot CPU alone" and returns the error
 * (STATUS_UNSUCCESSFUL when a table is missing, STATUS_INVALID_PARAMETER when
 * the MADT is malformed), leaving KiMadt zeroed (ProcessorCount 0).
 */
extern KI_MADT_INFO KiMadt;
NTSTATUS KiInitializeAcpi(void);

/* KiInitializeAcpi's work on any RSDP and output (the tests use it on
 * synthetic tables).  RsdpIsXsdp FALSE means the RSDP copy may be only the
 * 20-byte ACPI 1.0 part (GRUB's tag 14), so its XSDT fields are not read. */
NTSTATUS KiLoadMadt(const void *Rsdp, BOOLEAN RsdpIsXsdp, KI_MADT_INFO *Madt);

/*
 * The boot path's lookup: KiFindAcpiTable on KiBootInfo's RSDP copy (whose
 * XSDT fields are read only if it came from GRUB's ACPI 2.0 tag).
 */
const void *KiFindBootAcpiTable(const char Signature[4], char *Reason, ULONG ReasonSize);

/* ---- The timers the TSC is calibrated against (kernel/acpi/acpi_timers.c) ---- */

/* What the FADT and the HPET table say.  Filled once on the boot CPU before
 * the other CPUs start, read-only afterwards: no lock. */
typedef struct _KI_ACPI_TIMERS {
    USHORT PmTimerPort;         /* the ACPI PM timer's I/O port; 0 = none */
    BOOLEAN PmTimer32Bit;       /* FADT flag TMR_VAL_EXT: 32-bit counter, else 24 */
    ULONG HpetAddress;          /* the HPET's register block; 0 = none */
} KI_ACPI_TIMERS;

extern KI_ACPI_TIMERS KiAcpiTimers;

/*
 * The PM timer from a FADT (signature "FACP", ACPI 6.x 5.2.9) of Length
 * bytes: X_PM_TMR_BLK (offset 208, ACPI 2.0+) when the table is long enough
 * and its address is not 0 (it must be in system I/O space), else
 * PM_TMR_BLK (offset 76) with PM_TMR_LEN (offset 91) 4; TMR_VAL_EXT is bit 8
 * of Flags (offset 112).  A FADT without a PM timer (both blocks 0, or
 * PM_TMR_LEN 0) is not an error: PmTimerPort stays 0.  Returns
 * STATUS_SUCCESS, or STATUS_INVALID_PARAMETER with a one-line reason and the
 * PM timer fields zeroed.  Any IRQL; touches only the PM timer fields.
 */
NTSTATUS KiParseFadtPmTimer(const void *Table, ULONG_PTR Length, KI_ACPI_TIMERS *Timers,
                            char *Reason, ULONG ReasonSize);

/*
 * The HPET's register block from the "HPET" table (IA-PC HPET specification
 * 1.0a, table 3): Base Address, a Generic Address Structure at offset 40,
 * must be in system memory (space 0) inside the fourth GiB, which the boot
 * page tables map uncached (boot/entry.S).  Returns STATUS_SUCCESS, or
 * STATUS_INVALID_PARAMETER with a one-line reason and HpetAddress 0.
 */
NTSTATUS KiParseHpet(const void *Table, ULONG_PTR Length, KI_ACPI_TIMERS *Timers, char *Reason,
                     ULONG ReasonSize);

/* Boot: fill KiAcpiTimers from the firmware's FADT and HPET table, before
 * the TSC is calibrated; a table that is there but broken is one console
 * line, and the timer it describes is then not used. */
void KiInitializeAcpiTimers(void);

/* ---- Shared by the table parsers ---- */

/*
 * Check a table before its fields are read: Table holds at least a header
 * within Length bytes, the signature, a header length from MinLength (the
 * fixed part the caller reads) to Length, and the checksum.  Name starts
 * the one-line reason ("MADT length 20 is shorter than its 44-byte header").
 */
NTSTATUS KiCheckAcpiTable(const void *Table, ULONG_PTR Length, const char Signature[4],
                          const char *Name, ULONG MinLength, char *Reason, ULONG ReasonSize);


/* Every ACPI table but the RSDP starts with this (spec 5.2.6). */
typedef struct __attribute__((packed)) _ACPI_DESCRIPTION_HEADER {
    char Signature[4];          /* "APIC", "XSDT", ... */
    ULONG Length;               /* of the whole table, header included */
    UCHAR Revision;
    UCHAR Checksum;             /* makes the bytes of the whole table sum to 0 */
    char OemId[6];
    char OemTableId[8];
    ULONG OemRevision;
    char CreatorId[4];
    ULONG CreatorRevision;
} ACPI_DESCRIPTION_HEADER;

C_ASSERT(sizeof(ACPI_DESCRIPTION_HEADER) == 36);

/* The low byte of the sum of Length bytes: 0 for an intact table. */
UCHAR KiAcpiChecksum(const void *Data, ULONG_PTR Length);

/* ksnprintf into Reason unless it is NULL or ReasonSize is 0. */
void KiAcpiSetReason(char *Reason, ULONG ReasonSize, const char *Format, ...)
    __attribute__((format(printf, 3, 4)));

/* A 4-character signature as a printable C string (non-printing bytes as
 * '?'), for messages. */
void KiAcpiSignatureString(const char Signature[4], char Printable[5]);

#endif
