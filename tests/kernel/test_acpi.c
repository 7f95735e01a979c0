/*
 * test_acpi.c - the ACPI table code (kernel/acpi/acpi.c, kernel/acpi/madt.c) against
 * QEMU's real tables and against tables built here byte by byte.
 *
 * The synthetic tables are written with the spec's byte offsets (ACPI 6.x,
 * 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.12 MADT), not with the parser's
 * structs, so a wrong field offset in the parser shows up as a failure here.
 * Corrupt tables must each be refused with STATUS_INVALID_PARAMETER and a
 * reason that names the fault, leaving the output zeroed.  The buffers are
 * static, in the kernel image, below 4 GiB, so their addresses are valid
 * "physical" table addresses.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/acpi/acpi.h"
#include "kernel/boot_info.h"
#include "kernel/console/console.h"
#include "string.h"

#define KT_4GB 0x100000000ull

/* ---- Building tables ---- */

static void put16(UCHAR *p, USHORT v) { p[0] = (UCHAR)v; p[1] = (UCHAR)(v >> 8); }
static void put32(UCHAR *p, ULONG v) { put16(p, (USHORT)v); put16(p + 2, (USHORT)(v >> 16)); }
static void put64(UCHAR *p, ULONG64 v) { put32(p, (ULONG)v); put32(p + 4, (ULONG)(v >> 32)); }

static UCHAR byte_sum(const UCHAR *p, ULONG n)
{
    UCHAR sum = 0;
    while (n--)
        sum += *p++;
    return sum;
}

typedef struct {
    UCHAR *Buf;
    ULONG Size;
    ULONG Used;
} KT_TABLE;

/* Header (36 bytes): Signature 0, Length 4, Revision 8, Checksum 9, OEM id 10. */
static void table_begin(KT_TABLE *t, UCHAR *buf, ULONG size, const char *sig)
{
    memset(buf, 0, size);
    t->Buf = buf;
    t->Size = size;
    t->Used = 36;
    memcpy(buf, sig, 4);
    buf[8] = 1;
    memcpy(buf + 10, "NTSYNC", 6);
}

static void table_append(KT_TABLE *t, const UCHAR *bytes, ULONG n)
{
    if (t->Used + n > t->Size) {
        ktest_fail(__FILE__, __LINE__, "test table buffer too small");
        return;
    }
    memcpy(t->Buf + t->Used, bytes, n);
    t->Used += n;
}

/* Set the length and checksum (byte 9) so the whole table sums to 0. */
static ULONG table_end(KT_TABLE *t)
{
    put32(t->Buf + 4, t->Used);
    t->Buf[9] = 0;
    t->Buf[9] = (UCHAR)-byte_sum(t->Buf, t->Used);
    return t->Used;
}

/* Redo the checksum of a finished table over its Length field's bytes. */
static void table_resum(UCHAR *buf, ULONG length)
{
    buf[9] = 0;
    buf[9] = (UCHAR)-byte_sum(buf, length);
}

/* MADT: the header, then Local Interrupt Controller Address at 36, Flags at 40. */
static void madt_begin(KT_TABLE *t, UCHAR *buf, ULONG size, ULONG lapic, ULONG flags)
{
    table_begin(t, buf, size, "APIC");
    UCHAR fields[8];
    put32(fields, lapic);
    put32(fields + 4, flags);
    table_append(t, fields, 8);
}

static void madt_lapic(KT_TABLE *t, UCHAR uid, UCHAR id, ULONG flags)
{
    UCHAR e[8] = { 0, 8, uid, id };
    put32(e + 4, flags);
    table_append(t, e, sizeof(e));
}

static void madt_x2apic(KT_TABLE *t, ULONG id, ULONG flags, ULONG uid)
{
    UCHAR e[16] = { 9, 16 };
    put32(e + 4, id);
    put32(e + 8, flags);
    put32(e + 12, uid);
    table_append(t, e, sizeof(e));
}

/* length >= 12: a longer entry (later spec versions append fields) must be
 * stepped over by its length. */
static void madt_ioapic(KT_TABLE *t, UCHAR id, ULONG address, ULONG gsi_base, UCHAR length)
{
    UCHAR e[32] = { 1, length, id, 0 };
    put32(e + 4, address);
    put32(e + 8, gsi_base);
    table_append(t, e, length);
}

static void madt_override(KT_TABLE *t, UCHAR bus, UCHAR irq, ULONG gsi, USHORT flags)
{
    UCHAR e[10] = { 2, 10, bus, irq };
    put32(e + 4, gsi);
    put16(e + 8, flags);
    table_append(t, e, sizeof(e));
}

static void madt_nmi(KT_TABLE *t, UCHAR uid, USHORT flags, UCHAR lint)
{
    UCHAR e[6] = { 4, 6, uid };
    put16(e + 3, flags);
    e[5] = lint;
    table_append(t, e, sizeof(e));
}

static void madt_x2apic_nmi(KT_TABLE *t, USHORT flags, ULONG uid, UCHAR lint)
{
    UCHAR e[12] = { 0xA, 12 };
    put16(e + 2, flags);
    put32(e + 4, uid);
    e[8] = lint;
    table_append(t, e, sizeof(e));
}

static void madt_lapic_override(KT_TABLE *t, ULONG64 address)
{
    UCHAR e[12] = { 5, 12 };
    put64(e + 4, address);
    table_append(t, e, sizeof(e));
}

