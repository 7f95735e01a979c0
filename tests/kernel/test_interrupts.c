/*
 * test_interrupts.c - device interrupts: IoConnectInterrupt's contract, an
 * ISR fired by IPI at its device vector (level, processor, context, lock),
 * shared vectors, IoDisconnectInterrupt, the I/O APIC entries, and COM1's
 * real receive interrupt through the I/O APIC (kernel/io/iointerrupt.c,
 * arch/x86_64/ioapic.c, kernel/io/serial_input.c, docs/interrupts.md).
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/acpi/acpi.h"
#include "kernel/io/iointerrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/io/serial_input.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ioapic.h"

#define WAIT_US 2000000                 /* generous: 8 vCPUs share 2 host cores */


/* Test vectors: low nibble 0xA, clear of the IRQL tests' 0x?C, the ISA
 * IRQs' 0x?8/0x?9 and the benchmarks' 0xCD. */
#define KT_VECTOR(level) ((ULONG)(((level) << 4) | 0xA))

/* What each ISR call saw. */
struct isr_record {
    volatile ULONG Calls;
    volatile ULONG Cpu;
    volatile KIRQL Irql;
    volatile ULONG_PTR LockWord;
    PKINTERRUPT volatile Interrupt;
    PVOID volatile Context;
    BOOLEAN Claim;                      /* what the ISR returns */
    volatile ULONG Order;               /* global call order stamp */
};

static volatile ULONG KtOrder;

static BOOLEAN recording_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    struct isr_record *r = ServiceContext;

    r->Cpu = KeGetCurrentProcessorNumber();
    r->Irql = KeGetCurrentIrql();
    r->LockWord = *(volatile KSPIN_LOCK *)Interrupt->ActualLock;
    r->Interrupt = Interrupt;
    r->Context = ServiceContext;
    r->Order = ++KtOrder;
    r->Calls++;
    return r->Claim;
}

static BOOLEAN dummy_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    return TRUE;
}

/* The value a held executive spin lock word has on this CPU. */
static ULONG_PTR held_word(void)
{
    return DBG ? (ULONG_PTR)KeGetCurrentPrcb() | 1 : 1;
}

static BOOLEAN wait_calls(volatile ULONG *calls, ULONG count)
{
    for (ULONG waited = 0; *calls < count; waited += 10) {
        if (waited > WAIT_US)
            return FALSE;
        KeStallExecutionProcessor(10);
    }
    return TRUE;
}

static void fire_self(ULONG vector)
{
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | vector);
}

static void fire_at(ULONG cpu, ULONG vector)
{
    KiApicSendIpi(KiProcessorBlock[cpu].Prcb.ApicId, ICR_FIXED | ICR_ASSERT | vector);
}

static KAFFINITY this_cpu(void)
{
    return (KAFFINITY)1 << KeGetCurrentProcessorNumber();
}

static NTSTATUS connect(PKINTERRUPT *out, PVOID context, PKSPIN_LOCK lock, ULONG vector,
                        KIRQL synchronize, KINTERRUPT_MODE mode, BOOLEAN share, KAFFINITY mask)
{
    return IoConnectInterrupt(out, recording_isr, context, lock, vector, KI_VECTOR_IRQL(vector),
                              synchronize, mode, share, mask, FALSE);
}

/* ---- IoConnectInterrupt's contract ------------------------------------- */

