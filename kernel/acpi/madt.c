/*
 * madt.c - decode the Multiple APIC Description Table (ACPI 6.x, 5.2.12):
 * which processors exist and their local APIC ids, where the I/O APICs are,
 * how ISA IRQs map onto global system interrupts, and where NMI is wired.
 *
 * The MADT is a 44-byte header followed by interrupt controller structures,
 * each starting with a type byte and a length byte.  The walk trusts no
 * length: 0 would loop forever, 1 would read this entry's length byte as the
 * next entry's type, one past the end would read beyond the table, and one
 * shorter than its type's layout would read the next entry's bytes as this
 * one's fields.  Each is an error that names the entry's offset.  Fields are
 * read through packed structs, since entries sit at any byte offset.
 */
#include "wdm.h"
#include "kernel/acpi/acpi.h"
#include "kernel/console/console.h"
#include "string.h"

/* Interrupt Controller Structure Types (spec 5.2.12). */
#define MADT_LOCAL_APIC             0x0
#define MADT_IO_APIC                0x1
#define MADT_INTERRUPT_OVERRIDE     0x2
#define MADT_LOCAL_APIC_NMI         0x4
#define MADT_LOCAL_APIC_OVERRIDE    0x5
#define MADT_LOCAL_X2APIC           0x9
#define MADT_LOCAL_X2APIC_NMI       0xA

/* Local APIC Flags (spec 5.2.12.2), also used by the x2APIC entry. */
#define MADT_CPU_ENABLED            0x1
#define MADT_CPU_ONLINE_CAPABLE     0x2     /* ACPI 6.3; reserved (0) before */

#define MADT_XAPIC_ID_NONE          0xFF    /* a placeholder entry, no processor */
#define KI_4GB                      0x100000000ull

typedef struct __attribute__((packed)) {
    ACPI_DESCRIPTION_HEADER Header;
    ULONG LocalApicAddress;
    ULONG Flags;
} MADT_HEADER;

typedef struct __attribute__((packed)) {
    UCHAR Type;
    UCHAR Length;
} MADT_ENTRY;

typedef struct __attribute__((packed)) {        /* type 0, 5.2.12.2 */
    MADT_ENTRY Entry;
    UCHAR AcpiUid;
    UCHAR ApicId;
    ULONG Flags;
} MADT_LOCAL_APIC_ENTRY;

typedef struct __attribute__((packed)) {        /* type 1, 5.2.12.3 */
    MADT_ENTRY Entry;
    UCHAR IoApicId;
    UCHAR Reserved;
    ULONG Address;
    ULONG GsiBase;
} MADT_IO_APIC_ENTRY;

typedef struct __attribute__((packed)) {        /* type 2, 5.2.12.5 */
    MADT_ENTRY Entry;
    UCHAR Bus;
    UCHAR Source;
    ULONG Gsi;
    USHORT Flags;
} MADT_OVERRIDE_ENTRY;

typedef struct __attribute__((packed)) {        /* type 4, 5.2.12.7 */
    MADT_ENTRY Entry;
    UCHAR AcpiUid;
    USHORT Flags;
    UCHAR Lint;
} MADT_LOCAL_APIC_NMI_ENTRY;

typedef struct __attribute__((packed)) {        /* type 5, 5.2.12.8 */
    MADT_ENTRY Entry;
    USHORT Reserved;
    ULONG64 Address;
} MADT_LOCAL_APIC_OVERRIDE_ENTRY;

typedef struct __attribute__((packed)) {        /* type 9, 5.2.12.12 */
    MADT_ENTRY Entry;
    USHORT Reserved;
    ULONG X2ApicId;
    ULONG Flags;
    ULONG AcpiUid;
} MADT_LOCAL_X2APIC_ENTRY;

typedef struct __attribute__((packed)) {        /* type 0xA, 5.2.12.13 */
    MADT_ENTRY Entry;
    USHORT Flags;
    ULONG AcpiUid;
    UCHAR Lint;
    UCHAR Reserved[3];
} MADT_LOCAL_X2APIC_NMI_ENTRY;

