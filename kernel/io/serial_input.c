/*
 * serial_input.c - COM1's receive interrupt: a small driver, written the way
 * a WDM driver would be, for the kernel's first real device interrupt.
 *
 * The path of a typed character: the 16550 UART puts it in its receive
 * FIFO and, with "received data available" enabled (IER bit 0), raises its
 * interrupt line, ISA IRQ 4 -> the I/O APIC input the MADT says (GSI 4 on
 * PCs: no override) -> a fixed, edge-triggered message with vector 0x98 to
 * one local APIC -> the common interrupt path at DIRQL 9 ->
 * KiInterruptDispatch -> serial_isr at SynchronizeIrql holding the
 * interrupt spin lock.  The ISR reads the interrupt identification register
 * (IIR) until it says "none pending", draining the FIFO into a ring on the
 * way: with an edge-triggered input, the line must go low before the next
 * byte can make a new edge, so the ISR may not stop early.  That is all it
 * does at DIRQL: the rest is deferred, the ISR-to-DPC pattern of
 * docs/dpc.md.  The ISR queues the driver's DPC (KeInsertQueueDpc,
 * untargeted: it runs on the ISR's CPU once IRQL drops below
 * DISPATCH_LEVEL; an insert while it is still queued changes nothing, and
 * that run finds every byte).  With echo on, the DPC is the ring's reader:
 * at DISPATCH_LEVEL it takes bytes out with KeSynchronizeExecution, the WDK's
 * way to share data with an ISR, and writes them to the console with no
 * interrupt lock held.  With echo off, KiReadSerialInput is the reader.
 *
 * 16550 registers (PC16550D datasheet; OSDev "Serial Ports"): IER +1, IIR
 * +2 (bit 0 = 1: no interrupt pending; bits 3:1 the source), MCR +4 (bit 4
 * loopback), LSR +5 (bit 0 data ready, bit 5 THR empty, bit 6 transmitter
 * empty).  kernel/console/console.c owns the transmitter and sets up the line; this
 * file only adds the receive side.
 */
#include "wdm.h"
#include "kernel/console/console.h"
#include "kernel/io/iointerrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/io/serial_input.h"
#include "arch/x86_64/cpu.h"

#define COM1                0x3F8
#define UART_DATA           0
#define UART_IER            1
#define   IER_RX_AVAILABLE    0x01
#define UART_IIR            2
#define   IIR_NONE_PENDING    0x01
#define   IIR_SOURCE_MASK     0x0E
#define   IIR_MODEM_STATUS    0x00
#define   IIR_THR_EMPTY       0x02
#define   IIR_RX_AVAILABLE    0x04
#define   IIR_LINE_STATUS     0x06
#define   IIR_RX_TIMEOUT      0x0C    /* bytes below the FIFO trigger level, idle for 4 chars */
#define UART_MCR            4
#define   MCR_LOOPBACK        0x10
#define UART_LSR            5
#define   LSR_DATA_READY      0x01
#define   LSR_THR_EMPTY       0x20
#define   LSR_TX_EMPTY        0x40    /* holding and shift registers both empty */
#define UART_MSR            6

#define ISR_MAX_ROUNDS      64        /* a UART that never says "none pending" */
#define TX_WAIT_POLLS       1000000
#define ECHO_CHUNK          16        /* bytes a DPC takes out per KeSynchronizeExecution */

/* The driver's state.  The ring, the counts and Stopping are shared with
 * the ISR: touched only at SynchronizeIrql holding Interrupt's lock (in the
 * ISR, or through KeSynchronizeExecution).  Interrupt, Dpc, Vector, Gsi,
 * Processor are set while stopped, at PASSIVE_LEVEL. */
static struct {
    PKINTERRUPT Interrupt;
    KDPC Dpc;                   /* queued by the ISR, does the echo */
    ULONG Vector;
    KIRQL Irql;
    ULONG Gsi;
    ULONG Processor;
    volatile BOOLEAN Echo;
    PKI_SERIAL_INPUT_SINK Sink; /* with Echo: gets the bytes instead of the console */
    BOOLEAN Stopping;           /* the ISR queues no more DPCs */
    UCHAR Ring[KI_SERIAL_RING_SIZE];
    ULONG Head, Tail;           /* free-running: Tail - Head bytes buffered */
    ULONG Interrupts, Received, Dropped;
    ULONG LastProcessor;
    KIRQL LastIrql;
    KSPIN_LOCK LastLockWord;
    ULONG Dpcs, Echoed;         /* DPC runs; bytes they took out to echo */
    ULONG LastDpcProcessor;
    KIRQL LastDpcIrql;
} KiSerial;

