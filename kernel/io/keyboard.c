/*
 * keyboard.c - the PS/2 keyboard: the kernel's second device driver,
 * written the WDM way as kernel/io/serial_input.c is (an ISR that only
 * drains the device into a ring and queues a DPC; the DPC does the rest).
 *
 * The path of a key press: the keyboard sends a scan code to the i8042
 * controller, which translates it to scan code set 1 (configuration byte
 * bit 6), puts it in its output buffer (status bit 0) and raises ISA IRQ 1
 * -> the I/O APIC input the MADT says (GSI 1 on PCs: no override) -> a
 * fixed, edge-triggered message with vector 0xB9 to one local APIC -> the
 * common interrupt path at DIRQL 11 -> KiInterruptDispatch ->
 * keyboard_isr at SynchronizeIrql holding the interrupt spin lock.  The ISR
 * reads port 0x60 while the status says the output buffer is full: reading
 * it lowers IRQ 1, and the next byte makes a new edge, so with an edge
 * input the ISR must leave the buffer empty.  The bytes go into a small
 * ring; the DPC (KeInsertQueueDpc, untargeted: the ISR's CPU) takes them
 * out with KeSynchronizeExecution and translates them at DISPATCH_LEVEL,
 * outside the interrupt lock, into the bytes a terminal would have sent
 * over COM1, for the same sink: the shell's line editor
 * (KiShellInputBytes, kernel/shell/line.c).
 *
 * The controller (OSDev "8042 PS/2 Controller"): data port 0x60, status
 * (read) and command (write) port 0x64.  Status bit 0: output buffer full
 * (a byte for us at 0x60); bit 1: input buffer full (the controller has
 * not taken our last byte yet: wait before writing); bit 5: the byte came
 * from the second port (the mouse).  Commands used: 0x20 read and 0x60
 * write the configuration byte (bit 0 first port interrupt, bit 1 second
 * port interrupt, bit 4 first port clock off, bit 5 second port clock off,
 * bit 6 translation to set 1), 0xAD/0xAE first port off/on, 0xA7 second
 * port off, 0xD2 "write next byte to first PS/2 port output buffer" (the
 * tests' way to type).  The keys (OSDev "PS/2 Keyboard", scan code set 1):
 * a press sends the make code, a release the make code | 0x80; 0xE0
 * prefixes the extended keys (the arrows, the right Ctrl, keypad Enter
 * and /); Pause sends E1 1D 45 E1 9D C5 and nothing on release.
 *
 * No controller: nothing drives the bus, and the status port reads 0xFF,
 * which a working i8042 never reports (it would mean both buffers full and
 * a time-out and a parity error at once): the driver says so in one line
 * and the shell goes on with COM1 alone.
 * No LEDs: Caps Lock is tracked here, but setting the lights would need a
 * command to the keyboard and its acknowledgement (0xFA) through the ISR.
 */
#include "wdm.h"
#include "kernel/console/console.h"
#include "kernel/io/iointerrupt.h"
#include "kernel/io/keyboard.h"
#include "arch/x86_64/cpu.h"

#define I8042_DATA          0x60
#define I8042_STATUS        0x64        /* read */
#define I8042_COMMAND       0x64        /* write */
#define   STATUS_OUTPUT_FULL  0x01
#define   STATUS_INPUT_FULL   0x02
#define   STATUS_AUX_DATA     0x20      /* the byte is the mouse's */
#define   STATUS_NO_DEVICE    0xFF      /* a floating bus: no controller */
#define CMD_READ_CONFIG     0x20
#define CMD_WRITE_CONFIG    0x60
#define CMD_DISABLE_AUX     0xA7
#define CMD_DISABLE_FIRST   0xAD
#define CMD_ENABLE_FIRST    0xAE
#define CMD_WRITE_FIRST_OUT 0xD2
#define   CONFIG_FIRST_IRQ    0x01
#define   CONFIG_AUX_IRQ      0x02
#define   CONFIG_FIRST_CLOCK_OFF 0x10
#define   CONFIG_TRANSLATE    0x40

