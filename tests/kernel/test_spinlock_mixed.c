/*
 * test_spinlock_mixed.c - each kind of spin lock hammered at once from every
 * IRQL the WDK allows it at (issue 6, "Mixed IRQLs"):
 *
 *   executive, in-stack queued,     PASSIVE_LEVEL (the raising forms) and
 *   numbered queued, reader/writer  DPCs (the AtDpcLevel / ForDpc forms)
 *   ExInterlocked* helpers          PASSIVE_LEVEL, DPCs and an ISR (any IRQL)
 *   interrupt spin lock             KeSynchronizeExecution and
 *                                   KeAcquireInterruptSpinLock at PASSIVE_LEVEL
 *                                   and in DPCs, and the ISR itself
 *
 * Every CPU runs a PASSIVE_LEVEL worker that takes the lock, and every few
 * iterations queues one of the DPCs (one per CPU, each targeted at its CPU,
 * MediumHigh so a remote one interrupts at once: re-queued from every CPU
 * to every CPU while the test runs) and, for the kinds an ISR may use, fires
 * the ISR's vector at the next CPU with a fixed IPI.  Each DPC run takes the
 * lock a few times with the DPC-level forms.  Inside every critical section:
 * a non-atomic counter (read, pause, write) and an "inside" mark that must
 * be empty on entry and still ours on exit.  Checked: the counter equals the
 * sections entered in all contexts, no two holders were ever seen, every
 * routine held at and returned to the IRQL it should with interrupts
 * enabled, each DPC ran on its target, and the lock is free at the end.
 *
 * The ExInterlocked helpers keep their critical section to themselves and
 * it is a few instructions long, so that kind is checked three ways: the
 * counter is ExInterlockedAddUlong's target, and no two calls may return the
 * same old value; each context's node passed through the shared list and
 * stack is never lost or doubled; and a second interrupt object on the same
 * vector is connected with the helpers' lock as its interrupt spin lock (the
 * sharing the WDK allows: an ISR's SynchCritSection and the helpers), so its
 * ISR and KeSynchronizeExecution at PASSIVE_LEVEL and in DPCs hold that lock
 * for a widened read-pause-write of the same counter and a walk of the list:
 * a helper that ran inside would lose an update or break a link.
 *
 * Each worker stops at its share of an iteration budget or a soft deadline
 * taken when the last CPU arrives, once every CPU has done a minimum of
 * sections at PASSIVE_LEVEL, in its DPC and (where there is one) in its
 * ISR; a CPU or context short of its minimum at the hard deadline fails the
 * test, and so does a try loop still failing then (KT_PROGRESS in
 * kt_spinlock.h).  A try loop that gave up quietly at a deadline once hid
 * a KeReleaseSpinLock that lowered IRQL before releasing: the DPC it let
 * in on the holder's own CPU spun on the lock until the deadline.
 */
#include "kt_spinlock.h"
#include "string.h"
#include "kernel/console/console.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"

#define BUDGET          12000   /* PASSIVE_LEVEL iterations in all, shared among the CPUs */
#define DEADLINE_MS     150     /* the soft deadline */
#define MIN_PASSIVE     20      /* sections each CPU must do at PASSIVE_LEVEL, */
#define MIN_DPC         6       /* in its DPC, */
#define MIN_ISR         2       /* and in its ISR (the kinds with one) */
#define DPC_EVERY       2       /* a worker queues a DPC every this many iterations */
#define DPC_BATCH       3       /* sections per DPC run */
#define IPI_EVERY       4       /* and fires the ISR's vector every this many */

#define MIXED_NUMBER    LockQueueUnusedSpare2
/* Low nibble 0xD: clear of the other tests' device vectors (0x?A
 * test_interrupts.c, 0x?B test_intspinlock.c and test_dpc_isr.c, 0x?C the
 * IRQL tests). */
#define EXI_VECTOR      0x5D    /* DIRQL 5: the helpers' ISR (SynchronizeIrql 5) and the */
#define EXI_LOCK_IRQL   6       /* ISR sharing their lock (SynchronizeIrql 6) */
#define INT_VECTOR      0x6D    /* DIRQL 6, SynchronizeIrql 7 */
#define INT_SYNCH_IRQL  7
#define SYNCH_RESULT    ((BOOLEAN)0x5A)     /* KeSynchronizeExecution must hand it back */
#define LARGE_STEP      0x100000001ll       /* ExInterlockedAddLargeInteger: both halves */
#define SEEN_BITS       (1u << 17)          /* old values of ExInterlockedAddUlong checked */

