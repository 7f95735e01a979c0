/*
 * bench_dpc.c - what a DPC costs: the latency from KeInsertQueueDpc to the
 * routine's first instruction, on the inserting CPU and on another one, per
 * importance; how many DPCs a CPU's queue runs per second; the round trip
 * of the two generic calls.
 *
 *   dpc.latency.same_cpu.<importance>    CPU 0 at PASSIVE_LEVEL inserts an
 *                                        untargeted DPC; floor.self_ipi
 *   dpc.latency.other_cpu.<importance>   CPU 0 inserts a DPC aimed at CPU 1,
 *                                        which is idle (halted);
 *                                        floor.ipi_one_way
 *   dpc.throughput.one_cpu               a DPC that queues itself again,
 *                                        KB_REQUEUES times, on CPU 0 alone
 *   dpc.throughput.all_cpus              the same on every CPU at once:
 *                                        DPCs per second per CPU
 *   generic_call.dpc / generic_call.ipi  KeGenericCallDpc / KeIpiGenericCall
 *                                        with an empty routine, call to return
 *   dpc.part.insert_with_request,        the two halves of the same-CPU
 *   dpc.part.lower_to_routine,           latency, and the request the
 *   dpc.part.request_interrupt           insert makes (dpc_insert_parts)
 *
 * By design (WDK: Organization of DPC Queues, docs/dpc.md) a Low or Medium
 * DPC aimed at another CPU sends no IPI: it waits for that CPU's next clock
 * tick (1 ms).  A Low DPC on the inserting CPU runs at once only while the
 * CPU's DPC request rate is below MinimumDpcRate; otherwise it too waits
 * for the tick.  Those medians measure the tick, not a defect.  A DPC that
 * waits for the tick is inserted at a pseudo-random moment within the clock
 * period: inserting a fixed time after the previous sample's tick would lock
 * the insert to the tick's phase and measure that fixed offset instead of
 * the wait a driver sees (half a period on average).
 */
#include "wdm.h"
#include "kbench.h"
#include "ktest.h"
#include "printf.h"
#include "kernel/irql/clock.h"
#include "kernel/irql/interrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/calibrate.h"

#define KB_SETTLE_US    50              /* between samples: the target goes back to hlt */
#define KB_REQUEUES     2000            /* DPCs per throughput run */
#define KB_RUNS         9               /* throughput runs */

static ULONG64 KbSamples[KBENCH_SAMPLES];
static KDPC KbDpc;
static volatile ULONG64 KbStartedAt;

/* Spin on the TSC alone (no pause: see bench_floors.c) for KB_SETTLE_US,
 * plus up to one clock period more when random_phase. */
static void settle(BOOLEAN random_phase)
{
    static ULONG64 lcg = 1;
    ULONG64 us = KB_SETTLE_US;

    if (random_phase) {
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;   /* Knuth's MMIX LCG */
        us += (lcg >> 33) % KiClockPeriodMicroseconds();
    }
    ULONG64 until = kbench_begin() + KiTscFrequency * us / 1000000;

    while (kbench_begin() < until)
        ;
}

static VOID NTAPI stamp_start(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KbStartedAt = kbench_begin();
}

static const struct {
    KDPC_IMPORTANCE Importance;
    const char *Name;
} KbImportances[] = {
    { LowImportance, "low" },
    { MediumImportance, "medium" },
    { MediumHighImportance, "medium_high" },
    { HighImportance, "high" },
};

/* Insert to routine start, at PASSIVE_LEVEL on CPU 0; target -1 = none. */
static void time_latency(KDPC_IMPORTANCE importance, LONG target)
{
    KeInitializeDpc(&KbDpc, stamp_start, NULL);
    KeSetImportanceDpc(&KbDpc, importance);
    if (target >= 0)
        KeSetTargetProcessorDpc(&KbDpc, (CCHAR)target);
    /* Remote Low and Medium DPCs wait for the target's tick (no IPI). */
    BOOLEAN waits_for_tick = target >= 0 && importance <= MediumImportance;

    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        settle(waits_for_tick);
        KbStartedAt = 0;
        ULONG64 t0 = kbench_begin();
        KeInsertQueueDpc(&KbDpc, NULL, NULL);
        while (__atomic_load_n(&KbStartedAt, __ATOMIC_ACQUIRE) == 0)
            ;                           /* bare loads, as the IPI floors wait */
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = KbStartedAt - t0;
    }
    KeFlushQueuedDpcs();                /* nothing of ours left running anywhere */
}

