/*
 * test_lockorder.c - the lock-order validator (kernel/locks/lockorder.c,
 * docs/validator.md, docs/bugchecks.md): an inversion stops the first time
 * the second order is taken, with no deadlock, and the report after the STOP
 * line names both orders (# EXPECT LINE, in the order printed); per-object
 * locks initialised by one line are one class, so a thousand of them cost
 * two classes and one edge.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/lockorder.h"
#include "arch/x86_64/apic.h"
#include "printf.h"

#if DBG

#define KT_OBJECTS 1000
#define WAIT_US 2000000
#define KT_NUMBER LockQueueUnusedSpare2             /* no kernel code takes it */
#define KT_VECTOR 0x59                              /* IRQL 5, as test_lock_kept_negative.c */

static KSPIN_LOCK KtOrderA, KtOrderB, KtOrderGlobal, KtQueued;
static EX_SPIN_LOCK KtRw;
static volatile ULONG KtDone;
static struct { KSPIN_LOCK Lock; ULONG Value; } KtObjects[KT_OBJECTS];

/* Held then Taken, in the report: "CPU n held <lock>" then "then took <lock>". */
static void expect_edge(const char *Cpu, const char *HeldKind, PVOID Held, const char *TakenKind,
                        PVOID Taken)
{
    ktest_expect_line("  CPU %s held %s lock %p", Cpu, HeldKind, Held);
    ktest_expect_line("  then took %s lock %p", TakenKind, Taken);
}

static void expect_cycle(PVOID Lock, PVOID Held)
{
    ktest_expect_bugcheck(KT_P(KI_VERIFIER_DEADLOCK_DETECTED), KT_P(Lock), KT_P(Held), KT_ANY);
    ktest_expect_line("lockorder: possible deadlock: a lock order that closes a cycle");
    ktest_expect_line("this order, now:");
}

/* Not inlined: the report names them as the places of each order. */
__attribute__((noinline)) static void a_then_b(void)
{
    KIRQL old;

    KeAcquireSpinLock(&KtOrderA, &old);
    KeAcquireSpinLockAtDpcLevel(&KtOrderB);
    KeReleaseSpinLockFromDpcLevel(&KtOrderB);
    KeReleaseSpinLock(&KtOrderA, old);
}

__attribute__((noinline)) static void b_then_a(void)
{
    KIRQL old;

    KeAcquireSpinLock(&KtOrderB, &old);
    KeAcquireSpinLockAtDpcLevel(&KtOrderA);         /* the opposite order: STOP here */
}

/* A then B, released; then B then A: no CPU ever waits, yet 0x1001. */
KTEST_BUGCHECK(lockorder_ab_ba_on_one_cpu, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    expect_cycle(&KtOrderA, &KtOrderB);
    expect_edge("*", "executive", &KtOrderB, "executive", &KtOrderA);
    ktest_expect_line("    at IRQL 2 at b_then_a+");
    ktest_expect_line("the opposite order, learned earlier:");
    expect_edge("*", "executive", &KtOrderA, "executive", &KtOrderB);
    ktest_expect_line("    at IRQL 2 at a_then_b+");
    a_then_b();
    b_then_a();
}

/* A -> in-stack queued Q -> numbered N, each pair released; then N -> A. */
KTEST_BUGCHECK(lockorder_three_kinds_cycle, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    PVOID numbered = (PVOID)((ULONG_PTR)KeGetCurrentPrcb()->LockQueue[KT_NUMBER].Lock &
                             ~(ULONG_PTR)(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER));
    KLOCK_QUEUE_HANDLE handle;
    KIRQL old;

    expect_cycle(&KtOrderA, numbered);
    expect_edge("*", "numbered queued", numbered, "executive", &KtOrderA);
    ktest_expect_line("the opposite order, learned earlier:");
    expect_edge("*", "executive", &KtOrderA, "in-stack queued", &KtQueued);
    expect_edge("*", "in-stack queued", &KtQueued, "numbered queued", numbered);

    KeAcquireSpinLock(&KtOrderA, &old);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&KtQueued, &handle);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
    KeReleaseSpinLock(&KtOrderA, old);

    KeAcquireInStackQueuedSpinLock(&KtQueued, &handle);
    old = KeAcquireQueuedSpinLock(KT_NUMBER);
    KeReleaseQueuedSpinLock(KT_NUMBER, old);
    KeReleaseInStackQueuedSpinLock(&handle);

    old = KeAcquireQueuedSpinLock(KT_NUMBER);
    KeAcquireSpinLockAtDpcLevel(&KtOrderA);         /* closes A -> Q -> N -> A: STOP */
}

