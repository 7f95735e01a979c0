/*
 * bench_contended.c - every CPU hammers one lock for a fixed time: a short
 * critical section (a shared counter and a few dependent operations), a
 * short pause outside.  Reported per lock: acquisitions per second (the
 * median of KB_ROUNDS short runs, the locks taking turns round by round so
 * slow phases of the host hit them alike; every round's rate is in the
 * JSON), each CPU's count (all rounds), Jain's
 * fairness index (sum x)^2 / (n sum x^2) and max/min (both x1000, the
 * median over the rounds; max/min -1 when a CPU got no acquisition), the share of exclusive acquisitions that took
 * the lock from another CPU (owner changes, x1000), and the handoff
 * latency, from one CPU's release to another CPU's acquire, p50/p99.
 *
 * All CPUs run at DISPATCH_LEVEL and use the AtDpcLevel forms, so the
 * numbers compare lock algorithms, not CR8 writes.  Baselines, for
 * comparison only, all inline: a plain test-and-set lock, a ticket lock,
 * and two MCS locks on per-CPU queue entries, each on its own cache line:
 * one pausing on every poll as the in-stack queued lock does, one polling
 * in bursts of KB_BURST plain loads between pauses (under TCG a pause
 * leaves the translated code and takes QEMU's global lock: the pair shows
 * what that costs a FIFO hand-off).  The in-stack queued lock runs twice:
 * with its KLOCK_QUEUE_HANDLE a plain local, sharing a cache line with the
 * rest of the caller's frame (which the predecessor's link store and the
 * hand-off then steal), and padded to a line of its own
 * (docs/performance.md).
 */
#include "wdm.h"
#include "kbench.h"
#include "ktest.h"
#include "printf.h"
#include "kernel/smp/pcr.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define RUN_US          5000            /* per lock, round and vCPU count */
#define KB_ROUNDS       21
#define HANDOFF_SAMPLES 128             /* per CPU and round */
#define HANDOFF_POOL    4096            /* per lock, all rounds */
#define CS_WORK         8
#define OUTSIDE_WORK    16
#define NO_OWNER        (~0u)
#define KB_BURST        64              /* plain loads per pause, MCS baseline */

enum lock_kind { TAS, TICKET, MCS_PAUSE, MCS_BURST, EXECUTIVE, QUEUED, QUEUED_OWN_LINE,
                 RW_READERS, RW_WRITERS, RW_MIX_90_10, LOCK_KINDS };

static const char *const KbLockNames[LOCK_KINDS] = {
    "baseline_test_and_set", "baseline_ticket", "baseline_mcs_pause_every_poll",
    "baseline_mcs_load_burst", "executive", "instack_queued", "instack_queued_own_line",
    "rw_all_readers", "rw_all_writers", "rw_90_readers_10_writers",
};

/* The MCS baseline's queue entries: one per CPU, each on its own line. */
struct kb_mcs_node {
    struct kb_mcs_node *volatile Next;
    volatile LONG Wait;
} __attribute__((aligned(64)));

static struct {
    enum lock_kind Kind;
    volatile LONG Arrived;              /* the CPUs begin together: */
    volatile ULONG64 Deadline;          /* set by the last to arrive, 0 until then */
    volatile LONG64 TasWord __attribute__((aligned(64)));
    volatile ULONG TicketNext, TicketServing;
    struct kb_mcs_node *volatile McsTail;
    KSPIN_LOCK Lock __attribute__((aligned(64)));
    EX_SPIN_LOCK RwLock;
    volatile ULONG64 Counter __attribute__((aligned(64)));
    volatile ULONG64 LastRelease;       /* TSC at the last release */
    volatile ULONG LastOwner;
} Kb __attribute__((aligned(64)));

static struct kb_mcs_node KbMcsNodes[MAXIMUM_PROCESSORS];