KTEST(interrupt_connect_rejects_bad_arguments)
{
    PKINTERRUPT sentinel = (PKINTERRUPT)0x5EED;
    PKINTERRUPT out = sentinel;
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    KAFFINITY all = KeQueryActiveProcessors();
    ULONG v = KT_VECTOR(5);
    ULONG in_use = KiGetInterruptObjectsInUse();

    /* Each call differs from a good one (vector v, IRQL 5, all CPUs) in one
     * argument; *InterruptObject must stay as it was. */
#define KT_REJECTS(routine, vector, irql, synchronize, mode, mask, floating)                   \
    do {                                                                                      \
        out = sentinel;                                                                       \
        KT_EXPECT_EQ(IoConnectInterrupt(&out, routine, NULL, NULL, vector, irql, synchronize, \
                                        mode, FALSE, mask, floating),                         \
                     STATUS_INVALID_PARAMETER);                                               \
        KT_EXPECT_EQ(out, sentinel);                                                          \
    } while (0)

    KT_EXPECT_EQ(IoConnectInterrupt(NULL, dummy_isr, NULL, NULL, v, 5, 5, Latched, FALSE, all,
                                    FALSE),
                 STATUS_INVALID_PARAMETER);
    KT_REJECTS(NULL, v, 5, 5, Latched, all, FALSE);
    /* Vectors outside 0x30..0xCF: software, clock, exceptions, beyond 255. */
    KT_REJECTS(dummy_isr, 0x2F, 2, 2, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, 0x2A, 2, 3, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, 0xD1, 13, 13, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, 0xD0, 13, 13, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, 0x0E, 0, 3, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, 0x13A, 3, 3, Latched, all, FALSE);
    /* Irql must be the vector's class. */
    KT_REJECTS(dummy_isr, v, 4, 5, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, v, 6, 6, Latched, all, FALSE);
    /* SynchronizeIrql below Irql, or above the highest DIRQL (12). */
    KT_REJECTS(dummy_isr, v, 5, 4, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, v, 5, 13, Latched, all, FALSE);
    KT_REJECTS(dummy_isr, v, 5, HIGH_LEVEL, Latched, all, FALSE);
    /* A mode that is neither LevelSensitive nor Latched. */
    KT_REJECTS(dummy_isr, v, 5, 5, (KINTERRUPT_MODE)2, all, FALSE);
    /* No processor, or one that is not online. */
    KT_REJECTS(dummy_isr, v, 5, 5, Latched, 0, FALSE);
    if (cpus < MAXIMUM_PROCESSORS) {
        KT_REJECTS(dummy_isr, v, 5, 5, Latched, (KAFFINITY)1 << cpus, FALSE);
        KT_REJECTS(dummy_isr, v, 5, 5, Latched, all | ((KAFFINITY)1 << cpus), FALSE);
    }
    /* x64: FloatingSave must be FALSE. */
    KT_REJECTS(dummy_isr, v, 5, 5, Latched, all, TRUE);
#undef KT_REJECTS

    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), in_use);     /* nothing leaked */

    /* The same call with every argument right succeeds. */
    KT_ASSERT_EQ(
        IoConnectInterrupt(&out, dummy_isr, NULL, NULL, v, 5, 5, Latched, FALSE, all, FALSE),
        STATUS_SUCCESS);
    IoDisconnectInterrupt(out);
}

KTEST(interrupt_connect_fills_the_object)
{
    static struct isr_record r;
    static KSPIN_LOCK caller_lock;
    PKINTERRUPT a = NULL, b = NULL;
    KAFFINITY all = KeQueryActiveProcessors();
    ULONG in_use = KiGetInterruptObjectsInUse();

    KT_ASSERT_EQ(connect(&a, &r, NULL, KT_VECTOR(5), 7, LevelSensitive, TRUE, all), STATUS_SUCCESS);
    KT_EXPECT_NE(a, NULL);
    KT_EXPECT_EQ(a->Type, InterruptObject);
    KT_EXPECT_EQ(a->Type, 22);
    KT_EXPECT_EQ(a->Size, sizeof(KINTERRUPT));
    KT_EXPECT_EQ(a->ServiceRoutine, recording_isr);
    KT_EXPECT_EQ(a->ServiceContext, &r);
    KT_EXPECT_EQ(a->ActualLock, &a->SpinLock);
    KT_EXPECT_EQ(a->SpinLock, 0);
    KT_EXPECT_EQ(a->Vector, KT_VECTOR(5));
    KT_EXPECT_EQ(a->Irql, 5);
    KT_EXPECT_EQ(a->SynchronizeIrql, 7);
    KT_EXPECT_EQ(a->Mode, LevelSensitive);
    KT_EXPECT_EQ(a->ShareVector, TRUE);
    KT_EXPECT_EQ(a->FloatingSave, FALSE);
    KT_EXPECT_EQ(a->Connected, TRUE);
    KT_EXPECT_EQ(a->Number, 0);
    KT_EXPECT_EQ(a->ProcessorEnableMask, all);
    KT_EXPECT_EQ(a->Polarity, InterruptPolarityUnknown);    /* no I/O APIC input behind it */
    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), in_use + 1);

    /* With the caller's lock (a multi-vector ISR): ActualLock is that lock. */
    NTSTATUS status = connect(&b, &r, &caller_lock, KT_VECTOR(4), 5, Latched, FALSE,
                              all & ~(KAFFINITY)1 ? all & ~(KAFFINITY)1 : all);
    KT_EXPECT_EQ(status, STATUS_SUCCESS);
    if (!NT_SUCCESS(status)) {
        IoDisconnectInterrupt(a);
        return;
    }
    KT_EXPECT_NE(b, a);
    KT_EXPECT_EQ(b->ActualLock, &caller_lock);
    KT_EXPECT_EQ(b->Irql, 4);
    KT_EXPECT_EQ(b->SynchronizeIrql, 5);
    KT_EXPECT_EQ(b->Mode, Latched);
    KT_EXPECT_EQ(b->ShareVector, FALSE);
    KT_EXPECT_EQ(b->Number, KeQueryActiveProcessorCount(NULL) > 1 ? 1 : 0);
    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), in_use + 2);

    IoDisconnectInterrupt(a);
    IoDisconnectInterrupt(b);
    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), in_use);
}