enum kind { EXECUTIVE, IN_STACK, NUMBERED, READER_WRITER, EX_INTERLOCKED, INTERRUPT };
enum context { PASSIVE = KT_PASSIVE, DPC = KT_DPC, ISR = KT_ISR, CONTEXTS = KT_CONTEXTS };
enum section { NONE, EXCLUSIVE, SHARED };

static struct {
    enum kind Kind;
    KSPIN_LOCK Lock;
    EX_SPIN_LOCK RwLock;
    PKINTERRUPT Interrupt;              /* EX_INTERLOCKED and INTERRUPT only */
    PKINTERRUPT LockInterrupt;          /* EX_INTERLOCKED: ActualLock = &Lock */
    KDPC Dpc[MAXIMUM_PROCESSORS];       /* Dpc[n] runs on CPU n */
    volatile ULONG Inside;              /* the holder's tag, or 0 */
    volatile LONG Readers;              /* readers inside (reader/writer) */
    volatile ULONG64 Counter;           /* the non-atomic counter */
    volatile LONG Overlaps;             /* two holders seen at once */
    volatile LONG IrqlErrors;           /* wrong IRQL held or after, or interrupts off */
    volatile LONG Errors;               /* anything else: wrong CPU, return value, list */
    volatile LONG Stop;
    volatile LONG IpisSent;
    KT_PROGRESS Progress;
    /* Sections entered, by context and CPU; each slot has one writer (a
     * context does not nest with itself on a CPU). */
    ULONG Done[CONTEXTS][MAXIMUM_PROCESSORS];
    ULONG Shared[CONTEXTS][MAXIMUM_PROCESSORS];
    ULONG DpcRuns[MAXIMUM_PROCESSORS];
    ULONG Helpers[CONTEXTS][MAXIMUM_PROCESSORS];    /* sections that were helper calls */
    ULONG LockIsrDone[MAXIMUM_PROCESSORS];          /* calls of the ISR sharing their lock */
    /* ExInterlocked: the targets, and a node of each kind per context and
     * CPU that is passed through the shared list and stack. */
    ULONG AddUlong;
    LARGE_INTEGER AddLarge;
    LIST_ENTRY List;
    SINGLE_LIST_ENTRY Stack;
    LIST_ENTRY ListNode[CONTEXTS][MAXIMUM_PROCESSORS];
    SINGLE_LIST_ENTRY StackNode[CONTEXTS][MAXIMUM_PROCESSORS];
    PLIST_ENTRY OwnedList[CONTEXTS][MAXIMUM_PROCESSORS];
    PSINGLE_LIST_ENTRY OwnedStack[CONTEXTS][MAXIMUM_PROCESSORS];
    ULONG64 Seen[SEEN_BITS / 64];       /* ExInterlockedAddUlong's old values */
} KtMixed;

static void count(volatile LONG *what)
{
    __atomic_fetch_add(what, 1, __ATOMIC_SEQ_CST);
}

static void expect_irql(KIRQL irql)
{
    if (KeGetCurrentIrql() != irql || !kt_interrupts_enabled())
        count(&KtMixed.IrqlErrors);
}

/* A tag unique to this CPU and context, for the "inside" mark. */
static ULONG tag(enum context c)
{
    return KeGetCurrentProcessorNumber() * CONTEXTS + c + 1;
}

/* Check and mark "inside", read-pause-write the counter, unmark. */
static void critical_section(ULONG me)
{
    if (KtMixed.Inside != 0 || KtMixed.Readers != 0)
        count(&KtMixed.Overlaps);
    KtMixed.Inside = me;
    ULONG64 value = KtMixed.Counter;
    kt_pause(3);                        /* widen the window a second holder would hit */
    KtMixed.Counter = value + 1;
    if (KtMixed.Inside != me)
        count(&KtMixed.Overlaps);
    KtMixed.Inside = 0;
}

/* A reader: no writer inside with it. */
static void read_section(void)
{
    __atomic_fetch_add(&KtMixed.Readers, 1, __ATOMIC_SEQ_CST);
    if (KtMixed.Inside != 0)
        count(&KtMixed.Overlaps);
    kt_pause(2);
    if (KtMixed.Inside != 0)
        count(&KtMixed.Overlaps);
    __atomic_fetch_sub(&KtMixed.Readers, 1, __ATOMIC_SEQ_CST);
}

