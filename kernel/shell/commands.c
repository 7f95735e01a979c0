/*
 * commands.c - the shell's command table, `help`, and the nearest command
 * for a word that is none (Levenshtein's edit distance: insertions,
 * deletions and substitutions, one each).
 *
 * The `!` names are the debugger extensions a Windows kernel developer
 * knows (!pcr, !prcb, !irql, !dpcs, !locks, !thread, !ready); their output
 * is ours.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/debug/symbols.h"
#include "arch/x86_64/calibrate.h"
#include "string.h"
#include "printf.h"

static VOID KiShellCmdHelp(int Argc, char **Argv);

static const KI_SHELL_COMMAND KiShellCommands[] = {
    { "help", "[command]", "this list, or one command's line", KiShellCmdHelp },
    { "cpus", "", "the processors: APIC ids, clock ticks, what each is doing", KiShellCmdCpus },
    { "uptime", "", "time since boot, from the interrupt time and the clock ticks", KiShellCmdUptime },
    { "!pcr", "[n]", "processor n's KPCR and KPRCB (default: this one)", KiShellCmdPcr },
    { "!prcb", "[n]", "processor n's KPRCB: clock, IPIs, DPC queue, held locks", KiShellCmdPrcb },
    { "!irql", "[n]", "the IRQL processor n runs at, and where (default: every CPU)", KiShellCmdIrql },
    { "!dpcs", "", "the DPC queue of every CPU: depth, queued, run, request rate", KiShellCmdDpcs },
    { "!locks", "", "spin locks held on every CPU (checked build's records)", KiShellCmdLocks },
    { "!interrupts", "", "interrupts taken per vector per CPU", KiShellCmdInterrupts },
    { "!validator", "", "the lock-order validator's learned graph (checked build)", KiShellCmdValidator },
    { "!thread", "", "every thread: state, priority, CPU, switches, start routine", KiShellCmdThread },
    { "!ready", "", "per CPU: the thread it runs and its ready queue by priority", KiShellCmdReady },
    { "input", "", "COM1 and keyboard input: interrupts, DPC runs, lines, losses", KiShellCmdInput },
    { "demo", "[name|n] [stop]", "list the demos, or run one", KiShellCmdDemo },
    { "test", "<glob>", "run the in-kernel tests whose names match", KiShellCmdTest },
    { "bench", "<glob>", "run the benchmarks whose names match", KiShellCmdBench },
    { "trace", "demo|test <name>", "run a demo or tests with the tracer on; summary and dump", KiShellCmdTrace },
    { "bugcheck", "<code> [p1..p4]", "stop the machine with KeBugCheckEx (ends the session)", KiShellCmdBugcheck },
    { "quit", "", "leave QEMU", KiShellCmdQuit },
};

ULONG KiShellEditDistance(const char *A, const char *B)
{
    ULONG row[KI_SHELL_LINE_MAX];       /* distances from A's prefix to B[0..j) */
    ULONG lb = (ULONG)strlen(B), la = (ULONG)strlen(A);

    if (lb >= KI_SHELL_LINE_MAX || la >= KI_SHELL_LINE_MAX)
        return ~0u;
    for (ULONG j = 0; j <= lb; j++)
        row[j] = j;
    for (ULONG i = 1; i <= la; i++) {
        ULONG diagonal = row[0];
        row[0] = i;
        for (ULONG j = 1; j <= lb; j++) {
            ULONG above = row[j];
            ULONG best = diagonal + (A[i - 1] != B[j - 1]);
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diagonal = above;
            row[j] = best;
        }
    }
    return row[lb];
}

static const KI_SHELL_COMMAND *find_command(const char *Name)
{
    for (ULONG i = 0; i < ARRAYSIZE(KiShellCommands); i++)
        if (strcmp(KiShellCommands[i].Name, Name) == 0)
            return &KiShellCommands[i];
    return NULL;
}

static VOID print_command(const KI_SHELL_COMMAND *c)
{
    kprintf("  %-12s %-17s %s\n", c->Name, c->Arguments, c->Help);
}

/* The commands nearest to Word: the smallest edit distance, if it is small
 * for the word's length, and every command Word begins. */
