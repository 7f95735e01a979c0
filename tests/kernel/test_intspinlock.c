/*
 * test_intspinlock.c - interrupt spin locks: KeAcquireInterruptSpinLock,
 * KeReleaseInterruptSpinLock and KeSynchronizeExecution keep the ISR out,
 * on this CPU by IRQL and on the others by the lock, and the ISR and a
 * SynchCritSection never overlap (kernel/locks/intspinlock.c,
 * kernel/io/iointerrupt.c, docs/interrupts.md).
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/console/console.h"
#include "kernel/io/iointerrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

#define WAIT_US 2000000


/* Low nibble 0xB: clear of every other user of device vectors (see
 * test_interrupts.c). */
#define KT_VECTOR(level) ((ULONG)(((level) << 4) | 0xB))

static volatile ULONG KtIsrCalls;
static volatile ULONG KtIsrCpu;
static volatile KIRQL KtIsrIrql;

static BOOLEAN counting_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    KtIsrCpu = KeGetCurrentProcessorNumber();
    KtIsrIrql = KeGetCurrentIrql();
    KtIsrCalls++;
    return TRUE;
}

static ULONG_PTR held_word(void)
{
    return DBG ? (ULONG_PTR)KeGetCurrentPrcb() | 1 : 1;
}

static BOOLEAN wait_isr_calls(ULONG count)
{
    for (ULONG waited = 0; KtIsrCalls < count; waited += 10) {
        if (waited > WAIT_US)
            return FALSE;
        KeStallExecutionProcessor(10);
    }
    return TRUE;
}

/* The self-IPI is in the IRR (requested, not delivered) before we look. */
static BOOLEAN fire_self_and_see_pending(ULONG vector)
{
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | vector);
    for (ULONG waited = 0; !KiApicIsPending(vector); waited += 10) {
        if (waited > WAIT_US)
            return FALSE;
        KeStallExecutionProcessor(10);
    }
    return TRUE;
}

static PKINTERRUPT connect_here(ULONG vector, KIRQL synchronize, PKSPIN_LOCK lock)
{
    PKINTERRUPT i = NULL;

    KtIsrCalls = 0;
    if (!NT_SUCCESS(IoConnectInterrupt(&i, counting_isr, NULL, lock, vector, KI_VECTOR_IRQL(vector),
                                       synchronize, Latched, FALSE,
                                       (KAFFINITY)1 << KeGetCurrentProcessorNumber(), FALSE)))
        return NULL;
    return i;
}

/* While KeAcquireInterruptSpinLock holds it: IRQL = SynchronizeIrql, the
 * lock word is this CPU's, interrupts stay enabled, and the ISR's own
 * interrupt waits in the IRR; it runs the moment the release lowers IRQL. */
KTEST(intspinlock_acquire_holds_off_the_isr)
{
    static const struct { KIRQL From; UCHAR Level, Synchronize; } cases[] = {
        { PASSIVE_LEVEL, 5, 5 }, { PASSIVE_LEVEL, 5, 9 }, { DISPATCH_LEVEL, 4, 4 },
        { 7, 4, 7 },                            /* entered at SynchronizeIrql itself */
        { PASSIVE_LEVEL, 12, 12 },
    };

    for (ULONG c = 0; c < ARRAYSIZE(cases); c++) {
        ULONG vector = KT_VECTOR(cases[c].Level);
        PKINTERRUPT i = connect_here(vector, cases[c].Synchronize, NULL);
        KT_ASSERT_TRUE(i != NULL);

        KIRQL entry = KfRaiseIrql(cases[c].From);
        KIRQL old = KeAcquireInterruptSpinLock(i);
        KT_EXPECT_EQ(old, cases[c].From);
        KT_EXPECT_EQ(KeGetCurrentIrql(), cases[c].Synchronize);
        KT_EXPECT_EQ(i->SpinLock, held_word());
        KT_EXPECT_TRUE(read_rflags() & RFLAGS_IF);
        KT_EXPECT_TRUE(fire_self_and_see_pending(vector));
        KeStallExecutionProcessor(1000);
        KT_EXPECT_EQ(KtIsrCalls, 0);            /* held off */
        KT_EXPECT_TRUE(KiApicIsPending(vector));
        KeReleaseInterruptSpinLock(i, old);
        KT_EXPECT_EQ(KeGetCurrentIrql(), cases[c].From);
        KT_EXPECT_EQ(i->SpinLock, 0);
        if (cases[c].From < cases[c].Level) {   /* delivered by the lowering itself */
            KT_EXPECT_EQ(KtIsrCalls, 1);
            KT_EXPECT_EQ(KtIsrIrql, cases[c].Synchronize);
        } else {                                /* still masked by the caller's own IRQL */
            KT_EXPECT_EQ(KtIsrCalls, 0);
        }
        KeLowerIrql(entry);
        KT_EXPECT_EQ(KtIsrCalls, 1);
        KT_EXPECT_TRUE(!KiApicIsPending(vector));
        IoDisconnectInterrupt(i);
    }
}