C_ASSERT(sizeof(MADT_HEADER) == 44);
C_ASSERT(sizeof(MADT_LOCAL_APIC_ENTRY) == 8);
C_ASSERT(sizeof(MADT_IO_APIC_ENTRY) == 12);
C_ASSERT(sizeof(MADT_OVERRIDE_ENTRY) == 10);
C_ASSERT(sizeof(MADT_LOCAL_APIC_NMI_ENTRY) == 6);
C_ASSERT(sizeof(MADT_LOCAL_APIC_OVERRIDE_ENTRY) == 12);
C_ASSERT(sizeof(MADT_LOCAL_X2APIC_ENTRY) == 16);
C_ASSERT(sizeof(MADT_LOCAL_X2APIC_NMI_ENTRY) == 12);

/* The types we decode: each one's layout size and its name for messages.
 * A longer entry is fine (later spec versions append fields); a shorter one
 * is an error.  Other types are stepped over by their length. */
static const struct {
    UCHAR Type;
    UCHAR Minimum;
    const char *Name;
} KiMadtTypes[] = {
    { MADT_LOCAL_APIC, sizeof(MADT_LOCAL_APIC_ENTRY), "local APIC" },
    { MADT_IO_APIC, sizeof(MADT_IO_APIC_ENTRY), "I/O APIC" },
    { MADT_INTERRUPT_OVERRIDE, sizeof(MADT_OVERRIDE_ENTRY), "interrupt override" },
    { MADT_LOCAL_APIC_NMI, sizeof(MADT_LOCAL_APIC_NMI_ENTRY), "local APIC NMI" },
    { MADT_LOCAL_APIC_OVERRIDE, sizeof(MADT_LOCAL_APIC_OVERRIDE_ENTRY),
      "local APIC address override" },
    { MADT_LOCAL_X2APIC, sizeof(MADT_LOCAL_X2APIC_ENTRY), "local x2APIC" },
    { MADT_LOCAL_X2APIC_NMI, sizeof(MADT_LOCAL_X2APIC_NMI_ENTRY), "local x2APIC NMI" },
};

static ULONG entry_minimum(UCHAR Type, const char **Name)
{
    for (ULONG i = 0; i < ARRAYSIZE(KiMadtTypes); i++) {
        if (KiMadtTypes[i].Type == Type) {
            *Name = KiMadtTypes[i].Name;
            return KiMadtTypes[i].Minimum;
        }
    }
    *Name = "unknown";
    return 0;
}

/* The walk's state: the result, and what goes into the reason or the
 * messages at the end. */
typedef struct {
    KI_MADT_INFO *Info;
    ULONG Offset;               /* of the entry being decoded */
    ULONG PastMaximum;          /* usable processors beyond MAXIMUM_PROCESSORS */
    char *Reason;
    ULONG ReasonSize;
} MADT_WALK;

static void add_processor(MADT_WALK *Walk, ULONG ApicId, ULONG AcpiUid, BOOLEAN X2Apic,
                          ULONG Flags)
{
    KI_MADT_INFO *Info = Walk->Info;
    BOOLEAN enabled = (Flags & MADT_CPU_ENABLED) != 0;
    /* "If the Enabled bit is set, this bit is reserved and must be zero." */
    BOOLEAN online_capable = !enabled && (Flags & MADT_CPU_ONLINE_CAPABLE) != 0;

    if (!enabled && !online_capable) {      /* unusable: "OSPM shall ignore" it */
        Info->IgnoredProcessors++;
        return;
    }
    for (ULONG i = 0; i < Info->ProcessorCount; i++) {
        if (Info->Processors[i].ApicId == ApicId) {
            kprintf("ACPI: MADT lists APIC id 0x%x twice; ignoring the second entry\n", ApicId);
            Info->IgnoredProcessors++;
            return;
        }
    }
    if (Info->ProcessorCount == MAXIMUM_PROCESSORS) {     /* one message at the end */
        Walk->PastMaximum++;
        Info->IgnoredProcessors++;
        return;
    }
    KI_ACPI_PROCESSOR *p = &Info->Processors[Info->ProcessorCount++];
    p->ApicId = ApicId;
    p->AcpiUid = AcpiUid;
    p->X2Apic = X2Apic;
    p->Enabled = enabled;
    p->OnlineCapable = online_capable;
}