#define WAIT_POLLS          100000      /* x ~1 us port reads: a controller that hangs */
#define FLUSH_MAX           32          /* bytes thrown away at the start */
#define ISR_MAX_BYTES       16          /* an output buffer that never empties */
#define DPC_CHUNK           16          /* scan codes a DPC takes per KeSynchronizeExecution */

#define SC_RELEASE          0x80
#define SC_EXTENDED         0xE0
#define SC_PAUSE            0xE1
#define SC_LEFT_SHIFT       0x2A
#define SC_RIGHT_SHIFT      0x36
#define SC_CTRL             0x1D        /* E0 1D: the right one */
#define SC_ALT              0x38
#define SC_CAPS_LOCK        0x3A
#define SC_KEYPAD_FIRST     0x47        /* keypad 7 .. keypad . */
#define SC_KEYPAD_LAST      0x53
#define ESC                 0x1B

/* Set 1 make codes 0x00..0x39 on a US layout, without and with Shift.  A
 * 0 is a key with no byte here: Esc (the line editor would take it as the
 * start of an escape sequence and swallow the next key), the modifiers.
 * Backspace sends DEL (0x7F), Enter CR, as a terminal's keys do. */
static const char KiScanPlain[] =
    "\0\0" "1234567890-=" "\x7f\t" "qwertyuiop[]" "\r\0" "asdfghjkl;'`" "\0\\" "zxcvbnm,./"
    "\0*\0 ";
static const char KiScanShifted[] =
    "\0\0" "!@#$%^&*()_+" "\x7f\t" "QWERTYUIOP{}" "\r\0" "ASDFGHJKL:\"~" "\0|" "ZXCVBNM<>?"
    "\0*\0 ";
/* Keypad 7 8 9 - 4 5 6 + 1 2 3 0 . (as with Num Lock on). */
static const char KiScanKeypad[] = "789-456+1230.";
_Static_assert(sizeof(KiScanPlain) == 0x3A + 1 && sizeof(KiScanShifted) == 0x3A + 1,
               "one entry per make code 0x00..0x39");
_Static_assert(sizeof(KiScanKeypad) == SC_KEYPAD_LAST - SC_KEYPAD_FIRST + 2, "keypad");