static void held(KIRQL irql, ULONG me)
{
    expect_irql(irql);
    critical_section(me);
}

static void held_shared(KIRQL irql)
{
    expect_irql(irql);
    read_section();
}

/* ---- One section of each kind, from PASSIVE_LEVEL or a DPC -------------- */

static enum section executive(enum context c, ULONG i, ULONG me)
{
    KIRQL old;

    if (c == PASSIVE) {
        switch (i % 4) {
        case 0:
            KeAcquireSpinLock(&KtMixed.Lock, &old);
            held(DISPATCH_LEVEL, me);
            KeReleaseSpinLock(&KtMixed.Lock, old);
            break;
        case 1: {                       /* ForDpc outside a threaded DPC: no raise of its */
            KIRQL entry;                /* own (Windows), so raise first: at PASSIVE this
                                         * CPU's DPC could preempt the holder and spin */
            KeRaiseIrql(DISPATCH_LEVEL, &entry);
            old = KeAcquireSpinLockForDpc(&KtMixed.Lock);
            held(DISPATCH_LEVEL, me);
            KeReleaseSpinLockForDpc(&KtMixed.Lock, old);
            if (old != DISPATCH_LEVEL)
                count(&KtMixed.IrqlErrors);
            KeLowerIrql(entry);
            break;
        }
        case 2:
            old = KeAcquireSpinLockRaiseToSynch(&KtMixed.Lock);
            held(SYNCH_LEVEL, me);
            KeReleaseSpinLock(&KtMixed.Lock, old);
            break;
        default:
            ExAcquireSpinLock(&KtMixed.Lock, &old);
            held(DISPATCH_LEVEL, me);
            ExReleaseSpinLock(&KtMixed.Lock, old);
            break;
        }
        return EXCLUSIVE;
    }
    switch (i % 4) {
    case 0:
        KeAcquireSpinLockAtDpcLevel(&KtMixed.Lock);
        held(DISPATCH_LEVEL, me);
        KeReleaseSpinLockFromDpcLevel(&KtMixed.Lock);
        break;
    case 1:
        KefAcquireSpinLockAtDpcLevel(&KtMixed.Lock);
        held(DISPATCH_LEVEL, me);
        KefReleaseSpinLockFromDpcLevel(&KtMixed.Lock);
        break;
    case 2:
        while (!KeTryToAcquireSpinLockAtDpcLevel(&KtMixed.Lock)) {
            if (kt_progress_give_up(&KtMixed.Progress, (enum kt_context)c))
                return NONE;
            cpu_relax();
        }
        held(DISPATCH_LEVEL, me);
        ExReleaseSpinLockFromDpcLevel(&KtMixed.Lock);
        break;
    default:                            /* at DISPATCH_LEVEL: no raise, no lower */
        old = KeAcquireSpinLockForDpc(&KtMixed.Lock);
        held(DISPATCH_LEVEL, me);
        KeReleaseSpinLockForDpc(&KtMixed.Lock, old);
        if (old != DISPATCH_LEVEL)
            count(&KtMixed.IrqlErrors);
        break;
    }
    return EXCLUSIVE;
}

static enum section in_stack(enum context c, ULONG i, ULONG me)
{
    KLOCK_QUEUE_HANDLE handle;

    switch ((c == PASSIVE ? 0 : 3) + i % 3) {
    case 0:
        KeAcquireInStackQueuedSpinLock(&KtMixed.Lock, &handle);
        held(DISPATCH_LEVEL, me);
        KeReleaseInStackQueuedSpinLock(&handle);
        break;
    case 1: {                           /* ForDpc at PASSIVE: raise first (see executive) */
        KIRQL entry;

        KeRaiseIrql(DISPATCH_LEVEL, &entry);
        KeAcquireInStackQueuedSpinLockForDpc(&KtMixed.Lock, &handle);
        held(DISPATCH_LEVEL, me);
        KeReleaseInStackQueuedSpinLockForDpc(&handle);
        KeLowerIrql(entry);
        break;
    }
    case 2:
        KeAcquireInStackQueuedSpinLockRaiseToSynch(&KtMixed.Lock, &handle);
        held(SYNCH_LEVEL, me);
        KeReleaseInStackQueuedSpinLock(&handle);
        break;
    case 3:
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&KtMixed.Lock, &handle);
        held(DISPATCH_LEVEL, me);
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
        break;
    case 4:
        KeAcquireInStackQueuedSpinLockForDpc(&KtMixed.Lock, &handle);
        held(DISPATCH_LEVEL, me);
        KeReleaseInStackQueuedSpinLockForDpc(&handle);
        break;
    default:                            /* the raising form, entered at DISPATCH_LEVEL */
        KeAcquireInStackQueuedSpinLock(&KtMixed.Lock, &handle);
        held(DISPATCH_LEVEL, me);
        KeReleaseInStackQueuedSpinLock(&handle);
        break;
    }
    return EXCLUSIVE;
}