static void add_nmi(KI_MADT_INFO *Info, ULONG AcpiUid, USHORT Flags, UCHAR Lint)
{
    if (Info->NmiCount == KI_MAX_ACPI_NMIS) {
        kprintf("ACPI: more than %u local APIC NMI entries; UID 0x%x dropped\n",
                KI_MAX_ACPI_NMIS, AcpiUid);
        return;
    }
    KI_ACPI_NMI *n = &Info->Nmis[Info->NmiCount++];
    n->AcpiUid = AcpiUid;
    n->Flags = Flags;
    n->Lint = Lint;
}

/* Decode one entry whose length was checked against its type's layout. */
static NTSTATUS decode_entry(MADT_WALK *Walk, const MADT_ENTRY *Entry)
{
    KI_MADT_INFO *Info = Walk->Info;

    switch (Entry->Type) {
    case MADT_LOCAL_APIC: {
        const MADT_LOCAL_APIC_ENTRY *e = (const void *)Entry;
        if (e->ApicId != MADT_XAPIC_ID_NONE)
            add_processor(Walk, e->ApicId, e->AcpiUid, FALSE, e->Flags);
        break;
    }
    case MADT_LOCAL_X2APIC: {
        const MADT_LOCAL_X2APIC_ENTRY *e = (const void *)Entry;
        add_processor(Walk, e->X2ApicId, e->AcpiUid, TRUE, e->Flags);
        break;
    }
    case MADT_IO_APIC: {
        const MADT_IO_APIC_ENTRY *e = (const void *)Entry;
        if (Info->IoApicCount == KI_MAX_IOAPICS) {
            kprintf("ACPI: more than %u I/O APICs; the one at 0x%x is dropped\n",
                    KI_MAX_IOAPICS, e->Address);
            break;
        }
        KI_ACPI_IOAPIC *io = &Info->IoApics[Info->IoApicCount++];
        io->Id = e->IoApicId;
        io->Address = e->Address;
        io->GsiBase = e->GsiBase;
        break;
    }
    case MADT_INTERRUPT_OVERRIDE: {
        const MADT_OVERRIDE_ENTRY *e = (const void *)Entry;
        if (Info->OverrideCount == KI_MAX_OVERRIDES) {
            kprintf("ACPI: more than %u interrupt overrides; IRQ %u -> GSI %u dropped\n",
                    KI_MAX_OVERRIDES, e->Source, e->Gsi);
            break;
        }
        KI_ACPI_OVERRIDE *o = &Info->Overrides[Info->OverrideCount++];
        o->Bus = e->Bus;
        o->SourceIrq = e->Source;
        o->Gsi = e->Gsi;
        o->Flags = e->Flags;
        break;
    }
    case MADT_LOCAL_APIC_NMI: {
        const MADT_LOCAL_APIC_NMI_ENTRY *e = (const void *)Entry;
        add_nmi(Info, e->AcpiUid, e->Flags, e->Lint);
        break;
    }
    case MADT_LOCAL_X2APIC_NMI: {
        const MADT_LOCAL_X2APIC_NMI_ENTRY *e = (const void *)Entry;
        add_nmi(Info, e->AcpiUid, e->Flags, e->Lint);
        break;
    }
    case MADT_LOCAL_APIC_OVERRIDE: {
        const MADT_LOCAL_APIC_OVERRIDE_ENTRY *e = (const void *)Entry;
        if (e->Address >= KI_4GB) {     /* KI_MADT_INFO holds 32 bits, and it isn't mapped */
            KiAcpiSetReason(Walk->Reason, Walk->ReasonSize, "MADT entry at offset 0x%x moves "
                            "the local APIC to 0x%llx, above the 4 GiB identity map",
                            Walk->Offset, (unsigned long long)e->Address);
            return STATUS_INVALID_PARAMETER;
        }
        Info->LocalApicAddress = (ULONG)e->Address;
        break;
    }
    }
    return STATUS_SUCCESS;
}

