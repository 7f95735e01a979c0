/*
 * serial_input.h - COM1's receive interrupt, the kernel's first real device
 * interrupt (kernel/io/serial_input.c).
 */
#ifndef KERNEL_SERIAL_INPUT_H
#define KERNEL_SERIAL_INPUT_H

#include "wdm.h"

#define KI_SERIAL_ISA_IRQ       4       /* COM1 */
#define KI_SERIAL_RING_SIZE     256     /* bytes the ISR can hold for a reader */

/* A snapshot of the driver's state, taken under the interrupt spin lock. */
typedef struct _KI_SERIAL_INPUT_STATS {
    PKINTERRUPT Interrupt;      /* NULL while stopped */
    ULONG Vector;
    KIRQL Irql;
    ULONG Gsi;
    ULONG Processor;            /* where the I/O APIC sends it */
    ULONG Interrupts;           /* ISR calls that found the UART interrupting */
    ULONG Received;             /* bytes put in the ring since start */
    ULONG Dropped;              /* bytes lost to a full ring */
    ULONG Buffered;             /* bytes in the ring now */
    ULONG LastProcessor;        /* the last ISR call's CPU, IRQL, lock word */
    KIRQL LastIrql;
    KSPIN_LOCK LastLockWord;
    ULONG Dpcs;                 /* runs of the DPC the ISR queues */
    ULONG Echoed;               /* bytes the DPC took out of the ring to echo */
    ULONG LastDpcProcessor;     /* the last run's CPU and IRQL */
    KIRQL LastDpcIrql;
} KI_SERIAL_INPUT_STATS;

/* Connect the COM1 receive interrupt: ISA IRQ 4 through the MADT overrides
 * to its GSI and vector (KiGetIsaInterruptVector), an ISR that drains the
 * UART's receive FIFO into a ring and queues a DPC, routed to Processor,
 * then enable the UART's "received data available" interrupt (IER bit 0).
 * Bytes that were already waiting in the UART (typed before the connect)
 * go into the ring first, as if the ISR had received them.  With Echo, the DPC takes what arrives out of the ring and writes it back
 * to the console (KiReadSerialInput then finds nothing).
 * STATUS_UNSUCCESSFUL with no I/O APIC input for IRQ 4; IoConnectInterrupt's
 * errors; STATUS_SUCCESS if already started (Echo is then updated).
 * PASSIVE_LEVEL. */
NTSTATUS KiStartSerialInput(ULONG Processor, BOOLEAN Echo);

/* Disable the UART interrupt, wait for the DPC (KeFlushQueuedDpcs) and
 * disconnect.  PASSIVE_LEVEL. */
VOID KiStopSerialInput(VOID);

/* Move up to Size received bytes out of the ring (KeSynchronizeExecution
 * with the ISR); returns how many.  IRQL <= the device's DIRQL. */
ULONG KiReadSerialInput(PUCHAR Buffer, ULONG Size);

VOID KiGetSerialInputStats(KI_SERIAL_INPUT_STATS *Stats);

/* The 16550's diagnostic loopback (MCR bit 4): transmit Count bytes that
 * come straight back into the receive FIFO.  Every other CPU is held at
 * IPI_LEVEL meanwhile (KeIpiGenericCall) so that no console output is sent
 * into the loop; returns the bytes sent, fewer if the transmitter stalled.
 * The receive interrupt follows once IRQL is lowered again.  < IPI_LEVEL. */
ULONG KiSerialLoopback(const UCHAR *Bytes, ULONG Count);

/* Where the DPC puts what it takes out of the ring when echo is on: Sink
 * (at DISPATCH_LEVEL, on the DPC's CPU, no lock held) instead of the
 * console; NULL for the plain echo.  The shell's line editor is one
 * (kernel/shell/line.c).  Set it before KiStartSerialInput. */
typedef VOID (*PKI_SERIAL_INPUT_SINK)(const UCHAR *Bytes, ULONG Count);
VOID KiSetSerialInputSink(PKI_SERIAL_INPUT_SINK Sink);

/* The `make run` hook (kernel/main.c): start the input on the boot CPU with
 * echo, and say so on the console. */
VOID KiStartSerialEcho(VOID);

#endif