static VOID suggest(const char *Word)
{
    ULONG best = ~0u, length = (ULONG)strlen(Word);
    char list[256];
    ULONG n = 0;

    for (ULONG i = 0; i < ARRAYSIZE(KiShellCommands); i++) {
        ULONG d = KiShellEditDistance(Word, KiShellCommands[i].Name);
        if (d < best)
            best = d;
    }
    ULONG limit = length < 6 ? 2 : length / 3 + 1;
    list[0] = '\0';
    for (ULONG i = 0; i < ARRAYSIZE(KiShellCommands); i++) {
        const char *name = KiShellCommands[i].Name;
        BOOLEAN near = best <= limit && KiShellEditDistance(Word, name) == best;
        BOOLEAN prefix = length >= 2 && strncmp(name, Word, length) == 0;
        if ((near || prefix) && n + strlen(name) + 3 < sizeof(list))
            n += ksnprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", name);
    }
    if (n)
        kprintf("unknown command '%s': did you mean %s? (help lists them all)\n", Word, list);
    else
        kprintf("unknown command '%s': help lists the commands\n", Word);
}

static VOID KiShellCmdHelp(int Argc, char **Argv)
{
    if (Argc > 1) {
        const KI_SHELL_COMMAND *c = find_command(Argv[1]);
        if (c)
            print_command(c);
        else
            suggest(Argv[1]);
        return;
    }
    kprintf("commands (one line each; Up/Down: history, Ctrl-U: erase the line):\n");
    for (ULONG i = 0; i < ARRAYSIZE(KiShellCommands); i++)
        print_command(&KiShellCommands[i]);
}

VOID KiShellExecute(char *Line)
{
    char *argv[KI_SHELL_MAX_ARGS + 1];
    int argc = 0;

    for (char *p = Line; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (argc == KI_SHELL_MAX_ARGS) {
            kprintf("too many words: at most %u\n", KI_SHELL_MAX_ARGS);
            return;
        }
        argv[argc++] = p;
        while (*p && *p != ' ')
            p++;
        if (*p)
            *p++ = '\0';
    }
    argv[argc] = NULL;
    if (argc == 0)
        return;                         /* an empty line: just the prompt again */
    const KI_SHELL_COMMAND *c = find_command(argv[0]);
    if (c)
        c->Run(argc, argv);
    else
        suggest(argv[0]);
}

/* ---- helpers ---- */

BOOLEAN KiShellParseNumber(const char *Text, ULONG64 *Value)
{
    ULONG64 v = 0;
    ULONG base = 10;
    const char *p = Text;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!*p)
        goto bad;
    for (; *p; p++) {
        ULONG digit;
        if (*p >= '0' && *p <= '9')
            digit = (ULONG)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            digit = (ULONG)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            digit = (ULONG)(*p - 'A' + 10);
        else
            goto bad;
        if (v > (~0ull - digit) / base)
            goto bad;
        v = v * base + digit;
    }
    *Value = v;
    return TRUE;
bad:
    kprintf("'%s' is not a number (decimal, or hex with 0x)\n", Text);
    return FALSE;
}

BOOLEAN KiShellParseCpu(int Argc, char **Argv, ULONG *Cpu)
{
    ULONG64 n;
    ULONG count = KeQueryActiveProcessorCount(NULL);

    if (Argc < 2) {
        *Cpu = KeGetCurrentProcessorNumber();
        return TRUE;
    }
    if (!KiShellParseNumber(Argv[1], &n))
        return FALSE;
    if (n >= count) {
        kprintf("no processor %llu: %u online (0-%u)\n", (unsigned long long)n, count, count - 1);
        return FALSE;
    }
    *Cpu = (ULONG)n;
    return TRUE;
}

const char *KiShellIrqlName(KIRQL Irql)
{
    static const char *const names[] = {
        "PASSIVE_LEVEL", "APC_LEVEL", "DISPATCH_LEVEL", "DIRQL 3", "DIRQL 4", "DIRQL 5",
        "DIRQL 6", "DIRQL 7", "DIRQL 8", "DIRQL 9", "DIRQL 10", "DIRQL 11",
        "SYNCH_LEVEL/DIRQL 12", "CLOCK_LEVEL", "IPI_LEVEL", "HIGH_LEVEL",
    };
    return Irql < ARRAYSIZE(names) ? names[Irql] : "?";
}

const char *KiShellSymbol(char *Buffer, ULONG Size, ULONG_PTR Address, ULONG Back)
{
    ULONG_PTR offset;
    const char *name = Address ? KiLookupSymbol(Address - Back, &offset) : NULL;

    if (name)
        ksnprintf(Buffer, Size, "%s+0x%llx", name, (unsigned long long)(offset + Back));
    else
        ksnprintf(Buffer, Size, "0x%llx", (unsigned long long)Address);
    return Buffer;
}

ULONG64 KiShellMicroseconds(ULONG64 TscTicks)
{
    ULONG64 per_us = KiTscFrequency / 1000000;  /* no overflow after hours of uptime */
    return per_us ? TscTicks / per_us : 0;
}