/* The numbered locks have no AtDpcLevel forms: a DPC uses the same
 * routines, which raise from DISPATCH_LEVEL to DISPATCH_LEVEL. */
static enum section numbered(enum context c, ULONG i, ULONG me)
{
    KIRQL entry = c == PASSIVE ? PASSIVE_LEVEL : DISPATCH_LEVEL;
    KIRQL old;

    switch (i % 4) {
    case 0:
        old = KeAcquireQueuedSpinLock(MIXED_NUMBER);
        held(DISPATCH_LEVEL, me);
        break;
    case 1:
        old = KeAcquireQueuedSpinLockRaiseToSynch(MIXED_NUMBER);
        held(SYNCH_LEVEL, me);
        break;
    case 2:
        while (!KeTryToAcquireQueuedSpinLock(MIXED_NUMBER, &old)) {
            expect_irql(entry);         /* a failed try puts the IRQL back */
            if (kt_progress_give_up(&KtMixed.Progress, (enum kt_context)c))
                return NONE;
            cpu_relax();
        }
        held(DISPATCH_LEVEL, me);
        break;
    default:
        while (!KeTryToAcquireQueuedSpinLockRaiseToSynch(MIXED_NUMBER, &old)) {
            expect_irql(entry);
            if (kt_progress_give_up(&KtMixed.Progress, (enum kt_context)c))
                return NONE;
            cpu_relax();
        }
        held(SYNCH_LEVEL, me);
        break;
    }
    KeReleaseQueuedSpinLock(MIXED_NUMBER, old);
    if (old != entry)
        count(&KtMixed.IrqlErrors);
    return EXCLUSIVE;
}

static enum section reader_writer(enum context c, ULONG i, ULONG me)
{
    PEX_SPIN_LOCK lock = &KtMixed.RwLock;
    KIRQL old;

    if (c == PASSIVE) {
        switch (i % 4) {
        case 0:
            old = ExAcquireSpinLockExclusive(lock);
            held(DISPATCH_LEVEL, me);
            ExReleaseSpinLockExclusive(lock, old);
            return EXCLUSIVE;
        case 1:                         /* a reader that wants to write */
            old = ExAcquireSpinLockShared(lock);
            held_shared(DISPATCH_LEVEL);
            if (ExTryConvertSharedSpinLockExclusive(lock)) {
                held(DISPATCH_LEVEL, me);
                ExReleaseSpinLockExclusive(lock, old);
                return EXCLUSIVE;
            }
            ExReleaseSpinLockShared(lock, old);
            return SHARED;
        default:
            old = ExAcquireSpinLockShared(lock);
            held_shared(DISPATCH_LEVEL);
            ExReleaseSpinLockShared(lock, old);
            return SHARED;
        }
    }
    switch (i % 4) {
    case 0:
        ExAcquireSpinLockExclusiveAtDpcLevel(lock);
        held(DISPATCH_LEVEL, me);
        ExReleaseSpinLockExclusiveFromDpcLevel(lock);
        return EXCLUSIVE;
    case 1:
        ExAcquireSpinLockSharedAtDpcLevel(lock);
        held_shared(DISPATCH_LEVEL);
        ExReleaseSpinLockSharedFromDpcLevel(lock);
        return SHARED;
    case 2:                             /* one try each: readers may keep it busy */
        if (!ExTryAcquireSpinLockExclusiveAtDpcLevel(lock))
            return NONE;
        held(DISPATCH_LEVEL, me);
        ExReleaseSpinLockExclusiveFromDpcLevel(lock);
        return EXCLUSIVE;
    default:
        if (!ExTryAcquireSpinLockSharedAtDpcLevel(lock))
            return NONE;
        held_shared(DISPATCH_LEVEL);
        ExReleaseSpinLockSharedFromDpcLevel(lock);
        return SHARED;
    }
}

