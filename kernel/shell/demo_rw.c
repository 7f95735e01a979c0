/*
 * demo_rw.c - demo 8: a reader/writer spin lock prefers a waiting writer.
 *
 * CPU 1 holds the lock shared.  CPU 2 asks for it exclusive and waits (it
 * sets the writer bit first, then waits for the readers inside to leave).
 * CPU 3 then asks for it shared: a reader, like the one inside, but it
 * waits too, behind the writer, so that a stream of readers can never
 * starve a writer.  Times are microseconds from the start, read from the
 * TSC on each CPU.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "arch/x86_64/cpu.h"

#define HOLD_US 50000

static struct {
    EX_SPIN_LOCK Lock;
    volatile LONG Arrived;
    ULONG Cpus;
    ULONG64 Start;
    volatile ULONG64 ReaderIn, ReaderOut, WriterAsks, WriterIn, WriterOut, LateAsks, LateIn;
} Demo;

static ULONG64 now_us(VOID)
{
    return KiShellMicroseconds(rdtsc() - Demo.Start);
}

static VOID role(PVOID Context)
{
    ULONG n = KeGetCurrentProcessorNumber();
    KIRQL old;

    UNREFERENCED_PARAMETER(Context);
    KiShellBarrier(&Demo.Arrived, Demo.Cpus);
    if (n == 1) {                       /* the reader inside */
        old = ExAcquireSpinLockShared(&Demo.Lock);
        Demo.ReaderIn = now_us();
        KeStallExecutionProcessor(HOLD_US);
        Demo.ReaderOut = now_us();
        ExReleaseSpinLockShared(&Demo.Lock, old);
    } else if (n == 2) {                /* the writer */
        while (!Demo.ReaderIn)
            cpu_relax();
        Demo.WriterAsks = now_us();
        old = ExAcquireSpinLockExclusive(&Demo.Lock);
        Demo.WriterIn = now_us();
        KeStallExecutionProcessor(HOLD_US / 2);
        Demo.WriterOut = now_us();
        ExReleaseSpinLockExclusive(&Demo.Lock, old);
    } else if (n == 3) {                /* the late reader */
        while (!((ULONG)*(volatile EX_SPIN_LOCK *)&Demo.Lock & 0x80000000u))
            cpu_relax();                /* the writer's bit: it waits now */
        Demo.LateAsks = now_us();
        old = ExAcquireSpinLockShared(&Demo.Lock);
        Demo.LateIn = now_us();
        ExReleaseSpinLockShared(&Demo.Lock, old);
    }
}

VOID KiDemoReaderWriter(int Argc, char **Argv)
{
    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    Demo.Cpus = KeQueryActiveProcessorCount(NULL);
    if (Demo.Cpus < 4) {
        kprintf("needs 4 CPUs (the shell's, a reader, a writer, a late reader): make run SMP=4\n");
        return;
    }
    Demo.Lock = 0;
    Demo.Arrived = 0;
    Demo.ReaderIn = Demo.ReaderOut = Demo.WriterAsks = Demo.WriterIn = Demo.WriterOut = 0;
    Demo.LateAsks = Demo.LateIn = 0;
    Demo.Start = rdtsc();
    KiShellRunOnAllCpus(role, NULL);
    kprintf("  %6llu us  CPU 1 (reader) holds it shared\n", (unsigned long long)Demo.ReaderIn);
    kprintf("  %6llu us  CPU 2 (writer) asks for it exclusive: waits for the reader\n",
            (unsigned long long)Demo.WriterAsks);
    kprintf("  %6llu us  CPU 3 (reader) asks for it shared while the writer waits\n",
            (unsigned long long)Demo.LateAsks);
    kprintf("  %6llu us  CPU 1 releases\n", (unsigned long long)Demo.ReaderOut);
    kprintf("  %6llu us  CPU 2 (writer) gets it\n", (unsigned long long)Demo.WriterIn);
    kprintf("  %6llu us  CPU 2 releases\n", (unsigned long long)Demo.WriterOut);
    kprintf("  %6llu us  CPU 3 (reader) gets it: %s\n", (unsigned long long)Demo.LateIn,
            Demo.LateIn >= Demo.WriterOut ? "after the writer, not alongside the first reader"
                                          : "BEFORE the writer (?)");
    KiShellDemoRead("kernel/shell/demo_rw.c (role); kernel/locks/rwlock.c "
                    "(ExAcquireSpinLockShared, ExAcquireSpinLockExclusive); docs/spinlocks.md");
}
