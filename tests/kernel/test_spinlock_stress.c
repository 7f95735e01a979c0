/*
 * test_spinlock_stress.c - every CPU hammers one lock at once, for each kind
 * of spin lock: a non-atomic counter inside the critical section must come
 * out exact, and an "inside" mark must be empty whenever a CPU enters (no
 * two holders, ever).  With one CPU online these still run, uncontended.
 *
 * Each CPU's loop stops at its share of an iteration budget or a soft
 * deadline, once every CPU has done at least MINIMUM iterations, and the
 * test fails if one has not by the hard deadline (KT_PROGRESS in
 * kt_spinlock.h: FIFO locks under vCPU overcommit hand off at the host
 * scheduler's pace); the counter is checked against the iterations really
 * done.
 */
#include "kt_spinlock.h"
#include "kernel/console/console.h"

#define BUDGET          40000   /* iterations in all, shared among the CPUs */
#define DEADLINE_MS     250     /* the soft deadline */
#define MINIMUM         20      /* iterations each CPU must do */

enum kind {
    EXECUTIVE, EXECUTIVE_AT_DPC, EXECUTIVE_TRY, IN_STACK, NUMBERED,
    READER_WRITER, EX_INTERLOCKED,
};

static struct {
    enum kind Kind;
    KSPIN_LOCK Lock;
    EX_SPIN_LOCK RwLock;
    volatile ULONG Inside;          /* holder's CPU + 1, or 0 */
    volatile LONG Readers;          /* readers inside (reader/writer) */
    volatile ULONG64 Counter;       /* the non-atomic counter */
    volatile LONG Errors;
    KT_PROGRESS Progress;
    ULONG Done[MAXIMUM_PROCESSORS]; /* iterations (exclusive ones, for reader/writer) */
    ULONG Shared[MAXIMUM_PROCESSORS];
    ULONG AddUlong;                 /* ExInterlockedAddUlong's target */
    LIST_ENTRY List;                /* ExInterlocked{Insert,Remove}* */
    LIST_ENTRY Node[MAXIMUM_PROCESSORS];
    PLIST_ENTRY Owned[MAXIMUM_PROCESSORS];
} KtStress;

#define STRESS_NUMBER LockQueueUnusedSpare1

/* The critical section: check and mark "inside", a read-modify-write of the
 * counter spread over a few pauses (a broken lock loses updates), unmark. */
static void critical_section(ULONG cpu)
{
    if (KtStress.Inside != 0 || KtStress.Readers != 0)
        __atomic_fetch_add(&KtStress.Errors, 1, __ATOMIC_SEQ_CST);
    KtStress.Inside = cpu + 1;
    ULONG64 value = KtStress.Counter;
    kt_pause(3);
    KtStress.Counter = value + 1;
    if (KtStress.Inside != cpu + 1)
        __atomic_fetch_add(&KtStress.Errors, 1, __ATOMIC_SEQ_CST);
    KtStress.Inside = 0;
}

/* A reader: no writer may be inside with it. */
static void read_section(void)
{
    __atomic_fetch_add(&KtStress.Readers, 1, __ATOMIC_SEQ_CST);
    if (KtStress.Inside != 0)
        __atomic_fetch_add(&KtStress.Errors, 1, __ATOMIC_SEQ_CST);
    (void)KtStress.Counter;
    kt_pause(2);
    if (KtStress.Inside != 0)
        __atomic_fetch_add(&KtStress.Errors, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&KtStress.Readers, 1, __ATOMIC_SEQ_CST);
}