static BOOLEAN contains(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++)
        if (strncmp(haystack, needle, n) == 0)
            return TRUE;
    return n == 0;
}

static BOOLEAN all_zero(const void *p, size_t n)
{
    const UCHAR *b = p;
    while (n--)
        if (*b++)
            return FALSE;
    return TRUE;
}

static UCHAR KtMadt[2048] __attribute__((aligned(16)));
static KI_MADT_INFO KtInfo, KtInfo2;
static char KtReason[160];

/* Parsing buf must fail with STATUS_INVALID_PARAMETER, a reason containing
 * needle, and *Info zeroed. */
#define EXPECT_INVALID(buf, length, needle) expect_invalid(__LINE__, buf, length, needle)
static void expect_invalid(int line, const void *buf, ULONG_PTR length, const char *needle)
{
    memset(&KtInfo, 0xCC, sizeof(KtInfo));
    NTSTATUS status = KiParseMadt(buf, length, &KtInfo, KtReason, sizeof(KtReason));
    kprintf("    # reason: %s\n", KtReason);
    if (status != STATUS_INVALID_PARAMETER)
        ktest_fail(__FILE__, line, "status 0x%08x, expected STATUS_INVALID_PARAMETER",
                   (ULONG)status);
    if (!contains(KtReason, needle))
        ktest_fail(__FILE__, line, "reason \"%s\" does not contain \"%s\"", KtReason, needle);
    if (!all_zero(&KtInfo, sizeof(KtInfo)))
        ktest_fail(__FILE__, line, "KI_MADT_INFO not zeroed after the error");
}

/* A small good MADT: header (44), one local APIC (8), one I/O APIC (12): 64
 * bytes, so an entry appended next sits at offset 0x40. */
static void small_madt(KT_TABLE *t)
{
    madt_begin(t, KtMadt, sizeof(KtMadt), 0xFEE00000, 1);
    madt_lapic(t, 0, 0, 1);
    madt_ioapic(t, 0, 0xFEC00000, 0, 12);
}

/* ---- QEMU's own tables ---- */

static void check_qemu_madt(const KI_MADT_INFO *m)
{
    KT_EXPECT_TRUE(m->ProcessorCount >= 1);
    KT_EXPECT_EQ(m->LocalApicAddress, 0xFEE00000);
    for (ULONG i = 0; i < m->ProcessorCount; i++)
        for (ULONG j = i + 1; j < m->ProcessorCount; j++)
            if (m->Processors[i].ApicId == m->Processors[j].ApicId)
                ktest_fail(__FILE__, __LINE__, "processors %u and %u share APIC id 0x%x", i, j,
                           m->Processors[i].ApicId);

    BOOLEAN ioapic = FALSE, irq0 = FALSE;
    for (ULONG i = 0; i < m->IoApicCount; i++)
        ioapic |= m->IoApics[i].Address == 0xFEC00000 && m->IoApics[i].GsiBase == 0;
    for (ULONG i = 0; i < m->OverrideCount; i++)
        irq0 |= m->Overrides[i].Bus == 0 && m->Overrides[i].SourceIrq == 0 &&
                m->Overrides[i].Gsi == 2;
    KT_EXPECT_TRUE(ioapic);             /* QEMU's one I/O APIC, GSIs 0-23 */
    KT_EXPECT_TRUE(irq0);               /* the PIT on IRQ 0 is wired to I/O APIC pin 2 */
}

KTEST(acpi_qemu_madt)
{
    const ACPI_DESCRIPTION_HEADER *madt;

    KT_ASSERT_TRUE(KiBootInfo.AcpiRsdp != NULL);
    madt = KiFindAcpiTable(KiBootInfo.AcpiRsdp, "APIC", KtReason, sizeof(KtReason));
    if (madt == NULL)
        ktest_fail(__FILE__, __LINE__, "no MADT: %s", KtReason);
    KT_ASSERT_TRUE(madt != NULL);
    KT_EXPECT_STREQ(KtReason, "");
    NTSTATUS status = KiParseMadt(madt, madt->Length, &KtInfo, KtReason, sizeof(KtReason));
    if (!NT_SUCCESS(status))
        ktest_fail(__FILE__, __LINE__, "parse: %s", KtReason);
    KT_ASSERT_EQ(status, STATUS_SUCCESS);
    kprintf("    # QEMU MADT: %u processors, %u ignored, %u I/O APICs, %u overrides, %u NMIs\n",
            KtInfo.ProcessorCount, KtInfo.IgnoredProcessors, KtInfo.IoApicCount,
            KtInfo.OverrideCount, KtInfo.NmiCount);
    check_qemu_madt(&KtInfo);
}

/* KiMadt is SMP bring-up's: if boot has filled it, it must equal a fresh
 * parse; if not (bring-up not wired yet), KiInitializeAcpi fills it now. */
KTEST(acpi_initialize_global)
{
    if (KiMadt.ProcessorCount == 0)
        KT_ASSERT_EQ(KiInitializeAcpi(), STATUS_SUCCESS);
    const ACPI_DESCRIPTION_HEADER *madt =
        KiFindAcpiTable(KiBootInfo.AcpiRsdp, "APIC", KtReason, sizeof(KtReason));
    KT_ASSERT_TRUE(madt != NULL);
    KT_ASSERT_EQ(KiParseMadt(madt, madt->Length, &KtInfo, NULL, 0), STATUS_SUCCESS);
    check_qemu_madt(&KiMadt);
    KT_EXPECT_EQ(memcmp(&KiMadt, &KtInfo, sizeof(KtInfo)), 0);
}

