/*
 * acpi.c - from GRUB's copy of the RSDP to one ACPI table, and the boot-time
 * MADT read that SMP bring-up starts from (kernel/acpi/madt.c decodes it).
 *
 * The search (ACPI 6.x, 5.2.5 to 5.2.8): the RSDP holds the address of the
 * RSDT (32-bit entries) and, from revision 2 (ACPI 2.0) on, of the XSDT
 * (64-bit entries), which then wins.  Each root entry is the physical address
 * of a table that starts with the common 36-byte header, whose signature
 * names it.  Every step is checked (signature, length, checksum) before the
 * next address is followed, so a corrupt table is an error with a one-line
 * reason, not a fault.  Physical addresses below 4 GiB are pointers here (the
 * boot page tables identity-map that much); higher ones are refused.
 */
#include "wdm.h"
#include "kernel/acpi/acpi.h"
#include "kernel/boot_info.h"
#include "kernel/console/console.h"
#include "printf.h"
#include "string.h"

#define KI_4GB 0x100000000ull

/* An RSDP longer than this is corrupt (it is 36 bytes in every revision so
 * far), and checksumming it would wander through memory. */
#define RSDP_MAX_LENGTH 4096
/* Likewise for a table: the largest real ones (DSDTs) are a few hundred KiB;
 * a corrupt length must not make the checksum sweep device memory. */
#define TABLE_MAX_LENGTH (16u << 20)

/* Root System Description Pointer (spec 5.2.5.3). */
typedef struct __attribute__((packed)) {
    char Signature[8];          /* "RSD PTR " */
    UCHAR Checksum;             /* over the first 20 bytes (the ACPI 1.0 structure) */
    char OemId[6];
    UCHAR Revision;             /* 0 = ACPI 1.0; 2 = ACPI 2.0 and later */
    ULONG RsdtAddress;
    /* Revision 2 and later: */
    ULONG Length;               /* of the whole RSDP */
    ULONG64 XsdtAddress;
    UCHAR ExtendedChecksum;     /* over Length bytes */
    UCHAR Reserved[3];
} ACPI_RSDP;

#define RSDP_V1_LENGTH 20
C_ASSERT(offsetof(ACPI_RSDP, Length) == RSDP_V1_LENGTH);
C_ASSERT(sizeof(ACPI_RSDP) == 36);

KI_MADT_INFO KiMadt;

UCHAR KiAcpiChecksum(const void *Data, ULONG_PTR Length)
{
    const UCHAR *p = Data;
    UCHAR sum = 0;

    while (Length--)
        sum += *p++;
    return sum;
}

void KiAcpiSetReason(char *Reason, ULONG ReasonSize, const char *Format, ...)
{
    va_list ap;

    if (Reason == NULL || ReasonSize == 0)
        return;
    va_start(ap, Format);
    kvsnprintf(Reason, ReasonSize, Format, ap);
    va_end(ap);
}

void KiAcpiSignatureString(const char Signature[4], char Printable[5])
{
    for (int i = 0; i < 4; i++)
        Printable[i] = Signature[i] >= 0x20 && Signature[i] < 0x7F ? Signature[i] : '?';
    Printable[4] = '\0';
}

