/*
 * shell.c - KiShellMain: the shell's loop.  Show the prompt, wait for a
 * line from the line editor (kernel/shell/line.c, run by the COM1 and the
 * keyboard DPCs), run
 * it (kernel/shell/commands.c), say what input was lost meanwhile, again.
 *
 * It runs in the first system thread (KiMainThread, kernel/main.c) at
 * PASSIVE_LEVEL.  The one place it waits is KiShellWaitForLine: a
 * KeWaitForSingleObject on the event the COM1 DPC sets for each line.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/io/serial_input.h"
#include "kernel/io/keyboard.h"
#include "arch/x86_64/cpu.h"

static KI_SERIAL_INPUT_STATS KiShellSerialSeen;
static KI_SHELL_INPUT_STATS KiShellInputSeen;
static KI_KEYBOARD_STATS KiShellKeyboardSeen;

/* Input lost since the last look, said once: bytes the ISRs' rings (COM1's,
 * the keyboard's) had no room for, lines the editor's queue had no room for. */
static VOID report_losses(VOID)
{
    KI_SERIAL_INPUT_STATS serial;
    KI_SHELL_INPUT_STATS input;
    KI_KEYBOARD_STATS keyboard;

    KiGetSerialInputStats(&serial);
    KiShellGetInputStats(&input);
    KiGetKeyboardStats(&keyboard);
    if (serial.Dropped != KiShellSerialSeen.Dropped)
        kprintf("input: %u bytes lost: the COM1 ring (%u bytes) was full: its DPC could not run "
                "(CPU %u at DISPATCH_LEVEL or above) while they arrived\n",
                serial.Dropped - KiShellSerialSeen.Dropped, KI_SERIAL_RING_SIZE, serial.Processor);
    if (keyboard.Dropped != KiShellKeyboardSeen.Dropped)
        kprintf("input: %u scan codes lost: the keyboard ring (%u) was full: its DPC could not "
                "run (CPU %u at DISPATCH_LEVEL or above) while they arrived\n",
                keyboard.Dropped - KiShellKeyboardSeen.Dropped, KI_KEYBOARD_RING_SIZE,
                keyboard.Processor);
    if (input.LinesDropped != KiShellInputSeen.LinesDropped)
        kprintf("input: %u lines dropped: %u lines were already waiting for the shell\n",
                input.LinesDropped - KiShellInputSeen.LinesDropped, KI_SHELL_QUEUE);
    KiShellSerialSeen = serial;
    KiShellInputSeen = input;
    KiShellKeyboardSeen = keyboard;
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
    /* The keyboard feeds the same line editor: its DPC and COM1's both run
     * on CPU 0, and the editor's lock keeps them one at a time anyway. */
    status = KiStartKeyboardInput(0, KiShellInputBytes);
    KiGetKeyboardStats(&KiShellKeyboardSeen);
    if (NT_SUCCESS(status))
        kprintf("keyboard: i8042 on ISA IRQ %u -> GSI %u -> vector 0x%x (DIRQL %u): the shell "
                "reads it too\n", KI_KEYBOARD_ISA_IRQ, KiShellKeyboardSeen.Gsi,
                KiShellKeyboardSeen.Vector, KiShellKeyboardSeen.Irql);
    else if (status == STATUS_NO_SUCH_DEVICE)
        kprintf("keyboard: no i8042 controller (its status port reads 0xFF): COM1 only\n");
    else
        kprintf("keyboard: i8042 input not available (status 0x%x): COM1 only\n", (ULONG)status);
    kprintf("Boot complete. Type help for the commands, demo for the demos; docs/tour.md is a "
            "guided tour. quit leaves QEMU.\n");
    for (;;) {
        KiShellShowPrompt();
        KiShellWaitForLine();           /* the thread blocks on an event the DPC sets */
        if (!KiShellTakeLine(&line))
            continue;
        run_line(&line);
        report_losses();
    }
}
