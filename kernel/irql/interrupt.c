/*
 * interrupt.c - the common interrupt path: IRQL from the vector, early EOI,
 * nesting, and the check that a handler gives back the IRQL it got.
 *
 * On entry (KiTrapCommon, interrupts off) the local APIC has put the vector
 * in service, so PPR already masks its class.  We then (docs/irql.md):
 *   1. save CR8 and raise it to the vector's class (v >> 4): from here the
 *      TPR alone keeps this class and below out;
 *   2. EOI, so the in-service bit no longer pins PPR (SDM Vol. 3A 11.8.3.1)
 *      and lowering CR8 later really unmasks;
 *   3. sti: higher classes may now interrupt the handler (nesting);
 *   4. run the handler; check it returned at the same IRQL (and, checked
 *      build, holding no spin lock it took);
 *   5. cli, restore CR8 (checked build: through KeLowerIrql's checks);
 *      iretq (in trap.S) restores IF.
 * Pending interrupts of classes between the restored IRQL and the handler's
 * are delivered right after iretq sets IF again.
 *
 * Except for a level-triggered I/O APIC input: its EOI waits until after
 * the handler (step 5, before CR8 is restored).  The local APIC sends the
 * EOI of a level-triggered vector (its TMR bit set) on to the I/O APICs
 * (SDM Vol. 3A 11.8.5, "Signaling Interrupt Servicing Completion"), and that
 * message is what clears the input's remote IRR, which alone keeps a line
 * that is still asserted from being sent again (82093AA datasheet 3.2.4,
 * "Remote IRR").  An early EOI, before the ISR quieted the device, would
 * bring the same interrupt straight back as a second, empty delivery.
 * Holding the EOI costs nothing else: the in-service bit keeps PPR at the
 * vector's class, where CR8 already is, and every nested interrupt (of a
 * higher class) has sent its own EOI before it returns, so the EOI after the
 * handler retires this vector's bit.  Masking the entry around the handler
 * would also work, at two I/O APIC read-modify-writes per interrupt.
 */
#include "wdm.h"
#include "kernel/irql/interrupt.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/smp/pcr.h"
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/smp/smp.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/locks/lockorder.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

static struct {
    PKI_INTERRUPT_HANDLER Handler;
    PVOID Context;
    BOOLEAN LevelTriggered;             /* EOI after the handler (above) */
} KiInterruptTable[256];

/* Interrupts taken, per CPU and vector (the shell's !interrupts): a row is
 * written only by its own CPU, with interrupts still off, so a plain
 * increment is enough; readers get a snapshot that may be a count behind. */
ULONG KiInterruptCount[MAXIMUM_PROCESSORS][256];

VOID KiSetInterruptHandler(ULONG Vector, PKI_INTERRUPT_HANDLER Handler, PVOID Context)
{
    KiInterruptTable[Vector].Context = Context;
    __atomic_store_n(&KiInterruptTable[Vector].Handler, Handler, __ATOMIC_RELEASE);
}

PKI_INTERRUPT_HANDLER KiGetInterruptHandler(ULONG Vector, PVOID *Context)
{
    *Context = KiInterruptTable[Vector].Context;
    return __atomic_load_n(&KiInterruptTable[Vector].Handler, __ATOMIC_ACQUIRE);
}

VOID KiSetInterruptLevelTriggered(ULONG Vector, BOOLEAN LevelTriggered)
{
    __atomic_store_n(&KiInterruptTable[Vector].LevelTriggered, LevelTriggered, __ATOMIC_RELEASE);
}

