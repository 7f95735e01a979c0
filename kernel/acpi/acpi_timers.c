/*
 * acpi_timers.c - where the two ACPI-described timers are, for calibrating
 * the TSC without the PIT (arch/x86_64/calibrate.c): the ACPI PM timer from
 * the FADT and the HPET from its own table.
 *
 * The PM timer (ACPI 6.x 4.8.3.3, "Power Management Timer"): a 24- or 32-bit
 * counter at 3.579545 MHz in an I/O port.  The FADT names the port twice:
 * PM_TMR_BLK (ACPI 1.0, 32-bit port number) and X_PM_TMR_BLK (ACPI 2.0, a
 * Generic Address Structure); the spec says the X_ field, when not 0, wins.
 * The HPET (IA-PC HPET 1.0a): a memory-mapped block whose first register
 * says its counter's period; only its address is read here.
 *
 * Offsets are the specs', read with memcpy (fields are unaligned).  A table
 * that is absent is no error: the calibration tries the next source.
 */
#include "wdm.h"
#include "kernel/acpi/acpi.h"
#include "kernel/console/console.h"
#include "string.h"

/* FADT (ACPI 6.x table 5.9) */
#define FADT_PM_TMR_BLK         76
#define FADT_PM_TMR_LEN         91
#define FADT_FLAGS              112
#define   FADT_TMR_VAL_EXT      (1u << 8)
#define FADT_V1_LENGTH          116     /* ACPI 1.0: everything up to Flags */
#define FADT_X_PM_TMR_BLK       208
#define PM_TMR_LEN              4       /* the only length a PM timer block has */

/* Generic Address Structure (ACPI 6.x 5.2.3.2): space id, bit width, bit
 * offset, access size, then the 64-bit address. */
#define GAS_LENGTH              12
#define GAS_ADDRESS             4
#define GAS_SYSTEM_MEMORY       0
#define GAS_SYSTEM_IO           1

/* HPET table (IA-PC HPET 1.0a, table 3) */
#define HPET_BASE_ADDRESS       40      /* a GAS */
#define HPET_TABLE_LENGTH       56
#define HPET_REGISTERS_SIZE     0x400
#define UNCACHED_START          0xC0000000ull   /* the fourth GiB (boot/entry.S) */
#define UNCACHED_END            0x100000000ull

KI_ACPI_TIMERS KiAcpiTimers;

static ULONG get32(const UCHAR *Table, ULONG Offset)
{
    ULONG v;

    memcpy(&v, Table + Offset, sizeof(v));
    return v;
}

static ULONG64 gas_address(const UCHAR *Table, ULONG Offset)
{
    ULONG64 v;

    memcpy(&v, Table + Offset + GAS_ADDRESS, sizeof(v));
    return v;
}

NTSTATUS KiParseFadtPmTimer(const void *Table, ULONG_PTR Length, KI_ACPI_TIMERS *Timers,
                            char *Reason, ULONG ReasonSize)
{
    const UCHAR *fadt = Table;

    Timers->PmTimerPort = 0;
    Timers->PmTimer32Bit = FALSE;
    NTSTATUS status = KiCheckAcpiTable(Table, Length, "FACP", "FADT", FADT_V1_LENGTH, Reason,
                                       ReasonSize);
    if (!NT_SUCCESS(status))
        return status;
    ULONG length = ((const ACPI_DESCRIPTION_HEADER *)Table)->Length;

    ULONG64 port = get32(fadt, FADT_PM_TMR_BLK);
    if (fadt[FADT_PM_TMR_LEN] != PM_TMR_LEN)
        port = 0;                       /* PM_TMR_LEN 0: no PM timer (hardware-reduced ACPI) */
    if (length >= FADT_X_PM_TMR_BLK + GAS_LENGTH && gas_address(fadt, FADT_X_PM_TMR_BLK) != 0) {
        if (fadt[FADT_X_PM_TMR_BLK] != GAS_SYSTEM_IO) {
            KiAcpiSetReason(Reason, ReasonSize, "FADT X_PM_TMR_BLK is in address space %u, "
                            "not system I/O", fadt[FADT_X_PM_TMR_BLK]);
            return STATUS_INVALID_PARAMETER;
        }
        port = gas_address(fadt, FADT_X_PM_TMR_BLK);
    }
    if (port > 0xFFFF) {
        KiAcpiSetReason(Reason, ReasonSize, "FADT PM timer port 0x%llx is not an I/O port",
                        (unsigned long long)port);
        return STATUS_INVALID_PARAMETER;
    }
    Timers->PmTimerPort = (USHORT)port;
    Timers->PmTimer32Bit = port != 0 && (get32(fadt, FADT_FLAGS) & FADT_TMR_VAL_EXT) != 0;
    return STATUS_SUCCESS;
}

NTSTATUS KiParseHpet(const void *Table, ULONG_PTR Length, KI_ACPI_TIMERS *Timers, char *Reason,
                     ULONG ReasonSize)
{
    const UCHAR *hpet = Table;

    Timers->HpetAddress = 0;
    NTSTATUS status = KiCheckAcpiTable(Table, Length, "HPET", "HPET table", HPET_TABLE_LENGTH,
                                       Reason, ReasonSize);
    if (!NT_SUCCESS(status))
        return status;
    if (hpet[HPET_BASE_ADDRESS] != GAS_SYSTEM_MEMORY) {
        KiAcpiSetReason(Reason, ReasonSize, "HPET base address is in address space %u, not "
                        "system memory", hpet[HPET_BASE_ADDRESS]);
        return STATUS_INVALID_PARAMETER;
    }
    ULONG64 address = gas_address(hpet, HPET_BASE_ADDRESS);
    if (address < UNCACHED_START || address > UNCACHED_END - HPET_REGISTERS_SIZE) {
        KiAcpiSetReason(Reason, ReasonSize, "HPET registers at 0x%llx are outside the "
                        "uncached fourth GiB", (unsigned long long)address);
        return STATUS_INVALID_PARAMETER;
    }
    Timers->HpetAddress = (ULONG)address;
    return STATUS_SUCCESS;
}

typedef NTSTATUS (*KI_TIMER_TABLE_PARSER)(const void *Table, ULONG_PTR Length,
                                          KI_ACPI_TIMERS *Timers, char *Reason,
                                          ULONG ReasonSize);

/* Find one table and parse it; a missing table is silent, a broken one is
 * one line. */
static void load(const char Signature[4], KI_TIMER_TABLE_PARSER parse)
{
    char reason[160];
    const ACPI_DESCRIPTION_HEADER *table = KiFindBootAcpiTable(Signature, reason, sizeof(reason));

    if (table != NULL && !NT_SUCCESS(parse(table, table->Length, &KiAcpiTimers, reason,
                                           sizeof(reason))))
        kprintf("ACPI: %s; not using it\n", reason);
}

void KiInitializeAcpiTimers(void)
{
    load("FACP", KiParseFadtPmTimer);
    load("HPET", KiParseHpet);
}
