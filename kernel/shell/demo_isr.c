/*
 * demo_isr.c - demo 4: an ISR and a DPC share a counter.
 *
 * The DPC runs at DISPATCH_LEVEL; the device's ISR at its DIRQL (6 here)
 * interrupts it whenever the device asks, on the same CPU.  A spin lock at
 * DISPATCH_LEVEL cannot keep the ISR out (it would spin above the holder,
 * demo 2's trap); what does is raising to the ISR's SynchronizeIrql and
 * taking the interrupt object's own lock: KeSynchronizeExecution.
 *
 * The "device" is vector 0x6A, connected with IoConnectInterrupt to this
 * CPU, and it interrupts when the DPC asks it to (a self-IPI), in the
 * middle of the DPC's read-modify-write: every time, where a real device
 * would hit that window only now and then.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

#define ROUNDS 1000
#define WAIT_POLLS 100000

static struct {
    PKINTERRUPT Interrupt;
    KDPC Dpc;
    volatile ULONG Counter;     /* the shared data */
    volatile ULONG IsrCalls;
    KIRQL IsrIrql, DpcIrql;
    ULONG IsrCpu;
    BOOLEAN Synchronized;
} Demo;

static BOOLEAN device_isr(PKINTERRUPT Interrupt, PVOID Context)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(Context);
    Demo.IsrIrql = KeGetCurrentIrql();
    Demo.IsrCpu = KeGetCurrentProcessorNumber();
    Demo.Counter++;                     /* under the interrupt spin lock (the ISR always is) */
    Demo.IsrCalls++;
    return TRUE;
}

/* The DPC's update: load, the device interrupts, store. */
static BOOLEAN update(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ULONG calls = Demo.IsrCalls;
    ULONG seen = Demo.Counter;
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | KI_SHELL_VECTOR_DEVICE);
    /* Unsynchronized: the ISR runs now; synchronized: it waits, pending. */
    for (ULONG i = 0; i < WAIT_POLLS && Demo.IsrCalls == calls &&
                      !KiApicIsPending(KI_SHELL_VECTOR_DEVICE); i++)
        cpu_relax();
    Demo.Counter = seen + 1;
    return TRUE;
}

static VOID shared_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    Demo.DpcIrql = KeGetCurrentIrql();
    for (ULONG i = 0; i < ROUNDS; i++) {
        if (Demo.Synchronized)
            KeSynchronizeExecution(Demo.Interrupt, update, NULL);
        else
            update(NULL);
    }
}

static VOID run(BOOLEAN Synchronized)
{
    Demo.Synchronized = Synchronized;
    Demo.Counter = Demo.IsrCalls = 0;
    KeInsertQueueDpc(&Demo.Dpc, NULL, NULL);    /* at PASSIVE_LEVEL: runs before it returns */
    for (ULONG i = 0; i < WAIT_POLLS && Demo.IsrCalls < ROUNDS; i++)
        KeStallExecutionProcessor(10);          /* the last pending ISR */
    kprintf("  %-34s DPC added %u, ISR added %u, counter %u: %u lost\n",
            Synchronized ? "with KeSynchronizeExecution:" : "DPC alone (no interrupt lock):",
            ROUNDS, Demo.IsrCalls, Demo.Counter, ROUNDS + Demo.IsrCalls - Demo.Counter);
}

VOID KiDemoIsrDpc(int Argc, char **Argv)
{
    ULONG self = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    NTSTATUS status = IoConnectInterrupt(&Demo.Interrupt, device_isr, NULL, NULL,
                                         KI_SHELL_VECTOR_DEVICE, KI_SHELL_VECTOR_DEVICE >> 4,
                                         KI_SHELL_VECTOR_DEVICE >> 4, Latched, FALSE,
                                         (KAFFINITY)1 << self, FALSE);
    if (!NT_SUCCESS(status)) {
        kprintf("IoConnectInterrupt failed: 0x%x\n", (ULONG)status);
        return;
    }
    KeInitializeDpc(&Demo.Dpc, shared_dpc, NULL);
    kprintf("a DPC adds 1 to a counter %u times; each time, between its load and its store, the "
            "device interrupts and its ISR adds 1 too:\n", ROUNDS);
    run(FALSE);
    run(TRUE);
    kprintf("ISR on CPU %u at IRQL %u, DPC at IRQL %u: the ISR interrupts the DPC on its own CPU; "
            "KeSynchronizeExecution raised to IRQL %u and held the interrupt's lock, so the ISR "
            "waited until the store was done\n", Demo.IsrCpu, Demo.IsrIrql, Demo.DpcIrql,
            KI_SHELL_VECTOR_DEVICE >> 4);
    IoDisconnectInterrupt(Demo.Interrupt);
    KiShellDemoRead("kernel/shell/demo_isr.c (update, device_isr); kernel/io/iointerrupt.c "
                    "(KeSynchronizeExecution); docs/interrupts.md");
}