/* ---- Delivery ------------------------------------------------------------ */

/* Fire each (vector, SynchronizeIrql) once at this CPU: the ISR runs once,
 * at SynchronizeIrql, here, with its object and context, holding the lock. */
KTEST(interrupt_isr_runs_once_at_synchronize_irql)
{
    static const struct { UCHAR Level, Synchronize; } cases[] = {
        { 3, 3 }, { 5, 5 }, { 5, 7 }, { 9, 12 }, { 12, 12 },
    };

    for (ULONG c = 0; c < ARRAYSIZE(cases); c++) {
        static struct isr_record r;
        PKINTERRUPT i;
        ULONG vector = KT_VECTOR(cases[c].Level);

        memset((void *)&r, 0, sizeof(r));
        r.Claim = TRUE;
        KT_ASSERT_EQ(
            connect(&i, &r, NULL, vector, cases[c].Synchronize, Latched, FALSE, this_cpu()),
            STATUS_SUCCESS);
        fire_self(vector);
        KT_EXPECT_TRUE(wait_calls(&r.Calls, 1));
        KeStallExecutionProcessor(1000);            /* a second call would show by now */
        KT_EXPECT_EQ(r.Calls, 1);
        KT_EXPECT_EQ(r.Irql, cases[c].Synchronize);
        KT_EXPECT_EQ(r.Cpu, KeGetCurrentProcessorNumber());
        KT_EXPECT_EQ(r.Interrupt, i);
        KT_EXPECT_EQ(r.Context, &r);
        KT_EXPECT_EQ(r.LockWord, held_word());      /* ActualLock held, by this CPU */
        KT_EXPECT_EQ(i->SpinLock, 0);               /* and free again */
        KT_EXPECT_EQ(i->DispatchCount, 1);
        KT_EXPECT_EQ(i->ServiceCount, 1);
        KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
        IoDisconnectInterrupt(i);
    }
}

/* An ISR connected to processor n runs there when n is sent the vector;
 * sent to a processor outside its mask, it does not run (unclaimed). */
KTEST(interrupt_isr_runs_on_its_processor)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG vector = KT_VECTOR(6);

    for (ULONG n = 0; n < cpus; n++) {
        static struct isr_record r;
        PKINTERRUPT i;

        memset((void *)&r, 0, sizeof(r));
        r.Claim = TRUE;
        KT_ASSERT_EQ(connect(&i, &r, NULL, vector, 6, Latched, FALSE, (KAFFINITY)1 << n), STATUS_SUCCESS);
        KT_EXPECT_EQ(i->Number, n);
        fire_at(n, vector);
        KT_EXPECT_TRUE(wait_calls(&r.Calls, 1));
        KT_EXPECT_EQ(r.Cpu, n);
        KT_EXPECT_EQ(r.Irql, 6);

        if (cpus > 1) {                             /* the wrong processor: not called */
            ULONG other = (n + 1) % cpus;
            ULONG unclaimed = KiGetUnclaimedInterruptCount(vector);
            fire_at(other, vector);
            for (ULONG w = 0; w < WAIT_US; w += 10) {
                if (KiGetUnclaimedInterruptCount(vector) != unclaimed)
                    break;
                KeStallExecutionProcessor(10);
            }
            KT_EXPECT_EQ(KiGetUnclaimedInterruptCount(vector), unclaimed + 1);
            KT_EXPECT_EQ(r.Calls, 1);
        }
        IoDisconnectInterrupt(i);
    }
}