static struct per_cpu {
    ULONG64 Acquisitions;               /* this round */
    ULONG64 OwnerChanges;               /* exclusive acquisitions from another CPU */
    ULONG64 Exclusive;                  /* exclusive acquisitions */
    ULONG Handoffs;
    ULONG64 Handoff[HANDOFF_SAMPLES];
} KbCpu[MAXIMUM_PROCESSORS] __attribute__((aligned(64)));

/* What the rounds add up to, per lock. */
static struct {
    ULONG64 Rate[KB_ROUNDS];            /* acquisitions per second */
    ULONG64 Jain[KB_ROUNDS], MaxMin[KB_ROUNDS];
    ULONG64 PerCpu[MAXIMUM_PROCESSORS];
    ULONG64 OwnerChanges, Exclusive;
    ULONG HandoffCount;
    ULONG64 Handoff[HANDOFF_POOL];
} KbTotals[LOCK_KINDS];

static void work(ULONG n)
{
    for (volatile ULONG i = 0; i < n; i++)
        ;                               /* dependent stores: time, not memory traffic */
}

static void note_acquired(struct per_cpu *me, ULONG cpu)
{
    ULONG last = Kb.LastOwner;

    me->Exclusive++;
    if (last != NO_OWNER && last != cpu) {
        me->OwnerChanges++;
        if (me->Handoffs < HANDOFF_SAMPLES)
            me->Handoff[me->Handoffs++] = kbench_begin() - Kb.LastRelease;
    }
    Kb.Counter++;
    work(CS_WORK);
}

static void note_releasing(ULONG cpu)
{
    Kb.LastOwner = cpu;
    Kb.LastRelease = kbench_begin();
}

static void mcs_acquire(struct kb_mcs_node *me)
{
    me->Next = NULL;
    me->Wait = 1;
    struct kb_mcs_node *prev = __atomic_exchange_n(&Kb.McsTail, me, __ATOMIC_ACQ_REL);  /* xchg */
    if (prev == NULL)
        return;
    __atomic_store_n(&prev->Next, me, __ATOMIC_RELEASE);
    if (Kb.Kind == MCS_PAUSE) {
        while (__atomic_load_n(&me->Wait, __ATOMIC_ACQUIRE))
            cpu_relax();                /* pause on every poll */
        return;
    }
    for (;;) {
        for (ULONG i = 0; i < KB_BURST; i++)
            if (!__atomic_load_n(&me->Wait, __ATOMIC_ACQUIRE))
                return;                 /* a burst of plain loads of our own line */
        cpu_relax();                    /* then one pause */
    }
}

static void mcs_release(struct kb_mcs_node *me)
{
    struct kb_mcs_node *next = __atomic_load_n(&me->Next, __ATOMIC_ACQUIRE);

    if (next == NULL) {
        struct kb_mcs_node *expected = me;
        if (__atomic_compare_exchange_n(&Kb.McsTail, &expected, NULL, FALSE, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))     /* lock cmpxchg */
            return;
        while ((next = __atomic_load_n(&me->Next, __ATOMIC_ACQUIRE)) == NULL)
            cpu_relax();
    }
    __atomic_store_n(&next->Wait, 0, __ATOMIC_RELEASE);
}

/* A queue handle alone on its cache line, on the stack. */
struct kb_own_line_handle {
    KLOCK_QUEUE_HANDLE Handle;
    UCHAR Pad[64 - sizeof(KLOCK_QUEUE_HANDLE)];
} __attribute__((aligned(64)));