/* Where same-CPU latency goes beyond the self-IPI, in two halves, at
 * DISPATCH_LEVEL so that the DPC waits: KeInsertQueueDpc itself (queue
 * lock, bookkeeping, the self-IPI and the IRR read that makes sure it is
 * pending), then from the KeLowerIrql that unmasks the 0x2F request to the
 * routine's start (interrupt entry, the dispatcher's CR8 writes and EOI,
 * the switch to the DPC stack, the drain loop).  And one IRR read alone. */
static ULONG64 KbLowerSamples[KBENCH_SAMPLES];

KBENCH(dpc_insert_parts)
{
    KeInitializeDpc(&KbDpc, stamp_start, NULL);
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        KbStartedAt = 0;
        KIRQL old = KeRaiseIrqlToDpcLevel();
        ULONG64 t0 = kbench_begin();
        KeInsertQueueDpc(&KbDpc, NULL, NULL);
        ULONG64 t1 = kbench_end();
        ULONG64 t2 = kbench_begin();
        KeLowerIrql(old);                       /* the DPC runs here */
        if (s >= KBENCH_WARMUP) {
            KbSamples[s - KBENCH_WARMUP] = t1 - t0;
            KbLowerSamples[s - KBENCH_WARMUP] = KbStartedAt - t2;
        }
    }
    kbench_report("dpc.part.insert_with_request", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
    kbench_report("dpc.part.lower_to_routine", "ticks", KbLowerSamples, KBENCH_SAMPLES,
                  "floor.self_ipi");

    /* The request alone, as the insert makes it: ICR write, delivery-status
     * read, IRR read.  The 0x2F it leaves pending finds an empty queue. */
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        KIRQL old = KeRaiseIrqlToDpcLevel();
        ULONG64 t0 = kbench_begin();
        KiRequestSoftwareInterrupt(DISPATCH_LEVEL);
        ULONG64 t1 = kbench_end();
        KeLowerIrql(old);
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = t1 - t0;
    }
    kbench_report("dpc.part.request_interrupt", "ticks", KbSamples, KBENCH_SAMPLES, NULL);

    KBENCH_TIME(KbSamples, (void)KiApicIsPending(KI_VECTOR_DPC));
    kbench_report("floor.apic_irr_read", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

KBENCH(dpc_latency)
{
    char metric[64];

    for (ULONG i = 0; i < sizeof(KbImportances) / sizeof(KbImportances[0]); i++) {
        time_latency(KbImportances[i].Importance, -1);
        ksnprintf(metric, sizeof(metric), "dpc.latency.same_cpu.%s", KbImportances[i].Name);
        kbench_report(metric, "ticks", KbSamples, KBENCH_SAMPLES, "floor.self_ipi");
    }
    if (KeQueryActiveProcessorCount(NULL) < 2)
        return;
    for (ULONG i = 0; i < sizeof(KbImportances) / sizeof(KbImportances[0]); i++) {
        time_latency(KbImportances[i].Importance, 1);
        ksnprintf(metric, sizeof(metric), "dpc.latency.other_cpu.%s", KbImportances[i].Name);
        kbench_report(metric, "ticks", KbSamples, KBENCH_SAMPLES, "floor.ipi_one_way");
    }
}

/* Throughput: a DPC that queues itself again until its count runs out.
 * The first insert (at PASSIVE_LEVEL) requests the DISPATCH_LEVEL
 * interrupt; every later one happens inside the drain loop, which picks it
 * up without another interrupt. */
static struct kb_requeue {
    KDPC Dpc;
    volatile ULONG Remaining;
    ULONG64 Start, End;
    ULONG64 Rate[KB_RUNS];              /* DPCs per second, one per run */
} KbRequeue[MAXIMUM_PROCESSORS] __attribute__((aligned(64)));

static VOID NTAPI requeue(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    struct kb_requeue *r = Context;

    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    if (--r->Remaining != 0)
        KeInsertQueueDpc(Dpc, NULL, NULL);
    else
        r->End = kbench_end();
}

static void requeue_runs(void *context)
{
    struct kb_requeue *r = &KbRequeue[KeGetCurrentProcessorNumber()];

    UNREFERENCED_PARAMETER(context);
    KeInitializeDpc(&r->Dpc, requeue, r);
    for (ULONG run = 0; run < KB_RUNS; run++) {
        r->Remaining = KB_REQUEUES;
        r->End = 0;
        r->Start = kbench_begin();
        KeInsertQueueDpc(&r->Dpc, NULL, NULL);     /* at PASSIVE: all of them run here */
        while (__atomic_load_n(&r->End, __ATOMIC_ACQUIRE) == 0)
            ;
        r->Rate[run] = KiTscFrequency * KB_REQUEUES / (r->End - r->Start);
    }
}

KBENCH(dpc_throughput)
{
    ULONG n = KeQueryActiveProcessorCount(NULL);
    ULONG64 rates[KB_RUNS], per_cpu_median[MAXIMUM_PROCESSORS];
    char extra[24 * MAXIMUM_PROCESSORS + 32];

    requeue_runs(NULL);
    for (ULONG run = 0; run < KB_RUNS; run++)
        rates[run] = KbRequeue[0].Rate[run];
    kbench_report("dpc.throughput.one_cpu", "dpc/s", rates, KB_RUNS, NULL);

    ktest_run_on_all_cpus(requeue_runs, NULL);
    size_t used = ksnprintf(extra, sizeof(extra), "\"per_cpu\":[");
    for (ULONG c = 0; c < n; c++) {
        for (ULONG run = 0; run < KB_RUNS; run++)
            rates[run] = KbRequeue[c].Rate[run];
        for (ULONG i = 1; i < KB_RUNS; i++)         /* the median of this CPU's runs */
            for (ULONG j = i; j > 0 && rates[j - 1] > rates[j]; j--) {
                ULONG64 t = rates[j];
                rates[j] = rates[j - 1];
                rates[j - 1] = t;
            }
        per_cpu_median[c] = rates[KB_RUNS / 2];
        used += ksnprintf(extra + used, sizeof(extra) - used, "%s%llu", c ? "," : "",
                          (unsigned long long)per_cpu_median[c]);
    }
    ksnprintf(extra + used, sizeof(extra) - used, "]");
    kbench_report_samples_extra("dpc.throughput.all_cpus", "dpc/s", per_cpu_median, n, NULL,
                                extra);
}

/* The generic calls, from PASSIVE_LEVEL on CPU 0 with the others idle. */
static VOID NTAPI generic_routine(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument2);
    KeSignalCallDpcDone(Argument1);
}

static ULONG_PTR NTAPI ipi_worker(ULONG_PTR Argument)
{
    return Argument;
}

KBENCH(generic_call)
{
    BOOLEAN one = KeQueryActiveProcessorCount(NULL) == 1;

    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        settle(FALSE);
        ULONG64 t0 = kbench_begin();
        KeGenericCallDpc(generic_routine, NULL);
        ULONG64 t1 = kbench_end();
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = t1 - t0;
    }
    kbench_report("generic_call.dpc", "ticks", KbSamples, KBENCH_SAMPLES,
                  one ? "floor.self_ipi" : "floor.ipi_one_way");

    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        settle(FALSE);
        ULONG64 t0 = kbench_begin();
        KeIpiGenericCall(ipi_worker, 0);
        ULONG64 t1 = kbench_end();
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = t1 - t0;
    }
    /* With one CPU no IPI is sent: there is no floor to compare with. */
    kbench_report("generic_call.ipi", "ticks", KbSamples, KBENCH_SAMPLES,
                  one ? NULL : "floor.ipi_one_way");
}
