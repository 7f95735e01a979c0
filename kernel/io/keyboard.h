/*
 * keyboard.h - the PS/2 keyboard behind the i8042 controller, the kernel's
 * second device driver (kernel/io/keyboard.c): ISA IRQ 1, scan code set 1
 * translated to the bytes a terminal would send.
 */
#ifndef KERNEL_KEYBOARD_H
#define KERNEL_KEYBOARD_H

#include "wdm.h"
#include "kernel/io/serial_input.h"     /* PKI_SERIAL_INPUT_SINK */

#define KI_KEYBOARD_ISA_IRQ     1
#define KI_KEYBOARD_RING_SIZE   64      /* scan codes the ISR can hold for the DPC */
#define KI_KEYBOARD_MAX_BYTES   4       /* bytes one scan code can become (ESC [ A) */

/* What the translation remembers between scan codes (the DPC's alone). */
typedef struct _KI_KEYBOARD_STATE {
    BOOLEAN LeftShift, RightShift;
    BOOLEAN LeftCtrl, RightCtrl;
    BOOLEAN CapsLock;           /* toggled by each press of Caps Lock */
    BOOLEAN Extended;           /* the last byte was the 0xE0 prefix */
    UCHAR SkipPause;            /* bytes of Pause's 0xE1 sequence still to swallow */
} KI_KEYBOARD_STATE;

/* One scan code of set 1 (a make code, a break code = make | 0x80, or a
 * prefix) into the bytes the line editor takes, in Out (room for
 * KI_KEYBOARD_MAX_BYTES); returns how many, 0 for a modifier, a release,
 * a prefix or a key with no byte.  A pure function of State and ScanCode:
 * the tests drive it directly. */
ULONG KiKeyboardTranslate(KI_KEYBOARD_STATE *State, UCHAR ScanCode, PUCHAR Out);

/* A snapshot of the driver's state, taken under the interrupt spin lock. */
typedef struct _KI_KEYBOARD_STATS {
    PKINTERRUPT Interrupt;      /* NULL while stopped */
    BOOLEAN Present;            /* an i8042 answered at the last start */
    UCHAR Config;               /* the controller configuration byte written */
    ULONG Vector;
    KIRQL Irql;
    ULONG Gsi;
    ULONG Processor;            /* where the I/O APIC sends IRQ 1 */
    ULONG Interrupts;           /* ISR calls that found a byte to read */
    ULONG Received;             /* scan codes put in the ring since start */
    ULONG Dropped;              /* scan codes lost to a full ring */
    ULONG Buffered;             /* scan codes in the ring now */
    ULONG Dpcs;                 /* runs of the DPC the ISR queues */
    ULONG Bytes;                /* bytes the translation gave the sink */
} KI_KEYBOARD_STATS;

/* Find the i8042 (status port 0xFF: none: STATUS_NO_SUCH_DEVICE), set it up
 * (devices off, output buffer flushed, translation to set 1 on, the first
 * port on, interrupts off), connect ISA IRQ 1 through the MADT overrides
 * (KiGetIsaInterruptVector) routed to Processor, then let the controller
 * interrupt.  The DPC gives translated bytes to Sink (at DISPATCH_LEVEL on
 * Processor, no lock held).  STATUS_SUCCESS if already started (Sink is
 * then updated); STATUS_UNSUCCESSFUL with no I/O APIC input for IRQ 1, or
 * a controller that does not take commands; IoConnectInterrupt's errors.
 * PASSIVE_LEVEL. */
NTSTATUS KiStartKeyboardInput(ULONG Processor, PKI_SERIAL_INPUT_SINK Sink);

/* The controller stops interrupting, the DPC is waited for, the interrupt
 * disconnected.  PASSIVE_LEVEL. */
VOID KiStopKeyboardInput(VOID);

VOID KiGetKeyboardStats(KI_KEYBOARD_STATS *Stats);

/* Tests: the i8042's "write next byte to first PS/2 port output buffer"
 * (command 0xD2): each byte arrives as if the keyboard had sent it, with
 * its interrupt.  Returns the bytes written (fewer if the controller did
 * not take one).  PASSIVE_LEVEL, the driver started. */
ULONG KiKeyboardInject(const UCHAR *ScanCodes, ULONG Count);

#endif