KTEST(interrupt_disconnect_stops_delivery)
{
    static struct isr_record r;
    PKINTERRUPT i;
    ULONG vector = KT_VECTOR(8);
    ULONG in_use = KiGetInterruptObjectsInUse();

    memset((void *)&r, 0, sizeof(r));
    r.Claim = TRUE;
    KT_ASSERT_EQ(connect(&i, &r, NULL, vector, 8, Latched, FALSE, this_cpu()), STATUS_SUCCESS);
    fire_self(vector);
    KT_EXPECT_TRUE(wait_calls(&r.Calls, 1));

    IoDisconnectInterrupt(i);
    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), in_use);
    KT_EXPECT_EQ(i->Type, 0);                       /* back in the pool */
    ULONG unclaimed = KiGetUnclaimedInterruptCount(vector);
    fire_self(vector);
    KeStallExecutionProcessor(1000);
    KT_EXPECT_EQ(r.Calls, 1);                       /* not called again */
    KT_EXPECT_EQ(KiGetUnclaimedInterruptCount(vector), unclaimed + 1);
    IoDisconnectInterrupt(i);                       /* a second disconnect is ignored */
    IoDisconnectInterrupt(NULL);
    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), in_use);

    /* The vector can be connected again. */
    KT_ASSERT_EQ(connect(&i, &r, NULL, vector, 8, Latched, FALSE, this_cpu()), STATUS_SUCCESS);
    fire_self(vector);
    KT_EXPECT_TRUE(wait_calls(&r.Calls, 2));
    IoDisconnectInterrupt(i);
}

/* Shared vectors: LevelSensitive stops at the first ISR that claims the
 * interrupt, Latched offers it to every ISR; both in connection order. */
KTEST(interrupt_shared_vector)
{
    static struct isr_record first, second;
    PKINTERRUPT a, b, c;
    ULONG vector = KT_VECTOR(7);

    memset((void *)&first, 0, sizeof(first));
    memset((void *)&second, 0, sizeof(second));
    KT_ASSERT_EQ(connect(&a, &first, NULL, vector, 7, LevelSensitive, TRUE, this_cpu()), STATUS_SUCCESS);
    if (!NT_SUCCESS(connect(&b, &second, NULL, vector, 7, LevelSensitive, TRUE, this_cpu()))) {
        ktest_fail(__FILE__, __LINE__, "a second sharer was refused");
        IoDisconnectInterrupt(a);
        return;
    }
    /* Sharing needs everyone's consent and one mode. */
    KT_EXPECT_EQ(connect(&c, &second, NULL, vector, 7, LevelSensitive, FALSE, this_cpu()),
                 STATUS_INVALID_PARAMETER);
    KT_EXPECT_EQ(connect(&c, &second, NULL, vector, 7, Latched, TRUE, this_cpu()),
                 STATUS_INVALID_PARAMETER);

    first.Claim = FALSE;                            /* not my device */
    second.Claim = TRUE;
    fire_self(vector);
    KT_EXPECT_TRUE(wait_calls(&second.Calls, 1));
    KT_EXPECT_EQ(first.Calls, 1);
    KT_EXPECT_TRUE(first.Order < second.Order);
    KT_EXPECT_EQ(first.Irql, 7);
    KT_EXPECT_EQ(second.Irql, 7);

    first.Claim = TRUE;                             /* the first claims: the second is skipped */
    fire_self(vector);
    KT_EXPECT_TRUE(wait_calls(&first.Calls, 2));
    KeStallExecutionProcessor(1000);
    KT_EXPECT_EQ(second.Calls, 1);
    KT_EXPECT_EQ(a->ServiceCount, 1);
    KT_EXPECT_EQ(a->DispatchCount, 2);
    IoDisconnectInterrupt(a);
    IoDisconnectInterrupt(b);

    /* Latched: both run even though the first claims. */
    memset((void *)&first, 0, sizeof(first));
    memset((void *)&second, 0, sizeof(second));
    first.Claim = second.Claim = TRUE;
    KT_ASSERT_EQ(connect(&a, &first, NULL, vector, 7, Latched, TRUE, this_cpu()), STATUS_SUCCESS);
    if (!NT_SUCCESS(connect(&b, &second, NULL, vector, 8, Latched, TRUE, this_cpu()))) {
        ktest_fail(__FILE__, __LINE__, "a second Latched sharer was refused");
        IoDisconnectInterrupt(a);
        return;
    }
    fire_self(vector);
    KT_EXPECT_TRUE(wait_calls(&second.Calls, 1));
    KT_EXPECT_EQ(first.Calls, 1);
    KT_EXPECT_EQ(first.Irql, 7);
    KT_EXPECT_EQ(second.Irql, 8);                   /* each at its own SynchronizeIrql */
    IoDisconnectInterrupt(a);
    IoDisconnectInterrupt(b);

    /* A vector held by a non-sharer takes nobody else. */
    KT_ASSERT_EQ(connect(&a, &first, NULL, vector, 7, Latched, FALSE, this_cpu()), STATUS_SUCCESS);
    KT_EXPECT_EQ(connect(&c, &second, NULL, vector, 7, Latched, TRUE, this_cpu()),
                 STATUS_INVALID_PARAMETER);
    IoDisconnectInterrupt(a);
}

