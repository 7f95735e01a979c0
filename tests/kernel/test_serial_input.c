/*
 * test_serial_input.c - what is typed before COM1's receive interrupt is
 * connected is not lost (kernel/io/serial_input.c): `make run` users type (or
 * pipe) before "Boot complete", and the UART keeps those bytes in its FIFO
 * until the driver starts.  (Bytes sent while the firmware and GRUB run are
 * theirs: the console's FIFO reset at the kernel's first line ends them.)
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/io/serial_input.h"
#include "arch/x86_64/ioapic.h"

#define WAIT_US 2000000                 /* generous: 8 vCPUs share 2 host cores */

static BOOLEAN have_com1_input(void)
{
    ULONG gsi;
    KI_IOAPIC_WIRING w;

    return KiIoApicIsaIrqToGsi(KI_SERIAL_ISA_IRQ, &gsi, &w) && KiIoApicHasGsi(gsi);
}

/* Wait until the driver has echoed n bytes; FALSE after WAIT_US. */
static BOOLEAN wait_echoed(ULONG n)
{
    KI_SERIAL_INPUT_STATS s;

    for (ULONG waited = 0; waited < WAIT_US; waited += 100) {
        KiGetSerialInputStats(&s);
        if (s.Echoed >= n)
            return TRUE;
        KeStallExecutionProcessor(100);
    }
    return FALSE;
}

/* Bytes put into the receive FIFO (the UART's loopback) while no interrupt
 * is connected are in the ring once the driver starts, in order. */
KTEST(serial_input_keeps_bytes_typed_before_start)
{
    static const UCHAR early[] = { 'e', 'a', 'r', 'l', 'y', '\r' };
    UCHAR got[sizeof(early) + 4];
    KI_SERIAL_INPUT_STATS s;

    if (!have_com1_input()) {
        ktest_skip("no I/O APIC input for IRQ 4");
        return;
    }
    KiStopSerialInput();                /* the receive interrupt is off now */
    KT_ASSERT_EQ(KiSerialLoopback(early, sizeof(early)), sizeof(early));
    KT_ASSERT_EQ(KiStartSerialInput(0, FALSE), STATUS_SUCCESS);
    KiGetSerialInputStats(&s);
    KT_EXPECT_EQ(s.Received, sizeof(early));
    KT_EXPECT_EQ(s.Dropped, 0);
    KT_EXPECT_EQ(s.Buffered, sizeof(early));
    KT_EXPECT_EQ(s.Interrupts, 0);      /* kept at the start, not by the ISR */
    KT_EXPECT_EQ(KiReadSerialInput(got, sizeof(got)), sizeof(early));
    KT_EXPECT_EQ(memcmp(got, early, sizeof(early)), 0);
    KiStopSerialInput();
}

/* With echo (`make run`), the kept bytes are echoed like any others. */
KTEST(serial_input_echoes_bytes_typed_before_start)
{
    static const UCHAR early[] = "# kept\r";
    const ULONG count = sizeof(early) - 1;
    KI_SERIAL_INPUT_STATS s;

    if (!have_com1_input()) {
        ktest_skip("no I/O APIC input for IRQ 4");
        return;
    }
    KiStopSerialInput();
    KT_ASSERT_EQ(KiSerialLoopback(early, count), count);
    KT_ASSERT_EQ(KiStartSerialInput(0, TRUE), STATUS_SUCCESS);
    KT_EXPECT_TRUE(wait_echoed(count));
    KiGetSerialInputStats(&s);
    KT_EXPECT_EQ(s.Received, count);
    KT_EXPECT_EQ(s.Echoed, count);
    KT_EXPECT_EQ(s.Buffered, 0);
    KiStopSerialInput();
}