void KiDispatchInterrupt(PKTRAP_FRAME f)
{
    ULONG vector = (ULONG)f->Vector;

    KiInterruptCount[KeGetCurrentPrcb()->Number][vector & 0xFF]++;
    if (vector == KI_VECTOR_SPURIOUS)
        return;                         /* SDM 11.9: a spurious vector gets no EOI */
    if (KI_RACE)
        KiApicSendHeldSelfIpi();        /* the latency model's "later" ends here */

    PKI_INTERRUPT_HANDLER handler = __atomic_load_n(&KiInterruptTable[vector].Handler,
                                                    __ATOMIC_ACQUIRE);
    if (!handler)
        KiBugCheckWithTrapFrame(UNEXPECTED_KERNEL_MODE_TRAP, vector, 0, f->Rip, 1, f);

    KIRQL old = (KIRQL)__readcr8();
    KIRQL irql = KI_VECTOR_IRQL(vector);
    f->PreviousIrql = old;              /* e.g. the clock asks what it interrupted */
    BOOLEAN late_eoi = __atomic_load_n(&KiInterruptTable[vector].LevelTriggered, __ATOMIC_ACQUIRE);
    __writecr8(irql);
    if (!late_eoi) {
        KiApicEoi();
        KI_RACE_POINT("interrupt.eoi_sent");    /* this class may arrive again now */
    }
    ULONG held = DBG ? KiHeldSpinLockCount() : 0;
    ULONG context = DBG ? KiLockOrderEnterInterrupt(irql) : 0;  /* the handler's own lock order */
    KI_TRACE(KI_TRACE_INTERRUPTS, KI_TRACE_INTERRUPT_ENTRY, vector, old, 0);
    sti();
    handler(f, KiInterruptTable[vector].Context);
    cli();
    KI_TRACE(KI_TRACE_INTERRUPTS, KI_TRACE_INTERRUPT_EXIT, vector, old, 0);
    if (DBG)
        KiLockOrderLeaveInterrupt(context);
    if (late_eoi)
        KiApicEoi();                    /* the device is quiet: remote IRR may clear */

    /* A lock the handler kept would be held at the interrupted code's IRQL
     * from here on (checked first: its raise would explain a wrong IRQL). */
    if (DBG)
        KiCheckNoLockKept(held, (PVOID)handler);
    KIRQL found = (KIRQL)__readcr8();
    if (DBG && found != irql)
        /* WDK: Bug Check 0xC8, "Unique" 3 = an interrupt service routine. */
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE, ((ULONG_PTR)found << 16) | ((ULONG_PTR)irql << 8) | 3,
                     (ULONG_PTR)handler, (ULONG_PTR)KiInterruptTable[vector].Context, vector);
    if (DBG)
        KiLowerIrqlChecked(old, (ULONG_PTR)handler);    /* KeLowerIrql's checks */
    else
        __writecr8(old);
}

static ULONG software_vector(KIRQL level)
{
    return level == APC_LEVEL ? KI_VECTOR_APC : KI_VECTOR_DPC;
}

VOID KiRequestSoftwareInterrupt(KIRQL Level)
{
    ULONG vector = software_vector(Level);
    uint64_t flags = interrupts_save_disable();

    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | vector);
    KI_RACE_POINT("softint.sent");
    /* The self-IPI travels through the APIC and lands in the IRR a little
     * later; wait for it, so a caller that lowers IRQL next is sure to take
     * it (docs/irql.md, "Software interrupts"). */
    while (!KiApicIsPending(vector))
        cpu_relax();
    restore_rflags(flags);
}

VOID KiRequestSoftwareInterruptOn(ULONG Number, KIRQL Level)
{
    KI_TRACE(KI_TRACE_INTERRUPTS, KI_TRACE_SOFTWARE_INTERRUPT, Level, Number, 0);
    if (Number == KeGetCurrentPrcb()->Number)
        KiRequestSoftwareInterrupt(Level);
    else
        KiApicSendIpi(KiProcessorBlock[Number].Prcb.ApicId,
                      ICR_FIXED | ICR_ASSERT | software_vector(Level));
}

BOOLEAN KiHandleNmi(PKTRAP_FRAME f)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    UNREFERENCED_PARAMETER(f);
    if (KiBugCheckInProgress())
        KiFreezeThisProcessor();        /* never returns */
    if (__atomic_load_n(&prcb->NmiPingsExpected, __ATOMIC_ACQUIRE) <= 0)
        return FALSE;                   /* an NMI no one sent: the hardware's */
    __atomic_sub_fetch(&prcb->NmiPingsExpected, 1, __ATOMIC_ACQ_REL);
    prcb->NmiPingCount++;
    return TRUE;
}

VOID KiSendNmiPing(ULONG Number)
{
    PKPRCB target = &KiProcessorBlock[Number].Prcb;

    /* Expected first: the NMI may arrive the moment the ICR is written. */
    __atomic_add_fetch(&target->NmiPingsExpected, 1, __ATOMIC_ACQ_REL);
    KiApicSendIpi(target->ApicId, ICR_NMI | ICR_ASSERT);
}