KTEST(interrupt_pool_exhaustion)
{
    static PKINTERRUPT objects[KI_MAX_INTERRUPT_OBJECTS + 1];
    ULONG in_use = KiGetInterruptObjectsInUse();
    ULONG connected = 0;
    NTSTATUS status = STATUS_SUCCESS;

    while (connected <= KI_MAX_INTERRUPT_OBJECTS) {
        status = IoConnectInterrupt(&objects[connected], dummy_isr, NULL, NULL, KT_VECTOR(3), 3, 3,
                                    LevelSensitive, TRUE, this_cpu(), FALSE);
        if (!NT_SUCCESS(status))
            break;
        connected++;
    }
    KT_EXPECT_EQ(status, STATUS_INSUFFICIENT_RESOURCES);
    KT_EXPECT_EQ(connected, KI_MAX_INTERRUPT_OBJECTS - in_use);
    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), KI_MAX_INTERRUPT_OBJECTS);
    for (ULONG i = 0; i < connected; i++)
        IoDisconnectInterrupt(objects[i]);
    KT_EXPECT_EQ(KiGetInterruptObjectsInUse(), in_use);
}

/* ---- The I/O APIC ---------------------------------------------------------- */

/* MPS INTI flags: bus default (ISA: high, edge), explicit high/low and
 * edge/level, and the reserved value 2 taken as the default. */
KTEST(interrupt_ioapic_decodes_inti_flags)
{
    for (USHORT polarity = 0; polarity < 4; polarity++)
        for (USHORT trigger = 0; trigger < 4; trigger++) {
            KI_IOAPIC_WIRING w = KiIoApicDecodeIntiFlags((USHORT)(polarity | (trigger << 2)));
            KT_EXPECT_EQ(w.ActiveLow, polarity == 3);
            KT_EXPECT_EQ(w.LevelTriggered, trigger == 3);
        }
}

/* ISA IRQs go through the MADT's overrides: on PCs (and QEMU) IRQ 0 is on
 * GSI 2, which leaves IRQ 2 without an input; an IRQ without an override is
 * the GSI of its number, active high, edge. */
KTEST(interrupt_ioapic_isa_overrides)
{
    ULONG gsi;
    KI_IOAPIC_WIRING w;

    if (KiMadt.IoApicCount == 0) {
        ktest_skip("no I/O APIC in the MADT");
        return;
    }
    for (ULONG irq = 0; irq < 16; irq++) {
        const KI_ACPI_OVERRIDE *o = NULL;
        BOOLEAN taken = FALSE;
        for (ULONG k = 0; k < KiMadt.OverrideCount; k++) {
            if (KiMadt.Overrides[k].Bus == 0 && KiMadt.Overrides[k].SourceIrq == irq)
                o = &KiMadt.Overrides[k];
            if (KiMadt.Overrides[k].Bus == 0 && KiMadt.Overrides[k].Gsi == irq)
                taken = TRUE;
        }
        BOOLEAN found = KiIoApicIsaIrqToGsi(irq, &gsi, &w);
        if (o) {
            KT_EXPECT_TRUE(found);
            KT_EXPECT_EQ(gsi, o->Gsi);
            KT_EXPECT_EQ(w.ActiveLow, (o->Flags & 3) == 3);
            KT_EXPECT_EQ(w.LevelTriggered, (o->Flags & 0xC) == 0xC);
        } else if (taken) {
            KT_EXPECT_TRUE(!found);
        } else {
            KT_EXPECT_TRUE(found);
            KT_EXPECT_EQ(gsi, irq);
            KT_EXPECT_EQ(w.ActiveLow, FALSE);
            KT_EXPECT_EQ(w.LevelTriggered, FALSE);
        }
    }
    KT_EXPECT_TRUE(!KiIoApicIsaIrqToGsi(16, &gsi, &w));

    /* What QEMU's and every PC's MADT says about the timer. */
    KT_ASSERT_TRUE(KiIoApicIsaIrqToGsi(0, &gsi, &w));
    if (gsi != 2) {
        ktest_skip("no IRQ 0 -> GSI 2 override in this MADT");
        return;
    }
    KT_EXPECT_TRUE(!KiIoApicIsaIrqToGsi(2, &gsi, &w));
}

