/*
 * test_console.c - a long console write leaves interrupts above the
 * console's IRQL flowing on the writing CPU (kernel/console.c).
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/console.h"
#include "kernel/interrupt.h"
#include "kernel/pcr.h"
#include "kernel/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

#define KT_LONG_LINE    1000            /* what one kprintf can hold (1 KiB) */
#define KT_ATTEMPTS     20
#define KT_VECTOR       KI_VECTOR_IRQL_TEST(IPI_LEVEL)  /* an IPI's class, 14 */
#define KT_CONSOLE_IRQL (CLOCK_LEVEL - 1)               /* the writer's IRQL */

static struct {
    volatile LONG Writing;              /* CPU 0 is in its long kprintf */
    volatile LONG Done;                 /* CPU 0 has finished all attempts */
    volatile ULONG Delivered;           /* the test vector's deliveries on CPU 0 */
    volatile ULONG DuringWrite;         /* ... that interrupted the console write */
} Kt;

static VOID record_interrupted_irql(PKTRAP_FRAME TrapFrame, PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    /* The test body runs at PASSIVE_LEVEL: only the console holder is at
     * the console's IRQL. */
    if (TrapFrame->PreviousIrql == KT_CONSOLE_IRQL)
        Kt.DuringWrite++;
    __atomic_fetch_add(&Kt.Delivered, 1, __ATOMIC_RELEASE);
}

/* CPU 0 writes long lines until one was interrupted; CPU 1 sends it IPIs,
 * one at a time, while it writes.  Other CPUs rest. */
static void write_or_interrupt(void *context)
{
    static char line[KT_LONG_LINE + 1];

    UNREFERENCED_PARAMETER(context);
    if (KeGetCurrentProcessorNumber() == 0) {
        for (ULONG i = 0; i < KT_LONG_LINE; i++)
            line[i] = i < 2 ? "# "[i] : (char)('a' + i % 26);
        for (ULONG n = 0; n < KT_ATTEMPTS && Kt.DuringWrite == 0; n++) {
            __atomic_store_n(&Kt.Writing, 1, __ATOMIC_RELEASE);
            kprintf("%s\n", line);
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

/* With interrupts off for the write (as the console once did), CPU 1's IPI
 * waits until the write is over and finds CPU 0 back at PASSIVE_LEVEL.
 * QEMU's UART takes no baud time, so a 1 KiB write lasts only its ~2000
 * port accesses (1 to 2 ms under TCG): long enough for an IPI round trip,
 * if the host runs both vCPUs meanwhile, hence several attempts. */
KTEST(console_long_write_takes_ipis)
{
    KT_REQUIRE_CPUS(2);
    memset((void *)&Kt, 0, sizeof(Kt));
    KiSetInterruptHandler(KT_VECTOR, record_interrupted_irql, NULL);
    ktest_run_on_all_cpus(write_or_interrupt, NULL);
    KiSetInterruptHandler(KT_VECTOR, NULL, NULL);
    kprintf("# %u IPIs, %u during a long console write\n", Kt.Delivered, Kt.DuringWrite);
    KT_EXPECT_TRUE(Kt.DuringWrite >= 1);
}
