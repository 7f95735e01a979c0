/*
 * debugger.c - the `!` commands: the machine as a kernel debugger shows it,
 * read from the KPCR/KPRCB of each CPU (kernel/smp/pcr.h), the interrupt
 * counts (kernel/irql/interrupt.c), the checked build's held-lock records
 * (kernel/locks/spinlock_check.h) and the lock-order validator
 * (kernel/locks/lockorder.c).
 *
 * Another CPU's fields are read while it runs: a snapshot, each number
 * right when read, not all at one instant (the debugger freezes the
 * machine first; we do not).
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/interrupt.h"
#include "kernel/irql/vectors.h"
#include "kernel/locks/lockorder.h"
#include "kernel/io/serial_input.h"
#include "kernel/io/keyboard.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "printf.h"

static ULONG online_count(VOID)
{
    return KeQueryActiveProcessorCount(NULL);
}

static VOID print_prcb(ULONG n)
{
    PKPRCB p = &KiProcessorBlock[n].Prcb;
    char routine[80];

    kprintf("KPRCB of processor %u at %p (KPCR %p)\n", n, p, &KiProcessorBlock[n]);
    kprintf("  Number %u  ApicId %u%s\n", p->Number, p->ApicId,
            n == KeGetCurrentProcessorNumber() ? "  (the shell runs here)" : "");
    kprintf("  ClockTicks %llu  IpiRequests 0x%x  IpiPingCount %u\n",
            (unsigned long long)p->ClockTicks, (ULONG)p->IpiRequests, p->IpiPingCount);
    kprintf("  IdleRoutine %s\n",
            p->IdleRoutine ? KiShellSymbol(routine, sizeof(routine), (ULONG_PTR)p->IdleRoutine, 0)
                           : "none (halted in its idle loop when not interrupted)");
    kprintf("  DpcData: DpcQueueDepth %u  DpcCount %u  DpcLock %u\n", p->DpcData.DpcQueueDepth,
            p->DpcData.DpcCount, (ULONG)p->DpcData.DpcLock);
    kprintf("  DpcRoutineActive %u  DpcInterruptRequested %u  DpcRoutineCount %llu\n",
            p->DpcRoutineActive, p->DpcInterruptRequested, (unsigned long long)p->DpcRoutineCount);
    kprintf("  MaximumDpcQueueDepth %u  MinimumDpcRate %u  DpcRequestRate %u  DpcWatchdogCount %u\n",
            p->MaximumDpcQueueDepth, p->MinimumDpcRate, p->DpcRequestRate, p->DpcWatchdogCount);
    kprintf("  DpcStack %p\n", p->DpcStack);
    if (DBG)
        kprintf("  SpinLockTrace: %u held (records), StaleRaise %p\n", p->SpinLockTrace.Count,
                p->SpinLockTrace.StaleRaise.Lock);
    else
        kprintf("  SpinLockTrace: free build: not recorded\n");
}

VOID KiShellCmdPrcb(int Argc, char **Argv)
{
    ULONG n;

    if (KiShellParseCpu(Argc, Argv, &n))
        print_prcb(n);
}

VOID KiShellCmdPcr(int Argc, char **Argv)
{
    ULONG n;

    if (!KiShellParseCpu(Argc, Argv, &n))
        return;
    PKPCR pcr = &KiProcessorBlock[n];
    kprintf("KPCR of processor %u at %p: Self %p, CurrentPrcb %p (GS base of that CPU)\n", n,
            pcr, pcr->Self, pcr->CurrentPrcb);
    print_prcb(n);
}

/* ---- !irql: a look at another CPU ---------------------------------------
 * The debugger reads a frozen CPU's saved IRQL.  We interrupt CPU n with a
 * fixed IPI of the HIGH_LEVEL class, which every IRQL below HIGH_LEVEL lets
 * in, and its handler reads what it interrupted from the trap frame: the
 * IRQL (KTRAP_FRAME.PreviousIrql) and the instruction (Rip). */
static struct {
    volatile LONG Answered;
    KIRQL Irql;
    ULONG_PTR Rip;
} KiShellSample;