/* ---- Synthetic MADTs ---- */

KTEST(acpi_madt_synthetic)
{
    KT_TABLE t;

    madt_begin(&t, KtMadt, sizeof(KtMadt), 0xFEE00000, 1);
    madt_lapic(&t, 0, 0, 1);                    /* enabled */
    madt_lapic(&t, 1, 2, 3);                    /* enabled; online-capable is reserved then */
    madt_ioapic(&t, 4, 0xFEC00000, 0, 16);      /* 4 bytes longer than type 1 needs */
    UCHAR unknown[7] = { 0x7F, 7, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    table_append(&t, unknown, sizeof(unknown)); /* stepped over by its length */
    madt_x2apic(&t, 0x100, 1, 0x200);           /* enabled x2APIC */
    madt_lapic(&t, 3, 5, 2);                    /* disabled, online capable */
    madt_lapic(&t, 4, 6, 0);                    /* disabled, not capable: ignored */
    madt_lapic(&t, 5, 0xFF, 1);                 /* APIC id 0xFF: a placeholder, skipped */
    madt_override(&t, 0, 9, 20, 0xD);           /* IRQ 9 -> GSI 20, level, active high */
    madt_nmi(&t, 0xFF, 5, 1);                   /* all CPUs: LINT1, edge, high */
    madt_x2apic_nmi(&t, 0, 0xFFFFFFFF, 1);
    ULONG length = table_end(&t);

    KT_ASSERT_EQ(KiParseMadt(KtMadt, length, &KtInfo, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_STREQ(KtReason, "");
    KT_EXPECT_EQ(KtInfo.LocalApicAddress, 0xFEE00000);
    KT_EXPECT_EQ(KtInfo.Flags, KI_MADT_PCAT_COMPAT);
    KT_EXPECT_EQ(KtInfo.ProcessorCount, 4);
    KT_EXPECT_EQ(KtInfo.IgnoredProcessors, 1);

    static const KI_ACPI_PROCESSOR expected[4] = {
        { .ApicId = 0, .AcpiUid = 0, .X2Apic = FALSE, .Enabled = TRUE, .OnlineCapable = FALSE },
        { .ApicId = 2, .AcpiUid = 1, .X2Apic = FALSE, .Enabled = TRUE, .OnlineCapable = FALSE },
        { .ApicId = 0x100, .AcpiUid = 0x200, .X2Apic = TRUE, .Enabled = TRUE,
          .OnlineCapable = FALSE },
        { .ApicId = 5, .AcpiUid = 3, .X2Apic = FALSE, .Enabled = FALSE, .OnlineCapable = TRUE },
    };
    for (ULONG i = 0; i < 4; i++) {
        const KI_ACPI_PROCESSOR *p = &KtInfo.Processors[i];
        KT_EXPECT_EQ(p->ApicId, expected[i].ApicId);
        KT_EXPECT_EQ(p->AcpiUid, expected[i].AcpiUid);
        KT_EXPECT_EQ(p->X2Apic, expected[i].X2Apic);
        KT_EXPECT_EQ(p->Enabled, expected[i].Enabled);
        KT_EXPECT_EQ(p->OnlineCapable, expected[i].OnlineCapable);
    }

    KT_EXPECT_EQ(KtInfo.IoApicCount, 1);
    KT_EXPECT_EQ(KtInfo.IoApics[0].Id, 4);
    KT_EXPECT_EQ(KtInfo.IoApics[0].Address, 0xFEC00000);
    KT_EXPECT_EQ(KtInfo.IoApics[0].GsiBase, 0);

    KT_EXPECT_EQ(KtInfo.OverrideCount, 1);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Bus, 0);
    KT_EXPECT_EQ(KtInfo.Overrides[0].SourceIrq, 9);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Gsi, 20);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Flags, 0xD);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Flags & KI_MPS_INTI_TRIGGER_MASK, KI_MPS_INTI_TRIGGER_LEVEL);
    KT_EXPECT_EQ(KtInfo.Overrides[0].Flags & KI_MPS_INTI_POLARITY_MASK, KI_MPS_INTI_POLARITY_HIGH);

    KT_EXPECT_EQ(KtInfo.NmiCount, 2);
    KT_EXPECT_EQ(KtInfo.Nmis[0].AcpiUid, KI_ACPI_NMI_ALL_XAPIC);
    KT_EXPECT_EQ(KtInfo.Nmis[0].Flags, 5);
    KT_EXPECT_EQ(KtInfo.Nmis[0].Lint, 1);
    KT_EXPECT_EQ(KtInfo.Nmis[1].AcpiUid, KI_ACPI_NMI_ALL_X2APIC);
    KT_EXPECT_EQ(KtInfo.Nmis[1].Flags, 0);
    KT_EXPECT_EQ(KtInfo.Nmis[1].Lint, 1);

    /* The bytes past the table's Length are not the table's: junk there is
     * ignored, and a NULL Reason is allowed. */
    KtMadt[length] = 0xEE;
    KT_EXPECT_EQ(KiParseMadt(KtMadt, length + 1, &KtInfo2, NULL, 0), STATUS_SUCCESS);
    KT_EXPECT_EQ(memcmp(&KtInfo, &KtInfo2, sizeof(KtInfo)), 0);
}