/* KSYNCHRONIZE_ROUTINE, and the body of the ISR that shares the helpers'
 * lock: holding it (as LockInterrupt's ActualLock), no helper runs, so a
 * slow read-pause-write of their counter loses nothing and every link of
 * their list holds.  Context is the caller's tag. */
static BOOLEAN under_helpers_lock(PVOID Context)
{
    ULONG me = (ULONG)(ULONG_PTR)Context;
    ULONG nodes = 0;

    expect_irql(EXI_LOCK_IRQL);
    if (KtMixed.Inside != 0)
        count(&KtMixed.Overlaps);
    KtMixed.Inside = me;
    ULONG value = KtMixed.AddUlong;
    kt_pause(3);
    KtMixed.AddUlong = value + 1;
    for (PLIST_ENTRY e = KtMixed.List.Flink; e != &KtMixed.List; e = e->Flink)
        if (e->Flink->Blink != e || ++nodes > CONTEXTS * MAXIMUM_PROCESSORS) {
            count(&KtMixed.Overlaps);
            break;
        }
    if (KtMixed.Inside != me)
        count(&KtMixed.Overlaps);
    KtMixed.Inside = 0;
    return SYNCH_RESULT;
}

/* Any context, any IRQL: the helpers change neither IRQL nor IF. */
static enum section exinterlocked(enum context c, ULONG i)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    KIRQL irql = KeGetCurrentIrql();
    LARGE_INTEGER step = { .QuadPart = LARGE_STEP };

    if (c != ISR && i % 4 == 3) {       /* the lock through the interrupt object */
        if (KeSynchronizeExecution(KtMixed.LockInterrupt, under_helpers_lock,
                                   (PVOID)(ULONG_PTR)tag(c)) != SYNCH_RESULT)
            count(&KtMixed.Errors);
        expect_irql(irql);
        return EXCLUSIVE;
    }

    ULONG old = ExInterlockedAddUlong(&KtMixed.AddUlong, 1, &KtMixed.Lock);
    /* Two holders at once would both read the same old value. */
    if (old < SEEN_BITS &&
        (__atomic_fetch_or(&KtMixed.Seen[old / 64], 1ull << (old % 64), __ATOMIC_SEQ_CST) &
         (1ull << (old % 64))))
        count(&KtMixed.Overlaps);
    ExInterlockedAddLargeInteger(&KtMixed.AddLarge, step, &KtMixed.Lock);

    /* Pass this context's node through the shared list or stack: put the
     * one it owns in, take the first one out (never none: ours is in). */
    PLIST_ENTRY *owned = &KtMixed.OwnedList[c][cpu];
    PSINGLE_LIST_ENTRY *owned_single = &KtMixed.OwnedStack[c][cpu];
    switch (i % 3) {
    case 0:
        ExInterlockedInsertHeadList(&KtMixed.List, *owned, &KtMixed.Lock);
        *owned = ExInterlockedRemoveHeadList(&KtMixed.List, &KtMixed.Lock);
        break;
    case 1:
        ExInterlockedInsertTailList(&KtMixed.List, *owned, &KtMixed.Lock);
        *owned = ExInterlockedRemoveHeadList(&KtMixed.List, &KtMixed.Lock);
        break;
    default:
        ExInterlockedPushEntryList(&KtMixed.Stack, *owned_single, &KtMixed.Lock);
        *owned_single = ExInterlockedPopEntryList(&KtMixed.Stack, &KtMixed.Lock);
        break;
    }
    if (!*owned || !*owned_single) {
        count(&KtMixed.Errors);
        *owned = &KtMixed.ListNode[c][cpu];
        *owned_single = &KtMixed.StackNode[c][cpu];
    }
    expect_irql(irql);
    KtMixed.Helpers[c][cpu]++;
    return EXCLUSIVE;
}

/* KSYNCHRONIZE_ROUTINE: Context is the caller's tag. */
static BOOLEAN synchronized(PVOID Context)
{
    held(INT_SYNCH_IRQL, (ULONG)(ULONG_PTR)Context);
    return SYNCH_RESULT;
}