static VOID sample_handler(PKTRAP_FRAME Frame, PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KiShellSample.Irql = (KIRQL)Frame->PreviousIrql;
    KiShellSample.Rip = Frame->Rip;
    __atomic_store_n(&KiShellSample.Answered, 1, __ATOMIC_RELEASE);
}

static VOID sample_irql(ULONG n)
{
    char where[80];

    if (n == KeGetCurrentProcessorNumber()) {
        KIRQL irql = KeGetCurrentIrql();
        kprintf("  CPU %u: IRQL %u %s (the shell itself, waiting for and running commands)\n", n,
                irql, KiShellIrqlName(irql));
        return;
    }
    KiShellSample.Answered = 0;
    KiApicSendIpi(KiProcessorBlock[n].Prcb.ApicId, ICR_FIXED | ICR_ASSERT | KI_SHELL_VECTOR_SAMPLE);
    for (ULONG us = 0; !__atomic_load_n(&KiShellSample.Answered, __ATOMIC_ACQUIRE); us += 10) {
        if (us >= 100000) {
            kprintf("  CPU %u: no answer in 100 ms: at HIGH_LEVEL or with interrupts off\n", n);
            return;
        }
        KeStallExecutionProcessor(10);
    }
    kprintf("  CPU %u: IRQL %u %s, interrupted at %s\n", n, KiShellSample.Irql,
            KiShellIrqlName(KiShellSample.Irql),
            KiShellSymbol(where, sizeof(where), KiShellSample.Rip, 0));
}

VOID KiShellCmdIrql(int Argc, char **Argv)
{
    ULONG n;

    if (Argc > 1 && !KiShellParseCpu(Argc, Argv, &n))
        return;
    KiSetInterruptHandler(KI_SHELL_VECTOR_SAMPLE, sample_handler, NULL);
    kprintf("IRQL (CR8) per CPU, sampled by an interrupt of the HIGH_LEVEL class:\n");
    if (Argc > 1) {
        sample_irql(n);
    } else {
        for (ULONG i = 0; i < online_count(); i++)
            sample_irql(i);
    }
    KiSetInterruptHandler(KI_SHELL_VECTOR_SAMPLE, NULL, NULL);
}

VOID KiShellCmdDpcs(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("cpu  depth  max-depth  queued(ever)  run(ever)  request-rate  min-rate  draining\n");
    for (ULONG n = 0; n < online_count(); n++) {
        PKPRCB p = &KiProcessorBlock[n].Prcb;
        kprintf("%3u  %5u  %9u  %12u  %9llu  %12u  %8u  %s\n", n, p->DpcData.DpcQueueDepth,
                p->MaximumDpcQueueDepth, p->DpcData.DpcCount, (unsigned long long)p->DpcRoutineCount,
                p->DpcRequestRate, p->MinimumDpcRate, p->DpcRoutineActive ? "yes" : "no");
    }
    kprintf("(request rate: DPCs queued per clock tick, averaged; a queue deeper than max-depth\n"
            " or a rate below min-rate asks for the drain at once: kernel/dpc/dpc_queue.c)\n");
}

/* ---- !locks -------------------------------------------------------------- */

static const char *const KiShellLockKinds[] = {
    "?", "executive", "in-stack queued", "numbered queued", "reader/writer shared",
    "reader/writer exclusive", "interrupt", "ExInterlocked raw", "DPC queue",
};

VOID KiShellPrintHeldLocks(VOID)
{
    ULONG total = 0;
    char site[80];

    if (!DBG) {
        kprintf("free build: not recorded (the checked build keeps a record of every held spin "
                "lock: make run without CHECKED=0)\n");
        return;
    }
    for (ULONG n = 0; n < online_count(); n++) {
        KI_SPIN_LOCK_TRACE *t = &KiProcessorBlock[n].Prcb.SpinLockTrace;
        ULONG count = __atomic_load_n(&t->Count, __ATOMIC_ACQUIRE);
        for (ULONG i = 0; i < count && i < KI_HELD_SPIN_LOCK_RECORDS; i++) {
            KI_HELD_SPIN_LOCK h = t->Held[i];
            kprintf("  CPU %u holds %s lock %p at IRQL %u (was %u), taken at %s\n", n,
                    KiShellLockKinds[h.Kind < ARRAYSIZE(KiShellLockKinds) ? h.Kind : 0], h.Lock,
                    h.HoldIrql, h.OldIrql, KiShellSymbol(site, sizeof(site), h.Caller, 1));
            total++;
        }
    }
    if (!total)
        kprintf("  no spin lock is held on any CPU right now\n");
}