static void one_round(struct per_cpu *me, ULONG cpu, ULONG64 i)
{
    KLOCK_QUEUE_HANDLE handle;
    struct kb_own_line_handle own;
    BOOLEAN write = Kb.Kind == RW_WRITERS || (Kb.Kind == RW_MIX_90_10 && (i % 10) == 0);

    switch (Kb.Kind) {
    case TAS:
        while (__atomic_exchange_n(&Kb.TasWord, 1, __ATOMIC_ACQUIRE))     /* xchg, no backoff */
            cpu_relax();
        note_acquired(me, cpu);
        note_releasing(cpu);
        __atomic_store_n(&Kb.TasWord, 0, __ATOMIC_RELEASE);
        break;
    case TICKET: {
        ULONG ticket = __atomic_fetch_add(&Kb.TicketNext, 1, __ATOMIC_RELAXED);   /* lock xadd */
        while (__atomic_load_n(&Kb.TicketServing, __ATOMIC_ACQUIRE) != ticket)
            cpu_relax();
        note_acquired(me, cpu);
        note_releasing(cpu);
        __atomic_store_n(&Kb.TicketServing, ticket + 1, __ATOMIC_RELEASE);
        break;
    }
    case MCS_PAUSE:
    case MCS_BURST:
        mcs_acquire(&KbMcsNodes[cpu]);
        note_acquired(me, cpu);
        note_releasing(cpu);
        mcs_release(&KbMcsNodes[cpu]);
        break;
    case EXECUTIVE:
        KeAcquireSpinLockAtDpcLevel(&Kb.Lock);
        note_acquired(me, cpu);
        note_releasing(cpu);
        KeReleaseSpinLockFromDpcLevel(&Kb.Lock);
        break;
    case QUEUED:
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&Kb.Lock, &handle);
        note_acquired(me, cpu);
        note_releasing(cpu);
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&handle);
        break;
    case QUEUED_OWN_LINE:
        KeAcquireInStackQueuedSpinLockAtDpcLevel(&Kb.Lock, &own.Handle);
        note_acquired(me, cpu);
        note_releasing(cpu);
        KeReleaseInStackQueuedSpinLockFromDpcLevel(&own.Handle);
        break;
    case RW_READERS:
    case RW_WRITERS:
    case RW_MIX_90_10:
        if (write) {
            ExAcquireSpinLockExclusiveAtDpcLevel(&Kb.RwLock);
            note_acquired(me, cpu);
            note_releasing(cpu);
            ExReleaseSpinLockExclusiveFromDpcLevel(&Kb.RwLock);
        } else {
            ExAcquireSpinLockSharedAtDpcLevel(&Kb.RwLock);
            work(CS_WORK);
            ExReleaseSpinLockSharedFromDpcLevel(&Kb.RwLock);
        }
        break;
    case LOCK_KINDS:
        break;
    }
}

static void hammer(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    struct per_cpu *me = &KbCpu[cpu];

    UNREFERENCED_PARAMETER(context);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    /* The clock starts when the last CPU arrives: waking a halted vCPU can
     * take milliseconds under TCG, and a round must not count that. */
    if (__atomic_add_fetch(&Kb.Arrived, 1, __ATOMIC_ACQ_REL) ==
        (LONG)KeQueryActiveProcessorCount(NULL))
        __atomic_store_n(&Kb.Deadline, kbench_begin() + KiTscFrequency * RUN_US / 1000000,
                         __ATOMIC_RELEASE);
    ULONG64 deadline;
    while ((deadline = __atomic_load_n(&Kb.Deadline, __ATOMIC_ACQUIRE)) == 0)
        cpu_relax();
    for (ULONG64 i = 0; kbench_begin() < deadline; i++) {
        one_round(me, cpu, i);
        me->Acquisitions++;
        work(OUTSIDE_WORK);
    }
    KeLowerIrql(old);
}

