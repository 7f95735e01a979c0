/*
 * console.c - the serial console: COM1, 115200 baud, 8 data bits, no parity,
 * one stop bit (the 16550 UART's registers as on OSDev "Serial Ports").
 *
 * kprintf formats into a buffer first and then sends the whole buffer under
 * KiConsoleLock, so a line is never split by another CPU's output.  With the
 * `cpu_prefix` option each line starts with "[cpuN] ".
 */
#include "kernel/console.h"
#include "kernel/options.h"
#include "kernel/pcr.h"
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

/* KiConsoleLock: protects the UART transmitter and the order of whole kprintf
 * outputs.  Taken at any IRQL with interrupts disabled (an ISR that prints
 * cannot spin on a lock its own CPU holds); a plain xchg lock because the
 * console must work before, and beneath, every other lock in the kernel. */
static volatile LONG KiConsoleLock;
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

void KiConsoleWriteUnlocked(const char *s)
{
    uart_write(s);
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

static int console_vprintf(const char *fmt, va_list ap)
{
    char text[CONSOLE_BUFFER], prefixed[CONSOLE_BUFFER + 256];
    const char *out = text;

    int n = kvsnprintf(text, sizeof(text), fmt, ap);
    if (KiConsoleCpuPrefix) {
        add_cpu_prefix(prefixed, sizeof(prefixed), text);
        out = prefixed;
    }

    uint64_t flags = interrupts_save_disable();
    while (__atomic_exchange_n(&KiConsoleLock, 1, __ATOMIC_ACQUIRE))   /* xchg */
        while (__atomic_load_n(&KiConsoleLock, __ATOMIC_RELAXED))
            cpu_relax();
    uart_write(out);
    __atomic_store_n(&KiConsoleLock, 0, __ATOMIC_RELEASE);   /* plain mov on x86 */
    restore_rflags(flags);
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
