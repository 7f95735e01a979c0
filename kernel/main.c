/*
 * main.c - KiSystemStartup: the boot CPU's path from boot/entry.S to the
 * first system thread (tests, benchmarks or `make run`) and its idle loop.
 *
 * Order matters: the per-CPU block first (everything that prints reads the
 * processor number through GS), then the console, the descriptor tables (so
 * a fault from here on is a STOP screen, not a triple fault), the boot
 * information and the command line.
 */
#include "wdm.h"
#include "ktest.h"
#include "kbench.h"
#include "boot/multiboot2.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/ioapic.h"
#include "kernel/acpi/acpi.h"
#include "kernel/boot_info.h"
#include "kernel/irql/clock.h"
#include "kernel/dpc/dpc.h"
#include "kernel/irql/ipi.h"
#include "kernel/console/console.h"
#include "kernel/console/framebuffer.h"
#include "kernel/io/fwcfg.h"
#include "kernel/options.h"
#include "kernel/trace/trace.h"
#include "kernel/smp/pcr.h"
#include "kernel/io/serial_input.h"
#include "kernel/smp/smp.h"
#include "kernel/smp/stackguard.h"
#include "kernel/shell/shell.h"
#include "kernel/thread/thread.h"
#include "printf.h"

#ifndef KERNEL_VERSION
#define KERNEL_VERSION "unknown"
#endif
#define FW_CFG_CMDLINE "opt/ntsync/cmdline"

static char KiTestPattern[KI_MAX_OPTION];     /* any word the parser accepts fits */

static void apply_test(const char *value)
{
    ksnprintf(KiTestPattern, sizeof(KiTestPattern), "%s", value[0] ? value : "all");
}
KERNEL_OPTION("test", "run in-kernel tests and exit QEMU: test=all or test=<glob>[,<glob>...]",
              apply_test);

static void print_processors(ULONG64 ticks)
{
    char ids[4 * MAXIMUM_PROCESSORS + 1];
    size_t n = 0;
    KAFFINITY online = KeQueryActiveProcessors();

    ids[0] = '\0';
    for (ULONG i = 0; i < MAXIMUM_PROCESSORS; i++)
        if (online & ((KAFFINITY)1 << i))
            n += ksnprintf(ids + n, sizeof(ids) - n, " %u", KiProcessorBlock[i].Prcb.ApicId);
    kprintf("processors: %u online (APIC ids%s), brought up in %llu ms\n",
            KeQueryActiveProcessorCount(NULL), ids,
            (unsigned long long)(ticks * 1000 / KiTscFrequency));
}

/* "PIT, best of 5 windows" for the boot line (scripts/calibration-under-load.py
 * reads it); a stated rate has no windows. */
static const char *calibration(const KI_CALIBRATION_SOURCE *how, char buf[64])
{
    if (how->Windows == 0)
        return how->Source;
    ksnprintf(buf, 64, "%s, best of %u windows%s", how->Source, how->Windows,
              how->Agreed ? "" : ", best two DISAGREE");
    return buf;
}

/* The first system thread, on the boot CPU at priority 8: the tests, the
 * benchmarks, or `make run`'s shell.  Tests run here at
 * PASSIVE_LEVEL, as a driver's code would (docs/threads.md). */
static VOID NTAPI KiMainThread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    if (KiTestPattern[0])
        KiRunTests(KiTestPattern);      /* exits QEMU */
    if (KiBenchmarksRequested())
        KiRunBenchmarks();
    KiShellMain(NULL);                  /* `make run`: the shell on COM1 (kernel/shell/) */
    /* No COM1 input: nothing to read commands from. */
    kprintf("Boot complete. The kernel idles now; quit QEMU with Ctrl-A X.\n");
}

static void start_main_thread(void)
{
    PETHREAD thread;

    KiInitializeTimers();
    KiInitializeApcs();
    /* Created first, so it is thread 0x8 whatever the CPU count (the tour
     * and the shell's tests show its id); it starts after the DPC threads. */
    if (!NT_SUCCESS(KiCreateSystemThread(KiMainThread, NULL, (KAFFINITY)1,
                                         KI_SYSTEM_BASE_PRIORITY, &thread)))
        KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, 0, 0, 0, 0);
    KiStartDpcThreads();                /* every CPU is up: one DPC thread each */
    KiStartThread(thread);
    ObDereferenceObject(thread);
}

void KiSystemStartup(ULONG Magic, ULONG_PTR BootInfo)
{
    static char cmdline[512];

    KiInitializePcr(0, 0);
    KiInitializeIdleThread(KiBootStack + KI_BOOT_STACK_SIZE);
    KiInitializeConsole();
    KiInitializeGdt(0);
    KiInitializeIdt();
    KiLoadIdt();
    KiInitializeStackGuards();          /* before the other CPUs: no TLB shootdown needed */

    KiParseBootInfo(Magic, BootInfo);
    KiInitializeFramebuffer();          /* from here on the screen shows the console */
    size_t used = ksnprintf(cmdline, sizeof(cmdline), "%s", KiBootInfo.CommandLine);
    if (used + 2 < sizeof(cmdline)) {
        cmdline[used] = ' ';
        KiReadFirmwareFile(FW_CFG_CMDLINE, cmdline + used + 1, sizeof(cmdline) - used - 1);
    }

    kprintf("\nntsync %s (%s build): an NT-style SMP synchronization kernel for x86-64\n",
            KERNEL_VERSION, DBG ? "checked" : "free");
    kprintf("boot loader: %s; memory: %llu MiB usable; command line: \"%s\"\n",
            KiBootInfo.LoaderName, (unsigned long long)(KiBootInfo.UsableMemory >> 20), cmdline);
    kprintf("screen: %s\n", KiFramebufferDescription());
    KiApplyOptions(cmdline);

    ULONG64 start = rdtsc();
    char tsc_how[64], apic_how[64];
    KiInitializeLocalApic(TRUE);
    KiProcessorBlock[0].Prcb.ApicId = KiApicId();
    KiInitializeAcpiTimers();           /* the HPET and PM timer the TSC may be measured against */
    KiCalibrateTimers();
    kprintf("timers: TSC %llu kHz (%s), local APIC timer %llu kHz (%s) (%s mode), clock every %u us\n",
            (unsigned long long)(KiTscFrequency / 1000), calibration(&KiTscCalibration, tsc_how),
            (unsigned long long)(KiApicTimerFrequency / 1000),
            calibration(&KiApicTimerCalibration, apic_how), KiApicIsX2Apic() ? "x2APIC" : "xAPIC",
            KiClockPeriodMicroseconds());
    KiInitializeIpi();
    KiInitializeDpcProcessor();
    KiStartClock();
    KiInitializeSystemTime();
    sti();                              /* from here on, CR8 alone masks */
    KiInitializeAcpi();
    KiInitializeIoApics();              /* every input masked until an ISR connects */
    KiStartApplicationProcessors();
    print_processors(rdtsc() - start);
    KiTraceStart();                     /* trace=: every CPU is up, the rings can be split */

    start_main_thread();
    KiIdleLoop();                       /* the boot stack is CPU 0's idle thread now */
}