static void run(enum lock_kind kind, ULONG round)
{
    ULONG n = KeQueryActiveProcessorCount(NULL);
    ULONG64 total = 0, sum_sq = 0, max = 0, min = ~0ull;

    Kb.Kind = kind;
    Kb.Arrived = 0;
    Kb.Deadline = 0;
    Kb.Counter = 0;
    Kb.LastOwner = NO_OWNER;
    for (ULONG c = 0; c < n; c++) {
        KbCpu[c].Acquisitions = KbCpu[c].OwnerChanges = KbCpu[c].Exclusive = 0;
        KbCpu[c].Handoffs = 0;
    }
    ktest_run_on_all_cpus(hammer, NULL);

    for (ULONG c = 0; c < n; c++) {
        ULONG64 x = KbCpu[c].Acquisitions;
        total += x;
        sum_sq += x * x;
        max = x > max ? x : max;
        min = x < min ? x : min;
        KbTotals[kind].PerCpu[c] += x;
        KbTotals[kind].OwnerChanges += KbCpu[c].OwnerChanges;
        KbTotals[kind].Exclusive += KbCpu[c].Exclusive;
        for (ULONG h = 0; h < KbCpu[c].Handoffs && KbTotals[kind].HandoffCount < HANDOFF_POOL; h++)
            KbTotals[kind].Handoff[KbTotals[kind].HandoffCount++] = KbCpu[c].Handoff[h];
    }
    KbTotals[kind].Rate[round] = total * 1000000 / RUN_US;
    KbTotals[kind].Jain[round] = sum_sq ? total * total * 1000 / (n * sum_sq) : 0;
    KbTotals[kind].MaxMin[round] = min ? max * 1000 / min : ~0ull;     /* ~0: a CPU got none */
}

static ULONG64 median(ULONG64 *v, ULONG count)
{
    for (ULONG i = 1; i < count; i++)   /* insertion sort: count is KB_ROUNDS */
        for (ULONG j = i; j > 0 && v[j - 1] > v[j]; j--) {
            ULONG64 t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[count / 2];
}

static void report(enum lock_kind kind)
{
    ULONG n = KeQueryActiveProcessorCount(NULL);
    char metric[64], extra[24 * (MAXIMUM_PROCESSORS + KB_ROUNDS) + 96];
    size_t used = ksnprintf(extra, sizeof(extra), "\"per_cpu\":[");

    for (ULONG c = 0; c < n; c++)
        used += ksnprintf(extra + used, sizeof(extra) - used, "%s%llu", c ? "," : "",
                          (unsigned long long)KbTotals[kind].PerCpu[c]);
    used += ksnprintf(extra + used, sizeof(extra) - used, "],\"rounds\":[");
    for (ULONG r = 0; r < KB_ROUNDS; r++)
        used += ksnprintf(extra + used, sizeof(extra) - used, "%s%llu", r ? "," : "",
                          (unsigned long long)KbTotals[kind].Rate[r]);
    ULONG64 exclusive = KbTotals[kind].Exclusive;
    ULONG64 maxmin = median(KbTotals[kind].MaxMin, KB_ROUNDS);
    ksnprintf(extra + used, sizeof(extra) - used,
              "],\"jain\":%llu,\"maxmin\":%lld,\"owner_changes\":%llu",
              (unsigned long long)median(KbTotals[kind].Jain, KB_ROUNDS),
              maxmin == ~0ull ? -1ll : (long long)maxmin,           /* -1: infinite */
              (unsigned long long)(exclusive ? KbTotals[kind].OwnerChanges * 1000 / exclusive : 0));

    ksnprintf(metric, sizeof(metric), "contended.%s", KbLockNames[kind]);
    kbench_report_samples_extra(metric, "acq/s", KbTotals[kind].Rate, KB_ROUNDS, NULL, extra);
    ksnprintf(metric, sizeof(metric), "handoff.%s", KbLockNames[kind]);
    kbench_report(metric, "ticks", KbTotals[kind].Handoff, KbTotals[kind].HandoffCount,
                  "floor.cacheline_pingpong");     /* nothing with one CPU: no handoffs */
}

KBENCH(contended_locks)
{
    for (ULONG round = 0; round < KB_ROUNDS; round++)
        for (ULONG kind = 0; kind < LOCK_KINDS; kind++)
            run((enum lock_kind)kind, round);
    for (ULONG kind = 0; kind < LOCK_KINDS; kind++)
        report((enum lock_kind)kind);
}