static void echo(const UCHAR *bytes, ULONG n)
{
    char out[3 * ECHO_CHUNK + 1];       /* "\b \b" for each rubout */
    ULONG k = 0;

    for (ULONG i = 0; i < n; i++) {
        UCHAR c = bytes[i];
        if (c == '\r' || c == '\n')
            out[k++] = '\n';                /* the console adds the '\r' */
        else if (c == 0x7F || c == '\b') {
            out[k++] = '\b';                /* rub it out */
            out[k++] = ' ';
            out[k++] = '\b';
        } else if (c >= 0x20 && c < 0x7F)
            out[k++] = (char)c;
    }
    out[k] = '\0';
    if (k)
        kprintf("%s", out);
}

/* Move one byte from the UART into the ring, or count it lost when the ring
 * is full.  The ring's writer: the ISR, or the start before the connect. */
static void take_received_byte(void)
{
    UCHAR c = inb(COM1 + UART_DATA);

    if (KiSerial.Tail - KiSerial.Head < KI_SERIAL_RING_SIZE) {
        KiSerial.Ring[KiSerial.Tail++ % KI_SERIAL_RING_SIZE] = c;
        KiSerial.Received++;
    } else {
        KiSerial.Dropped++;
    }
}

/* KSERVICE_ROUTINE, at SynchronizeIrql holding the interrupt spin lock:
 * drain the UART into the ring, queue the DPC, nothing else. */
static BOOLEAN serial_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    BOOLEAN ours = FALSE, fresh = FALSE;

    UNREFERENCED_PARAMETER(ServiceContext);
    for (ULONG round = 0; round < ISR_MAX_ROUNDS; round++) {
        UCHAR iir = inb(COM1 + UART_IIR);
        if (iir & IIR_NONE_PENDING)
            break;                          /* the line is low again */
        ours = TRUE;
        switch (iir & IIR_SOURCE_MASK) {
        case IIR_RX_AVAILABLE:
        case IIR_RX_TIMEOUT:
            while (inb(COM1 + UART_LSR) & LSR_DATA_READY) {
                take_received_byte();
                fresh = TRUE;
            }
            break;
        case IIR_LINE_STATUS:
            (void)inb(COM1 + UART_LSR);     /* reading LSR clears it */
            break;
        case IIR_MODEM_STATUS:
            (void)inb(COM1 + UART_MSR);
            break;
        default:                            /* THR empty: reading IIR cleared it */
            break;
        }
    }
    if (ours)
        KiSerial.Interrupts++;
    KiSerial.LastProcessor = KeGetCurrentProcessorNumber();
    KiSerial.LastIrql = KeGetCurrentIrql();
    KiSerial.LastLockWord = *(volatile KSPIN_LOCK *)Interrupt->ActualLock;
    /* The console is slow (115200 baud, and other CPUs queue for it): not at
     * DIRQL.  Already queued: FALSE, and that run takes these bytes too. */
    if (fresh && !KiSerial.Stopping)
        KeInsertQueueDpc(&KiSerial.Dpc, NULL, NULL);
    return ours;
}

struct dpc_take {
    UCHAR Bytes[ECHO_CHUNK];
    ULONG Count;
    BOOLEAN Counted;            /* this run is in Dpcs */
    ULONG Processor;            /* the DPC's CPU and IRQL, for the statistics */
    KIRQL Irql;
};

/* KSYNCHRONIZE_ROUTINE, for the DPC: with the ISR kept out, count the run
 * and, echoing, take up to ECHO_CHUNK bytes out of the ring. */
static BOOLEAN take_for_dpc(PVOID Context)
{
    struct dpc_take *t = Context;

    if (!t->Counted) {
        KiSerial.Dpcs++;
        KiSerial.LastDpcProcessor = t->Processor;
        KiSerial.LastDpcIrql = t->Irql;
        t->Counted = TRUE;
    }
    t->Count = 0;
    while (KiSerial.Echo && t->Count < ECHO_CHUNK && KiSerial.Head != KiSerial.Tail)
        t->Bytes[t->Count++] = KiSerial.Ring[KiSerial.Head++ % KI_SERIAL_RING_SIZE];
    KiSerial.Echoed += t->Count;
    return TRUE;
}

/* KDEFERRED_ROUTINE, at DISPATCH_LEVEL on the CPU the ISR ran on: the
 * deferred half.  Echoing, write out what the ISR buffered, a chunk per
 * KeSynchronizeExecution, the console written with no interrupt lock held
 * and the ISR free to add bytes in between. */