/* Check the header, then walk the entries: each check below stands between
 * a corrupt length and a hang or an out-of-bounds read. */
static NTSTATUS walk(MADT_WALK *Walk, const UCHAR *Table, ULONG_PTR Length)
{
    const MADT_HEADER *madt = (const void *)Table;
    char *Reason = Walk->Reason;
    ULONG ReasonSize = Walk->ReasonSize;

    NTSTATUS status = KiCheckAcpiTable(Table, Length, "APIC", "MADT", sizeof(MADT_HEADER),
                                       Reason, ReasonSize);
    if (!NT_SUCCESS(status))
        return status;
    ULONG length = madt->Header.Length;

    Walk->Info->LocalApicAddress = madt->LocalApicAddress;
    Walk->Info->Flags = madt->Flags;

    for (ULONG offset = sizeof(MADT_HEADER); offset < length;) {
        const MADT_ENTRY *entry = (const void *)(Table + offset);
        const char *name;

        if (length - offset < sizeof(MADT_ENTRY)) {
            KiAcpiSetReason(Reason, ReasonSize, "MADT entry at offset 0x%x is cut off by the "
                            "table end at 0x%x", offset, length);
            return STATUS_INVALID_PARAMETER;
        }
        if (entry->Length < sizeof(MADT_ENTRY)) {   /* 0 would never advance */
            KiAcpiSetReason(Reason, ReasonSize, "MADT entry at offset 0x%x has length %u",
                            offset, entry->Length);
            return STATUS_INVALID_PARAMETER;
        }
        if (entry->Length > length - offset) {
            KiAcpiSetReason(Reason, ReasonSize, "MADT entry at offset 0x%x (type %u, length %u) "
                            "runs past the table end at 0x%x", offset, entry->Type,
                            entry->Length, length);
            return STATUS_INVALID_PARAMETER;
        }
        ULONG minimum = entry_minimum(entry->Type, &name);
        if (entry->Length < minimum) {
            KiAcpiSetReason(Reason, ReasonSize, "MADT entry at offset 0x%x (type %u, %s) has "
                            "length %u, less than %u", offset, entry->Type, name,
                            entry->Length, minimum);
            return STATUS_INVALID_PARAMETER;
        }
        Walk->Offset = offset;
        NTSTATUS status = decode_entry(Walk, entry);
        if (!NT_SUCCESS(status))
            return status;
        offset += entry->Length;
    }
    return STATUS_SUCCESS;
}

NTSTATUS KiParseMadt(const void *Table, ULONG_PTR Length, KI_MADT_INFO *Info, char *Reason,
                     ULONG ReasonSize)
{
    MADT_WALK w = { .Info = Info, .Reason = Reason, .ReasonSize = ReasonSize };

    memset(Info, 0, sizeof(*Info));
    KiAcpiSetReason(Reason, ReasonSize, "%s", "");
    NTSTATUS status = walk(&w, Table, Length);
    if (!NT_SUCCESS(status)) {
        memset(Info, 0, sizeof(*Info));     /* no half-decoded table for the caller */
        return status;
    }
    if (w.PastMaximum)
        kprintf("ACPI: MADT lists %u more usable processors than the %u this kernel supports; "
                "ignoring them\n", w.PastMaximum, MAXIMUM_PROCESSORS);
    return STATUS_SUCCESS;
}
