/*
 * bench_dpc_threaded.c - what a threaded DPC costs over an ordinary one:
 * insert to routine start (docs/performance.md, docs/dpc.md "Threaded DPCs").
 *
 *   dpc.latency.threaded.same_cpu    CPU 0 at PASSIVE_LEVEL inserts an
 *                                    untargeted threaded DPC: self-IPI, the
 *                                    0x2F handler's KeSetEvent, a switch to
 *                                    the DPC thread; floor.self_ipi
 *   dpc.latency.threaded.other_cpu   CPU 0 inserts one aimed at CPU 1, idle:
 *                                    IPI, KeSetEvent there, the switch from
 *                                    its idle thread; floor.ipi_one_way
 *
 * Medium importance: a threaded DPC always wakes its thread at once (the
 * importance orders the queue only), so compare with the ordinary
 * dpc.latency.same_cpu.medium and dpc.latency.other_cpu.high (bench_dpc.c),
 * the ordinary DPCs that also interrupt at once.  Not measured with
 * threaded_dpcs=off (they are ordinary DPCs then).
 */
#include "wdm.h"
#include "kbench.h"
#include "kernel/dpc/dpc.h"
#include "arch/x86_64/calibrate.h"

#define KB_SETTLE_US    50              /* between samples: the target goes back to hlt */

static ULONG64 KbThreadedSamples[KBENCH_SAMPLES];
static KDPC KbThreadedDpc;
static volatile ULONG64 KbThreadedStartedAt;

static VOID NTAPI threaded_stamp(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KbThreadedStartedAt = kbench_begin();
}

static void time_threaded(LONG Target)
{
    KeInitializeThreadedDpc(&KbThreadedDpc, threaded_stamp, NULL);
    if (Target >= 0)
        KeSetTargetProcessorDpc(&KbThreadedDpc, (CCHAR)Target);
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        ULONG64 until = kbench_begin() + KiTscFrequency * KB_SETTLE_US / 1000000;
        while (kbench_begin() < until)
            ;                           /* TSC alone, as bench_dpc.c settles */
        KbThreadedStartedAt = 0;
        ULONG64 t0 = kbench_begin();
        KeInsertQueueDpc(&KbThreadedDpc, NULL, NULL);
        while (__atomic_load_n(&KbThreadedStartedAt, __ATOMIC_ACQUIRE) == 0)
            ;
        if (s >= KBENCH_WARMUP)
            KbThreadedSamples[s - KBENCH_WARMUP] = KbThreadedStartedAt - t0;
    }
    KeFlushQueuedDpcs();                /* the routine has returned everywhere */
}

KBENCH(dpc_threaded_latency)
{
    if (!KiThreadedDpcEnable)
        return;
    time_threaded(-1);
    kbench_report("dpc.latency.threaded.same_cpu", "ticks", KbThreadedSamples, KBENCH_SAMPLES,
                  "floor.self_ipi");
    if (KeQueryActiveProcessorCount(NULL) < 2)
        return;
    time_threaded(1);
    kbench_report("dpc.latency.threaded.other_cpu", "ticks", KbThreadedSamples, KBENCH_SAMPLES,
                  "floor.ipi_one_way");
}
