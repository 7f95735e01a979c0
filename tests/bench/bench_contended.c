/*
 * bench_contended.c - every CPU hammers one lock for a fixed time: a short
 * critical section (a shared counter and a few dependent operations), a
 * short pause outside.  Reported per lock: acquisitions per second, each
 * CPU's count, Jain's fairness index (sum x)^2 / (n sum x^2) and max/min
 * (both x1000), and the handoff latency, from one CPU's release to another
 * CPU's acquire, p50/p99.
 *
 * All CPUs run at DISPATCH_LEVEL and use the AtDpcLevel forms, so the
 * numbers compare lock algorithms, not CR8 writes.  Two baselines are here
 * for comparison only: a plain test-and-set lock and a ticket lock.
 */
#include "wdm.h"
#include "kbench.h"
#include "ktest.h"
#include "printf.h"
#include "kernel/pcr.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define RUN_US          30000           /* per lock and vCPU count */
#define HANDOFF_SAMPLES 512             /* per CPU */
#define CS_WORK         8
#define OUTSIDE_WORK    16

enum lock_kind { TAS, TICKET, EXECUTIVE, QUEUED, RW_READERS, RW_WRITERS, RW_MIX_90_10 };

static struct {
    enum lock_kind Kind;
    volatile LONG Start;                /* the CPUs begin together */
    ULONG64 Deadline;
    volatile LONG64 TasWord;
    volatile ULONG TicketNext, TicketServing;
    KSPIN_LOCK Lock;
    EX_SPIN_LOCK RwLock;
    volatile ULONG64 Counter;
    volatile ULONG64 LastRelease;       /* TSC at the last release */
    volatile ULONG LastOwner;
} Kb __attribute__((aligned(64)));

static struct per_cpu {
    ULONG64 Acquisitions;
    ULONG Handoffs;
    ULONG64 Handoff[HANDOFF_SAMPLES];
} KbCpu[MAXIMUM_PROCESSORS] __attribute__((aligned(64)));

static void work(ULONG n)
{
    for (volatile ULONG i = 0; i < n; i++)
        ;                               /* dependent stores: time, not memory traffic */
}

static void note_acquired(struct per_cpu *me, ULONG cpu)
{
    if (Kb.LastOwner != cpu && me->Handoffs < HANDOFF_SAMPLES)
        me->Handoff[me->Handoffs++] = kbench_begin() - Kb.LastRelease;
    Kb.Counter++;
    work(CS_WORK);
}

static void note_releasing(ULONG cpu)
{
    Kb.LastOwner = cpu;
    Kb.LastRelease = kbench_begin();
}

static void one_round(struct per_cpu *me, ULONG cpu, ULONG64 i)
{
    KLOCK_QUEUE_HANDLE handle;
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
    }
}

static void hammer(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    struct per_cpu *me = &KbCpu[cpu];

    UNREFERENCED_PARAMETER(context);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    __atomic_fetch_add(&Kb.Start, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&Kb.Start, __ATOMIC_ACQUIRE) < (LONG)KeQueryActiveProcessorCount(NULL))
        cpu_relax();
    for (ULONG64 i = 0; kbench_begin() < Kb.Deadline; i++) {
        one_round(me, cpu, i);
        me->Acquisitions++;
        work(OUTSIDE_WORK);
    }
    KeLowerIrql(old);
}

static void report(const char *lock)
{
    ULONG n = KeQueryActiveProcessorCount(NULL);
    ULONG64 total = 0, sum_sq = 0, max = 0, min = ~0ull;
    static ULONG64 handoffs[MAXIMUM_PROCESSORS * HANDOFF_SAMPLES];
    ULONG handoff_count = 0;
    char metric[64], per_cpu[16 * MAXIMUM_PROCESSORS + 64];
    size_t used = ksnprintf(per_cpu, sizeof(per_cpu), "\"per_cpu\":[");

    for (ULONG c = 0; c < n; c++) {
        ULONG64 x = KbCpu[c].Acquisitions;
        total += x;
        sum_sq += x * x;
        max = x > max ? x : max;
        min = x < min ? x : min;
        used += ksnprintf(per_cpu + used, sizeof(per_cpu) - used, "%s%llu", c ? "," : "",
                          (unsigned long long)x);
        for (ULONG h = 0; h < KbCpu[c].Handoffs; h++)
            handoffs[handoff_count++] = KbCpu[c].Handoff[h];
    }
    ULONG64 jain = sum_sq ? total * total * 1000 / (n * sum_sq) : 0;
    ULONG64 maxmin = min ? max * 1000 / min : 0;
    ksnprintf(per_cpu + used, sizeof(per_cpu) - used, "],\"jain\":%llu,\"maxmin\":%llu",
              (unsigned long long)jain, (unsigned long long)maxmin);

    ksnprintf(metric, sizeof(metric), "contended.%s", lock);
    kbench_report_extra(metric, "acq/s", total * 1000000 / RUN_US, per_cpu);
    if (handoff_count) {
        ksnprintf(metric, sizeof(metric), "handoff.%s", lock);
        kbench_report(metric, "ticks", handoffs, handoff_count, "floor.cacheline_pingpong");
    }
}

static void run(enum lock_kind kind, const char *name)
{
    Kb.Kind = kind;
    Kb.Start = 0;
    Kb.Counter = 0;
    Kb.LastOwner = ~0u;
    for (ULONG c = 0; c < MAXIMUM_PROCESSORS; c++)
        KbCpu[c].Acquisitions = KbCpu[c].Handoffs = 0;
    Kb.Deadline = kbench_begin() + KiTscFrequency * RUN_US / 1000000;
    ktest_run_on_all_cpus(hammer, NULL);
    report(name);
}

KBENCH(contended_locks)
{
    run(TAS, "baseline_test_and_set");
    run(TICKET, "baseline_ticket");
    run(EXECUTIVE, "executive");
    run(QUEUED, "instack_queued");
    run(RW_READERS, "rw_all_readers");
    run(RW_WRITERS, "rw_all_writers");
    run(RW_MIX_90_10, "rw_90_readers_10_writers");
}