KTEST(acpi_madt_lapic_address_override)
{
    KT_TABLE t;

    madt_begin(&t, KtMadt, sizeof(KtMadt), 0xFEE00000, 0);
    madt_lapic(&t, 0, 0, 1);
    madt_lapic_override(&t, 0xFED00000);
    ULONG length = table_end(&t);
    KT_ASSERT_EQ(KiParseMadt(KtMadt, length, &KtInfo, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KtInfo.LocalApicAddress, 0xFED00000);
    KT_EXPECT_EQ(KtInfo.Flags, 0);
    KT_EXPECT_EQ(KtInfo.ProcessorCount, 1);

    /* One we cannot reach through the identity map. */
    madt_begin(&t, KtMadt, sizeof(KtMadt), 0xFEE00000, 0);
    madt_lapic(&t, 0, 0, 1);
    madt_lapic_override(&t, 0x1FEE00000ull);
    length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "0x1fee00000, above the 4 GiB");
}

/* 70 usable CPUs and a duplicate: the first 64 are kept, in order. */
KTEST(acpi_madt_too_many_processors)
{
    KT_TABLE t;

    madt_begin(&t, KtMadt, sizeof(KtMadt), 0xFEE00000, 1);
    for (ULONG i = 0; i < 40; i++)
        madt_lapic(&t, (UCHAR)i, (UCHAR)i, 1);
    madt_lapic(&t, 99, 7, 1);                   /* APIC id 7 again */
    for (ULONG i = 40; i < 70; i++)
        madt_x2apic(&t, 0x1000 + i, 1, i);
    ULONG length = table_end(&t);

    KT_ASSERT_EQ(KiParseMadt(KtMadt, length, &KtInfo, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KtInfo.ProcessorCount, MAXIMUM_PROCESSORS);
    KT_EXPECT_EQ(KtInfo.IgnoredProcessors, 70 - MAXIMUM_PROCESSORS + 1);
    KT_EXPECT_EQ(KtInfo.Processors[39].ApicId, 39);
    KT_EXPECT_EQ(KtInfo.Processors[40].ApicId, 0x1000 + 40);
    KT_EXPECT_EQ(KtInfo.Processors[63].ApicId, 0x1000 + 63);
    KT_EXPECT_TRUE(KtInfo.Processors[63].X2Apic);
}

KTEST(acpi_madt_bad_checksum)
{
    KT_TABLE t;

    small_madt(&t);
    ULONG length = table_end(&t);
    KtMadt[50] ^= 0x12;                         /* a bit flip in the local APIC entry */
    EXPECT_INVALID(KtMadt, length, "checksum is 0x");
}

KTEST(acpi_madt_bad_signature)
{
    KT_TABLE t;

    small_madt(&t);
    ULONG length = table_end(&t);
    memcpy(KtMadt, "FACP", 4);
    table_resum(KtMadt, length);                /* only the signature is wrong */
    EXPECT_INVALID(KtMadt, length, "signature is \"FACP\", not \"APIC\"");
}

KTEST(acpi_madt_length_below_header)
{
    KT_TABLE t;

    small_madt(&t);
    table_end(&t);
    put32(KtMadt + 4, 40);                      /* header says 40 < 44 */
    table_resum(KtMadt, 40);
    EXPECT_INVALID(KtMadt, sizeof(KtMadt), "length 40 is shorter");
    /* A buffer that cannot even hold the 36-byte header. */
    EXPECT_INVALID(KtMadt, 20, "cannot hold");
    EXPECT_INVALID(NULL, 100, "cannot hold");
}

KTEST(acpi_madt_length_past_buffer)
{
    KT_TABLE t;

    small_madt(&t);
    ULONG length = table_end(&t);
    EXPECT_INVALID(KtMadt, length - 1, "length 64 runs past the 63 bytes");
}

KTEST(acpi_madt_entry_length_0)
{
    KT_TABLE t;

    small_madt(&t);
    UCHAR e[8] = { 0x7F, 0 };   /* unknown type, so only the length check stops a hang */
    table_append(&t, e, sizeof(e));
    ULONG length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "entry at offset 0x40 has length 0");

    small_madt(&t);
    UCHAR l[8] = { 0, 0 };                      /* a local APIC entry of length 0 */
    table_append(&t, l, sizeof(l));
    length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "entry at offset 0x40 has length 0");
}

KTEST(acpi_madt_entry_length_1)
{
    KT_TABLE t;

    small_madt(&t);
    UCHAR e[8] = { 0x7F, 1 };
    table_append(&t, e, sizeof(e));
    ULONG length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "entry at offset 0x40 has length 1");
}

KTEST(acpi_madt_entry_past_end)
{
    KT_TABLE t;

    /* An I/O APIC entry claiming 12 bytes of which the table holds 6. */
    small_madt(&t);
    UCHAR e[6] = { 1, 12, 1, 0, 0, 0 };
    table_append(&t, e, sizeof(e));
    ULONG length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "offset 0x40 (type 1, length 12) runs past the table end");

    /* An unknown type, too: a length that runs past is an error whatever the type. */
    small_madt(&t);
    UCHAR u[4] = { 0x7F, 200, 0, 0 };
    table_append(&t, u, sizeof(u));
    length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "offset 0x40 (type 127, length 200) runs past");

    /* One stray byte after the last entry: not even a type and a length. */
    small_madt(&t);
    UCHAR one = 0;
    table_append(&t, &one, 1);
    length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "entry at offset 0x40 is cut off");
}

