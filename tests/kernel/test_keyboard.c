/*
 * test_keyboard.c - the PS/2 keyboard driver (kernel/io/keyboard.c): the
 * scan code set 1 translation on its own (keyboard_translate_*), then the
 * whole driver (keyboard_i8042_*): scan codes written into the i8042's
 * output buffer with its command 0xD2 arrive as if typed, through IRQ 1,
 * the ISR's ring and the DPC, at the sink.  tests/shell_test.py types
 * through QEMU's own keyboard (sendkey) at the shell.
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/io/keyboard.h"
#include "arch/x86_64/ioapic.h"

#define WAIT_US 2000000                 /* generous: 8 vCPUs share 2 host cores */

/* Feed Codes to a fresh translation; the bytes it made, in Out. */
static ULONG translate(const UCHAR *Codes, ULONG Count, PUCHAR Out, ULONG Size)
{
    KI_KEYBOARD_STATE state;
    UCHAR bytes[KI_KEYBOARD_MAX_BYTES];
    ULONG n = 0;

    RtlZeroMemory(&state, sizeof(state));
    for (ULONG i = 0; i < Count; i++) {
        ULONG got = KiKeyboardTranslate(&state, Codes[i], bytes);
        for (ULONG k = 0; k < got && n < Size; k++)
            Out[n++] = bytes[k];
    }
    return n;
}

#define EXPECT_TRANSLATION(codes, expected)                                          \
    do {                                                                           \
        UCHAR out_[32];                                                            \
        ULONG n_ = translate(codes, sizeof(codes), out_, sizeof(out_));            \
        KT_EXPECT_EQ(n_, sizeof(expected) - 1);                                    \
        KT_EXPECT_EQ(memcmp(out_, expected, sizeof(expected) - 1), 0);             \
    } while (0)

/* Letters, digits, space, Enter and Backspace: a press (make code) gives
 * the byte, the release (| 0x80) nothing. */
KTEST(keyboard_translate_plain_keys)
{
    static const UCHAR cpus[] = { 0x2E, 0xAE, 0x19, 0x99, 0x16, 0x96, 0x1F, 0x9F, 0x1C, 0x9C };
    static const UCHAR row[] = { 0x10, 0x1E, 0x2C, 0x02, 0x0B, 0x0C, 0x0D, 0x39, 0x35, 0x2B, 0x29 };
    static const UCHAR edit[] = { 0x0E, 0x8E, 0x0F };
    static const UCHAR keypad[] = { 0x47, 0x4E, 0x52, 0x53 };

    EXPECT_TRANSLATION(cpus, "cpus\r");
    EXPECT_TRANSLATION(row, "qaz10-= /\\`");
    EXPECT_TRANSLATION(edit, "\x7f\t");
    EXPECT_TRANSLATION(keypad, "7+0.");
}

/* Shift (either, held across keys), Caps Lock (toggles, letters only, Shift
 * undoes it), Ctrl (either: Ctrl-C 0x03, Ctrl-U 0x15). */
KTEST(keyboard_translate_modifiers)
{
    static const UCHAR shift[] = { 0x2A, 0x02, 0x19, 0xAA, 0x19, 0x36, 0x1E, 0x28, 0xB6, 0x1E };
    static const UCHAR caps[] = { 0x3A, 0xBA, 0x1E, 0x02, 0x2A, 0x1E, 0xAA, 0x3A, 0xBA, 0x1E };
    static const UCHAR ctrl[] = { 0x1D, 0x2E, 0x16, 0x9D, 0x2E, 0xE0, 0x1D, 0x16, 0xE0, 0x9D, 0x16 };

    EXPECT_TRANSLATION(shift, "!PpA\"a");
    EXPECT_TRANSLATION(caps, "A1aa");
    EXPECT_TRANSLATION(ctrl, "\x03\x15" "c\x15u");
}

/* 0xE0 keys: the arrows as a VT100 sends them (the line editor's history
 * keys), keypad Enter; Print Screen's fake shift (E0 2A) shifts nothing;
 * Pause (E1 1D 45 E1 9D C5) gives nothing and eats no key after it. */
KTEST(keyboard_translate_extended_keys)
{
    static const UCHAR arrows[] = { 0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x50, 0xE0, 0x4B, 0xE0, 0x4D };
    static const UCHAR enter[] = { 0xE0, 0x1C, 0xE0, 0x9C, 0x1C };
    static const UCHAR fake_shift[] = { 0xE0, 0x2A, 0x1E, 0xE0, 0xAA, 0x1E };
    static const UCHAR pause[] = { 0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5, 0x1E };
    static const UCHAR ignored[] = { 0x01, 0x3B, 0x58, 0x38, 0xB8, 0xFA, 0x1E };

    EXPECT_TRANSLATION(arrows, "\x1b[A\x1b[B\x1b[D\x1b[C");
    EXPECT_TRANSLATION(enter, "\r\r");
    EXPECT_TRANSLATION(fake_shift, "aa");
    EXPECT_TRANSLATION(pause, "a");
    EXPECT_TRANSLATION(ignored, "a");       /* Esc, F1, F12, Alt, an ACK (0xFA) */
}

