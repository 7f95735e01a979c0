/*
 * system.c - the shell's commands about the whole machine: cpus, uptime,
 * input, test, bench, trace, bugcheck, quit.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/clock.h"
#include "kernel/io/serial_input.h"
#include "kernel/io/keyboard.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/trace/trace.h"
#include "kernel/trace/trace_ring.h"
#include "ktest.h"
#include "kbench.h"
#include "string.h"

/* Tests that take COM1 or the keyboard over (they stop and restart its
 * interrupt, or loop bytes back through it): the shell reads both, so they
 * stay out. */
#define KI_SHELL_TESTS_LEFT_OUT "serial_input_*,interrupt_com1_*,keyboard_i8042_*"

VOID KiShellCmdCpus(int Argc, char **Argv)
{
    ULONG self = KeGetCurrentProcessorNumber();
    char routine[80];

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("%u processors online, clock every %u us on each:\n", KeQueryActiveProcessorCount(NULL),
            KiClockPeriodMicroseconds());
    for (ULONG n = 0; n < KeQueryActiveProcessorCount(NULL); n++) {
        PKPRCB p = &KiProcessorBlock[n].Prcb;
        VOID (*idle)(PVOID) = p->IdleRoutine;
        kprintf("  cpu %u  APIC id %u  clock ticks %llu  %s%s\n", n, p->ApicId,
                (unsigned long long)p->ClockTicks,
                n == self ? "runs the shell" : idle ? "runs idle work: " : "idle (hlt)",
                n != self && idle ? KiShellSymbol(routine, sizeof(routine), (ULONG_PTR)idle, 0) : "");
    }
}

VOID KiShellCmdUptime(int Argc, char **Argv)
{
    ULONGLONG t = KeQueryInterruptTime();      /* 100 ns units since boot */

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("up %llu.%03llu s (KeQueryInterruptTime); CPU 0 clock ticks %llu of %u us\n",
            (unsigned long long)(t / 10000000), (unsigned long long)(t / 10000 % 1000),
            (unsigned long long)KiProcessorBlock[0].Prcb.ClockTicks, KiClockPeriodMicroseconds());
}

VOID KiShellCmdInput(int Argc, char **Argv)
{
    KI_SERIAL_INPUT_STATS s;
    KI_SHELL_INPUT_STATS l;
    KI_KEYBOARD_STATS k;

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    KiGetSerialInputStats(&s);
    KiShellGetInputStats(&l);
    KiGetKeyboardStats(&k);
    kprintf("COM1: vector 0x%x at DIRQL %u on CPU %u; %u interrupts, %u DPC runs (last on CPU %u "
            "at IRQL %u)\n", s.Vector, s.Irql, s.Processor, s.Interrupts, s.Dpcs,
            s.LastDpcProcessor, s.LastDpcIrql);
    kprintf("ring (%u bytes, ISR -> DPC): %u bytes received, %u lost (ring full), %u waiting\n",
            KI_SERIAL_RING_SIZE, s.Received, s.Dropped, s.Buffered);
    if (k.Interrupt)
        kprintf("keyboard: vector 0x%x at DIRQL %u on CPU %u; %u interrupts, %u DPC runs; %u scan "
                "codes received, %u lost (ring of %u full), %u waiting; %u bytes to the editor\n",
                k.Vector, k.Irql, k.Processor, k.Interrupts, k.Dpcs, k.Received, k.Dropped,
                KI_KEYBOARD_RING_SIZE, k.Buffered, k.Bytes);
    else
        kprintf("keyboard: %s\n", k.Present ? "not connected" : "no i8042 controller");
    kprintf("line editor (in the DPCs): %u bytes, %u lines, %u lines dropped (queue of %u full), "
            "%u control bytes ignored, %u lines waiting\n", l.Bytes, l.Lines, l.LinesDropped,
            KI_SHELL_QUEUE, l.ControlIgnored, l.Waiting);
}

VOID KiShellCmdTest(int Argc, char **Argv)
{
    if (Argc != 2) {
        kprintf("usage: test <glob>   e.g. test irql_*  or  test all  (names: tests/kernel/)\n");
        return;
    }
    kprintf("tests matching %s; left out here: %s (they take COM1 or the keyboard over)\n",
            Argv[1],
            KI_SHELL_TESTS_LEFT_OUT);
    int failed = KiRunTestsNoExit(strcmp(Argv[1], "*") == 0 ? "all" : Argv[1],
                                  KI_SHELL_TESTS_LEFT_OUT, TRUE);
    kprintf("test: %s\n", failed ? "FAILED (the lines with \"not ok\" above)" : "all passed");
}