static enum section interrupt_lock(enum context c, ULONG i)
{
    ULONG me = tag(c);

    if (i % 2 == 0) {
        if (KeSynchronizeExecution(KtMixed.Interrupt, synchronized, (PVOID)(ULONG_PTR)me) !=
            SYNCH_RESULT)
            count(&KtMixed.Errors);
    } else {
        KIRQL old = KeAcquireInterruptSpinLock(KtMixed.Interrupt);
        held(INT_SYNCH_IRQL, me);
        KeReleaseInterruptSpinLock(KtMixed.Interrupt, old);
    }
    return EXCLUSIVE;
}

/* One section from context c (PASSIVE or DPC), counted there. */
static void one_section(enum context c, ULONG i)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    ULONG me = tag(c);
    enum section s = NONE;

    switch (KtMixed.Kind) {
    case EXECUTIVE:         s = executive(c, i, me); break;
    case IN_STACK:          s = in_stack(c, i, me); break;
    case NUMBERED:          s = numbered(c, i, me); break;
    case READER_WRITER:     s = reader_writer(c, i, me); break;
    case EX_INTERLOCKED:    s = exinterlocked(c, i); break;
    case INTERRUPT:         s = interrupt_lock(c, i); break;
    }
    expect_irql(c == PASSIVE ? PASSIVE_LEVEL : DISPATCH_LEVEL);
    if (s == EXCLUSIVE)
        KtMixed.Done[c][cpu]++;
    else if (s == SHARED)
        KtMixed.Shared[c][cpu]++;
    if (s != NONE)
        kt_progress_count(&KtMixed.Progress, (enum kt_context)c);
}

/* ---- The three contexts -------------------------------------------------- */

/* KSERVICE_ROUTINE, at SynchronizeIrql holding the interrupt's own lock
 * (which, for the ExInterlocked kind, is not the lock under test). */
static BOOLEAN mixed_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(ServiceContext);
    expect_irql(Interrupt->SynchronizeIrql);
    if (KtMixed.Kind == INTERRUPT)
        critical_section(tag(ISR));
    else
        exinterlocked(ISR, KtMixed.Done[ISR][cpu]);
    expect_irql(Interrupt->SynchronizeIrql);
    KtMixed.Done[ISR][cpu]++;
    kt_progress_count(&KtMixed.Progress, KT_ISR);
    return TRUE;
}

/* The second ISR on EXI_VECTOR, at EXI_LOCK_IRQL holding the helpers' lock. */
static BOOLEAN lock_sharing_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    under_helpers_lock((PVOID)(ULONG_PTR)tag(ISR));
    KtMixed.LockIsrDone[KeGetCurrentProcessorNumber()]++;
    return TRUE;
}

/* KDEFERRED_ROUTINE: DeferredContext is the target CPU. */
static VOID mixed_dpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                      PVOID SystemArgument2)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    if (cpu != (ULONG)(ULONG_PTR)DeferredContext)
        count(&KtMixed.Errors);
    expect_irql(DISPATCH_LEVEL);
    ULONG run = KtMixed.DpcRuns[cpu]++;
    for (ULONG n = 0; n < DPC_BATCH && !KtMixed.Stop; n++)
        one_section(DPC, run * DPC_BATCH + n);
}

static void mixed_worker(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG next_apic = KiProcessorBlock[(cpu + 1) % cpus].Prcb.ApicId;

    UNREFERENCED_PARAMETER(context);
    kt_ensure_lock_queues();
    kt_progress_start_together(&KtMixed.Progress, DEADLINE_MS);
    enum kt_step step;
    for (ULONG i = 0; (step = kt_progress_next(&KtMixed.Progress, i >= BUDGET / cpus)) != KT_STOP;
         i++) {
        if (step == KT_WORK)
            one_section(PASSIVE, i);
        /* Every CPU's DPC in turn, and the ISR on the next CPU; idle, only
         * to the contexts still short of their minimum. */
        ULONG target = (cpu + i / DPC_EVERY) % cpus;
        if (i % DPC_EVERY == 0 &&
            (step == KT_WORK || kt_progress_short(&KtMixed.Progress, KT_DPC, target)))
            KeInsertQueueDpc(&KtMixed.Dpc[target], NULL, NULL);
        if (KtMixed.Interrupt && i % IPI_EVERY == 0 &&
            (step == KT_WORK || kt_progress_short(&KtMixed.Progress, KT_ISR, (cpu + 1) % cpus))) {
            KiApicSendIpi(next_apic, ICR_FIXED | ICR_ASSERT | KtMixed.Interrupt->Vector);
            count(&KtMixed.IpisSent);
        }
    }
    expect_irql(PASSIVE_LEVEL);
}

