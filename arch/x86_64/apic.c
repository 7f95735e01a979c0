/*
 * apic.c - local APIC access in xAPIC (MMIO) or x2APIC (MSR) mode.
 *
 * SDM Vol. 3A chapter 11 "Advanced Programmable Interrupt Controller".  The
 * mode is chosen once on the boot CPU: x2APIC when CPUID.1:ECX[21] says the
 * CPU has it (and the `apic=xapic` option does not forbid it).  Sending an
 * IPI in xAPIC mode takes two register writes (destination, then command),
 * so it runs with interrupts off: an ISR on this CPU sending its own IPI in
 * between would send ours to its destination.
 */
#include "wdm.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "kernel/irql/interrupt.h"
#include "kernel/options.h"
#include "kernel/debug/race.h"
#include "kernel/irql/vectors.h"
#include "string.h"

#define APIC_BASE_ENABLE    (1u << 11)      /* IA32_APIC_BASE: global enable */
#define APIC_BASE_X2APIC    (1u << 10)      /* IA32_APIC_BASE: x2APIC mode */
#define APIC_MMIO_BASE      0xFEE00000ull
#define X2APIC_MSR(reg)     (0x800 + ((reg) >> 4))
#define X2APIC_ICR          0x830           /* one 64-bit MSR */
#define PIC1_DATA           0x21            /* 8259 interrupt mask registers */
#define PIC2_DATA           0xA1

static BOOLEAN KiX2Apic;
static BOOLEAN KiX2ApicAllowed = TRUE;
static volatile ULONG *KiApicMmio = (volatile ULONG *)APIC_MMIO_BASE;

static void apply_apic(const char *value)
{
    KiX2ApicAllowed = strcmp(value, "xapic") != 0;
}
KERNEL_OPTION("apic", "apic=xapic forces xAPIC (MMIO) mode even where x2APIC exists", apply_apic);

BOOLEAN KiApicIsX2Apic(void)
{
    return KiX2Apic;
}

ULONG KiApicRead(ULONG reg)
{
    if (KiX2Apic)
        return (ULONG)rdmsr(X2APIC_MSR(reg));
    return KiApicMmio[reg / 4];
}

void KiApicWrite(ULONG reg, ULONG value)
{
    if (KiX2Apic)
        wrmsr(X2APIC_MSR(reg), value);
    else
        KiApicMmio[reg / 4] = value;
}

ULONG KiApicId(void)
{
    ULONG id = KiApicRead(APIC_ID);
    return KiX2Apic ? id : id >> 24;        /* xAPIC: id in bits 31:24 */
}

void KiApicEoi(void)
{
    KiApicWrite(APIC_EOI, 0);
}

static void send_ipi(ULONG ApicId, ULONG Command)
{
    uint64_t flags = interrupts_save_disable();

    if (KiX2Apic) {
        /* One WRMSR sends it; x2APIC has no delivery-status bit to poll. */
        wrmsr(X2APIC_ICR, ((uint64_t)ApicId << 32) | Command);
    } else {
        if (!(Command & ICR_DEST_OTHERS))       /* a shorthand ignores the destination */
            KiApicWrite(APIC_ICR_HIGH, ApicId << 24);
        KiApicWrite(APIC_ICR_LOW, Command);
        while (KiApicRead(APIC_ICR_LOW) & ICR_DELIVERY_PENDING)
            cpu_relax();
    }
    restore_rflags(flags);
}

void KiApicSendIpi(ULONG ApicId, ULONG Command)
{
    /* RACE builds: a software interrupt's self-IPI may be held back, as if
     * the APIC were slow to post it (kernel/debug/race.c, the latency model). */
    if (KI_RACE && (Command & ICR_DEST_OTHERS) == ICR_DEST_SELF &&
        KiRaceHoldSelfIpi(Command & 0xFF))
        return;
    send_ipi(ApicId, Command);
}

BOOLEAN KiApicIsPending(ULONG Vector)
{
    if (KI_RACE && KiRaceReleaseSelfIpi(Vector))    /* the held self-IPI lands now */
        send_ipi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | Vector);
    return (KiApicRead(APIC_IRR + 0x10 * (Vector / 32)) >> (Vector % 32)) & 1;
}

void KiApicSendHeldSelfIpi(void)
{
    ULONG vector = KI_RACE ? KiRaceTakeHeldSelfIpi() : 0;

    if (vector)
        send_ipi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | vector);
}

/* Vector 0xE2: the APIC found an error in a message it sent or received
 * (SDM Vol. 3A 11.5.3).  Worth a line on the console, not a stop. */
static VOID apic_error_interrupt(PKTRAP_FRAME f, PVOID context)
{
    UNREFERENCED_PARAMETER(f);
    UNREFERENCED_PARAMETER(context);
    KiApicWrite(APIC_ESR, 0);           /* latch the current errors */
    DbgPrint("apic: error interrupt, ESR = 0x%x\n", KiApicRead(APIC_ESR));
}

void KiInitializeLocalApic(BOOLEAN BootProcessor)
{
    uint32_t r[4];

    if (BootProcessor) {
        cpuid(1, 0, r);
        KiX2Apic = KiX2ApicAllowed && (r[2] & (1u << 21));
        outb(PIC1_DATA, 0xFF);          /* mask every 8259 input: the I/O */
        outb(PIC2_DATA, 0xFF);          /* APIC delivers device interrupts */
        KiSetInterruptHandler(KI_VECTOR_APIC_ERROR, apic_error_interrupt, NULL);
    }
    uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;
    if (KiX2Apic)
        base |= APIC_BASE_X2APIC;
    wrmsr(MSR_APIC_BASE, base);

    KiApicWrite(APIC_SVR, APIC_SVR_ENABLE | KI_VECTOR_SPURIOUS);
    KiApicWrite(APIC_LVT_TIMER, APIC_LVT_MASKED | KI_VECTOR_CLOCK);
    KiApicWrite(APIC_LVT_LINT0, APIC_LVT_MASKED);      /* the 8259s stay silent */
    KiApicWrite(APIC_LVT_LINT1, APIC_LVT_NMI);         /* MADT: LINT1 is NMI on PCs */
    KiApicWrite(APIC_LVT_ERROR, KI_VECTOR_APIC_ERROR);
    KiApicWrite(APIC_ESR, 0);                          /* back-to-back writes clear it */
    KiApicWrite(APIC_ESR, 0);
    __writecr8(PASSIVE_LEVEL);
}