static void expect_irq4_entry(ULONG cpu, BOOLEAN masked)
{
    ULONG gsi;
    KI_IOAPIC_WIRING w;

    KT_ASSERT_TRUE(KiIoApicIsaIrqToGsi(KI_SERIAL_ISA_IRQ, &gsi, &w));
    ULONG64 e = KiIoApicReadEntry(gsi);
    KT_EXPECT_EQ(e & IOAPIC_RTE_VECTOR_MASK, KI_ISA_IRQ_VECTOR(4));
    KT_EXPECT_EQ(e & IOAPIC_RTE_VECTOR_MASK, 0x98);
    KT_EXPECT_EQ(e & IOAPIC_RTE_DELIVERY_MASK, IOAPIC_RTE_FIXED);
    KT_EXPECT_EQ(e & IOAPIC_RTE_LOGICAL, 0);                        /* physical */
    KT_EXPECT_EQ(!!(e & IOAPIC_RTE_ACTIVE_LOW), w.ActiveLow);
    KT_EXPECT_EQ(!!(e & IOAPIC_RTE_LEVEL), w.LevelTriggered);
    KT_EXPECT_EQ(!!(e & IOAPIC_RTE_MASKED), masked);
    if (!masked)
        KT_EXPECT_EQ(e >> IOAPIC_RTE_DEST_SHIFT, KiProcessorBlock[cpu].Prcb.ApicId);
}

/* IRQ 4's entry: masked until the ISR connects, then unmasked with COM1's
 * vector, the MADT's wiring (QEMU: none for IRQ 4, so high and edge) and
 * the chosen processor's APIC id; masked again on disconnect. */
KTEST(interrupt_ioapic_irq4_entry)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    KIRQL irql;
    KAFFINITY affinity;
    KINTERRUPT_MODE mode;
    ULONG gsi;
    KI_IOAPIC_WIRING w;

    KT_ASSERT_TRUE(KiIoApicIsaIrqToGsi(KI_SERIAL_ISA_IRQ, &gsi, &w));
    if (!KiIoApicHasGsi(gsi)) {
        ktest_skip("no I/O APIC input for IRQ 4");
        return;
    }
    KT_EXPECT_EQ(KiGetIsaInterruptVector(4, &irql, &affinity, &mode), 0x98);
    KT_EXPECT_EQ(irql, 9);
    KT_EXPECT_EQ(affinity, KeQueryActiveProcessors());
    KT_EXPECT_EQ(mode, w.LevelTriggered ? LevelSensitive : Latched);
    ULONG vector_gsi = ~0u;
    KT_EXPECT_TRUE(KiGetVectorGsi(0x98, &vector_gsi));
    KT_EXPECT_EQ(vector_gsi, gsi);
    KT_EXPECT_EQ(KiGetIsaInterruptVector(16, &irql, &affinity, &mode), 0);

    KiStopSerialInput();                            /* whatever a previous user left */
    expect_irq4_entry(0, TRUE);
    ULONG targets[2] = { 0, cpus - 1 };
    for (ULONG t = 0; t < (cpus > 1 ? 2u : 1u); t++) {
        KT_ASSERT_EQ(KiStartSerialInput(targets[t], FALSE), STATUS_SUCCESS);
        expect_irq4_entry(targets[t], FALSE);
        KI_SERIAL_INPUT_STATS s;
        KiGetSerialInputStats(&s);
        KT_EXPECT_EQ(s.Interrupt->Number, targets[t]);
        KT_EXPECT_EQ(s.Interrupt->Polarity, w.ActiveLow ? InterruptActiveLow : InterruptActiveHigh);
        KiStopSerialInput();
        expect_irq4_entry(0, TRUE);
    }
    KT_EXPECT_EQ(KiStartSerialInput(MAXIMUM_PROCESSORS, FALSE), STATUS_INVALID_PARAMETER);
}

/* ---- COM1: a real device interrupt -------------------------------------- */

/* The GSI of COM1's IRQ, FALSE (and the test skipped) if no I/O APIC has it. */
static BOOLEAN com1_gsi(PULONG gsi)
{
    KI_IOAPIC_WIRING w;

    if (KiIoApicIsaIrqToGsi(KI_SERIAL_ISA_IRQ, gsi, &w) && KiIoApicHasGsi(*gsi))
        return TRUE;
    ktest_skip("no I/O APIC input for IRQ 4");
    return FALSE;
}