static ULONG isr_calls(void)
{
    ULONG calls = 0;

    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
        calls += __atomic_load_n(&KtMixed.Done[ISR][n], __ATOMIC_RELAXED) +
                 __atomic_load_n(&KtMixed.LockIsrDone[n], __ATOMIC_RELAXED);
    return calls;
}

/* Each node passed through the list (or the stack) owned by exactly one
 * context at the end: none lost, none handed out twice. */
#define KT_OWNED_ONCE(Nodes, Owned)                                             \
    ({                                                                          \
        BOOLEAN once_ = TRUE;                                                   \
        for (ULONG a = 0; a < CONTEXTS * MAXIMUM_PROCESSORS; a++) {             \
            ULONG owners_ = 0;                                                  \
            for (ULONG b = 0; b < CONTEXTS * MAXIMUM_PROCESSORS; b++)           \
                owners_ += (Owned)[b / MAXIMUM_PROCESSORS][b % MAXIMUM_PROCESSORS] == \
                           &(Nodes)[a / MAXIMUM_PROCESSORS][a % MAXIMUM_PROCESSORS]; \
            once_ &= owners_ == 1;                                              \
        }                                                                       \
        once_;                                                                  \
    })

static void run_mixed(enum kind kind)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG64 started = rdtsc();

    memset((void *)&KtMixed, 0, sizeof(KtMixed));
    KtMixed.Kind = kind;
    InitializeListHead(&KtMixed.List);
    for (ULONG c = 0; c < CONTEXTS; c++)
        for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
            KtMixed.OwnedList[c][n] = &KtMixed.ListNode[c][n];
            KtMixed.OwnedStack[c][n] = &KtMixed.StackNode[c][n];
        }
    for (ULONG n = 0; n < cpus; n++) {
        KeInitializeDpc(&KtMixed.Dpc[n], mixed_dpc, (PVOID)(ULONG_PTR)n);
        KeSetTargetProcessorDpc(&KtMixed.Dpc[n], (CCHAR)n);
        KeSetImportanceDpc(&KtMixed.Dpc[n], MediumHighImportance);
    }
    if (kind == INTERRUPT)
        KT_ASSERT_EQ(IoConnectInterrupt(&KtMixed.Interrupt, mixed_isr, NULL, NULL, INT_VECTOR,
                                        KI_VECTOR_IRQL(INT_VECTOR), INT_SYNCH_IRQL, Latched,
                                        FALSE, KeQueryActiveProcessors(), FALSE),
                     STATUS_SUCCESS);
    if (kind == EX_INTERLOCKED) {
        /* One vector, two ISRs (a Latched interrupt is offered to both): one
         * calls the helpers, the other holds their lock. */
        KT_ASSERT_EQ(IoConnectInterrupt(&KtMixed.Interrupt, mixed_isr, NULL, NULL, EXI_VECTOR,
                                        KI_VECTOR_IRQL(EXI_VECTOR), KI_VECTOR_IRQL(EXI_VECTOR),
                                        Latched, TRUE, KeQueryActiveProcessors(), FALSE),
                     STATUS_SUCCESS);
        NTSTATUS status = IoConnectInterrupt(&KtMixed.LockInterrupt, lock_sharing_isr, NULL,
                                             &KtMixed.Lock, EXI_VECTOR,
                                             KI_VECTOR_IRQL(EXI_VECTOR), EXI_LOCK_IRQL, Latched,
                                             TRUE, KeQueryActiveProcessors(), FALSE);
        if (status != STATUS_SUCCESS) {
            IoDisconnectInterrupt(KtMixed.Interrupt);
            KT_ASSERT_EQ(status, STATUS_SUCCESS);
        }
    }

    kt_progress_init(&KtMixed.Progress, MIN_PASSIVE, MIN_DPC, KtMixed.Interrupt ? MIN_ISR : 0);
    ktest_run_on_all_cpus(mixed_worker, NULL);
    KtMixed.Stop = 1;
    KeFlushQueuedDpcs();                /* every DPC queued has run (and done nothing) */
    if (KtMixed.Interrupt) {
        /* The last IPIs may still be on their way: wait until the ISR
         * count holds still, then disconnect. */
        ULONG before;
        do {
            before = isr_calls();
            KeStallExecutionProcessor(10000);
        } while (isr_calls() != before);
        KT_EXPECT_EQ(*KtMixed.Interrupt->ActualLock, 0);
        IoDisconnectInterrupt(KtMixed.Interrupt);
        if (KtMixed.LockInterrupt)
            IoDisconnectInterrupt(KtMixed.LockInterrupt);
    }

    ULONG64 done[CONTEXTS] = { 0 }, shared[CONTEXTS] = { 0 };
    ULONG64 runs = 0, total = 0, helpers = 0, lock_isr = 0;
    for (ULONG c = 0; c < CONTEXTS; c++) {
        for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
            done[c] += KtMixed.Done[c][n];
            shared[c] += KtMixed.Shared[c][n];
            helpers += KtMixed.Helpers[c][n];
        }
        total += done[c];
    }
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        runs += KtMixed.DpcRuns[n];
        lock_isr += KtMixed.LockIsrDone[n];
    }
    kprintf("    # %u CPUs, %llu ms: PASSIVE %llu+%llu, DPC %llu+%llu in %llu runs, "
            "ISR %llu+%llu for %d IPIs (exclusive+shared)\n",
            cpus, (unsigned long long)((rdtsc() - started) / kt_ticks(1)),
            (unsigned long long)done[PASSIVE], (unsigned long long)shared[PASSIVE],
            (unsigned long long)done[DPC], (unsigned long long)shared[DPC],
            (unsigned long long)runs, (unsigned long long)done[ISR], (unsigned long long)lock_isr,
            KtMixed.IpisSent);

    KT_EXPECT_EQ(KtMixed.Overlaps, 0);
    KT_EXPECT_EQ(KtMixed.IrqlErrors, 0);
    KT_EXPECT_EQ(KtMixed.Errors, 0);
    kt_progress_check(&KtMixed.Progress);
    if (KtMixed.Interrupt)
        KT_EXPECT_TRUE(done[ISR] <= (ULONG64)KtMixed.IpisSent);
    if (kind == EX_INTERLOCKED) {
        KT_EXPECT_EQ(KtMixed.AddUlong, total + lock_isr);
        KT_EXPECT_EQ(KtMixed.AddLarge.QuadPart, (LONGLONG)helpers * LARGE_STEP);
        KT_EXPECT_NE(lock_isr, 0);
        KT_EXPECT_TRUE(lock_isr <= (ULONG64)KtMixed.IpisSent);
        KT_EXPECT_NE(total - helpers, 0);               /* KeSynchronizeExecution did some */
        KT_EXPECT_TRUE(IsListEmpty(&KtMixed.List));
        KT_EXPECT_EQ(KtMixed.Stack.Next, NULL);
        KT_EXPECT_TRUE(KT_OWNED_ONCE(KtMixed.ListNode, KtMixed.OwnedList));
        KT_EXPECT_TRUE(KT_OWNED_ONCE(KtMixed.StackNode, KtMixed.OwnedStack));
    } else {
        KT_EXPECT_EQ(KtMixed.Counter, total);
    }
    KT_EXPECT_EQ(KtMixed.Lock, 0);
    KT_EXPECT_EQ((ULONG)KtMixed.RwLock, 0);
    PKSPIN_LOCK numbered_word = (PKSPIN_LOCK)(
        (ULONG_PTR)KeGetCurrentPrcb()->LockQueue[MIXED_NUMBER].Lock & ~(ULONG_PTR)3);
    KT_EXPECT_EQ(*numbered_word, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_mixed_executive)
{
    run_mixed(EXECUTIVE);
}

KTEST(spinlock_mixed_in_stack_queued)
{
    run_mixed(IN_STACK);
}

KTEST(spinlock_mixed_numbered_queued)
{
    run_mixed(NUMBERED);
}

KTEST(spinlock_mixed_reader_writer)
{
    run_mixed(READER_WRITER);
}

KTEST(spinlock_mixed_exinterlocked)
{
    run_mixed(EX_INTERLOCKED);
}

KTEST(spinlock_mixed_interrupt)
{
    run_mixed(INTERRUPT);
}
