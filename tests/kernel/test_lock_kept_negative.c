/*
 * test_lock_kept_negative.c - a spin lock still held when a DPC routine, an
 * ISR, an interrupt handler or idle work returns bug-checks at that return
 * (checked build): 0xC4 / KI_VERIFIER_LOCK_HELD_AT_RETURN (0x6002, ours)
 * with P2 the lock, P3 the routine, P4 where the routine took it (a return
 * address, matched as "any").  Without the check the CPU would go on with
 * the lock held and a later, innocent taker would get the blame.
 * docs/bugchecks.md, docs/spinlocks.md.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/irql/interrupt.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

#if DBG

#define WAIT_US 2000000
/* Low nibble 0x9: clear of the other tests' vectors (0xA, 0xB, 0xC). */
#define KT_VECTOR(level) ((ULONG)(((level) << 4) | 0x9))

static KSPIN_LOCK KtKeptLock;

#define KT_KEPT(routine) \
    KT_P(KI_VERIFIER_LOCK_HELD_AT_RETURN), KT_P(&KtKeptLock), KT_P(routine), KT_ANY

static VOID keeps_lock_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KeAcquireSpinLockAtDpcLevel(&KtKeptLock);       /* and returns holding it */
}

KTEST_BUGCHECK(lock_kept_by_dpc_routine, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    static KDPC dpc;

    ktest_expect_bugcheck(KT_KEPT(keeps_lock_dpc));
    KeInitializeDpc(&dpc, keeps_lock_dpc, NULL);
    KeInsertQueueDpc(&dpc, NULL, NULL);             /* runs here, now: we are at PASSIVE */
    KeStallExecutionProcessor(WAIT_US);
}

static BOOLEAN keeps_lock_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    KeAcquireSpinLockAtDpcLevel(&KtKeptLock);       /* at SynchronizeIrql, above DISPATCH */
    return TRUE;
}

KTEST_BUGCHECK(lock_kept_by_isr, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ULONG vector = KT_VECTOR(5);
    PKINTERRUPT interrupt;

    ktest_expect_bugcheck(KT_KEPT(keeps_lock_isr));
    if (!NT_SUCCESS(IoConnectInterrupt(&interrupt, keeps_lock_isr, NULL, NULL, vector, 5, 6,
                                       Latched, FALSE,
                                       (KAFFINITY)1 << KeGetCurrentProcessorNumber(), FALSE)))
        return;
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | vector);
    KeStallExecutionProcessor(WAIT_US);
}

static VOID keeps_lock_handler(PKTRAP_FRAME TrapFrame, PVOID Context)
{
    UNREFERENCED_PARAMETER(TrapFrame);
    UNREFERENCED_PARAMETER(Context);
    KeAcquireSpinLockAtDpcLevel(&KtKeptLock);
}

/* A bare handler (kernel/irql/interrupt.h), not an ISR: the common interrupt
 * path's own check. */
KTEST_BUGCHECK(lock_kept_by_interrupt_handler, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ULONG vector = KI_VECTOR_IRQL_TEST(4);

    ktest_expect_bugcheck(KT_KEPT(keeps_lock_handler));
    KiSetInterruptHandler(vector, keeps_lock_handler, NULL);
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | vector);
    KeStallExecutionProcessor(WAIT_US);
}

/* On every CPU but the boot CPU (which runs the test and must come back):
 * KeAcquireSpinLock raises to DISPATCH_LEVEL, so the kept lock is reported
 * rather than the raised IRQL it explains. */
static void keeps_lock_idle_work(void *context)
{
    KIRQL old;

    UNREFERENCED_PARAMETER(context);
    if (KeGetCurrentProcessorNumber() == 0)
        return;
    KeAcquireSpinLock(&KtKeptLock, &old);
}

KTEST_BUGCHECK(lock_kept_by_idle_work, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KT_REQUIRE_CPUS(2);
    ktest_expect_bugcheck(KT_KEPT(keeps_lock_idle_work));
    ktest_run_on_all_cpus(keeps_lock_idle_work, NULL);
}

#endif /* DBG */
