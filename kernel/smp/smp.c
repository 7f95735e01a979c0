/*
 * smp.c - bringing up the application processors, the set of online CPUs,
 * their idle loop, and freezing them for a bug check.
 *
 * The boot CPU takes the processors from the ACPI MADT (kernel/acpi/acpi.c) and
 * starts each in turn with the INIT-SIPI-SIPI sequence of SDM Vol. 3A
 * 8.4.4.1: INIT, 10 ms, STARTUP, 200 us, and a second STARTUP if the first
 * went unanswered.  The AP runs boot/trampoline.S, reaches KiStartProcessor
 * on its own stack, sets up its per-CPU state and joins the online set.  An
 * AP that does not arrive within a second is reported and left out.
 * docs/smp.md walks through it.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/smp/smp.h"
#include "kernel/acpi/acpi.h"
#include "kernel/boot_info.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/irql/clock.h"
#include "kernel/console/console.h"
#include "kernel/dpc/dpc.h"
#include "kernel/irql/ipi.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/smp/stackguard.h"
#include "kernel/smp/trampoline.h"
#include "kernel/thread/thread.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "string.h"

#define KI_STACK_SIZE       16384
#define AP_ANSWER_US        1000000     /* how long an AP may take to come online */
#define FREEZE_WAIT_US      100000

/* Each with an unmapped guard page below it (kernel/smp/stackguard.h); [0] is
 * unused: the boot CPU stays on the boot stack. */
static KI_GUARDED_STACK(KI_STACK_SIZE) KiProcessorStacks[MAXIMUM_PROCESSORS];

PVOID KiProcessorStackGuard(ULONG Number)
{
    return KiProcessorStacks[Number].Guard;
}

/* The online set.  Written only by a CPU joining it (lock or); read anywhere. */
static volatile KAFFINITY KiActiveProcessorMask = 1;   /* the boot CPU */
static volatile ULONG KiActiveProcessorTotal = 1;
static volatile LONG KiFrozenProcessors;
static volatile LONG KiIdleWorkRemaining;
static ULONG KiIdleWorkInitiator;       /* woken when the last one finishes */

ULONG KiActiveProcessorCount(void)
{
    return KiActiveProcessorTotal;
}

KAFFINITY KiActiveProcessorSet(void)
{
    return KiActiveProcessorMask;
}

static BOOLEAN is_online(ULONG number)
{
    return (KiActiveProcessorSet() >> number) & 1;
}

VOID KiRunIdleWork(PKPRCB Prcb)
{
    VOID (*routine)(PVOID) = Prcb->IdleRoutine;
    ULONG held = DBG ? KiHeldSpinLockCount() : 0;

    routine(Prcb->IdleContext);
    if (DBG)    /* before the IRQL: a kept lock is why IRQL is still raised */
        KiCheckNoLockKept(held, (PVOID)routine);
    KIRQL found = KeGetCurrentIrql();
    if (DBG && found != PASSIVE_LEVEL)
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE, ((ULONG_PTR)found << 16) | 2,
                     (ULONG_PTR)routine, (ULONG_PTR)Prcb->IdleContext, 0);
    Prcb->IdleRoutine = NULL;
    if (__atomic_sub_fetch(&KiIdleWorkRemaining, 1, __ATOMIC_ACQ_REL) == 0)
        KiRequestIpi((KAFFINITY)1 << KiIdleWorkInitiator, KI_IPI_WAKE);
}

/* The C entry of an AP (from boot/trampoline.S), interrupts off. */
static DECLSPEC_NORETURN void KiStartProcessor(ULONG Number)
{
    KiInitializePcr(Number, KiProcessorBlock[Number].Prcb.ApicId);
    KiInitializeGdt(Number);
    KiLoadIdt();
    KiInitializeLocalApic(FALSE);
    KiInitializeDpcProcessor();
    KiInitializeIdleThread(&KiProcessorStacks[Number].Stack[KI_STACK_SIZE]);
    KiStartClock();
    __atomic_fetch_or(&KiActiveProcessorMask, (KAFFINITY)1 << Number, __ATOMIC_RELEASE);
    __atomic_fetch_add(&KiActiveProcessorTotal, 1, __ATOMIC_RELEASE);
    KiIdleLoop();
}

static BOOLEAN wait_online(ULONG number, ULONG microseconds)
{
    ULONG64 deadline = rdtsc() + KiTscFrequency * microseconds / 1000000;

    while (!is_online(number))
        if (rdtsc() > deadline)
            return FALSE;
        else
            cpu_relax();
    return TRUE;
}