struct sync_probe {
    KSPIN_LOCK *Lock;           /* the lock the routine expects held */
    BOOLEAN Return;
    ULONG Vector;               /* fire this inside, if not 0 */
    ULONG Calls;
    KIRQL Irql;
    ULONG_PTR LockWord;
    BOOLEAN InterruptsOn;
    BOOLEAN Pending;
    ULONG IsrCallsInside;
};

static BOOLEAN probe_routine(PVOID Context)
{
    struct sync_probe *p = Context;

    p->Calls++;
    p->Irql = KeGetCurrentIrql();
    p->LockWord = *(volatile KSPIN_LOCK *)p->Lock;
    p->InterruptsOn = (read_rflags() & RFLAGS_IF) != 0;
    if (p->Vector) {
        p->Pending = fire_self_and_see_pending(p->Vector);
        KeStallExecutionProcessor(1000);
        p->IsrCallsInside = KtIsrCalls;
    }
    return p->Return;
}

/* KeSynchronizeExecution returns the routine's BOOLEAN as it is, runs it
 * once at SynchronizeIrql holding ActualLock, and restores IRQL. */
KTEST(intspinlock_synchronize_execution)
{
    static const BOOLEAN values[] = { TRUE, FALSE, 7, 0xFF };
    static const KIRQL from[] = { PASSIVE_LEVEL, DISPATCH_LEVEL, 6 };
    static KSPIN_LOCK caller_lock;
    ULONG vector = KT_VECTOR(5);

    for (ULONG with_lock = 0; with_lock < 2; with_lock++) {
        PKINTERRUPT i = connect_here(vector, 6, with_lock ? &caller_lock : NULL);
        KT_ASSERT_TRUE(i != NULL);
        for (ULONG f = 0; f < ARRAYSIZE(from); f++)
            for (ULONG v = 0; v < ARRAYSIZE(values); v++) {
                struct sync_probe p = { .Lock = i->ActualLock, .Return = values[v] };
                KIRQL entry = KfRaiseIrql(from[f]);
                BOOLEAN result = KeSynchronizeExecution(i, probe_routine, &p);
                KT_EXPECT_EQ(KeGetCurrentIrql(), from[f]);
                KeLowerIrql(entry);
                KT_EXPECT_EQ(result, values[v]);
                KT_EXPECT_EQ(p.Calls, 1);
                KT_EXPECT_EQ(p.Irql, 6);
                KT_EXPECT_EQ(p.LockWord, held_word());
                KT_EXPECT_TRUE(p.InterruptsOn);
                KT_EXPECT_EQ(*i->ActualLock, 0);
            }
        KT_EXPECT_EQ(i->ActualLock, with_lock ? &caller_lock : &i->SpinLock);
        KT_EXPECT_EQ(i->SpinLock, 0);
        IoDisconnectInterrupt(i);
    }
}

/* An ISR fired (self-IPI) inside a SynchCritSection waits for it to end. */
KTEST(intspinlock_isr_waits_for_synch_crit_section)
{
    ULONG vector = KT_VECTOR(8);
    PKINTERRUPT i = connect_here(vector, 8, NULL);
    KT_ASSERT_TRUE(i != NULL);
    struct sync_probe p = { .Lock = i->ActualLock, .Return = TRUE, .Vector = vector };

    KT_EXPECT_EQ(KeSynchronizeExecution(i, probe_routine, &p), TRUE);
    KT_EXPECT_TRUE(p.Pending);
    KT_EXPECT_EQ(p.IsrCallsInside, 0);
    KT_EXPECT_EQ(KtIsrCalls, 1);                /* ran as KeSynchronizeExecution lowered */
    KT_EXPECT_EQ(KtIsrIrql, 8);
    IoDisconnectInterrupt(i);
}

/* Across CPUs the lock does the work: CPU 0 holds the interrupt spin lock
 * while the last CPU takes the interrupt; its ISR waits (spinning at DIRQL)
 * until CPU 0 releases. */