/* Readers of R take A; a holder of A then writes R.  A shared acquire
 * counts as an exclusive one (docs/validator.md): a waiting writer stops
 * new readers, so even reader -> reader orders can deadlock. */
KTEST_BUGCHECK(lockorder_reader_writer_inversion, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KIRQL old;

    expect_cycle((PVOID)&KtRw, &KtOrderA);
    expect_edge("*", "executive", &KtOrderA, "reader/writer (exclusive)", (PVOID)&KtRw);
    ktest_expect_line("the opposite order, learned earlier:");
    expect_edge("*", "reader/writer (shared)", (PVOID)&KtRw, "executive", &KtOrderA);

    old = ExAcquireSpinLockShared(&KtRw);
    KeAcquireSpinLockAtDpcLevel(&KtOrderA);
    KeReleaseSpinLockFromDpcLevel(&KtOrderA);
    ExReleaseSpinLockShared(&KtRw, old);

    KeAcquireSpinLock(&KtOrderA, &old);
    ExAcquireSpinLockExclusiveAtDpcLevel(&KtRw);    /* STOP */
}

static BOOLEAN takes_a_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    KeAcquireSpinLockAtDpcLevel(&KtOrderA);         /* at SynchronizeIrql 6, in an IRQL 5 interrupt */
    KeReleaseSpinLockFromDpcLevel(&KtOrderA);
    KtDone = 1;
    return TRUE;
}

/* An ISR of IRQL 5 takes A; then A is held at DISPATCH_LEVEL, where that
 * interrupt can arrive and spin on it for ever: 0x6004, P3 = (2 << 8) | 5. */
KTEST_BUGCHECK(lockorder_isr_versus_dispatch, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    PKINTERRUPT interrupt;
    KIRQL old;

    ktest_expect_bugcheck(KT_P(KI_VERIFIER_LOCK_IRQL_INVERSION), KT_P(&KtOrderA),
                          KT_P((DISPATCH_LEVEL << 8) | 5), KT_ANY);
    ktest_expect_line("lockorder: a lock an interrupt takes is held where that interrupt can arrive");
    ktest_expect_line("  executive lock %p", &KtOrderA);
    ktest_expect_line("  taken by an interrupt of IRQL 5 at takes_a_isr+");
    ktest_expect_line("  held at IRQL 2 at lockorder_isr_versus_dispatch+");
    if (!NT_SUCCESS(IoConnectInterrupt(&interrupt, takes_a_isr, NULL, NULL, KT_VECTOR, 5, 6,
                                       Latched, FALSE,
                                       (KAFFINITY)1 << KeGetCurrentProcessorNumber(), FALSE)))
        return;
    KiApicSendIpi(0, ICR_FIXED | ICR_ASSERT | ICR_DEST_SELF | KT_VECTOR);
    if (!ktest_wait_count(&KtDone, 1, WAIT_US))
        return;
    KeAcquireSpinLock(&KtOrderA, &old);             /* STOP */
}

static VOID a_then_b_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    a_then_b();
    KtDone = 1;
}

/* A then B on another CPU, done; B then A here: what would deadlock if the
 * two ran at once stops although they ran one after the other. */
