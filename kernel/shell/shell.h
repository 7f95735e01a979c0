/*
 * shell.h - the kernel shell on COM1 and the PS/2 keyboard (docs/tour.md):
 * what its files share.
 *
 *   line.c       the line editor, run by the COM1 and keyboard DPCs: echo, backspace,
 *                Ctrl-U, history, complete lines queued for the shell
 *   shell.c      KiShellMain: prompt, wait for a line, run it
 *   commands.c   the command table, help, the nearest command
 *   debugger.c   the `!` commands, named after the debugger's extensions
 *   debugger_thread.c  !thread and !ready, read under the dispatcher lock
 *   system.c     cpus, uptime, input, test, bench, trace, bugcheck, quit
 *   demo.c       the demo table; demo_*.c one demo each
 */
#ifndef KERNEL_SHELL_H
#define KERNEL_SHELL_H

#include "wdm.h"

#define KI_SHELL_LINE_MAX       256     /* characters of a line, with its NUL */
#define KI_SHELL_QUEUE          8       /* complete lines waiting for the shell */
#define KI_SHELL_HISTORY        16      /* lines up-arrow can bring back */
#define KI_SHELL_MAX_ARGS       8
#define KI_SHELL_PROMPT         "ntsync> "

/* The shell's own vectors, listed with the others in kernel/irql/vectors.h. */
#include "kernel/irql/vectors.h"
#define KI_SHELL_VECTOR_SAMPLE  KI_VECTOR_SHELL_SAMPLE  /* !irql's look at another CPU */
#define KI_SHELL_VECTOR_DEVICE  KI_VECTOR_SHELL_DEVICE  /* demo 4's "device" */

/* The shell's main loop, shaped as a KSTART_ROUTINE so that it can become a
 * system thread's.  Returns only if COM1 input cannot be started. */
VOID KiShellMain(PVOID Context);

/* ---- line.c ---- */
typedef struct _KI_SHELL_LINE {
    char Text[KI_SHELL_LINE_MAX];
    ULONG Length;               /* characters kept in Text */
    ULONG Overflow;             /* characters typed past the end, not kept */
    BOOLEAN TypedAhead;         /* finished while a command was running */
} KI_SHELL_LINE;

typedef struct _KI_SHELL_INPUT_STATS {
    ULONG Bytes;                /* bytes the editor was given */
    ULONG Lines;                /* lines finished (queued or dropped) */
    ULONG LinesDropped;         /* the queue was full */
    ULONG ControlIgnored;       /* control characters and non-ASCII bytes ignored */
    ULONG Waiting;              /* lines in the queue now */
} KI_SHELL_INPUT_STATS;

VOID KiShellInputBytes(const UCHAR *Bytes, ULONG Count);   /* the serial DPC's sink */
BOOLEAN KiShellTakeLine(KI_SHELL_LINE *Line);
BOOLEAN KiShellLineWaiting(VOID);
/* Block the shell's thread until a whole line is queued (PASSIVE_LEVEL). */
VOID KiShellWaitForLine(VOID);
VOID KiShellInitializeInput(VOID);
VOID KiShellShowPrompt(VOID);
VOID KiShellGetInputStats(KI_SHELL_INPUT_STATS *Stats);

/* ---- commands.c ---- */
typedef struct _KI_SHELL_COMMAND {
    const char *Name;
    const char *Arguments;      /* for help: "<glob>", "[n]", "" */
    const char *Help;           /* one line */
    VOID (*Run)(int Argc, char **Argv);
} KI_SHELL_COMMAND;

VOID KiShellExecute(char *Line);
ULONG KiShellEditDistance(const char *A, const char *B);

/* ---- helpers shared by the commands and demos ---- */
/* Parse a decimal or 0x-hex number; FALSE (and a message) if it is not one. */
BOOLEAN KiShellParseNumber(const char *Text, ULONG64 *Value);
/* A CPU number argument (or the current CPU with none); FALSE after a message. */
BOOLEAN KiShellParseCpu(int Argc, char **Argv, ULONG *Cpu);
const char *KiShellIrqlName(KIRQL Irql);
/* "name+0x1f" for a code address (a return address: Back = 1). */
const char *KiShellSymbol(char *Buffer, ULONG Size, ULONG_PTR Address, ULONG Back);
ULONG64 KiShellMicroseconds(ULONG64 TscTicks);
/* Held spin locks per CPU from the checked build's records. */
VOID KiShellPrintHeldLocks(VOID);

/* The command bodies. */
VOID KiShellCmdPcr(int Argc, char **Argv);
VOID KiShellCmdPrcb(int Argc, char **Argv);
VOID KiShellCmdIrql(int Argc, char **Argv);
VOID KiShellCmdDpcs(int Argc, char **Argv);
VOID KiShellCmdLocks(int Argc, char **Argv);
VOID KiShellCmdInterrupts(int Argc, char **Argv);
VOID KiShellCmdValidator(int Argc, char **Argv);
VOID KiShellCmdThread(int Argc, char **Argv);
VOID KiShellCmdReady(int Argc, char **Argv);
VOID KiShellCmdCpus(int Argc, char **Argv);
VOID KiShellCmdUptime(int Argc, char **Argv);
VOID KiShellCmdInput(int Argc, char **Argv);
VOID KiShellCmdTest(int Argc, char **Argv);
VOID KiShellCmdBench(int Argc, char **Argv);
VOID KiShellCmdTrace(int Argc, char **Argv);
VOID KiShellCmdBugcheck(int Argc, char **Argv);
VOID KiShellCmdQuit(int Argc, char **Argv);
VOID KiShellCmdDemo(int Argc, char **Argv);

/* ---- demo.c ---- */
typedef struct _KI_SHELL_DEMO {
    const char *Name;
    ULONG Number;               /* the numbering, 1-10 */
    const char *Title;          /* one line */
    const char *Needs;          /* NULL, or why it cannot run yet */
    VOID (*Run)(int Argc, char **Argv);     /* Argv[0] is the demo's name */
} KI_SHELL_DEMO;

const KI_SHELL_DEMO *KiShellFindDemo(const char *Name);
/* "Read: file, function" lines at the end of a demo. */
VOID KiShellDemoRead(const char *What);
/* Run Routine(Context) on every CPU at once, each at PASSIVE_LEVEL, and wait. */
VOID KiShellRunOnAllCpus(VOID (*Routine)(PVOID Context), PVOID Context);
/* Every CPU calls this first: none starts before all have arrived. */
VOID KiShellBarrier(volatile LONG *Arrived, ULONG Cpus);

VOID KiDemoLostUpdate(int Argc, char **Argv);
VOID KiDemoRaise(int Argc, char **Argv);
VOID KiDemoAbba(int Argc, char **Argv);
VOID KiDemoIsrDpc(int Argc, char **Argv);
VOID KiDemoFairness(int Argc, char **Argv);
VOID KiDemoDpcTargeting(int Argc, char **Argv);
VOID KiDemoIrqlMasking(int Argc, char **Argv);
VOID KiDemoReaderWriter(int Argc, char **Argv);
VOID KiDemoPreempt(int Argc, char **Argv);
VOID KiDemoInversion(int Argc, char **Argv);

#endif