KTEST(acpi_madt_truncated_x2apic)
{
    KT_TABLE t;

    small_madt(&t);
    UCHAR e[12] = { 9, 12 };                    /* type 9 needs 16 bytes */
    put32(e + 4, 0x100);
    put32(e + 8, 1);
    table_append(&t, e, sizeof(e));
    ULONG length = table_end(&t);
    EXPECT_INVALID(KtMadt, length,
                   "offset 0x40 (type 9, local x2APIC) has length 12, less than 16");

    /* And a short local APIC entry. */
    small_madt(&t);
    UCHAR l[4] = { 0, 4, 1, 1 };
    table_append(&t, l, sizeof(l));
    length = table_end(&t);
    EXPECT_INVALID(KtMadt, length, "has length 4, less than 8");
}

KTEST(acpi_madt_reason_truncated)
{
    KT_TABLE t;
    char small[8];

    small_madt(&t);
    ULONG length = table_end(&t);
    KtMadt[50] ^= 1;
    memset(small, 'X', sizeof(small));
    KT_EXPECT_EQ(KiParseMadt(KtMadt, length, &KtInfo, small, sizeof(small)),
                 STATUS_INVALID_PARAMETER);
    KT_EXPECT_EQ(strnlen(small, sizeof(small)), sizeof(small) - 1);
    KT_EXPECT_EQ(KiParseMadt(KtMadt, length, &KtInfo, NULL, 0), STATUS_INVALID_PARAMETER);
    KT_EXPECT_EQ(KiParseMadt(KtMadt, length, &KtInfo, NULL, 100), STATUS_INVALID_PARAMETER);
}

/* ---- RSDP, RSDT, XSDT ---- */

static UCHAR KtRsdp[36] __attribute__((aligned(16)));
static UCHAR KtRsdt[64], KtXsdt[64], KtFacp[40], KtMadtA[64], KtMadtB[64];

static ULONG addr32(const void *p) { return (ULONG)(ULONG_PTR)p; }

/* RSDP: Signature 0, Checksum 8 (first 20 bytes), OEM id 9, Revision 15,
 * RsdtAddress 16, Length 20, XsdtAddress 24, ExtendedChecksum 32. */
static void build_rsdp(UCHAR revision, const void *rsdt, ULONG64 xsdt)
{
    memset(KtRsdp, 0, sizeof(KtRsdp));
    memcpy(KtRsdp, "RSD PTR ", 8);
    memcpy(KtRsdp + 9, "NTSYNC", 6);
    KtRsdp[15] = revision;
    put32(KtRsdp + 16, addr32(rsdt));
    put32(KtRsdp + 20, 36);
    put64(KtRsdp + 24, xsdt);
    KtRsdp[8] = (UCHAR)-byte_sum(KtRsdp, 20);
    KtRsdp[32] = (UCHAR)-byte_sum(KtRsdp, 36);
}

static void build_rsdt(const void *a, const void *b)
{
    KT_TABLE t;
    UCHAR e[4];

    table_begin(&t, KtRsdt, sizeof(KtRsdt), "RSDT");
    put32(e, addr32(a));
    table_append(&t, e, 4);
    put32(e, addr32(b));
    table_append(&t, e, 4);
    table_end(&t);
}

static void build_xsdt(ULONG64 a, ULONG64 b)
{
    KT_TABLE t;
    UCHAR e[8];

    table_begin(&t, KtXsdt, sizeof(KtXsdt), "XSDT");
    put64(e, a);
    table_append(&t, e, 8);
    put64(e, b);
    table_append(&t, e, 8);
    table_end(&t);
}

/* Two MADTs told apart by their one CPU's APIC id, and a FACP to step over. */
static void build_tables(void)
{
    KT_TABLE t;

    table_begin(&t, KtFacp, sizeof(KtFacp), "FACP");
    table_end(&t);
    madt_begin(&t, KtMadtA, sizeof(KtMadtA), 0xFEE00000, 0);
    madt_lapic(&t, 0, 1, 1);
    table_end(&t);
    madt_begin(&t, KtMadtB, sizeof(KtMadtB), 0xFEE00000, 0);
    madt_lapic(&t, 0, 2, 1);
    table_end(&t);
    build_rsdt(KtFacp, KtMadtA);
    build_xsdt(addr32(KtFacp), addr32(KtMadtB));
}

#define EXPECT_FIND(sig, expected, needle) expect_find(__LINE__, sig, expected, needle)
static void expect_find(int line, const char *sig, const void *expected, const char *needle)
{
    memset(KtReason, 'X', sizeof(KtReason) - 1);
    KtReason[sizeof(KtReason) - 1] = '\0';
    const void *found = KiFindAcpiTable(KtRsdp, sig, KtReason, sizeof(KtReason));
    kprintf("    # %.4s: %p, reason: %s\n", sig, found, KtReason);
    if (found != expected)
        ktest_fail(__FILE__, line, "found %p, expected %p", found, expected);
    if (!contains(KtReason, needle) || (expected != NULL && KtReason[0] != '\0'))
        ktest_fail(__FILE__, line, "reason \"%s\", expected \"%s\"", KtReason, needle);
}

