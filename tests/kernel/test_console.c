/*
 * test_console.c - a long console write leaves interrupts above the
 * console's IRQL flowing on the writing CPU (kernel/console/console.c), and an
 * interrupt that prints on top of the screen's draw of it leaves the line
 * on the screen whole (kernel/console/framebuffer.c).
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/console/console.h"
#include "kernel/console/framebuffer.h"
#include "kernel/irql/interrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

#define KT_LONG_LINE    1000            /* what one kprintf can hold (1 KiB) */
#define KT_ATTEMPTS     20
#define KT_DRAW_ATTEMPTS 60             /* the draw is the shorter half of a write */
#define KT_VECTOR       KI_VECTOR_IRQL_TEST(IPI_LEVEL)  /* an IPI's class, 14 */
#define KT_CONSOLE_IRQL (CLOCK_LEVEL - 1)               /* the writer's IRQL */

static struct {
    volatile LONG Writing;              /* CPU 0 is in its long kprintf */
    volatile LONG Done;                 /* CPU 0 has finished all attempts */
    volatile ULONG Delivered;           /* the test vector's deliveries on CPU 0 */
    volatile ULONG DuringWrite;         /* ... that interrupted the console write */
    volatile ULONG DuringDraw;          /* ... that printed on top of its draw */
    BOOLEAN PrintInDraw;                /* the handler prints if it interrupts a draw */
    volatile ULONG *Until;              /* CPU 0 stops once this is not 0 */
    ULONG Attempts;                     /* or after this many lines */
} Kt;

static char KtLine[KT_LONG_LINE + 1];

static VOID record_interrupted_irql(PKTRAP_FRAME TrapFrame, PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    /* The test body runs at PASSIVE_LEVEL: only the console holder is at
     * the console's IRQL. */
    if (TrapFrame->PreviousIrql == KT_CONSOLE_IRQL)
        Kt.DuringWrite++;
    if (Kt.PrintInDraw && KiFramebufferDrawing()) {
        Kt.DuringDraw++;
        kprintf("NESTED");              /* the serial port only, not into the draw */
    }
    __atomic_fetch_add(&Kt.Delivered, 1, __ATOMIC_RELEASE);
}

/* CPU 0 writes long lines until one was interrupted; CPU 1 sends it IPIs,
 * one at a time, while it writes.  Other CPUs rest. */
static void write_or_interrupt(void *context)
{
    UNREFERENCED_PARAMETER(context);
    if (KeGetCurrentProcessorNumber() == 0) {
        for (ULONG i = 0; i < KT_LONG_LINE; i++)
            KtLine[i] = i < 2 ? "# "[i] : (char)('a' + i % 26);
        for (ULONG n = 0; n < Kt.Attempts && *Kt.Until == 0; n++) {
            __atomic_store_n(&Kt.Writing, 1, __ATOMIC_RELEASE);
            kprintf("%s\n", KtLine);
            __atomic_store_n(&Kt.Writing, 0, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&Kt.Done, 1, __ATOMIC_RELEASE);
    } else if (KeGetCurrentProcessorNumber() == 1) {
        while (!__atomic_load_n(&Kt.Done, __ATOMIC_ACQUIRE)) {
            if (!__atomic_load_n(&Kt.Writing, __ATOMIC_ACQUIRE)) {
                cpu_relax();
                continue;
            }
            ULONG before = __atomic_load_n(&Kt.Delivered, __ATOMIC_ACQUIRE);
            KiApicSendIpi(KiProcessorBlock[0].Prcb.ApicId, ICR_FIXED | ICR_ASSERT | KT_VECTOR);
            while (__atomic_load_n(&Kt.Delivered, __ATOMIC_ACQUIRE) == before)
                cpu_relax();
        }
    }
}

static void write_long_lines_under_ipis(volatile ULONG *until, ULONG attempts, BOOLEAN print)
{
    memset((void *)&Kt, 0, sizeof(Kt));
    Kt.Until = until;
    Kt.Attempts = attempts;
    Kt.PrintInDraw = print;
    KiSetInterruptHandler(KT_VECTOR, record_interrupted_irql, NULL);
    ktest_run_on_all_cpus(write_or_interrupt, NULL);
    KiSetInterruptHandler(KT_VECTOR, NULL, NULL);
}

/* With interrupts off for the write (as the console once did), CPU 1's IPI
 * waits until the write is over and finds CPU 0 back at PASSIVE_LEVEL.
 * QEMU's UART takes no baud time, so a 1 KiB write lasts only its ~2000
 * port accesses (1 to 2 ms under TCG): long enough for an IPI round trip,
 * if the host runs both vCPUs meanwhile, hence several attempts. */
KTEST(console_long_write_takes_ipis)
{
    KT_REQUIRE_CPUS(2);
    write_long_lines_under_ipis(&Kt.DuringWrite, KT_ATTEMPTS, FALSE);
    kprintf("# %u IPIs, %u during a long console write\n", Kt.Delivered, Kt.DuringWrite);
    KT_EXPECT_TRUE(Kt.DuringWrite >= 1);
}

/* Until an IPI lands while the line is being drawn and prints: its text
 * must not enter the draw it interrupted (it would move the cursor under
 * it), so the last line on the screen is the long line, whole. */
KTEST(console_print_during_a_draw_leaves_the_screen_line_whole)
{
    char row[256];
    ULONG columns;

    KT_REQUIRE_CPUS(2);
    if (!KiFramebufferReadRowAbove(1, row, sizeof(row))) {
        ktest_skip("no framebuffer");
        return;
    }
    columns = (ULONG)strlen(row);
    write_long_lines_under_ipis(&Kt.DuringDraw, KT_DRAW_ATTEMPTS, TRUE);
    kprintf("# %u IPIs, %u printed during a draw\n", Kt.Delivered, Kt.DuringDraw);
    KT_ASSERT_TRUE(Kt.DuringDraw >= 1);
    /* The "# ..." line just printed sits between the long line and the cursor. */
    ULONG rows = (KT_LONG_LINE + columns - 1) / columns;
    for (ULONG r = 0; r < rows; r++) {
        KT_ASSERT_TRUE(KiFramebufferReadRowAbove(rows + 1 - r, row, sizeof(row)));
        ULONG length = KT_LONG_LINE - r * columns < columns ? KT_LONG_LINE - r * columns : columns;
        if (memcmp(row, KtLine + r * columns, length) != 0)
            ktest_fail(__FILE__, __LINE__, "screen row %u of the line: \"%.*s\", not \"%.*s\"", r,
                       (int)length, row, (int)length, KtLine + r * columns);
    }
}