/* One iteration; FALSE if a try loop gave up at the hard deadline. */
static BOOLEAN one_iteration(ULONG cpu, ULONG i)
{
    KIRQL old;
    KLOCK_QUEUE_HANDLE handle;

    switch (KtStress.Kind) {
    case EXECUTIVE:
        KeAcquireSpinLock(&KtStress.Lock, &old);
        critical_section(cpu);
        KeReleaseSpinLock(&KtStress.Lock, old);
        break;
    case EXECUTIVE_AT_DPC:
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeAcquireSpinLockAtDpcLevel(&KtStress.Lock);
        critical_section(cpu);
        KeReleaseSpinLockFromDpcLevel(&KtStress.Lock);
        KeLowerIrql(old);
        break;
    case EXECUTIVE_TRY:
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        while (!KeTryToAcquireSpinLockAtDpcLevel(&KtStress.Lock)) {
            if (kt_progress_give_up(&KtStress.Progress, KT_PASSIVE)) {
                KeLowerIrql(old);
                return FALSE;
            }
            cpu_relax();
        }
        critical_section(cpu);
        KeReleaseSpinLockFromDpcLevel(&KtStress.Lock);
        KeLowerIrql(old);
        break;
    case IN_STACK:
        KeAcquireInStackQueuedSpinLock(&KtStress.Lock, &handle);
        critical_section(cpu);
        KeReleaseInStackQueuedSpinLock(&handle);
        break;
    case NUMBERED:
        old = KeAcquireQueuedSpinLock(STRESS_NUMBER);
        critical_section(cpu);
        KeReleaseQueuedSpinLock(STRESS_NUMBER, old);
        break;
    case READER_WRITER:
        if (i % 4 == 0) {               /* one writer in four */
            old = ExAcquireSpinLockExclusive(&KtStress.RwLock);
            critical_section(cpu);
            ExReleaseSpinLockExclusive(&KtStress.RwLock, old);
        } else if (i % 8 == 1) {        /* a reader that wants to write */
            old = ExAcquireSpinLockShared(&KtStress.RwLock);
            read_section();
            if (ExTryConvertSharedSpinLockExclusive(&KtStress.RwLock)) {
                critical_section(cpu);
                ExReleaseSpinLockExclusive(&KtStress.RwLock, old);
                break;                  /* counted as a writer */
            }
            ExReleaseSpinLockShared(&KtStress.RwLock, old);
            KtStress.Shared[cpu]++;
            return TRUE;
        } else {
            old = ExAcquireSpinLockShared(&KtStress.RwLock);
            read_section();
            ExReleaseSpinLockShared(&KtStress.RwLock, old);
            KtStress.Shared[cpu]++;
            return TRUE;
        }
        break;
    case EX_INTERLOCKED:
        /* The add is the counter here; and each CPU passes its node through
         * the shared list: insert the one it owns, take the head back. */
        ExInterlockedAddUlong(&KtStress.AddUlong, 1, &KtStress.Lock);
        if (i & 1)
            ExInterlockedInsertTailList(&KtStress.List, KtStress.Owned[cpu], &KtStress.Lock);
        else
            ExInterlockedInsertHeadList(&KtStress.List, KtStress.Owned[cpu], &KtStress.Lock);
        KtStress.Owned[cpu] = ExInterlockedRemoveHeadList(&KtStress.List, &KtStress.Lock);
        if (!KtStress.Owned[cpu]) {     /* we just put one in: never empty */
            __atomic_fetch_add(&KtStress.Errors, 1, __ATOMIC_SEQ_CST);
            KtStress.Owned[cpu] = &KtStress.Node[cpu];
        }
        break;
    }
    KtStress.Done[cpu]++;
    return TRUE;
}

static void stress_worker(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(context);
    kt_ensure_lock_queues();
    kt_progress_start_together(&KtStress.Progress, DEADLINE_MS);
    ULONG budget = BUDGET / KeQueryActiveProcessorCount(NULL);

    ULONG i = 0;
    for (enum kt_step step; (step = kt_progress_next(&KtStress.Progress, i >= budget)) != KT_STOP;)
        if (step == KT_WORK && one_iteration(cpu, i++))
            kt_progress_count(&KtStress.Progress, KT_PASSIVE);
    if (KeGetCurrentIrql() != PASSIVE_LEVEL || !kt_interrupts_enabled())
        __atomic_fetch_add(&KtStress.Errors, 1, __ATOMIC_SEQ_CST);
}

static void run_stress(enum kind kind)
{
    KtStress.Kind = kind;
    KtStress.Lock = 0;
    KtStress.RwLock = 0;
    KtStress.Inside = 0;
    KtStress.Readers = 0;
    KtStress.Counter = 0;
    KtStress.Errors = 0;
    kt_progress_init(&KtStress.Progress, MINIMUM, 0, 0);
    KtStress.AddUlong = 0;
    InitializeListHead(&KtStress.List);
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        KtStress.Done[n] = 0;
        KtStress.Shared[n] = 0;
        KtStress.Owned[n] = &KtStress.Node[n];
    }
    ktest_run_on_all_cpus(stress_worker, NULL);

    ULONG64 total = 0, shared = 0;
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        total += KtStress.Done[n];
        shared += KtStress.Shared[n];
    }
    kprintf("    # %u CPUs, %llu exclusive + %llu shared acquisitions\n", cpus,
            (unsigned long long)total, (unsigned long long)shared);
    KT_EXPECT_EQ(KtStress.Errors, 0);
    kt_progress_check(&KtStress.Progress);
    if (kind == EX_INTERLOCKED) {
        KT_EXPECT_EQ(KtStress.AddUlong, total);
        KT_EXPECT_TRUE(IsListEmpty(&KtStress.List));
        /* Every node is owned by exactly one CPU at the end. */
        for (ULONG a = 0; a < cpus; a++)
            for (ULONG b = a + 1; b < cpus; b++)
                KT_EXPECT_NE(KtStress.Owned[a], KtStress.Owned[b]);
    } else {
        KT_EXPECT_EQ(KtStress.Counter, total);
    }
    KT_EXPECT_EQ(KtStress.Lock, 0);
    KT_EXPECT_EQ((ULONG)KtStress.RwLock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST(spinlock_stress_executive)
{
    run_stress(EXECUTIVE);
}

KTEST(spinlock_stress_executive_at_dpc_level)
{
    run_stress(EXECUTIVE_AT_DPC);
}

KTEST(spinlock_stress_executive_try)
{
    run_stress(EXECUTIVE_TRY);
}

KTEST(spinlock_stress_in_stack_queued)
{
    run_stress(IN_STACK);
}

KTEST(spinlock_stress_numbered_queued)
{
    run_stress(NUMBERED);
}

KTEST(spinlock_stress_reader_writer)
{
    run_stress(READER_WRITER);
}

KTEST(spinlock_stress_exinterlocked)
{
    run_stress(EX_INTERLOCKED);
}