VOID KiShellCmdLocks(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("spin locks held, per CPU (a snapshot; `demo raise` shows one while it is held):\n");
    KiShellPrintHeldLocks();
}

/* ---- !interrupts --------------------------------------------------------- */

static const char *vector_name(ULONG v, char *Buffer, ULONG Size)
{
    KI_SERIAL_INPUT_STATS serial;
    KI_KEYBOARD_STATS keyboard;

    KiGetSerialInputStats(&serial);
    KiGetKeyboardStats(&keyboard);
    if (v == KI_VECTOR_APC)
        return "APC_LEVEL software interrupt";
    if (v == KI_VECTOR_DPC)
        return "DISPATCH_LEVEL software interrupt (DPCs)";
    if (v == KI_VECTOR_CLOCK)
        return "clock (local APIC timer)";
    if (v == KI_VECTOR_IPI)
        return "IPI (requests between CPUs)";
    if (v == KI_VECTOR_SPURIOUS)
        return "spurious";
    if (v == KI_VECTOR_APIC_ERROR)
        return "APIC error";
    if (v == KI_SHELL_VECTOR_SAMPLE)
        return "the shell's !irql sample";
    if (v == KI_SHELL_VECTOR_DEVICE)
        return "demo isr-dpc's device";
    if (serial.Interrupt && v == serial.Vector)
        return "COM1 receive (the shell's input)";
    if (keyboard.Interrupt && v == keyboard.Vector)
        return "PS/2 keyboard (the shell's input)";
    ksnprintf(Buffer, Size, "IRQL %u (tests, benchmarks)", v >> 4);
    return Buffer;
}

VOID KiShellCmdInterrupts(int Argc, char **Argv)
{
    ULONG cpus = online_count();
    char name[48];

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("vector  IRQL");
    for (ULONG n = 0; n < cpus && n < 8; n++)
        kprintf("  %9s%u", "cpu", n);
    kprintf("%s  what\n", cpus > 8 ? "  (first 8 CPUs)" : "");
    for (ULONG v = 32; v < 256; v++) {
        ULONG64 total = 0;
        for (ULONG n = 0; n < cpus; n++)
            total += KiInterruptCount[n][v];
        if (!total)
            continue;
        char row[160];
        ULONG k = ksnprintf(row, sizeof(row), "  0x%02x  %4u", v, v >> 4);
        for (ULONG n = 0; n < cpus && n < 8; n++)
            k += ksnprintf(row + k, sizeof(row) - k, "  %10u", KiInterruptCount[n][v]);
        kprintf("%s  %s\n", row, vector_name(v, name, sizeof(name)));
    }
    kprintf("(counted in KiDispatchInterrupt, kernel/irql/interrupt.c; exceptions and NMIs are "
            "not interrupts here)\n");
}

/* ---- !validator (!thread and !ready: debugger_thread.c) ------------------ */

VOID KiShellCmdValidator(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    if (!DBG) {
        kprintf("free build: the lock-order validator is compiled out (make run without "
                "CHECKED=0)\n");
        return;
    }
#if DBG
    KI_LOCK_ORDER_STATS s;
    KiLockOrderQuery(&s);
    kprintf("lock-order validator: %s; %u classes of %u, %u edges of %u, %u cycles reported by "
            "demos\n", s.Enabled ? "on" : "off", s.Classes, KI_LOCK_ORDER_CLASSES, s.Edges,
            KI_LOCK_ORDER_EDGES, s.Reports);
    kprintf("each edge: a CPU held the first lock while it took the second (docs/validator.md)\n");
    KiLockOrderDumpGraph();
#endif
}