KTEST(acpi_rsdp_v0_uses_rsdt)
{
    KT_ASSERT_TRUE((ULONG_PTR)KtMadtB < KT_4GB);
    build_tables();
    build_rsdp(0, KtRsdt, addr32(KtXsdt));      /* revision 0: the XSDT field is not read */
    EXPECT_FIND("APIC", KtMadtA, "");
    EXPECT_FIND("FACP", KtFacp, "");
}

KTEST(acpi_rsdp_v2_uses_xsdt)
{
    build_tables();
    build_rsdp(2, KtRsdt, addr32(KtXsdt));
    EXPECT_FIND("APIC", KtMadtB, "");
    build_rsdp(2, KtRsdt, 0);                   /* no XSDT: back to the RSDT */
    EXPECT_FIND("APIC", KtMadtA, "");
}

KTEST(acpi_rsdp_bad_checksum)
{
    build_tables();
    build_rsdp(0, KtRsdt, 0);
    KtRsdp[10] ^= 1;                            /* OEM id, inside the first 20 bytes */
    EXPECT_FIND("APIC", NULL, "RSDP checksum is 0x");

    build_rsdp(2, KtRsdt, addr32(KtXsdt));
    KtRsdp[33] = 1;                             /* reserved: only the extended sum covers it */
    EXPECT_FIND("APIC", NULL, "RSDP extended checksum is 0x");

    build_rsdp(0, KtRsdt, 0);
    KtRsdp[7] = 'X';                            /* "RSD PTRX" */
    KtRsdp[8] = 0;
    KtRsdp[8] = (UCHAR)-byte_sum(KtRsdp, 20);
    EXPECT_FIND("APIC", NULL, "RSDP signature");

    KT_EXPECT_TRUE(KiFindAcpiTable(NULL, "APIC", KtReason, sizeof(KtReason)) == NULL);
    KT_EXPECT_TRUE(contains(KtReason, "no RSDP"));
}

KTEST(acpi_root_table_bad)
{
    build_tables();
    build_rsdp(2, KtRsdt, addr32(KtXsdt));
    KtXsdt[20] ^= 1;
    EXPECT_FIND("APIC", NULL, "XSDT at 0x");
    KT_EXPECT_TRUE(contains(KtReason, "checksum"));

    build_tables();
    memcpy(KtRsdt, "XSDT", 4);
    table_resum(KtRsdt, 44);
    build_rsdp(0, KtRsdt, 0);
    EXPECT_FIND("APIC", NULL, "has signature \"XSDT\", not \"RSDT\"");

    build_tables();
    build_rsdp(2, KtRsdt, 0x200000000ull);      /* the XSDT itself above 4 GiB */
    EXPECT_FIND("APIC", NULL, "XSDT is at 0x200000000, above the 4 GiB");
}

KTEST(acpi_xsdt_entry_above_4gib)
{
    build_tables();
    build_xsdt(addr32(KtFacp), KT_4GB);
    build_rsdp(2, KtRsdt, addr32(KtXsdt));
    EXPECT_FIND("APIC", NULL, "XSDT entry 1 is at 0x100000000, above the 4 GiB");

    /* It can't be read, but it isn't the one we want either: keep looking. */
    build_xsdt(KT_4GB, addr32(KtMadtB));
    EXPECT_FIND("APIC", KtMadtB, "");
}

KTEST(acpi_table_not_present)
{
    build_tables();
    build_rsdp(2, KtRsdt, addr32(KtXsdt));
    EXPECT_FIND("HPET", NULL, "no \"HPET\" table among the XSDT's 2 entries");
    build_rsdp(0, KtRsdt, 0);
    EXPECT_FIND("HPET", NULL, "no \"HPET\" table among the RSDT's 2 entries");
}

KTEST(acpi_found_table_bad_checksum)
{
    build_tables();
    build_rsdp(2, KtRsdt, addr32(KtXsdt));
    KtMadtB[40] ^= 1;
    EXPECT_FIND("APIC", NULL, "XSDT entry 1 at 0x");
    KT_EXPECT_TRUE(contains(KtReason, "checksum"));

    build_tables();
    put32(KtMadtB + 4, 20);                     /* shorter than a header */
    EXPECT_FIND("APIC", NULL, "has a bad length 20");
}

/* ---- KiLoadMadt: KiInitializeAcpi on synthetic tables ---- */

/* Each error leaves the output zeroed and says so on the console. */
KTEST(acpi_load_madt_errors)
{
    KT_TABLE t;

    kprintf("    # the \"continuing on the boot CPU alone\" lines below are expected\n");
    memset(&KtInfo, 0xCC, sizeof(KtInfo));
    KT_EXPECT_EQ(KiLoadMadt(NULL, FALSE, &KtInfo), STATUS_UNSUCCESSFUL);
    KT_EXPECT_TRUE(all_zero(&KtInfo, sizeof(KtInfo)));

    build_tables();
    build_rsdp(0, KtRsdt, 0);
    KtMadtA[44] = 0x7F;                         /* the CPU entry becomes an unknown type */
    table_resum(KtMadtA, 52);
    memset(&KtInfo, 0xCC, sizeof(KtInfo));
    KT_EXPECT_EQ(KiLoadMadt(KtRsdp, FALSE, &KtInfo), STATUS_UNSUCCESSFUL);
    KT_EXPECT_TRUE(all_zero(&KtInfo, sizeof(KtInfo)));

    madt_begin(&t, KtMadtA, sizeof(KtMadtA), 0xFEE00000, 0);
    madt_lapic(&t, 0, 1, 1);
    UCHAR bad[2] = { 0x7F, 0 };
    table_append(&t, bad, sizeof(bad));
    table_end(&t);
    memset(&KtInfo, 0xCC, sizeof(KtInfo));
    KT_EXPECT_EQ(KiLoadMadt(KtRsdp, FALSE, &KtInfo), STATUS_INVALID_PARAMETER);
    KT_EXPECT_TRUE(all_zero(&KtInfo, sizeof(KtInfo)));
}