ULONG KiKeyboardTranslate(KI_KEYBOARD_STATE *State, UCHAR ScanCode, PUCHAR Out)
{
    if (State->SkipPause) {                 /* 1D 45 / 9D C5 after each E1 */
        State->SkipPause--;
        return 0;
    }
    if (ScanCode == SC_PAUSE) {
        State->SkipPause = 2;
        State->Extended = FALSE;
        return 0;
    }
    if (ScanCode == SC_EXTENDED) {
        State->Extended = TRUE;
        return 0;
    }
    BOOLEAN extended = State->Extended, pressed = !(ScanCode & SC_RELEASE);
    UCHAR code = ScanCode & ~SC_RELEASE;

    State->Extended = FALSE;
    switch (code) {
    case SC_LEFT_SHIFT:                     /* E0 2A, E0 36: Print Screen's fake shifts */
        if (!extended)
            State->LeftShift = pressed;
        return 0;
    case SC_RIGHT_SHIFT:
        if (!extended)
            State->RightShift = pressed;
        return 0;
    case SC_CTRL:
        if (extended)
            State->RightCtrl = pressed;
        else
            State->LeftCtrl = pressed;
        return 0;
    case SC_CAPS_LOCK:
        if (pressed && !extended)
            State->CapsLock = !State->CapsLock;
        return 0;
    case SC_ALT:
        return 0;
    default:
        break;
    }
    if (!pressed)
        return 0;
    if (extended) {
        char final;
        switch (code) {
        case 0x48: final = 'A'; break;      /* up: ESC [ A, as a VT100 sends */
        case 0x50: final = 'B'; break;      /* down */
        case 0x4D: final = 'C'; break;      /* right */
        case 0x4B: final = 'D'; break;      /* left */
        case 0x47: final = 'H'; break;      /* Home */
        case 0x4F: final = 'F'; break;      /* End */
        case 0x53:                          /* Delete: ESC [ 3 ~ */
            Out[0] = ESC; Out[1] = '['; Out[2] = '3'; Out[3] = '~';
            return 4;
        case 0x1C: Out[0] = '\r'; return 1; /* keypad Enter */
        case 0x35: Out[0] = '/'; return 1;  /* keypad / */
        default: return 0;
        }
        Out[0] = ESC; Out[1] = '['; Out[2] = (UCHAR)final;
        return 3;
    }
    if (code >= SC_KEYPAD_FIRST && code <= SC_KEYPAD_LAST) {
        Out[0] = (UCHAR)KiScanKeypad[code - SC_KEYPAD_FIRST];
        return 1;
    }
    if (code >= sizeof(KiScanPlain) - 1)
        return 0;                           /* F1..F12, Num Lock, Scroll Lock, ... */
    BOOLEAN shift = State->LeftShift || State->RightShift;
    char c = shift ? KiScanShifted[code] : KiScanPlain[code];
    if (!c)
        return 0;
    if (State->CapsLock && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        c ^= 0x20;                          /* Caps Lock flips the case Shift chose */
    if ((State->LeftCtrl || State->RightCtrl) && ((c >= '@' && c <= '_') || (c >= 'a' && c <= 'z')))
        c &= 0x1F;                          /* Ctrl-C = 0x03, Ctrl-U = 0x15 */
    Out[0] = (UCHAR)c;
    return 1;
}

/* The driver's state.  The ring, the counts and Stopping are shared with
 * the ISR: touched at SynchronizeIrql holding Interrupt's lock only.
 * Translation is the DPC's: one KDPC, queued by an ISR routed to one CPU,
 * never runs on two CPUs at once. */
static struct {
    PKINTERRUPT Interrupt;
    KDPC Dpc;
    PKI_SERIAL_INPUT_SINK Sink;
    BOOLEAN Present;
    UCHAR Config;
    ULONG Vector;
    KIRQL Irql;
    ULONG Gsi;
    ULONG Processor;
    BOOLEAN Stopping;
    UCHAR Ring[KI_KEYBOARD_RING_SIZE];
    ULONG Head, Tail;                       /* free-running */
    ULONG Interrupts, Received, Dropped, Dpcs, Bytes;
    KI_KEYBOARD_STATE State;
} KiKeyboard;

static BOOLEAN wait_status(UCHAR Bit, BOOLEAN Set)
{
    for (ULONG i = 0; i < WAIT_POLLS; i++) {
        if (!!(inb(I8042_STATUS) & Bit) == Set)
            return TRUE;
        cpu_relax();
    }
    return FALSE;
}

/* A command (and its data byte, Data >= 0) once the controller has taken
 * the last one (input buffer empty). */
static BOOLEAN controller_command(UCHAR Command, int Data)
{
    if (!wait_status(STATUS_INPUT_FULL, FALSE))
        return FALSE;
    outb(I8042_COMMAND, Command);
    if (Data >= 0) {
        if (!wait_status(STATUS_INPUT_FULL, FALSE))
            return FALSE;
        outb(I8042_DATA, (UCHAR)Data);
    }
    return TRUE;
}

/* Throw away what the output buffer holds: keys pressed during the boot,
 * the firmware's leftovers.  Bounded, for a controller that never runs dry. */
static void flush_output(void)
{
    for (ULONG i = 0; i < FLUSH_MAX && (inb(I8042_STATUS) & STATUS_OUTPUT_FULL); i++) {
        (void)inb(I8042_DATA);
        KeStallExecutionProcessor(50);      /* a second byte may follow the first */
    }
}

/* KSERVICE_ROUTINE, at SynchronizeIrql holding the interrupt spin lock:
 * empty the output buffer into the ring, queue the DPC, nothing else. */
static BOOLEAN keyboard_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    BOOLEAN ours = FALSE, fresh = FALSE;

    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    for (ULONG i = 0; i < ISR_MAX_BYTES; i++) {
        UCHAR status = inb(I8042_STATUS);
        if (!(status & STATUS_OUTPUT_FULL))
            break;                          /* IRQ 1 is low again */
        UCHAR code = inb(I8042_DATA);
        ours = TRUE;
        if (status & STATUS_AUX_DATA)
            continue;                       /* the mouse's (its port is off; be sure) */
        if (KiKeyboard.Tail - KiKeyboard.Head < KI_KEYBOARD_RING_SIZE) {
            KiKeyboard.Ring[KiKeyboard.Tail++ % KI_KEYBOARD_RING_SIZE] = code;
            KiKeyboard.Received++;
            fresh = TRUE;
        } else {
            KiKeyboard.Dropped++;
        }
    }
    if (ours)
        KiKeyboard.Interrupts++;
    if (fresh && !KiKeyboard.Stopping)
        KeInsertQueueDpc(&KiKeyboard.Dpc, NULL, NULL);
    return ours;
}

