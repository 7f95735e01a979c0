/*
 * console.c - the console: COM1, 115200 baud, 8 data bits, no parity, one
 * stop bit (the 16550 UART's registers as on OSDev "Serial Ports"), and the
 * screen (kernel/console/framebuffer.c).
 *
 * kprintf formats into a buffer first and then sends the whole buffer under
 * KiConsoleLock, so a line is never split by another CPU's output.  With the
 * `cpu_prefix` option each line starts with "[cpuN] ".
 *
 * Up to 1 KiB at 115200 baud is ~90 ms on a real UART, too long to keep
 * interrupts off: the clock would lose ticks and other CPUs would wait for
 * their IPIs.  So the lock is taken and the text written at KI_CONSOLE_IRQL
 * (12, below the clock) with interrupts as the caller had them.  A clock or
 * IPI handler on the CPU that holds the lock may print too: it finds its
 * own CPU as the owner, and spinning would deadlock (the owner cannot run
 * until the handler returns), so it writes without the lock and its text
 * lands inside the interrupted one, between two characters.  That nesting
 * is the one case where a line can be split; text from other CPUs never
 * splits one.
 *
 * Every write also goes to the screen, if GRUB gave a framebuffer
 * (kernel/console/framebuffer.c), under the same lock.
 */
#include "kernel/console/console.h"
#include "kernel/console/framebuffer.h"
#include "kernel/options.h"
#include "kernel/smp/pcr.h"
#include "arch/x86_64/cpu.h"
#include "printf.h"

#define COM1            0x3F8
#define UART_DATA       0       /* DLAB=0: transmit/receive buffer */
#define UART_IER        1       /* DLAB=0: interrupt enable */
#define UART_DLL        0       /* DLAB=1: divisor latch, low byte */
#define UART_DLM        1       /* DLAB=1: divisor latch, high byte */
#define UART_FCR        2       /* FIFO control */
#define UART_LCR        3       /* line control */
#define   LCR_8N1       0x03
#define   LCR_DLAB      0x80
#define UART_MCR        4       /* modem control */
#define   MCR_DTR_RTS_OUT2 0x0B
#define UART_LSR        5       /* line status */
#define   LSR_THR_EMPTY 0x20

#define CONSOLE_BUFFER  1024

/* KiConsoleOwner: the console lock, the owner's processor number + 1, 0 =
 * free.  Protects the UART transmitter and the order of whole kprintf
 * outputs from different CPUs.  Taken at any IRQL, with interrupts left as
 * the caller had them (above); a plain cmpxchg lock because the console
 * must work before, and beneath, every other lock in the kernel. */
static volatile ULONG KiConsoleOwner;
static BOOLEAN KiConsoleCpuPrefix;

static void apply_cpu_prefix(const char *value)
{
    KiConsoleCpuPrefix = value[0] != '0';
}
KERNEL_OPTION("cpu_prefix", "prefix each console line with [cpuN] (cpu_prefix=0 turns it off)",
              apply_cpu_prefix);

void KiInitializeConsole(void)
{
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, 1);           /* 115200 / 1 */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, 0xC7);        /* FIFOs on, cleared, 14-byte threshold */
    outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
}

static void uart_putc(char c)
{
    while (!(inb(COM1 + UART_LSR) & LSR_THR_EMPTY))
        cpu_relax();
    outb(COM1 + UART_DATA, (uint8_t)c);
}

static void uart_write(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            uart_putc('\r');
        uart_putc(*s);
    }
}

/* The serial port first: it is the record the test runner reads, and it
 * has the text even if drawing it faults. */
static void console_write(const char *s)
{
    uart_write(s);
    KiFramebufferWrite(s);
}

void KiConsoleWriteUnlocked(const char *s)
{
    console_write(s);
}

/* Insert "[cpuN] " after every line start of text into out. */
static void add_cpu_prefix(char *out, size_t size, const char *text)
{
    char prefix[16];
    size_t n = 0;
    int at_line_start = 1;

    ksnprintf(prefix, sizeof(prefix), "[cpu%u] ", KeGetCurrentPrcb()->Number);
    for (; *text && n + 1 < size; text++) {
        if (at_line_start)
            for (const char *p = prefix; *p && n + 1 < size; p++)
                out[n++] = *p;
        if (n + 1 < size)
            out[n++] = *text;
        at_line_start = *text == '\n';
    }
    out[n] = '\0';
}

/* The holder's IRQL: above every device ISR and DPC, below the clock and
 * IPIs.  Nothing that runs on the holder may wait for another CPU, or a CPU
 * that waits for the console while holding what that code wants (an
 * interrupt spin lock in KeSynchronizeExecution, a generic-call DPC's
 * barrier) would wait for ever; the clock and IPI handlers wait for no CPU
 * that can be spinning here, since this spin keeps interrupts enabled.
 * (Printing at IPI_LEVEL or above, which the WDK does not allow DbgPrint,
 * could still deadlock with an IPI-level barrier.) */
#define KI_CONSOLE_IRQL (CLOCK_LEVEL - 1)

/* No interrupts_save_disable: no scheduler moves us to another CPU, and an
 * interrupt between the owner check and the cmpxchg prints and returns
 * before we go on, leaving the owner as it found it. */
static void console_lock_and_write(const char *out)
{
    ULONG me = KeGetCurrentPrcb()->Number + 1;
    ULONG expected = 0;

    if (__atomic_load_n(&KiConsoleOwner, __ATOMIC_RELAXED) == me) {
        console_write(out);             /* nested in our own write: no lock */
        return;
    }
    /* CR8 itself, not KfRaiseIrql/KeLowerIrql: the console sits beneath the
     * checked build's IRQL and lock verifier, which prints through it. */
    KIRQL old = (KIRQL)__readcr8();
    if (old < KI_CONSOLE_IRQL)
        __writecr8(KI_CONSOLE_IRQL);
    while (!__atomic_compare_exchange_n(&KiConsoleOwner, &expected, me, FALSE,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        while (__atomic_load_n(&KiConsoleOwner, __ATOMIC_RELAXED))
            cpu_relax();                /* the clock and IPIs still come in */
        expected = 0;
    }
    console_write(out);                 /* the clock and IPIs go on meanwhile */
    __atomic_store_n(&KiConsoleOwner, 0, __ATOMIC_RELEASE);     /* plain mov on x86 */
    if (old < KI_CONSOLE_IRQL)
        __writecr8(old);
}

static int console_vprintf(const char *fmt, va_list ap)
{
    char text[CONSOLE_BUFFER], prefixed[CONSOLE_BUFFER + 256];
    const char *out = text;

    int n = kvsnprintf(text, sizeof(text), fmt, ap);
    if (KiConsoleCpuPrefix) {
        add_cpu_prefix(prefixed, sizeof(prefixed), text);
        out = prefixed;
    }

    console_lock_and_write(out);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = console_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

/* WDK: DbgPrint.  There is no debugger: the console is where it goes. */
ULONG DbgPrint(PCSTR Format, ...)
{
    va_list ap;

    va_start(ap, Format);
    console_vprintf(Format, ap);
    va_end(ap);
    return STATUS_SUCCESS;
}