KTEST_BUGCHECK(lockorder_ab_ba_on_two_cpus, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    static KDPC dpc;
    ULONG self = KeGetCurrentProcessorNumber(), other = self ? 0 : 1;
    char here[12], there[12];

    KT_REQUIRE_CPUS(2);
    ksnprintf(here, sizeof(here), "%u", self);
    ksnprintf(there, sizeof(there), "%u", other);
    expect_cycle(&KtOrderA, &KtOrderB);
    expect_edge(here, "executive", &KtOrderB, "executive", &KtOrderA);
    ktest_expect_line("the opposite order, learned earlier:");
    expect_edge(there, "executive", &KtOrderA, "executive", &KtOrderB);
    KeInitializeDpc(&dpc, a_then_b_dpc, NULL);
    KeSetTargetProcessorDpc(&dpc, (CCHAR)other);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    if (!ktest_wait_count(&KtDone, 1, WAIT_US))
        return;
    b_then_a();
}

/* Each object's lock, then one global lock: always that order. */
KTEST(lockorder_thousand_objects_one_class)
{
    KI_LOCK_ORDER_STATS before, after;

    for (ULONG i = 0; i < KT_OBJECTS; i++)
        KeInitializeSpinLock(&KtObjects[i].Lock);   /* one line: one class */
    KiLockOrderQuery(&before);
    for (ULONG i = 0; i < KT_OBJECTS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&KtObjects[i].Lock, &old);
        KeAcquireSpinLockAtDpcLevel(&KtOrderGlobal);
        KtObjects[i].Value++;
        KeReleaseSpinLockFromDpcLevel(&KtOrderGlobal);
        KeReleaseSpinLock(&KtObjects[i].Lock, old);
    }
    KiLockOrderQuery(&after);
    KT_EXPECT_TRUE(after.Enabled);
    KT_EXPECT_TRUE(after.Classes - before.Classes <= 2);   /* the objects' and the global */
    KT_EXPECT_TRUE(after.Edges - before.Edges <= 1);
    KT_EXPECT_TRUE(after.Classes <= KI_LOCK_ORDER_CLASSES && after.Edges < KI_LOCK_ORDER_EDGES);
}

/* The kernel's internal locks take part too: a DPC queued, or an ExInterlocked
 * list used, while a spin lock is held orders that lock before the DPC queue
 * lock and the helpers' lock: each a new edge the first time, none after. */
static KSPIN_LOCK KtInternalOuter;
static KSPIN_LOCK KtInternalListLock;
static LIST_ENTRY KtInternalList;
static LIST_ENTRY KtInternalNode;

static VOID internal_dpc(PKDPC Dpc, PVOID Context, PVOID SystemArgument1, PVOID SystemArgument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
}

static ULONG edges_learned_under_outer(PKDPC Dpc)
{
    KI_LOCK_ORDER_STATS before, after;
    KIRQL old;

    KiLockOrderQuery(&before);
    KeAcquireSpinLock(&KtInternalOuter, &old);
    KeInsertQueueDpc(Dpc, NULL, NULL);                          /* Outer -> DPC queue */
    ExInterlockedInsertTailList(&KtInternalList, &KtInternalNode, &KtInternalListLock);
    ExInterlockedRemoveHeadList(&KtInternalList, &KtInternalListLock);   /* Outer -> list lock */
    KeReleaseSpinLock(&KtInternalOuter, old);                   /* the DPC runs here */
    KiLockOrderQuery(&after);
    return after.Edges - before.Edges;
}

KTEST(lockorder_internal_locks_take_part)
{
    KDPC dpc;

    KeInitializeSpinLock(&KtInternalOuter);
    KeInitializeSpinLock(&KtInternalListLock);
    InitializeListHead(&KtInternalList);
    KeInitializeDpc(&dpc, internal_dpc, NULL);
    KT_EXPECT_EQ(edges_learned_under_outer(&dpc), 2);          /* new: two edges */
    KT_EXPECT_EQ(edges_learned_under_outer(&dpc), 0);          /* seen: none */
    KeFlushQueuedDpcs();
}

#endif
