/*
 * main.c - KiSystemStartup: the boot CPU's path from boot/entry.S to the
 * tests or the idle loop.
 *
 * Order matters: the per-CPU block first (everything that prints reads the
 * processor number through GS), then the console, the descriptor tables (so
 * a fault from here on is a STOP screen, not a triple fault), the boot
 * information and the command line.
 */
#include "wdm.h"
#include "ktest.h"
#include "boot/multiboot2.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "kernel/boot_info.h"
#include "kernel/console.h"
#include "kernel/fwcfg.h"
#include "kernel/options.h"
#include "kernel/pcr.h"
#include "kernel/smp.h"
#include "printf.h"

#ifndef KERNEL_VERSION
#define KERNEL_VERSION "unknown"
#endif
#define FW_CFG_CMDLINE "opt/ntsync/cmdline"

static char KiTestPattern[128];

static void apply_test(const char *value)
{
    ksnprintf(KiTestPattern, sizeof(KiTestPattern), "%s", value[0] ? value : "all");
}
KERNEL_OPTION("test", "run in-kernel tests and exit QEMU: test=all or test=<glob>", apply_test);

static void idle(void)
{
    kprintf("Boot complete. The kernel idles now; quit QEMU with Ctrl-A X.\n");
    for (;;)
        hlt();
}

void KiSystemStartup(ULONG Magic, ULONG_PTR BootInfo)
{
    static char cmdline[512];

    KiInitializePcr(0, 0);
    KiInitializeConsole();
    KiInitializeGdt(0);
    KiInitializeIdt();
    KiLoadIdt();

    KiParseBootInfo(Magic, BootInfo);
    size_t used = ksnprintf(cmdline, sizeof(cmdline), "%s", KiBootInfo.CommandLine);
    if (used + 2 < sizeof(cmdline)) {
        cmdline[used] = ' ';
        KiReadFirmwareFile(FW_CFG_CMDLINE, cmdline + used + 1, sizeof(cmdline) - used - 1);
    }

    kprintf("\nntsync %s (%s build): an NT-style SMP synchronization kernel for x86-64\n",
            KERNEL_VERSION, DBG ? "checked" : "free");
    kprintf("boot loader: %s; memory: %llu MiB usable; command line: \"%s\"\n",
            KiBootInfo.LoaderName, (unsigned long long)(KiBootInfo.UsableMemory >> 20), cmdline);
    KiApplyOptions(cmdline);
    kprintf("processors online: %u\n", KiActiveProcessorCount());

    if (KiTestPattern[0])
        KiRunTests(KiTestPattern);
    idle();
}
