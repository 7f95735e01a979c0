/*
 * line.c - the shell's line editor, run by the COM1 driver's DPC and the
 * keyboard driver's (kernel/io/keyboard.c, which translates key presses
 * into the same bytes a terminal sends: CR, DEL, ESC [ A, Ctrl-U ...).
 *
 * The input path is the driver pattern of kernel/io/serial_input.c: the ISR
 * drains the UART into its ring at DIRQL and queues a DPC; the DPC, at
 * DISPATCH_LEVEL, takes the bytes out and gives them here
 * (KiShellInputBytes, the driver's "sink").  Editing happens at once, in
 * the DPC, as a terminal's line discipline does: what you type is echoed
 * even while a command runs.  A finished line goes into a small queue; the
 * shell (kernel/shell/shell.c) takes it at PASSIVE_LEVEL.  Like a driver
 * completing a read request, the DPC hands over whole lines only.
 *
 * Keys: printable ASCII is inserted at the end; Backspace (0x7F or 0x08)
 * rubs out one character; Ctrl-U the whole line; Ctrl-C drops the line;
 * Enter (CR, LF or CR LF) finishes it; the up and down arrows (ESC [ A,
 * ESC [ B, or ESC O A/B) walk the history.  Other escape sequences (ESC [
 * ... final byte) are swallowed whole.  Any other control character or
 * byte above 0x7E is ignored and counted.
 *
 * Bad input: a line longer than KI_SHELL_LINE_MAX - 1 keeps its beginning
 * and counts the rest, and the shell refuses it as a whole; a line finished
 * while KI_SHELL_QUEUE lines already wait is dropped, counted, and said at
 * once.  Nothing else is lost here (the ISR's ring counts its own losses).
 *
 * One lock, Input.Lock, guards the editor and the queue: the DPC holds it
 * for a chunk of bytes (at DISPATCH_LEVEL already), the shell for taking a
 * line or drawing the prompt.  A rubout on the screen is "\b \b", which the
 * serial terminal and the framebuffer console both understand.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "string.h"

#define CTRL(c)         ((c) & 0x1F)
#define ESC             0x1B
#define ECHO_SIZE       (4 * KI_SHELL_LINE_MAX)

enum { NORMAL, SAW_ESC, IN_SEQUENCE };

static struct {
    KSPIN_LOCK Lock;
    /* The line being typed. */
    char Text[KI_SHELL_LINE_MAX];
    ULONG Length, Overflow;
    UCHAR Escape;               /* NORMAL, SAW_ESC, IN_SEQUENCE */
    BOOLEAN LastWasCr;          /* an LF right after a CR ends nothing */
    BOOLEAN AtPrompt;           /* the shell is waiting with its prompt shown */
    /* History: the last KI_SHELL_HISTORY lines entered, oldest overwritten. */
    char History[KI_SHELL_HISTORY][KI_SHELL_LINE_MAX];
    ULONG HistoryCount;         /* lines ever entered */
    ULONG Browse;               /* 0: a new line; n: the nth most recent */
    /* Finished lines for the shell, and the event its thread waits on
     * (a synchronization event: set by the DPC per line queued). */
    KI_SHELL_LINE Queue[KI_SHELL_QUEUE];
    KEVENT LineQueued;
    ULONG Head, Tail;           /* free-running */
    KI_SHELL_INPUT_STATS Stats;
    /* The echo of one chunk, written once (DPC only, under Lock). */
    char Echo[ECHO_SIZE];
    ULONG EchoLength;
} Input;

VOID KiShellInitializeInput(VOID)
{
    KeInitializeSpinLock(&Input.Lock);
    KeInitializeEvent(&Input.LineQueued, SynchronizationEvent, FALSE);
}

static void flush_echo(void)
{
    if (Input.EchoLength) {
        Input.Echo[Input.EchoLength] = '\0';
        kprintf("%s", Input.Echo);
        Input.EchoLength = 0;
    }
}

static void echo(const char *Text)
{
    for (; *Text; Text++) {
        if (Input.EchoLength + 1 >= ECHO_SIZE)
            flush_echo();
        Input.Echo[Input.EchoLength++] = *Text;
    }
}

static void echo_char(char C)
{
    char s[2] = { C, '\0' };
    echo(s);
}

/* Rub the whole line out on the terminal. */
static void erase_shown(void)
{
    for (ULONG i = 0; i < Input.Length; i++)
        echo("\b \b");
}

static void replace_line(const char *Text)
{
    erase_shown();
    Input.Length = (ULONG)strlen(Text);
    Input.Overflow = 0;
    memcpy(Input.Text, Text, Input.Length);
    Input.Text[Input.Length] = '\0';
    echo(Input.Text);
}

static const char *history_entry(ULONG Back)     /* 1 = the most recent */
{
    return Input.History[(Input.HistoryCount - Back) % KI_SHELL_HISTORY];
}

static void history_up(void)
{
    ULONG kept = Input.HistoryCount < KI_SHELL_HISTORY ? Input.HistoryCount : KI_SHELL_HISTORY;

    if (Input.Browse < kept)
        replace_line(history_entry(++Input.Browse));
}

static void history_down(void)
{
    if (Input.Browse == 0)
        return;
    Input.Browse--;
    replace_line(Input.Browse ? history_entry(Input.Browse) : "");
}