VOID KiShellCmdBench(int Argc, char **Argv)
{
    if (Argc != 2) {
        kprintf("usage: bench <glob>   e.g. bench uncontended_*  (names: tests/bench/; tables: "
                "make bench)\n");
        return;
    }
    KiRunBenchmarksMatching(Argv[1]);
    kprintf("bench: done (medians and p99 in TSC ticks; make bench compares them with their "
            "floors)\n");
}

/* ---- trace --------------------------------------------------------------- */

static VOID trace_summary(VOID)
{
    kprintf("trace: per CPU: records, interrupts, DPCs run, lock acquisitions (contended, spins)\n");
    for (ULONG n = 0; n < KeQueryActiveProcessorCount(NULL); n++) {
        KI_TRACE_RING *r = &KiTraceRings[n];
        ULONG64 written = r->Head, kept = written < r->Size ? written : r->Size;
        ULONG64 interrupts = 0, dpcs = 0, acquired = 0, contended = 0, spins = 0;
        for (ULONG64 i = written - kept; i < written; i++) {
            KI_TRACE_RECORD *e = &r->Records[i & (r->Size - 1)];
            interrupts += e->Type == KI_TRACE_INTERRUPT_ENTRY;
            dpcs += e->Type == KI_TRACE_DPC_START;
            if (e->Type == KI_TRACE_LOCK_ACQUIRED) {
                acquired++;
                contended += e->B != 0;
                spins += e->B;
            }
        }
        kprintf("  cpu %u: %llu records%s, %llu interrupts, %llu DPCs, %llu acquisitions "
                "(%llu contended, %llu spins)\n", n, (unsigned long long)written,
                written > kept ? " (oldest overwritten)" : "", (unsigned long long)interrupts,
                (unsigned long long)dpcs, (unsigned long long)acquired,
                (unsigned long long)contended, (unsigned long long)spins);
    }
}

VOID KiShellCmdTrace(int Argc, char **Argv)
{
    const KI_SHELL_DEMO *demo = NULL;

    if (Argc < 3 || (strcmp(Argv[1], "demo") != 0 && strcmp(Argv[1], "test") != 0)) {
        kprintf("usage: trace demo <name>  or  trace test <glob>\n");
        return;
    }
    if (strcmp(Argv[1], "demo") == 0) {
        demo = KiShellFindDemo(Argv[2]);
        if (!demo)
            return;                     /* KiShellFindDemo said why */
        if (demo->Needs) {
            kprintf("demo %s %s\n", demo->Name, demo->Needs);
            return;
        }
    }
    KiTraceEnable(KI_TRACE_IRQL | KI_TRACE_INTERRUPTS | KI_TRACE_IPI | KI_TRACE_DPC | KI_TRACE_LOCKS |
                  KI_TRACE_THREADS);
    kprintf("trace: on (irql, interrupts, ipi, dpc, locks, threads), %llu records per CPU\n",
            (unsigned long long)KiTraceRings[0].Size);
    if (demo)
        demo->Run(Argc - 2, Argv + 2);
    else
        KiRunTestsNoExit(Argv[2], KI_SHELL_TESTS_LEFT_OUT, TRUE);
    KiTraceDump();                      /* recording stops; the rings hold still */
    KiTraceEnable(0);                   /* the free build's patched lock sites back to NOPs */
    trace_summary();
    kprintf("trace: the rings went out through the debug console port 0xE9; make run keeps them "
            "in build/%s/trace.bin; draw them:\n  python3 scripts/trace.py build/%s/trace.bin "
            "--symbols build/%s/kernel.sym --out build/trace/shell\n",
            DBG ? "checked" : "free", DBG ? "checked" : "free", DBG ? "checked" : "free");
}

VOID KiShellCmdBugcheck(int Argc, char **Argv)
{
    ULONG64 v[5] = { 0 };

    if (Argc < 2 || Argc > 6) {
        kprintf("usage: bugcheck <code> [p1 [p2 [p3 [p4]]]]   e.g. bugcheck 0xE2 "
                "(MANUALLY_INITIATED_CRASH); docs/bugchecks.md lists the codes\n");
        return;
    }
    for (int i = 1; i < Argc; i++)
        if (!KiShellParseNumber(Argv[i], &v[i - 1]))
            return;
    if (v[0] > 0xFFFFFFFFull) {
        kprintf("a bug check code is 32 bits\n");
        return;
    }
    kprintf("bugcheck: KeBugCheckEx(0x%llx, ...): the machine stops here and QEMU exits; "
            "make run boots it again\n", (unsigned long long)v[0]);
    KeBugCheckEx((ULONG)v[0], v[1], v[2], v[3], v[4]);
}

VOID KiShellCmdQuit(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("quit: leaving QEMU\n");
    KiExitMachine(KI_EXIT_TESTS_PASSED);
}