/* Loop count bytes back through the UART, wait until they are received and
 * the DPC the ISR queued has run (or WAIT_US: the ISR's CPU may be a vCPU
 * the host deschedules for milliseconds between the two), then a little
 * more, and take the statistics. */
static void loop_back(const UCHAR *sent, ULONG count, KI_SERIAL_INPUT_STATS *s)
{
    KT_EXPECT_EQ(KiSerialLoopback(sent, count), count);
    for (ULONG waited = 0; waited < WAIT_US; waited += 100) {
        KiGetSerialInputStats(s);
        if (s->Received >= count && s->Dpcs >= 1)
            break;
        KeStallExecutionProcessor(100);
    }
    KeStallExecutionProcessor(2000);                /* anything extra would be in by now */
    KiGetSerialInputStats(s);
}

/* Bytes sent in the UART's loopback mode come back into its receive FIFO;
 * the receive interrupt travels IRQ 4 -> I/O APIC -> the chosen CPU, and the
 * ISR must hand over exactly those bytes.  The ISR queues its DPC, which
 * runs there at DISPATCH_LEVEL and, echo off, leaves the ring alone. */
KTEST(interrupt_com1_loopback_receive)
{
    static const UCHAR sent[] = { 'N', 'T', 's', 'y', 'n', 'c', 0x00, 0xFF, 0x7F, '\r' };
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG targets[2] = { 0, cpus - 1 };
    ULONG gsi;

    if (!com1_gsi(&gsi))
        return;
    KiStopSerialInput();
    for (ULONG t = 0; t < (cpus > 1 ? 2u : 1u); t++) {
        UCHAR got[sizeof(sent) + 4];
        KI_SERIAL_INPUT_STATS s;

        KT_ASSERT_EQ(KiStartSerialInput(targets[t], FALSE), STATUS_SUCCESS);
        loop_back(sent, sizeof(sent), &s);
        KT_EXPECT_EQ(s.Received, sizeof(sent));
        KT_EXPECT_EQ(s.Dropped, 0);
        KT_EXPECT_TRUE(s.Interrupts >= 1);
        KT_EXPECT_EQ(s.LastProcessor, targets[t]);
        KT_EXPECT_EQ(s.LastIrql, 9);
        KT_EXPECT_EQ(s.LastLockWord, DBG ? (ULONG_PTR)&KiProcessorBlock[targets[t]].Prcb | 1 : 1);
        KT_EXPECT_TRUE(s.Dpcs >= 1);
        KT_EXPECT_EQ(s.LastDpcProcessor, targets[t]);
        KT_EXPECT_EQ(s.LastDpcIrql, DISPATCH_LEVEL);
        KT_EXPECT_EQ(s.Echoed, 0);
        KT_EXPECT_EQ(s.Buffered, sizeof(sent));
        ULONG n = KiReadSerialInput(got, sizeof(got));
        KT_EXPECT_EQ(n, sizeof(sent));
        KT_EXPECT_EQ(memcmp(got, sent, sizeof(sent)), 0);
        KT_EXPECT_EQ(KiReadSerialInput(got, sizeof(got)), 0);
        KiStopSerialInput();
        if (ktest_failed())
            return;
    }
}

/* With echo (`make run`), the ISR's DPC is the ring's reader: it takes every
 * byte out (KeSynchronizeExecution) and writes the printable ones to the
 * console, on the ISR's CPU at DISPATCH_LEVEL.  What comes back here is a
 * KTAP comment line in the log. */
