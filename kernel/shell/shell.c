/*
 * shell.c - KiShellMain: the shell's loop.  Show the prompt, wait for a
 * line from the line editor (kernel/shell/line.c, run by the COM1 DPC), run
 * it (kernel/shell/commands.c), say what input was lost meanwhile, again.
 *
 * It runs at PASSIVE_LEVEL on the boot CPU, called at the end of
 * KiSystemStartup.  The one place that waits is KiShellWaitForInput.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/io/serial_input.h"
#include "arch/x86_64/cpu.h"

static KI_SERIAL_INPUT_STATS KiShellSerialSeen;
static KI_SHELL_INPUT_STATS KiShellInputSeen;

/* Wait until the line editor has a whole line.  No threads yet: halt until
 * the next interrupt and look again.  cli, test, then `sti; hlt` back to
 * back: an interrupt whose DPC queues the line after the test still wakes
 * the hlt (STI's one-instruction shadow, SDM Vol. 2B, STI).  The COM1
 * interrupt goes to this CPU, and its DPC runs here as IRQL drops to
 * PASSIVE_LEVEL on the way out of the interrupt, before the test runs again.
 * With threads this becomes KeWaitForSingleObject on an event the DPC sets. */
static VOID KiShellWaitForInput(VOID)
{
    for (;;) {
        cli();
        if (KiShellLineWaiting()) {
            sti();
            return;
        }
        __asm__ volatile("sti; hlt" : : : "memory");
    }
}

/* Input lost since the last look, said once: bytes the ISR's ring had no
 * room for, lines the editor's queue had no room for. */
static VOID report_losses(VOID)
{
    KI_SERIAL_INPUT_STATS serial;
    KI_SHELL_INPUT_STATS input;

    KiGetSerialInputStats(&serial);
    KiShellGetInputStats(&input);
    if (serial.Dropped != KiShellSerialSeen.Dropped)
        kprintf("input: %u bytes lost: the COM1 ring (%u bytes) was full: its DPC could not run "
                "(CPU %u at DISPATCH_LEVEL or above) while they arrived\n",
                serial.Dropped - KiShellSerialSeen.Dropped, KI_SERIAL_RING_SIZE, serial.Processor);
    if (input.LinesDropped != KiShellInputSeen.LinesDropped)
        kprintf("input: %u lines dropped: %u lines were already waiting for the shell\n",
                input.LinesDropped - KiShellInputSeen.LinesDropped, KI_SHELL_QUEUE);
    KiShellSerialSeen = serial;
    KiShellInputSeen = input;
}

static VOID run_line(KI_SHELL_LINE *Line)
{
    if (Line->TypedAhead)               /* its echo went by during the last command */
        kprintf("%s%s\n", KI_SHELL_PROMPT, Line->Text);
    if (Line->Overflow) {
        kprintf("line too long: %u characters, at most %u: ignored\n",
                Line->Length + Line->Overflow, KI_SHELL_LINE_MAX - 1);
        return;
    }
    KiShellExecute(Line->Text);
}

VOID KiShellMain(PVOID Context)
{
    KI_SHELL_LINE line;

    UNREFERENCED_PARAMETER(Context);
    KiShellInitializeInput();
    KiShellGetInputStats(&KiShellInputSeen);
    KiSetSerialInputSink(KiShellInputBytes);
    NTSTATUS status = KiStartSerialInput(0, TRUE);
    if (!NT_SUCCESS(status)) {
        kprintf("serial: COM1 input not available (status 0x%x): no shell\n", (ULONG)status);
        KiSetSerialInputSink(NULL);
        return;
    }
    KiGetSerialInputStats(&KiShellSerialSeen);
    kprintf("serial: COM1 input on ISA IRQ %u -> GSI %u -> vector 0x%x (DIRQL %u): the shell "
            "reads it\n", KI_SERIAL_ISA_IRQ, KiShellSerialSeen.Gsi, KiShellSerialSeen.Vector,
            KiShellSerialSeen.Irql);
    kprintf("Boot complete. Type help for the commands, demo for the demos; docs/tour.md is a "
            "guided tour. quit leaves QEMU.\n");
    for (;;) {
        KiShellShowPrompt();
        KiShellWaitForInput();
        if (!KiShellTakeLine(&line))
            continue;
        run_line(&line);
        report_losses();
    }
}