static void finish_line(void)
{
    echo("\n");
    Input.Text[Input.Length] = '\0';
    if (Input.Length && !Input.Overflow &&
        (Input.HistoryCount == 0 || strcmp(history_entry(1), Input.Text) != 0)) {
        memcpy(Input.History[Input.HistoryCount % KI_SHELL_HISTORY], Input.Text, Input.Length + 1);
        Input.HistoryCount++;
    }
    Input.Stats.Lines++;
    if (Input.Tail - Input.Head == KI_SHELL_QUEUE) {
        Input.Stats.LinesDropped++;
        echo("(input: line dropped: the shell has as many waiting as it keeps)\n");
    } else {
        KI_SHELL_LINE *l = &Input.Queue[Input.Tail++ % KI_SHELL_QUEUE];
        memcpy(l->Text, Input.Text, Input.Length + 1);
        l->Length = Input.Length;
        l->Overflow = Input.Overflow;
        l->TypedAhead = !Input.AtPrompt;
        KeSetEvent(&Input.LineQueued, IO_NO_INCREMENT, FALSE);  /* DISPATCH_LEVEL: allowed */
    }
    Input.AtPrompt = FALSE;             /* the shell shows a new prompt when it is ready */
    Input.Length = Input.Overflow = 0;
    Input.Browse = 0;
}

static void add_byte(UCHAR C)
{
    BOOLEAN cr = Input.LastWasCr;

    Input.LastWasCr = C == '\r';
    if (Input.Escape == SAW_ESC) {
        Input.Escape = (C == '[' || C == 'O') ? IN_SEQUENCE : NORMAL;
        return;
    }
    if (Input.Escape == IN_SEQUENCE) {
        if (C >= 0x40 && C <= 0x7E) {   /* the final byte (ECMA-48) */
            Input.Escape = NORMAL;
            if (C == 'A')
                history_up();
            else if (C == 'B')
                history_down();
        }
        return;
    }
    switch (C) {
    case '\n':
        if (cr)
            return;                     /* CR LF: the CR finished it */
        /* fall through */
    case '\r':
        finish_line();
        return;
    case 0x7F:
    case '\b':
        if (Input.Overflow) {
            Input.Overflow--;
        } else if (Input.Length) {
            Input.Length--;
            echo("\b \b");
        }
        return;
    case CTRL('U'):
        erase_shown();
        Input.Length = Input.Overflow = 0;
        Input.Browse = 0;
        return;
    case CTRL('C'):
        echo("^C\n");
        Input.Length = Input.Overflow = 0;
        Input.Browse = 0;
        if (Input.AtPrompt)
            echo(KI_SHELL_PROMPT);
        return;
    case ESC:
        Input.Escape = SAW_ESC;
        return;
    default:
        break;
    }
    if (C < 0x20 || C > 0x7E) {
        Input.Stats.ControlIgnored++;
        return;
    }
    if (Input.Length + 1 < KI_SHELL_LINE_MAX) {
        Input.Text[Input.Length++] = (char)C;
        echo_char((char)C);
    } else {
        Input.Overflow++;               /* not shown: the terminal shows what is kept */
    }
}

VOID KiShellInputBytes(const UCHAR *Bytes, ULONG Count)
{
    KeAcquireSpinLockAtDpcLevel(&Input.Lock);
    Input.Stats.Bytes += Count;
    for (ULONG i = 0; i < Count; i++)
        add_byte(Bytes[i]);
    flush_echo();
    KeReleaseSpinLockFromDpcLevel(&Input.Lock);
}

BOOLEAN KiShellTakeLine(KI_SHELL_LINE *Line)
{
    KIRQL old;
    BOOLEAN taken = FALSE;

    KeAcquireSpinLock(&Input.Lock, &old);
    if (Input.Head != Input.Tail) {
        *Line = Input.Queue[Input.Head++ % KI_SHELL_QUEUE];
        taken = TRUE;
    }
    KeReleaseSpinLock(&Input.Lock, old);
    return taken;
}

VOID KiShellWaitForLine(VOID)
{
    while (!KiShellLineWaiting())
        KeWaitForSingleObject(&Input.LineQueued, Executive, KernelMode, FALSE, NULL);
}

BOOLEAN KiShellLineWaiting(VOID)
{
    return __atomic_load_n(&Input.Head, __ATOMIC_ACQUIRE) !=
           __atomic_load_n(&Input.Tail, __ATOMIC_ACQUIRE);
}

/* The prompt, and after it whatever was typed of the next line meanwhile;
 * none if a whole line already waits (the shell shows it with its prompt). */
VOID KiShellShowPrompt(VOID)
{
    KIRQL old;

    KeAcquireSpinLock(&Input.Lock, &old);
    if (Input.Head == Input.Tail) {
        Input.AtPrompt = TRUE;
        Input.Text[Input.Length] = '\0';
        kprintf("%s%s", KI_SHELL_PROMPT, Input.Text);
    }
    KeReleaseSpinLock(&Input.Lock, old);
}

VOID KiShellGetInputStats(KI_SHELL_INPUT_STATS *Stats)
{
    KIRQL old;

    KeAcquireSpinLock(&Input.Lock, &old);
    *Stats = Input.Stats;
    Stats->Waiting = Input.Tail - Input.Head;
    KeReleaseSpinLock(&Input.Lock, old);
}