KTEST(interrupt_com1_echo_from_dpc)
{
    static const UCHAR sent[] = "# COM1 echo\r";  /* within the 16-byte receive FIFO */
    const ULONG count = sizeof(sent) - 1;
    ULONG target = KeQueryActiveProcessorCount(NULL) - 1;
    ULONG gsi;
    KI_SERIAL_INPUT_STATS s;
    UCHAR got[4];

    if (!com1_gsi(&gsi))
        return;
    KiStopSerialInput();
    KT_ASSERT_EQ(KiStartSerialInput(target, TRUE), STATUS_SUCCESS);
    KT_EXPECT_EQ(KiSerialLoopback(sent, count), count);
    for (ULONG waited = 0; waited < WAIT_US; waited += 100) {
        KiGetSerialInputStats(&s);
        if (s.Echoed >= count)
            break;
        KeStallExecutionProcessor(100);
    }
    KeStallExecutionProcessor(2000);
    KiGetSerialInputStats(&s);
    KT_EXPECT_EQ(s.Received, count);
    KT_EXPECT_EQ(s.Echoed, count);
    KT_EXPECT_EQ(s.Buffered, 0);
    KT_EXPECT_TRUE(s.Dpcs >= 1);
    KT_EXPECT_EQ(s.LastProcessor, target);
    KT_EXPECT_EQ(s.LastDpcProcessor, target);
    KT_EXPECT_EQ(s.LastDpcIrql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(KiReadSerialInput(got, sizeof(got)), 0);   /* the DPC took them */
    KiStopSerialInput();
}

/* COM1 wired as a level-triggered, active-high input (QEMU's UART holds its
 * IRQ line high while it has an interrupt pending, so the I/O APIC sees the
 * level; the MADT calls IRQ 4 edge, so the test overrides it).  Each message
 * must find the UART interrupting: an EOI sent before the ISR drained it
 * would clear remote IRR with the line still high and bring the interrupt
 * straight back, to find nothing (unclaimed, and an ISR call more than the
 * UART's interrupts).  Afterwards the entry must not be left waiting for an
 * EOI (remote IRR clear). */
KTEST(interrupt_com1_level_triggered_one_delivery_per_interrupt)
{
    static const UCHAR sent[] = { 'l', 'e', 'v', 'e', 'l', '\r' };
    static const KI_IOAPIC_WIRING level_high = { FALSE, TRUE };
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG targets[2] = { 0, cpus - 1 };
    ULONG gsi;

    if (!com1_gsi(&gsi))
        return;
    KiStopSerialInput();
    KiOverrideIsaInterruptWiring(KI_SERIAL_ISA_IRQ, &level_high);
    for (ULONG t = 0; t < (cpus > 1 ? 2u : 1u) && !ktest_failed(); t++) {
        KI_SERIAL_INPUT_STATS s;
        UCHAR got[sizeof(sent)];

        KT_ASSERT_EQ(KiStartSerialInput(targets[t], FALSE), STATUS_SUCCESS);
        KiGetSerialInputStats(&s);
        KT_EXPECT_EQ(s.Interrupt->Mode, LevelSensitive);
        KT_EXPECT_TRUE(KiIoApicReadEntry(gsi) & IOAPIC_RTE_LEVEL);
        ULONG unclaimed = KiGetUnclaimedInterruptCount(s.Vector);
        loop_back(sent, sizeof(sent), &s);
        KT_EXPECT_EQ(s.Received, sizeof(sent));
        KT_EXPECT_TRUE(s.Interrupts >= 1);
        KT_EXPECT_EQ(s.Interrupt->DispatchCount, s.Interrupts);
        KT_EXPECT_EQ(KiGetUnclaimedInterruptCount(s.Vector), unclaimed);
        KT_EXPECT_EQ(KiIoApicReadEntry(gsi) & IOAPIC_RTE_REMOTE_IRR, 0);
        KT_EXPECT_EQ(KiReadSerialInput(got, sizeof(got)), sizeof(sent));
        KiStopSerialInput();
    }
    KiOverrideIsaInterruptWiring(KI_SERIAL_ISA_IRQ, NULL);  /* the next start: the MADT's */
}

/* ---- Checks ---------------------------------------------------------------- */

#if DBG
static struct {
    ULONG Vector;
    PKINTERRUPT Interrupt;
} KtBadIsr;

static BOOLEAN raises_and_returns(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    KfRaiseIrql(8);                     /* and "forgets" to lower */
    return TRUE;
}

/* An ISR that returns at another IRQL than its SynchronizeIrql:
 * IRQL_UNEXPECTED_VALUE with P1 = (found << 16) | (expected << 8) | 3, the
 * ISR, its KINTERRUPT, the vector (WDK: Bug Check 0xC8, "Unique" 3). */
KTEST_BUGCHECK(interrupt_isr_returns_at_wrong_irql, IRQL_UNEXPECTED_VALUE)
{
    KtBadIsr.Vector = KT_VECTOR(6);
    if (!NT_SUCCESS(IoConnectInterrupt(&KtBadIsr.Interrupt, raises_and_returns, NULL, NULL,
                                       KtBadIsr.Vector, 6, 7, Latched, FALSE, this_cpu(), FALSE)))
        return;
    ktest_expect_bugcheck(KT_P((8 << 16) | (7 << 8) | 3), KT_P(raises_and_returns),
                          KT_P(KtBadIsr.Interrupt), KT_P(KtBadIsr.Vector));
    fire_self(KtBadIsr.Vector);
    KeStallExecutionProcessor(WAIT_US);
}
#endif