/* GRUB's ACPI 1.0 tag holds only the RSDP's first 20 bytes: even a revision
 * 2 RSDP must then be followed through the RSDT. */
KTEST(acpi_load_madt_rsdp_copy)
{
    build_tables();
    build_rsdp(2, KtRsdt, addr32(KtXsdt));
    KT_ASSERT_EQ(KiLoadMadt(KtRsdp, FALSE, &KtInfo), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtInfo.ProcessorCount, 1);
    KT_EXPECT_EQ(KtInfo.Processors[0].ApicId, 1);       /* KtMadtA, from the RSDT */
    KT_ASSERT_EQ(KiLoadMadt(KtRsdp, TRUE, &KtInfo), STATUS_SUCCESS);
    KT_EXPECT_EQ(KtInfo.Processors[0].ApicId, 2);       /* KtMadtB, from the XSDT */

    KtRsdp[32] ^= 1;            /* the extended checksum isn't in a 20-byte copy */
    KT_EXPECT_EQ(KiLoadMadt(KtRsdp, FALSE, &KtInfo), STATUS_SUCCESS);
    KT_EXPECT_EQ(KiLoadMadt(KtRsdp, TRUE, &KtInfo), STATUS_UNSUCCESSFUL);
}

/* ---- The timer tables: FADT (PM timer) and HPET (kernel/acpi/acpi_timers.c) ---- */

static UCHAR KtFadt[276] __attribute__((aligned(16)));
static UCHAR KtHpet[56] __attribute__((aligned(16)));
static KI_ACPI_TIMERS KtTimers;

/* A FADT of length bytes (116 = ACPI 1.0, 276 = 6.x): PM_TMR_BLK at 76,
 * PM_TMR_LEN at 91, Flags at 112, X_PM_TMR_BLK (a GAS) at 208. */
static void build_fadt(ULONG length, ULONG pm_tmr_blk, UCHAR pm_tmr_len, ULONG flags,
                       UCHAR x_space, ULONG64 x_address)
{
    KT_TABLE t;
    UCHAR body[276 - 36] = { 0 };

    table_begin(&t, KtFadt, sizeof(KtFadt), "FACP");
    put32(body + 76 - 36, pm_tmr_blk);
    body[91 - 36] = pm_tmr_len;
    put32(body + 112 - 36, flags);
    body[208 - 36] = x_space;
    body[209 - 36] = 32;                        /* bit width */
    put64(body + 212 - 36, x_address);
    table_append(&t, body, length - 36);
    table_end(&t);
}

/* An HPET table: Base Address, a GAS, at 40 (space id, width, offset,
 * access size, address at 44). */
static void build_hpet(UCHAR space, ULONG64 address)
{
    KT_TABLE t;
    UCHAR body[56 - 36] = { 0 };

    table_begin(&t, KtHpet, sizeof(KtHpet), "HPET");
    body[40 - 36] = space;
    body[41 - 36] = 64;
    put64(body + 44 - 36, address);
    table_append(&t, body, sizeof(body));
    table_end(&t);
}

typedef NTSTATUS (*KT_TIMER_PARSER)(const void *, ULONG_PTR, KI_ACPI_TIMERS *, char *, ULONG);

/* Parsing must fail with STATUS_INVALID_PARAMETER, a reason containing
 * needle, and the timer fields zeroed. */
#define EXPECT_TIMER_INVALID(parse, buf, length, needle) \
    expect_timer_invalid(__LINE__, parse, buf, length, needle)
static void expect_timer_invalid(int line, KT_TIMER_PARSER parse, const void *buf,
                                 ULONG_PTR length, const char *needle)
{
    memset(&KtTimers, 0xCC, sizeof(KtTimers));
    NTSTATUS status = parse(buf, length, &KtTimers, KtReason, sizeof(KtReason));
    kprintf("    # reason: %s\n", KtReason);
    if (status != STATUS_INVALID_PARAMETER)
        ktest_fail(__FILE__, line, "status 0x%08x, expected STATUS_INVALID_PARAMETER",
                   (ULONG)status);
    if (!contains(KtReason, needle))
        ktest_fail(__FILE__, line, "reason \"%s\" does not contain \"%s\"", KtReason, needle);
    if (parse == KiParseHpet ? KtTimers.HpetAddress != 0
                             : KtTimers.PmTimerPort != 0 || KtTimers.PmTimer32Bit)
        ktest_fail(__FILE__, line, "the timer's fields not zeroed after the error");
}