BOOLEAN KiStartProcessorAt(ULONG number, ULONG apic_id)
{
    KiProcessorBlock[number].Prcb.ApicId = apic_id;
    *KI_TRAMPOLINE_FIELD(ULONG, KiTrampolineCr3) = (ULONG)read_cr3();
    *KI_TRAMPOLINE_FIELD(ULONG64, KiTrampolineStack) =
        (ULONG64)&KiProcessorStacks[number].Stack[KI_STACK_SIZE];
    *KI_TRAMPOLINE_FIELD(ULONG, KiTrampolineNumber) = number;
    *KI_TRAMPOLINE_FIELD(ULONG64, KiTrampolineEntry) = (ULONG64)KiStartProcessor;

    KiApicSendIpi(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
    KeStallExecutionProcessor(10000);
    for (int attempt = 0; attempt < 2; attempt++) {
        KiApicSendIpi(apic_id, ICR_STARTUP | (KI_TRAMPOLINE_BASE >> 12));
        if (wait_online(number, 200))
            return TRUE;
    }
    return wait_online(number, AP_ANSWER_US);
}

void KiStartApplicationProcessors(void)
{
    ULONG self = KeGetCurrentPrcb()->ApicId;
    ULONG next = 1;

    /* Under UEFI the firmware's runtime code or data may sit anywhere in low
     * memory; the page is ours only if the memory map says it is free RAM. */
    if (KiBootInfo.MemoryMapPresent && !KiBootInfo.TrampolinePageUsable) {
        kprintf("smp: the memory map does not list 0x%x-0x%x as available RAM, where the AP "
                "trampoline goes; continuing on the boot CPU alone\n", KI_TRAMPOLINE_BASE,
                KI_TRAMPOLINE_BASE + KI_TRAMPOLINE_SIZE - 1);
        return;
    }
    memcpy((void *)KI_TRAMPOLINE_BASE, KiTrampolineStart,
           (size_t)(KiTrampolineEnd - KiTrampolineStart));
    for (ULONG i = 0; i < KiMadt.ProcessorCount; i++) {
        const KI_ACPI_PROCESSOR *p = &KiMadt.Processors[i];
        if (p->ApicId == self || !p->Enabled)
            continue;
        if (next >= MAXIMUM_PROCESSORS) {
            kprintf("smp: APIC id %u left out: this kernel supports %u processors\n", p->ApicId,
                    MAXIMUM_PROCESSORS);
            continue;
        }
        if (KiStartProcessorAt(next, p->ApicId))
            next++;
        else
            kprintf("smp: processor with APIC id %u did not answer INIT-SIPI-SIPI; left out\n",
                    p->ApicId);
    }
}

void KiFreezeThisProcessor(void)
{
    KeGetCurrentPrcb()->DebuggerSavedIrql = KeGetCurrentIrql();
    __atomic_fetch_add(&KiFrozenProcessors, 1, __ATOMIC_RELEASE);
    for (;;) {                          /* NMIs stay blocked: we never iretq */
        cli();
        hlt();
    }
}

ULONG KiFreezeOtherProcessors(void)
{
    LONG others = (LONG)KiActiveProcessorCount() - 1;

    if (others == 0)
        return 0;
    /* NMI: delivered whatever the IRQL (the TPR does not mask it) and even
     * to a CPU spinning with interrupts off. */
    KiApicSendIpi(0, ICR_NMI | ICR_ASSERT | ICR_DEST_OTHERS);
    ULONG64 deadline = rdtsc() + KiTscFrequency * FREEZE_WAIT_US / 1000000;
    while (__atomic_load_n(&KiFrozenProcessors, __ATOMIC_ACQUIRE) < others && rdtsc() < deadline)
        cpu_relax();
    return (ULONG)KiFrozenProcessors;
}

void ktest_run_on_all_cpus(void (*fn)(void *context), void *context)
{
    ULONG self = KeGetCurrentPrcb()->Number;
    KAFFINITY others = KiActiveProcessorSet() & ~((KAFFINITY)1 << self);

    KiIdleWorkInitiator = self;
    KiIdleWorkRemaining = (LONG)KiActiveProcessorCount() - 1;
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        if (!(others & ((KAFFINITY)1 << n)))
            continue;
        KiProcessorBlock[n].Prcb.IdleContext = context;
        __atomic_store_n(&KiProcessorBlock[n].Prcb.IdleRoutine, fn, __ATOMIC_RELEASE);
    }
    KiRequestIpi(others, KI_IPI_WAKE);
    fn(context);
    /* Halt rather than spin: under TCG a spinning vCPU takes host time from
     * the ones still working.  The last finisher's IPI (or a tick) wakes us. */
    for (;;) {
        cli();
        if (__atomic_load_n(&KiIdleWorkRemaining, __ATOMIC_ACQUIRE) == 0)
            break;
        __asm__ volatile("sti; hlt" : : : "memory");
    }
    sti();
}