KTEST(intspinlock_isr_on_another_cpu_waits_for_the_lock)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG vector = KT_VECTOR(9);
    ULONG target = cpus - 1;
    PKINTERRUPT i = NULL;

    if (cpus < 2 || KeGetCurrentProcessorNumber() == target) {
        ktest_skip("needs a second CPU");
        return;
    }
    KtIsrCalls = 0;
    KT_ASSERT_EQ(IoConnectInterrupt(&i, counting_isr, NULL, NULL, vector, 9, 9, Latched, FALSE,
                                    (KAFFINITY)1 << target, FALSE),
                 STATUS_SUCCESS);
    KIRQL old = KeAcquireInterruptSpinLock(i);
    KiApicSendIpi(KiProcessorBlock[target].Prcb.ApicId, ICR_FIXED | ICR_ASSERT | vector);
    KeStallExecutionProcessor(20000);           /* it has arrived there and is spinning */
    KT_EXPECT_EQ(KtIsrCalls, 0);
    KeReleaseInterruptSpinLock(i, old);
    KT_EXPECT_TRUE(wait_isr_calls(1));
    KT_EXPECT_EQ(KtIsrCpu, target);
    KT_EXPECT_EQ(KtIsrIrql, 9);
    IoDisconnectInterrupt(i);
}

/*
 * The stress test: every CPU calls KeSynchronizeExecution over and over
 * while IPIs make the ISR run on one CPU (the last), all of them bumping
 * one non-atomic counter in a widened read-pause-write window and checking
 * an "inside" flag on entry.  Mutual exclusion holds if the flag is never
 * found set and the counter equals the SynchCritSection calls plus the ISR
 * calls exactly.  IPIs to one vector coalesce in the IRR, so the ISR runs
 * between once and once per IPI.
 */
#define STRESS_ITERATIONS 2000
#define STRESS_IPI_EVERY 4

static struct {
    PKINTERRUPT Interrupt;
    ULONG Target;
    ULONG Vector;
    volatile ULONG Counter;             /* plain read + write: the lock is the only guard */
    volatile ULONG Inside;
    volatile LONG Overlaps;
    volatile LONG SyncCalls;
    volatile LONG IsrCalls;
    volatile LONG IpisSent;
    volatile LONG WrongCpu;
    volatile LONG WrongIrql;
} KtStress;

static void critical_section(void)
{
    if (KtStress.Inside)
        __atomic_fetch_add(&KtStress.Overlaps, 1, __ATOMIC_RELAXED);
    KtStress.Inside = 1;
    ULONG value = KtStress.Counter;
    for (int spin = 0; spin < 16; spin++)   /* widen the window a racing CPU would hit */
        cpu_relax();
    KtStress.Counter = value + 1;
    KtStress.Inside = 0;
}

static BOOLEAN stress_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(ServiceContext);
    critical_section();
    if (KeGetCurrentProcessorNumber() != KtStress.Target)
        __atomic_fetch_add(&KtStress.WrongCpu, 1, __ATOMIC_RELAXED);
    if (KeGetCurrentIrql() != Interrupt->SynchronizeIrql)
        __atomic_fetch_add(&KtStress.WrongIrql, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&KtStress.IsrCalls, 1, __ATOMIC_RELAXED);
    return TRUE;
}

static BOOLEAN stress_sync(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    critical_section();
    if (KeGetCurrentIrql() != KtStress.Interrupt->SynchronizeIrql)
        __atomic_fetch_add(&KtStress.WrongIrql, 1, __ATOMIC_RELAXED);
    return TRUE;
}

static void stress_worker(void *context)
{
    ULONG target_apic = KiProcessorBlock[KtStress.Target].Prcb.ApicId;
    LONG calls = 0, ipis = 0;

    UNREFERENCED_PARAMETER(context);
    for (ULONG n = 0; n < STRESS_ITERATIONS; n++) {
        if (KeSynchronizeExecution(KtStress.Interrupt, stress_sync, NULL) == TRUE)
            calls++;
        if (n % STRESS_IPI_EVERY == 0) {
            KiApicSendIpi(target_apic, ICR_FIXED | ICR_ASSERT | KtStress.Vector);
            ipis++;
        }
    }
    __atomic_fetch_add(&KtStress.SyncCalls, calls, __ATOMIC_RELAXED);
    __atomic_fetch_add(&KtStress.IpisSent, ipis, __ATOMIC_RELAXED);
}