NTSTATUS KiCheckAcpiTable(const void *Table, ULONG_PTR Length, const char Signature[4],
                          const char *Name, ULONG MinLength, char *Reason, ULONG ReasonSize)
{
    const ACPI_DESCRIPTION_HEADER *header = Table;
    char found[5];

    if (Table == NULL || Length < sizeof(*header)) {
        KiAcpiSetReason(Reason, ReasonSize, "%s buffer %p of %llu bytes cannot hold a table "
                        "header", Name, Table, (unsigned long long)Length);
        return STATUS_INVALID_PARAMETER;
    }
    if (memcmp(header->Signature, Signature, 4) != 0) {
        KiAcpiSignatureString(header->Signature, found);
        KiAcpiSetReason(Reason, ReasonSize, "%s signature is \"%s\", not \"%.4s\"", Name, found,
                        Signature);
        return STATUS_INVALID_PARAMETER;
    }
    ULONG length = header->Length;
    if (length < MinLength) {
        KiAcpiSetReason(Reason, ReasonSize, "%s length %u is shorter than its %u-byte header",
                        Name, length, MinLength);
        return STATUS_INVALID_PARAMETER;
    }
    if (length > Length) {
        KiAcpiSetReason(Reason, ReasonSize, "%s length %u runs past the %llu bytes given", Name,
                        length, (unsigned long long)Length);
        return STATUS_INVALID_PARAMETER;
    }
    UCHAR sum = KiAcpiChecksum(Table, length);
    if (sum != 0) {
        KiAcpiSetReason(Reason, ReasonSize, "%s checksum is 0x%02x, not 0", Name, sum);
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

/*
 * The table at physical address Address, if its header is below 4 GiB, its
 * signature is Signature (unless that is NULL), and its length and checksum
 * are right; Name says in messages what pointed at it ("XSDT", "RSDT entry 3").
 */
static const ACPI_DESCRIPTION_HEADER *map_table(ULONG64 Address, const char *Signature,
                                                const char *Name, char *Reason,
                                                ULONG ReasonSize)
{
    char found[5];

    if (Address == 0) {
        KiAcpiSetReason(Reason, ReasonSize, "%s address is 0", Name);
        return NULL;
    }
    if (Address >= KI_4GB - sizeof(ACPI_DESCRIPTION_HEADER)) {
        KiAcpiSetReason(Reason, ReasonSize, "%s is at 0x%llx, above the 4 GiB identity map",
                        Name, (unsigned long long)Address);
        return NULL;
    }
    const ACPI_DESCRIPTION_HEADER *table = (const void *)(ULONG_PTR)Address;
    if (Signature != NULL && memcmp(table->Signature, Signature, 4) != 0) {
        KiAcpiSignatureString(table->Signature, found);
        KiAcpiSetReason(Reason, ReasonSize, "%s at 0x%llx has signature \"%s\", not \"%.4s\"",
                        Name, (unsigned long long)Address, found, Signature);
        return NULL;
    }
    ULONG length = table->Length;
    if (length < sizeof(*table) || length > TABLE_MAX_LENGTH || Address + length > KI_4GB) {
        KiAcpiSetReason(Reason, ReasonSize, "%s at 0x%llx has a bad length %u", Name,
                        (unsigned long long)Address, length);
        return NULL;
    }
    UCHAR sum = KiAcpiChecksum(table, length);
    if (sum != 0) {
        KiAcpiSetReason(Reason, ReasonSize, "%s at 0x%llx has checksum 0x%02x, not 0", Name,
                        (unsigned long long)Address, sum);
        return NULL;
    }
    return table;
}

/* The RSDP, checked; NULL with a reason if it is not intact. */
static const ACPI_RSDP *check_rsdp(const void *Rsdp, BOOLEAN HaveExtended, char *Reason,
                                   ULONG ReasonSize)
{
    const ACPI_RSDP *rsdp = Rsdp;

    if (rsdp == NULL) {
        KiAcpiSetReason(Reason, ReasonSize, "no RSDP (the boot loader passed no ACPI tag)");
        return NULL;
    }
    if (memcmp(rsdp->Signature, "RSD PTR ", sizeof(rsdp->Signature)) != 0) {
        KiAcpiSetReason(Reason, ReasonSize, "RSDP signature is not \"RSD PTR \"");
        return NULL;
    }
    UCHAR sum = KiAcpiChecksum(rsdp, RSDP_V1_LENGTH);
    if (sum != 0) {
        KiAcpiSetReason(Reason, ReasonSize, "RSDP checksum is 0x%02x, not 0", sum);
        return NULL;
    }
    if (rsdp->Revision >= 2 && HaveExtended) {
        ULONG length = rsdp->Length;
        if (length < sizeof(ACPI_RSDP) || length > RSDP_MAX_LENGTH) {
            KiAcpiSetReason(Reason, ReasonSize, "RSDP revision %u has a bad length %u",
                            rsdp->Revision, length);
            return NULL;
        }
        sum = KiAcpiChecksum(rsdp, length);
        if (sum != 0) {
            KiAcpiSetReason(Reason, ReasonSize, "RSDP extended checksum is 0x%02x, not 0", sum);
            return NULL;
        }
    }
    return rsdp;
}

/*
 * KiFindAcpiTable's work.  HaveExtended is FALSE for an RSDP copy known to be
 * only the 20-byte ACPI 1.0 part (GRUB's tag 14): the XSDT fields are then
 * not there to read.  *RootName says which root table was used.
 */
static const void *find_table(const void *Rsdp, BOOLEAN HaveExtended, const char Signature[4],
                              char *Reason, ULONG ReasonSize, const char **RootName)
{
    const ACPI_RSDP *rsdp = check_rsdp(Rsdp, HaveExtended, Reason, ReasonSize);
    char wanted[5], name[32], skipped[160] = "";

    if (rsdp == NULL)
        return NULL;
    BOOLEAN xsdt = rsdp->Revision >= 2 && HaveExtended && rsdp->XsdtAddress != 0;
    *RootName = xsdt ? "XSDT" : "RSDT";
    const ACPI_DESCRIPTION_HEADER *root = map_table(
        xsdt ? rsdp->XsdtAddress : rsdp->RsdtAddress, *RootName, *RootName, Reason, ReasonSize);
    if (root == NULL)
        return NULL;

    /* The entries follow the header: 8-byte addresses in the XSDT, 4-byte in
     * the RSDT, neither necessarily aligned. */
    ULONG entry_size = xsdt ? 8 : 4;
    ULONG count = (root->Length - sizeof(*root)) / entry_size;
    const UCHAR *entries = (const UCHAR *)(root + 1);
    for (ULONG i = 0; i < count; i++) {
        ULONG64 address = 0;
        memcpy(&address, entries + i * entry_size, entry_size);    /* little-endian */
        if (address == 0)
            continue;
        ksnprintf(name, sizeof(name), "%s entry %u", *RootName, i);
        if (address >= KI_4GB - sizeof(ACPI_DESCRIPTION_HEADER)) {
            /* Can't read its signature; it matters only if nothing else matches. */
            ksnprintf(skipped, sizeof(skipped), "; %s is at 0x%llx, above the 4 GiB identity "
                      "map, and was not read", name, (unsigned long long)address);
            continue;
        }
        const ACPI_DESCRIPTION_HEADER *table = (const void *)(ULONG_PTR)address;
        if (memcmp(table->Signature, Signature, 4) != 0)
            continue;
        /* Found.  If it is broken, that is the news: don't look for a second one. */
        table = map_table(address, NULL, name, Reason, ReasonSize);
        if (table != NULL)
            KiAcpiSetReason(Reason, ReasonSize, "%s", "");
        return table;
    }
    KiAcpiSignatureString(Signature, wanted);
    KiAcpiSetReason(Reason, ReasonSize, "no \"%s\" table among the %s's %u entries%s", wanted,
                    *RootName, count, skipped);
    return NULL;
}

const void *KiFindAcpiTable(const void *Rsdp, const char Signature[4], char *Reason,
                            ULONG ReasonSize)
{
    const char *root_name;

    return find_table(Rsdp, TRUE, Signature, Reason, ReasonSize, &root_name);
}

NTSTATUS KiLoadMadt(const void *Rsdp, BOOLEAN RsdpIsXsdp, KI_MADT_INFO *Madt)
{
    const ACPI_RSDP *rsdp = Rsdp;
    const char *root_name = "RSDT";
    char reason[160];

    memset(Madt, 0, sizeof(*Madt));
    const ACPI_DESCRIPTION_HEADER *madt =
        find_table(rsdp, RsdpIsXsdp, "APIC", reason, sizeof(reason), &root_name);
    if (madt == NULL) {
        kprintf("ACPI: %s; continuing on the boot CPU alone\n", reason);
        return STATUS_UNSUCCESSFUL;
    }
    kprintf("ACPI: RSDP revision %u, OEM \"%.6s\" (%s copy); MADT at %p, found through the %s\n",
            rsdp->Revision, rsdp->OemId, RsdpIsXsdp ? "ACPI 2.0" : "ACPI 1.0",
            (const void *)madt, root_name);

    NTSTATUS status = KiParseMadt(madt, madt->Length, Madt, reason, sizeof(reason));
    if (!NT_SUCCESS(status)) {
        kprintf("ACPI: %s; continuing on the boot CPU alone\n", reason);
        return status;
    }
    if (Madt->ProcessorCount == 0) {
        memset(Madt, 0, sizeof(*Madt));
        kprintf("ACPI: MADT lists no usable processor; continuing on the boot CPU alone\n");
        return STATUS_UNSUCCESSFUL;
    }
    kprintf("ACPI: MADT: %u processors (%u ignored), %u I/O APICs, %u overrides, "
            "local APIC at 0x%x\n", Madt->ProcessorCount, Madt->IgnoredProcessors,
            Madt->IoApicCount, Madt->OverrideCount, Madt->LocalApicAddress);
    return STATUS_SUCCESS;
}

const void *KiFindBootAcpiTable(const char Signature[4], char *Reason, ULONG ReasonSize)
{
    const char *root_name;

    return find_table(KiBootInfo.AcpiRsdp, KiBootInfo.AcpiRsdpIsXsdp, Signature, Reason,
                      ReasonSize, &root_name);
}

NTSTATUS KiInitializeAcpi(void)
{
    return KiLoadMadt(KiBootInfo.AcpiRsdp, KiBootInfo.AcpiRsdpIsXsdp, &KiMadt);
}