/* ---- the driver, through the controller ---------------------------------- */

static struct {
    UCHAR Bytes[64];
    volatile ULONG Count;
    KIRQL Irql;
    ULONG Processor;
} Sunk;

static VOID test_sink(const UCHAR *Bytes, ULONG Count)
{
    for (ULONG i = 0; i < Count && Sunk.Count < sizeof(Sunk.Bytes); i++)
        Sunk.Bytes[Sunk.Count++] = Bytes[i];
    Sunk.Irql = KeGetCurrentIrql();
    Sunk.Processor = KeGetCurrentProcessorNumber();
}

static BOOLEAN wait_sunk(ULONG n)
{
    for (ULONG waited = 0; waited < WAIT_US; waited += 100) {
        if (__atomic_load_n(&Sunk.Count, __ATOMIC_ACQUIRE) >= n)
            return TRUE;
        KeStallExecutionProcessor(100);
    }
    return FALSE;
}

static BOOLEAN start_for_test(void)
{
    ULONG gsi;
    KI_IOAPIC_WIRING w;

    if (!KiIoApicIsaIrqToGsi(KI_KEYBOARD_ISA_IRQ, &gsi, &w) || !KiIoApicHasGsi(gsi)) {
        ktest_skip("no I/O APIC input for IRQ 1");
        return FALSE;
    }
    KiStopKeyboardInput();
    RtlZeroMemory(&Sunk, sizeof(Sunk));
    NTSTATUS status = KiStartKeyboardInput(0, test_sink);
    if (status == STATUS_NO_SUCH_DEVICE) {
        ktest_skip("no i8042");
        return FALSE;
    }
    KT_EXPECT_EQ(status, STATUS_SUCCESS);
    return NT_SUCCESS(status);
}

/* "!pcr" and Enter, pressed and released, arrive translated at the sink, in
 * the DPC on the CPU IRQ 1 is routed to. */
KTEST(keyboard_i8042_scan_codes_reach_the_sink)
{
    static const UCHAR typed[] = { 0x36, 0x02, 0x82, 0xB6, 0x19, 0x99, 0x2E, 0xAE, 0x13, 0x93,
                                   0x1C, 0x9C };
    KI_KEYBOARD_STATS s;

    if (!start_for_test())
        return;
    KT_EXPECT_EQ(KiKeyboardInject(typed, sizeof(typed)), sizeof(typed));
    KT_EXPECT_TRUE(wait_sunk(5));
    KT_EXPECT_EQ(Sunk.Count, 5);
    KT_EXPECT_EQ(memcmp(Sunk.Bytes, "!pcr\r", 5), 0);
    KT_EXPECT_EQ(Sunk.Irql, DISPATCH_LEVEL);
    KT_EXPECT_EQ(Sunk.Processor, 0);
    KiGetKeyboardStats(&s);
    KT_EXPECT_EQ(s.Vector, 0xB9);           /* KI_ISA_IRQ_VECTOR(1): DIRQL 11 */
    KT_EXPECT_EQ(s.Received, sizeof(typed));
    KT_EXPECT_EQ(s.Dropped, 0);
    KT_EXPECT_EQ(s.Buffered, 0);
    KT_EXPECT_TRUE(s.Interrupts >= 1);
    KT_EXPECT_TRUE(s.Dpcs >= 1);
    KT_EXPECT_EQ(s.Bytes, 5);
    KiStopKeyboardInput();
}

/* CPU 0 held at DISPATCH_LEVEL: the ISR still runs (DIRQL 11) and fills the
 * ring, its DPC cannot; what does not fit is counted, not lost unseen, and
 * the ring's contents still reach the sink once the DPC runs. */
KTEST(keyboard_i8042_full_ring_counts_what_it_drops)
{
    enum { EXTRA = 8 };
    static UCHAR presses[KI_KEYBOARD_RING_SIZE + EXTRA];
    KI_KEYBOARD_STATS s;
    KIRQL old;

    for (ULONG i = 0; i < sizeof(presses); i++)
        presses[i] = 0x2D;                  /* 'x' pressed */
    if (!start_for_test())
        return;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    if (KeGetCurrentProcessorNumber() != 0) {
        KeLowerIrql(old);
        KiStopKeyboardInput();
        ktest_skip("not on CPU 0");
        return;
    }
    ULONG sent = KiKeyboardInject(presses, sizeof(presses));
    KiGetKeyboardStats(&s);
    KeLowerIrql(old);
    KT_EXPECT_EQ(sent, sizeof(presses));
    KT_EXPECT_EQ(s.Received, KI_KEYBOARD_RING_SIZE);
    KT_EXPECT_EQ(s.Dropped, EXTRA);
    KT_EXPECT_EQ(s.Buffered, KI_KEYBOARD_RING_SIZE);
    KT_EXPECT_TRUE(wait_sunk(KI_KEYBOARD_RING_SIZE));
    KT_EXPECT_EQ(Sunk.Count, KI_KEYBOARD_RING_SIZE);
    KiStopKeyboardInput();
}