static VOID serial_dpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                       PVOID SystemArgument2)
{
    struct dpc_take t = { .Counted = FALSE, .Processor = KeGetCurrentProcessorNumber(),
                          .Irql = KeGetCurrentIrql() };

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(DeferredContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    do {
        KeSynchronizeExecution(KiSerial.Interrupt, take_for_dpc, &t);
        if (KiSerial.Sink)
            KiSerial.Sink(t.Bytes, t.Count);
        else
            echo(t.Bytes, t.Count);
    } while (t.Count == ECHO_CHUNK);
}

/* Keep what the receiver already holds: bytes typed (or piped into `make
 * run`) before the interrupt was connected wait in the UART's FIFO, and are
 * the user's as much as any later ones.  Called before the connect, so no
 * ISR can touch the ring yet.  Bounded: a receiver that never runs dry is
 * not a reason to hang the boot. */
static void keep_waiting_bytes(void)
{
    for (ULONG i = 0; i < 64 && (inb(COM1 + UART_LSR) & LSR_DATA_READY); i++)
        take_received_byte();
}

NTSTATUS KiStartSerialInput(ULONG Processor, BOOLEAN Echo)
{
    KIRQL irql;
    KAFFINITY affinity;
    KINTERRUPT_MODE mode;

    if (KiSerial.Interrupt) {
        KiSerial.Echo = Echo;
        return STATUS_SUCCESS;
    }
    ULONG vector = KiGetIsaInterruptVector(KI_SERIAL_ISA_IRQ, &irql, &affinity, &mode);
    if (!vector)
        return STATUS_UNSUCCESSFUL;
    if (Processor >= MAXIMUM_PROCESSORS || !(affinity & ((KAFFINITY)1 << Processor)))
        return STATUS_INVALID_PARAMETER;

    KiSerial.Vector = vector;
    KiSerial.Irql = irql;
    KiGetVectorGsi(vector, &KiSerial.Gsi);
    KiSerial.Processor = Processor;
    KiSerial.Echo = Echo;
    KiSerial.Head = KiSerial.Tail = 0;
    KiSerial.Interrupts = KiSerial.Received = KiSerial.Dropped = 0;
    KiSerial.LastProcessor = ~0u;
    KiSerial.LastIrql = 0;
    KiSerial.LastLockWord = 0;
    KiSerial.Dpcs = KiSerial.Echoed = 0;
    KiSerial.LastDpcProcessor = ~0u;
    KiSerial.LastDpcIrql = 0;
    KiSerial.Stopping = FALSE;
    KeInitializeDpc(&KiSerial.Dpc, serial_dpc, NULL);

    /* The line must be low when the input is unmasked: an edge input
     * raised before that would never be seen again.  So the receiver is
     * emptied here, into the ring. */
    outb(COM1 + UART_IER, 0);
    keep_waiting_bytes();
    (void)inb(COM1 + UART_IIR);

    PKINTERRUPT interrupt;
    NTSTATUS status = IoConnectInterrupt(&interrupt, serial_isr, NULL, NULL, vector, irql, irql,
                                         mode, FALSE, (KAFFINITY)1 << Processor, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    KiSerial.Interrupt = interrupt;
    outb(COM1 + UART_IER, IER_RX_AVAILABLE);
    if (KiSerial.Tail != KiSerial.Head)     /* kept bytes: the DPC echoes them, as the ISR's */
        KeInsertQueueDpc(&KiSerial.Dpc, NULL, NULL);
    return STATUS_SUCCESS;
}

/* The order matters: the DPC calls KeSynchronizeExecution on the interrupt
 * object, which IoDisconnectInterrupt gives back to the pool (zeroed).  So
 * first no new DPC (the ISR reads Stopping under the same lock), then wait
 * for the one that may be queued or running, then disconnect. */
VOID KiStopSerialInput(VOID)
{
    if (!KiSerial.Interrupt)
        return;
    outb(COM1 + UART_IER, 0);               /* the UART stops asking first */
    KiDisconnectInterruptAndDpc(KiSerial.Interrupt, &KiSerial.Stopping);
    KiSerial.Interrupt = NULL;
}

struct read_request {
    PUCHAR Buffer;
    ULONG Size;
    ULONG Done;
};

/* KSYNCHRONIZE_ROUTINE: with the ISR kept out. */
static BOOLEAN take_from_ring(PVOID Context)
{
    struct read_request *r = Context;

    while (r->Done < r->Size && KiSerial.Head != KiSerial.Tail)
        r->Buffer[r->Done++] = KiSerial.Ring[KiSerial.Head++ % KI_SERIAL_RING_SIZE];
    return TRUE;
}

ULONG KiReadSerialInput(PUCHAR Buffer, ULONG Size)
{
    struct read_request r = { Buffer, Size, 0 };

    if (KiSerial.Interrupt)
        KeSynchronizeExecution(KiSerial.Interrupt, take_from_ring, &r);
    return r.Done;
}

static BOOLEAN snapshot(PVOID Context)
{
    KI_SERIAL_INPUT_STATS *s = Context;

    s->Interrupts = KiSerial.Interrupts;
    s->Received = KiSerial.Received;
    s->Dropped = KiSerial.Dropped;
    s->Buffered = KiSerial.Tail - KiSerial.Head;
    s->LastProcessor = KiSerial.LastProcessor;
    s->LastIrql = KiSerial.LastIrql;
    s->LastLockWord = KiSerial.LastLockWord;
    s->Dpcs = KiSerial.Dpcs;
    s->Echoed = KiSerial.Echoed;
    s->LastDpcProcessor = KiSerial.LastDpcProcessor;
    s->LastDpcIrql = KiSerial.LastDpcIrql;
    return TRUE;
}

VOID KiGetSerialInputStats(KI_SERIAL_INPUT_STATS *Stats)
{
    Stats->Interrupt = KiSerial.Interrupt;
    Stats->Vector = KiSerial.Vector;
    Stats->Irql = KiSerial.Irql;
    Stats->Gsi = KiSerial.Gsi;
    Stats->Processor = KiSerial.Processor;
    if (KiSerial.Interrupt)
        KeSynchronizeExecution(KiSerial.Interrupt, snapshot, Stats);
    else
        snapshot(Stats);
}

static BOOLEAN wait_uart(UCHAR LsrBits)
{
    for (ULONG i = 0; i < TX_WAIT_POLLS; i++) {
        if ((inb(COM1 + UART_LSR) & LsrBits) == LsrBits)
            return TRUE;
        cpu_relax();
    }
    return FALSE;
}

struct loopback {
    const UCHAR *Bytes;
    ULONG Count;
    ULONG Sender;               /* the CPU that transmits; the rest wait */
    ULONG Sent;
    volatile LONG Done;
};

/* KIPI_BROADCAST_WORKER, on every CPU at IPI_LEVEL: nobody can print. */
static ULONG_PTR loopback_worker(ULONG_PTR Context)
{
    struct loopback *l = (struct loopback *)Context;

    if (KeGetCurrentProcessorNumber() != l->Sender) {
        while (!__atomic_load_n(&l->Done, __ATOMIC_ACQUIRE))
            cpu_relax();
        return 0;
    }
    /* The console's last byte must be out before the loop closes, or it
     * would come back as input. */
    if (wait_uart(LSR_TX_EMPTY)) {
        UCHAR mcr = inb(COM1 + UART_MCR);
        outb(COM1 + UART_MCR, mcr | MCR_LOOPBACK);
        for (ULONG i = 0; i < l->Count && wait_uart(LSR_THR_EMPTY); i++) {
            outb(COM1 + UART_DATA, l->Bytes[i]);
            l->Sent++;
        }
        wait_uart(LSR_TX_EMPTY);            /* all looped back: open the loop */
        outb(COM1 + UART_MCR, mcr);
    }
    __atomic_store_n(&l->Done, 1, __ATOMIC_RELEASE);
    return l->Sent;
}

ULONG KiSerialLoopback(const UCHAR *Bytes, ULONG Count)
{
    struct loopback l = { Bytes, Count, KeGetCurrentProcessorNumber(), 0, 0 };

    /* No scheduler: this code stays on the CPU that read its number. */
    return (ULONG)KeIpiGenericCall(loopback_worker, (ULONG_PTR)&l);
}

VOID KiSetSerialInputSink(PKI_SERIAL_INPUT_SINK Sink)
{
    KiSerial.Sink = Sink;
}

VOID KiStartSerialEcho(VOID)
{
    NTSTATUS status = KiStartSerialInput(0, TRUE);

    if (NT_SUCCESS(status))
        kprintf("serial: COM1 input on ISA IRQ %u -> GSI %u -> vector 0x%x (DIRQL %u): "
                "what you type is echoed\n",
                KI_SERIAL_ISA_IRQ, KiSerial.Gsi, KiSerial.Vector, KiSerial.Irql);
    else
        kprintf("serial: COM1 input not available (status 0x%x)\n", (ULONG)status);
}