struct dpc_take {
    UCHAR Codes[DPC_CHUNK];
    ULONG Count;
    BOOLEAN Counted;
};

/* KSYNCHRONIZE_ROUTINE, for the DPC: a chunk of scan codes out of the ring. */
static BOOLEAN take_for_dpc(PVOID Context)
{
    struct dpc_take *t = Context;

    if (!t->Counted) {
        KiKeyboard.Dpcs++;
        t->Counted = TRUE;
    }
    t->Count = 0;
    while (t->Count < DPC_CHUNK && KiKeyboard.Head != KiKeyboard.Tail)
        t->Codes[t->Count++] = KiKeyboard.Ring[KiKeyboard.Head++ % KI_KEYBOARD_RING_SIZE];
    return TRUE;
}

/* KDEFERRED_ROUTINE, at DISPATCH_LEVEL on the ISR's CPU: translate what the
 * ISR buffered and hand the bytes over, with no interrupt lock held. */
static VOID keyboard_dpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                         PVOID SystemArgument2)
{
    struct dpc_take t = { .Counted = FALSE };
    UCHAR bytes[DPC_CHUNK * KI_KEYBOARD_MAX_BYTES];

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(DeferredContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    do {
        ULONG n = 0;
        KeSynchronizeExecution(KiKeyboard.Interrupt, take_for_dpc, &t);
        for (ULONG i = 0; i < t.Count; i++)
            n += KiKeyboardTranslate(&KiKeyboard.State, t.Codes[i], bytes + n);
        __atomic_add_fetch(&KiKeyboard.Bytes, n, __ATOMIC_RELAXED);
        PKI_SERIAL_INPUT_SINK sink = KiKeyboard.Sink;
        if (n && sink)
            sink(bytes, n);
    } while (t.Count == DPC_CHUNK);
}

NTSTATUS KiStartKeyboardInput(ULONG Processor, PKI_SERIAL_INPUT_SINK Sink)
{
    KIRQL irql;
    KAFFINITY affinity;
    KINTERRUPT_MODE mode;

    if (KiKeyboard.Interrupt) {
        KiKeyboard.Sink = Sink;
        return STATUS_SUCCESS;
    }
    KiKeyboard.Present = inb(I8042_STATUS) != STATUS_NO_DEVICE;
    if (!KiKeyboard.Present)
        return STATUS_NO_SUCH_DEVICE;
    ULONG vector = KiGetIsaInterruptVector(KI_KEYBOARD_ISA_IRQ, &irql, &affinity, &mode);
    if (!vector)
        return STATUS_UNSUCCESSFUL;
    if (Processor >= MAXIMUM_PROCESSORS || !(affinity & ((KAFFINITY)1 << Processor)))
        return STATUS_INVALID_PARAMETER;

    /* OSDev "8042 PS/2 Controller", "Initialising the PS/2 Controller",
     * the steps that do not reset anything: both devices off, so nothing
     * new arrives; the output buffer flushed; the configuration read. */
    if (!controller_command(CMD_DISABLE_FIRST, -1) || !controller_command(CMD_DISABLE_AUX, -1))
        return STATUS_UNSUCCESSFUL;
    flush_output();
    if (!controller_command(CMD_READ_CONFIG, -1) || !wait_status(STATUS_OUTPUT_FULL, TRUE))
        return STATUS_UNSUCCESSFUL;
    UCHAR config = inb(I8042_DATA);
    /* Interrupts off until the ISR is there; the first port's clock on;
     * translation on, so that the keyboard's set 2 reaches us as set 1
     * whatever the firmware left. */
    config &= ~(CONFIG_FIRST_IRQ | CONFIG_AUX_IRQ | CONFIG_FIRST_CLOCK_OFF);
    config |= CONFIG_TRANSLATE;
    if (!controller_command(CMD_WRITE_CONFIG, config) || !controller_command(CMD_ENABLE_FIRST, -1))
        return STATUS_UNSUCCESSFUL;
    flush_output();

    KiKeyboard.Vector = vector;
    KiKeyboard.Irql = irql;
    KiGetVectorGsi(vector, &KiKeyboard.Gsi);
    KiKeyboard.Processor = Processor;
    KiKeyboard.Sink = Sink;
    KiKeyboard.Head = KiKeyboard.Tail = 0;
    KiKeyboard.Interrupts = KiKeyboard.Received = KiKeyboard.Dropped = 0;
    KiKeyboard.Dpcs = KiKeyboard.Bytes = 0;
    KiKeyboard.Stopping = FALSE;
    RtlZeroMemory(&KiKeyboard.State, sizeof(KiKeyboard.State));
    KeInitializeDpc(&KiKeyboard.Dpc, keyboard_dpc, NULL);

    PKINTERRUPT interrupt;
    NTSTATUS status = IoConnectInterrupt(&interrupt, keyboard_isr, NULL, NULL, vector, irql, irql,
                                         mode, FALSE, (KAFFINITY)1 << Processor, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    KiKeyboard.Interrupt = interrupt;
    /* Now the controller may interrupt.  A key pressed since the flush is
     * in the output buffer already: enabling raises IRQ 1 for it (the
     * controller's line follows "output full" once its interrupt is on). */
    config |= CONFIG_FIRST_IRQ;
    KiKeyboard.Config = config;
    if (!controller_command(CMD_WRITE_CONFIG, config)) {
        KiStopKeyboardInput();
        return STATUS_UNSUCCESSFUL;
    }
    return STATUS_SUCCESS;
}

/* As KiStopSerialInput: no new DPC, the queued one waited for, then the
 * object (which the DPC synchronizes on) given back. */
VOID KiStopKeyboardInput(VOID)
{
    if (!KiKeyboard.Interrupt)
        return;
    controller_command(CMD_WRITE_CONFIG, KiKeyboard.Config & ~CONFIG_FIRST_IRQ);
    KiDisconnectInterruptAndDpc(KiKeyboard.Interrupt, &KiKeyboard.Stopping);
    KiKeyboard.Interrupt = NULL;
}

static BOOLEAN snapshot(PVOID Context)
{
    KI_KEYBOARD_STATS *s = Context;

    s->Interrupts = KiKeyboard.Interrupts;
    s->Received = KiKeyboard.Received;
    s->Dropped = KiKeyboard.Dropped;
    s->Buffered = KiKeyboard.Tail - KiKeyboard.Head;
    s->Dpcs = KiKeyboard.Dpcs;
    s->Bytes = __atomic_load_n(&KiKeyboard.Bytes, __ATOMIC_RELAXED);
    return TRUE;
}

VOID KiGetKeyboardStats(KI_KEYBOARD_STATS *Stats)
{
    Stats->Interrupt = KiKeyboard.Interrupt;
    Stats->Present = KiKeyboard.Present;
    Stats->Config = KiKeyboard.Config;
    Stats->Vector = KiKeyboard.Vector;
    Stats->Irql = KiKeyboard.Irql;
    Stats->Gsi = KiKeyboard.Gsi;
    Stats->Processor = KiKeyboard.Processor;
    if (KiKeyboard.Interrupt)
        KeSynchronizeExecution(KiKeyboard.Interrupt, snapshot, Stats);
    else
        snapshot(Stats);
}

ULONG KiKeyboardInject(const UCHAR *ScanCodes, ULONG Count)
{
    ULONG done = 0;

    for (; done < Count; done++) {
        /* One byte at a time: the output buffer holds one, so the ISR must
         * have taken the last before the next is written. */
        if (!wait_status(STATUS_OUTPUT_FULL, FALSE) ||
            !controller_command(CMD_WRITE_FIRST_OUT, ScanCodes[done]))
            break;
    }
    wait_status(STATUS_OUTPUT_FULL, FALSE);
    return done;
}