/* QEMU's pc machine has both: a PIIX4 PM timer and an HPET at 0xFED00000. */
KTEST(acpi_qemu_timers)
{
    KT_EXPECT_NE(KiAcpiTimers.PmTimerPort, 0);
    KT_EXPECT_EQ(KiAcpiTimers.HpetAddress, 0xFED00000);
    kprintf("    # PM timer at port 0x%x (%u bits), HPET at 0x%x\n", KiAcpiTimers.PmTimerPort,
            KiAcpiTimers.PmTimer32Bit ? 32 : 24, KiAcpiTimers.HpetAddress);
}

KTEST(acpi_fadt_pm_timer)
{
    /* ACPI 1.0: PM_TMR_BLK, 24 bits. */
    build_fadt(116, 0x608, 4, 0, 0, 0);
    KT_ASSERT_EQ(KiParseFadtPmTimer(KtFadt, 116, &KtTimers, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KtTimers.PmTimerPort, 0x608);
    KT_EXPECT_EQ(KtTimers.PmTimer32Bit, FALSE);

    /* ACPI 2.0+: X_PM_TMR_BLK wins over PM_TMR_BLK; TMR_VAL_EXT (bit 8): 32 bits. */
    build_fadt(276, 0x608, 4, 1u << 8, 1, 0xB008);
    KT_ASSERT_EQ(KiParseFadtPmTimer(KtFadt, 276, &KtTimers, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KtTimers.PmTimerPort, 0xB008);
    KT_EXPECT_EQ(KtTimers.PmTimer32Bit, TRUE);

    /* X_PM_TMR_BLK 0: PM_TMR_BLK it is. */
    build_fadt(276, 0x408, 4, 0, 0, 0);
    KT_ASSERT_EQ(KiParseFadtPmTimer(KtFadt, 276, &KtTimers, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KtTimers.PmTimerPort, 0x408);

    /* PM_TMR_LEN 0: no PM timer, and no error. */
    build_fadt(116, 0x608, 0, 1u << 8, 0, 0);
    KT_ASSERT_EQ(KiParseFadtPmTimer(KtFadt, 116, &KtTimers, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KtTimers.PmTimerPort, 0);
    KT_EXPECT_EQ(KtTimers.PmTimer32Bit, FALSE);
}

KTEST(acpi_fadt_corrupt)
{
    build_fadt(116, 0x608, 4, 0, 0, 0);
    KtFadt[20] ^= 1;
    EXPECT_TIMER_INVALID(KiParseFadtPmTimer, KtFadt, 116, "FADT checksum is 0x01, not 0");

    build_fadt(80, 0x608, 4, 0, 0, 0);          /* ends before PM_TMR_LEN and Flags */
    EXPECT_TIMER_INVALID(KiParseFadtPmTimer, KtFadt, 80,
                         "FADT length 80 is shorter than its 116-byte header");

    build_fadt(116, 0x608, 4, 0, 0, 0);
    EXPECT_TIMER_INVALID(KiParseFadtPmTimer, KtFadt, 100, "FADT length 116 runs past the 100");

    build_fadt(116, 0x608, 4, 0, 0, 0);
    memcpy(KtFadt, "FADT", 4);
    table_resum(KtFadt, 116);
    EXPECT_TIMER_INVALID(KiParseFadtPmTimer, KtFadt, 116, "FADT signature is \"FADT\", not \"FACP\"");

    build_fadt(276, 0, 0, 0, 0 /* system memory */, 0xFED00000);
    EXPECT_TIMER_INVALID(KiParseFadtPmTimer, KtFadt, 276,
                         "FADT X_PM_TMR_BLK is in address space 0, not system I/O");

    build_fadt(116, 0x10008, 4, 0, 0, 0);
    EXPECT_TIMER_INVALID(KiParseFadtPmTimer, KtFadt, 116,
                         "FADT PM timer port 0x10008 is not an I/O port");
}

KTEST(acpi_hpet_table)
{
    build_hpet(0, 0xFED00000);
    KT_ASSERT_EQ(KiParseHpet(KtHpet, sizeof(KtHpet), &KtTimers, KtReason, sizeof(KtReason)),
                 STATUS_SUCCESS);
    KT_EXPECT_EQ(KtTimers.HpetAddress, 0xFED00000);

    build_hpet(1, 0xFED00000);
    EXPECT_TIMER_INVALID(KiParseHpet, KtHpet, sizeof(KtHpet),
                         "HPET base address is in address space 1, not system memory");

    build_hpet(0, 0x80000000);                  /* mapped cacheable: not for registers */
    EXPECT_TIMER_INVALID(KiParseHpet, KtHpet, sizeof(KtHpet),
                         "HPET registers at 0x80000000 are outside the uncached fourth GiB");

    build_hpet(0, 0xFFFFFC01);                  /* its 1 KiB of registers would pass 4 GiB */
    EXPECT_TIMER_INVALID(KiParseHpet, KtHpet, sizeof(KtHpet), "outside the uncached fourth GiB");

    build_hpet(0, 0xFED00000);
    put32(KtHpet + 4, 52);                      /* cuts the Base Address GAS */
    table_resum(KtHpet, 52);
    EXPECT_TIMER_INVALID(KiParseHpet, KtHpet, sizeof(KtHpet),
                         "HPET table length 52 is shorter than its 56-byte header");

    build_hpet(0, 0xFED00000);
    KtHpet[50] = 1;
    EXPECT_TIMER_INVALID(KiParseHpet, KtHpet, sizeof(KtHpet), "HPET table checksum is 0x01");
}
