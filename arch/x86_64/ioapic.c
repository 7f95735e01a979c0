/*
 * ioapic.c - program the I/O APICs' redirection entries.
 *
 * Intel 82093AA I/O APIC datasheet (the register model every PC I/O APIC
 * and QEMU's keep): two registers are memory-mapped, IOREGSEL at +0x00
 * (an index) and IOWIN at +0x10 (the data of the indexed register), so each
 * access is a pair of MMIO operations and must not be split by another CPU's
 * pair: KiIoApicLock serialises them.  The indexed registers (3.2):
 *
 *   0x00 IOAPICID     bits 27:24 the I/O APIC's own id
 *   0x01 IOAPICVER    bits 7:0 version, 23:16 highest redirection entry
 *   0x10 + 2n         redirection entry n, low dword (vector, mode, mask...)
 *   0x11 + 2n         redirection entry n, high dword (destination)
 *
 * The MADT (kernel/acpi/acpi.h) gives each I/O APIC's physical address and the
 * GSI of its input 0; the first 4 GiB are identity-mapped (the 4th GiB,
 * where I/O APICs live at 0xFEC00000, uncached), so the address is the
 * pointer.  Every entry is masked at boot; kernel/io/iointerrupt.c unmasks an
 * input when an ISR is connected to its vector.
 */
#include "wdm.h"
#include "kernel/acpi/acpi.h"
#include "kernel/console/console.h"
#include "arch/x86_64/ioapic.h"

#define IOREGSEL            0x00
#define IOWIN               0x10
#define IOAPIC_REG_ID       0x00
#define IOAPIC_REG_VER      0x01
#define IOAPIC_REG_RTE(n)   (0x10 + 2 * (n))

#define KI_4GB              0x100000000ull

typedef struct _KI_IOAPIC {
    volatile ULONG *Mmio;
    ULONG Id;                   /* from the MADT (IOAPICID may differ on odd firmware) */
    ULONG GsiBase;
    ULONG Inputs;               /* redirection entries: IOAPICVER[23:16] + 1 */
} KI_IOAPIC;

/* KiIoApicLock: one IOREGSEL/IOWIN pair at a time, on every I/O APIC.  Taken
 * at HIGH_LEVEL, so that nothing on this CPU can interrupt a holder and
 * want it again.  KiIoApics is written once at boot, then read-only. */
static KSPIN_LOCK KiIoApicLock;
static KI_IOAPIC KiIoApics[KI_MAX_IOAPICS];
static ULONG KiIoApicCount;

/* Both with KiIoApicLock held. */
static ULONG ioapic_read(const KI_IOAPIC *a, ULONG reg)
{
    a->Mmio[IOREGSEL / 4] = reg;
    return a->Mmio[IOWIN / 4];
}

static void ioapic_write(const KI_IOAPIC *a, ULONG reg, ULONG value)
{
    a->Mmio[IOREGSEL / 4] = reg;
    a->Mmio[IOWIN / 4] = value;
}

static KIRQL lock_ioapics(void)
{
    KIRQL old = KfRaiseIrql(HIGH_LEVEL);
    KeAcquireSpinLockAtDpcLevel(&KiIoApicLock);
    return old;
}

static void unlock_ioapics(KIRQL old)
{
    KeReleaseSpinLockFromDpcLevel(&KiIoApicLock);
    KeLowerIrql(old);
}

/* The I/O APIC that has an input for Gsi, and the input's index there. */
static const KI_IOAPIC *find_gsi(ULONG Gsi, PULONG Input)
{
    for (ULONG i = 0; i < KiIoApicCount; i++) {
        const KI_IOAPIC *a = &KiIoApics[i];
        if (Gsi >= a->GsiBase && Gsi - a->GsiBase < a->Inputs) {
            *Input = Gsi - a->GsiBase;
            return a;
        }
    }
    return NULL;
}

ULONG KiInitializeIoApics(void)
{
    ULONG inputs = 0;

    for (ULONG i = 0; i < KiMadt.IoApicCount && KiIoApicCount < KI_MAX_IOAPICS; i++) {
        const KI_ACPI_IOAPIC *m = &KiMadt.IoApics[i];
        if ((ULONG64)m->Address + 0x20 > KI_4GB || m->Address == 0) {
            kprintf("ioapic: I/O APIC %u at 0x%x is not addressable; ignored\n", m->Id, m->Address);
            continue;
        }
        KI_IOAPIC *a = &KiIoApics[KiIoApicCount];
        a->Mmio = (volatile ULONG *)(ULONG_PTR)m->Address;
        a->Id = m->Id;
        a->GsiBase = m->GsiBase;

        KIRQL old = lock_ioapics();
        a->Inputs = ((ioapic_read(a, IOAPIC_REG_VER) >> 16) & 0xFF) + 1;
        /* Whatever the firmware left: masked, edge, vector 0 (never valid,
         * so a stray unmask would show as an APIC error, not a wrong ISR). */
        for (ULONG n = 0; n < a->Inputs; n++) {
            ioapic_write(a, IOAPIC_REG_RTE(n), IOAPIC_RTE_MASKED);
            ioapic_write(a, IOAPIC_REG_RTE(n) + 1, 0);
        }
        unlock_ioapics(old);

        kprintf("ioapic: id %u at 0x%x, GSIs %u-%u, all masked\n", a->Id, m->Address,
                a->GsiBase, a->GsiBase + a->Inputs - 1);
        inputs += a->Inputs;
        KiIoApicCount++;
    }
    if (KiIoApicCount == 0)
        kprintf("ioapic: none in the MADT; no device interrupts\n");
    return inputs;
}