KTEST(intspinlock_isr_and_synch_crit_sections_never_overlap)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    KAFFINITY target_mask;

    memset((void *)&KtStress, 0, sizeof(KtStress));
    KtStress.Target = cpus - 1;
    KtStress.Vector = KT_VECTOR(6);
    target_mask = (KAFFINITY)1 << KtStress.Target;
    KT_ASSERT_EQ(IoConnectInterrupt(&KtStress.Interrupt, stress_isr, NULL, NULL, KtStress.Vector,
                                    6, 7, Latched, FALSE, target_mask, FALSE),
                 STATUS_SUCCESS);

    ktest_run_on_all_cpus(stress_worker, NULL);
    /* The last IPIs may still be pending on the target: let them land. */
    LONG before;
    do {
        before = KtStress.IsrCalls;
        KeStallExecutionProcessor(20000);
    } while (KtStress.IsrCalls != before);
    IoDisconnectInterrupt(KtStress.Interrupt);

    KT_EXPECT_EQ(KtStress.Overlaps, 0);
    KT_EXPECT_EQ(KtStress.SyncCalls, (LONG)(cpus * STRESS_ITERATIONS));
    KT_EXPECT_EQ(KtStress.Counter, (ULONG)(KtStress.SyncCalls + KtStress.IsrCalls));
    KT_EXPECT_TRUE(KtStress.IsrCalls >= 1);
    KT_EXPECT_TRUE(KtStress.IsrCalls <= KtStress.IpisSent);
    KT_EXPECT_EQ(KtStress.WrongCpu, 0);
    KT_EXPECT_EQ(KtStress.WrongIrql, 0);
    kprintf("# %u CPUs: %d SynchCritSection calls, %d ISR calls for %d IPIs, counter %u\n", cpus,
            KtStress.SyncCalls, KtStress.IsrCalls, KtStress.IpisSent, KtStress.Counter);
}

/* ---- Checks (checked build) ---------------------------------------------- */

#if DBG
static PKINTERRUPT KtBad;

/* Above SynchronizeIrql the raise would be a lowering: 0x09 with the
 * current IRQL, SynchronizeIrql, the KINTERRUPT and the caller. */
KTEST_BUGCHECK(intspinlock_acquire_above_synchronize_irql, IRQL_NOT_GREATER_OR_EQUAL)
{
    KtBad = connect_here(KT_VECTOR(5), 6, NULL);
    if (!KtBad)
        return;
    ktest_expect_bugcheck(KT_P(8), KT_P(6), KT_P(KtBad), KT_ANY);
    KfRaiseIrql(8);
    KeAcquireInterruptSpinLock(KtBad);
}

static BOOLEAN never_called(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    return TRUE;
}

KTEST_BUGCHECK(intspinlock_synchronize_above_synchronize_irql, IRQL_NOT_GREATER_OR_EQUAL)
{
    KtBad = connect_here(KT_VECTOR(5), 5, NULL);
    if (!KtBad)
        return;
    ktest_expect_bugcheck(KT_P(CLOCK_LEVEL), KT_P(5), KT_P(KtBad), KT_ANY);
    KfRaiseIrql(CLOCK_LEVEL);
    KeSynchronizeExecution(KtBad, never_called, NULL);
}

/* Releasing an interrupt spin lock nobody holds: the executive lock's own
 * check, SPIN_LOCK_NOT_OWNED (0x10) with the lock, its word (0 = free),
 * this CPU and the caller (docs/spinlocks.md). */
KTEST_BUGCHECK(intspinlock_release_not_held, SPIN_LOCK_NOT_OWNED)
{
    KtBad = connect_here(KT_VECTOR(5), 5, NULL);
    if (!KtBad)
        return;
    ktest_expect_bugcheck(KT_P(KtBad->ActualLock), KT_P(0), KT_P(KeGetCurrentProcessorNumber()),
                          KT_ANY);
    KfRaiseIrql(5);
    KeReleaseInterruptSpinLock(KtBad, PASSIVE_LEVEL);
}
/* Lowering below SynchronizeIrql while holding the interrupt spin lock: the
 * ISR's interrupt could now arrive here and spin on it forever.  The lock
 * is recorded at SynchronizeIrql, so KeLowerIrql says 0x0F with the usual
 * parameters: the lock, its word, this CPU, where it was taken. */
KTEST_BUGCHECK(intspinlock_lower_below_synchronize_irql_while_held, SPIN_LOCK_ALREADY_OWNED)
{
    KtBad = connect_here(KT_VECTOR(5), 9, NULL);
    if (!KtBad)
        return;
    ktest_expect_bugcheck(KT_P(KtBad->ActualLock), KT_P(held_word()),
                          KT_P(KeGetCurrentProcessorNumber()), KT_ANY);
    (void)KeAcquireInterruptSpinLock(KtBad);
    KeLowerIrql(8);                 /* still above the vector's 5, but below 9 */
}

static BOOLEAN lower_below_synchronize_irql(PVOID Context)
{
    KeLowerIrql((KIRQL)(ULONG_PTR)Context);
    return TRUE;
}

KTEST_BUGCHECK(intspinlock_synchronize_routine_lowers_irql, SPIN_LOCK_ALREADY_OWNED)
{
    KtBad = connect_here(KT_VECTOR(5), 5, NULL);
    if (!KtBad)
        return;
    ktest_expect_bugcheck(KT_P(KtBad->ActualLock), KT_P(held_word()),
                          KT_P(KeGetCurrentProcessorNumber()), KT_ANY);
    KeSynchronizeExecution(KtBad, lower_below_synchronize_irql, (PVOID)(ULONG_PTR)DISPATCH_LEVEL);
}
#endif