BOOLEAN KiIoApicHasGsi(ULONG Gsi)
{
    ULONG input;
    return find_gsi(Gsi, &input) != NULL;
}

KI_IOAPIC_WIRING KiIoApicDecodeIntiFlags(USHORT Flags)
{
    KI_IOAPIC_WIRING w;

    /* ISA conforms to active high, edge; 2 (reserved) is treated as the bus
     * default too. */
    w.ActiveLow = (Flags & KI_MPS_INTI_POLARITY_MASK) == KI_MPS_INTI_POLARITY_LOW;
    w.LevelTriggered = (Flags & KI_MPS_INTI_TRIGGER_MASK) == KI_MPS_INTI_TRIGGER_LEVEL;
    return w;
}

BOOLEAN KiIoApicIsaIrqToGsi(ULONG Irq, PULONG Gsi, KI_IOAPIC_WIRING *Wiring)
{
    if (Irq > 15)
        return FALSE;
    for (ULONG i = 0; i < KiMadt.OverrideCount; i++) {
        const KI_ACPI_OVERRIDE *o = &KiMadt.Overrides[i];
        if (o->Bus == 0 && o->SourceIrq == Irq) {
            *Gsi = o->Gsi;
            *Wiring = KiIoApicDecodeIntiFlags(o->Flags);
            return TRUE;
        }
    }
    /* No override: identity-mapped with the ISA defaults, unless another
     * IRQ was moved onto this GSI (IRQ 0 -> GSI 2 on PCs leaves the 8259
     * cascade, IRQ 2, with no input of its own). */
    for (ULONG i = 0; i < KiMadt.OverrideCount; i++)
        if (KiMadt.Overrides[i].Bus == 0 && KiMadt.Overrides[i].Gsi == Irq)
            return FALSE;
    *Gsi = Irq;
    *Wiring = KiIoApicDecodeIntiFlags(0);
    return TRUE;
}

NTSTATUS KiIoApicProgram(ULONG Gsi, ULONG Vector, KI_IOAPIC_WIRING Wiring, ULONG DestApicId,
                         BOOLEAN Masked)
{
    ULONG input;
    const KI_IOAPIC *a = find_gsi(Gsi, &input);

    if (!a || Vector < 0x10 || Vector > 0xFE || DestApicId > 0xFF)
        return STATUS_INVALID_PARAMETER;

    ULONG low = Vector | IOAPIC_RTE_FIXED;  /* physical destination mode: bit 11 = 0 */
    if (Wiring.ActiveLow)
        low |= IOAPIC_RTE_ACTIVE_LOW;
    if (Wiring.LevelTriggered)
        low |= IOAPIC_RTE_LEVEL;

    KIRQL old = lock_ioapics();
    ioapic_write(a, IOAPIC_REG_RTE(input), IOAPIC_RTE_MASKED);      /* off while half-written */
    ioapic_write(a, IOAPIC_REG_RTE(input) + 1, DestApicId << (IOAPIC_RTE_DEST_SHIFT - 32));
    ioapic_write(a, IOAPIC_REG_RTE(input), low | (Masked ? IOAPIC_RTE_MASKED : 0));
    unlock_ioapics(old);
    return STATUS_SUCCESS;
}

/* Read-modify-write of the low dword: the read-only bits (delivery status,
 * remote IRR) read back as they are and are ignored on write. */
static void update_low(ULONG Gsi, ULONG Clear, ULONG Set)
{
    ULONG input;
    const KI_IOAPIC *a = find_gsi(Gsi, &input);

    if (!a)
        return;
    KIRQL old = lock_ioapics();
    ULONG low = ioapic_read(a, IOAPIC_REG_RTE(input));
    ioapic_write(a, IOAPIC_REG_RTE(input), (low & ~Clear) | Set);
    unlock_ioapics(old);
}

VOID KiIoApicMask(ULONG Gsi)
{
    update_low(Gsi, 0, IOAPIC_RTE_MASKED);
}

VOID KiIoApicUnmask(ULONG Gsi)
{
    update_low(Gsi, IOAPIC_RTE_MASKED, 0);
}

VOID KiIoApicSetDestination(ULONG Gsi, ULONG DestApicId)
{
    ULONG input;
    const KI_IOAPIC *a = find_gsi(Gsi, &input);

    if (!a || DestApicId > 0xFF)
        return;
    KIRQL old = lock_ioapics();
    ioapic_write(a, IOAPIC_REG_RTE(input) + 1, DestApicId << (IOAPIC_RTE_DEST_SHIFT - 32));
    unlock_ioapics(old);
}

ULONG64 KiIoApicReadEntry(ULONG Gsi)
{
    ULONG input;
    const KI_IOAPIC *a = find_gsi(Gsi, &input);

    if (!a)
        return 0;
    KIRQL old = lock_ioapics();
    ULONG low = ioapic_read(a, IOAPIC_REG_RTE(input));
    ULONG high = ioapic_read(a, IOAPIC_REG_RTE(input) + 1);
    unlock_ioapics(old);
    return ((ULONG64)high << 32) | low;
}
