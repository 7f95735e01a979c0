/*
 * bench_floors.c - what the machine allows, measured in the same boot as
 * the locks: every lock metric is reported as a ratio to one of these.
 *
 *   floor_xchg_pair       xchg (acquire) + plain store (release): the least
 *                         a test-and-set lock can cost
 *   floor_two_locked_rmw  two lock-prefixed read-modify-writes: an MCS or
 *                         reader/writer acquire + release
 *   floor_cr8_write       one mov %cr8 (under TCG it takes QEMU's big lock)
 *   floor_self_ipi        ICR write to handler entry, same CPU
 *   floor_ipi_one_way     ICR write on CPU 0 to handler entry on CPU 1
 *   floor_cacheline_pingpong  one line bounced between two CPUs, per hop
 */
#include "wdm.h"
#include "kbench.h"
#include "ktest.h"
#include "kernel/interrupt.h"
#include "kernel/pcr.h"
#include "kernel/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

static ULONG64 KbSamples[KBENCH_SAMPLES];

KBENCH(floor_xchg_pair)
{
    static volatile LONG64 word;

    KBENCH_TIME(KbSamples, {
        LONG64 one = 1;
        __asm__ volatile("xchg %0, %1" : "+r"(one), "+m"(word) : : "memory");
        __asm__ volatile("movq $0, %0" : "=m"(word) : : "memory");
    });
    kbench_report("floor.xchg_pair", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

KBENCH(floor_two_locked_rmw)
{
    static volatile LONG64 word;

    KBENCH_TIME(KbSamples, {
        __asm__ volatile("lock xaddq %0, %1" : : "r"(1ll), "m"(word) : "memory");
        __asm__ volatile("lock xaddq %0, %1" : : "r"(-1ll), "m"(word) : "memory");
    });
    kbench_report("floor.two_locked_rmw", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

KBENCH(floor_cr8_write)
{
    ULONG64 level = __readcr8();

    KBENCH_TIME(KbSamples, __writecr8(level));
    kbench_report("floor.cr8_write", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

/* IPI latency: the sender stamps the TSC right before the ICR write, the
 * handler stamps it on entry (the vCPUs share the host's TSC). */
static volatile ULONG64 KbSentAt, KbArrivedAt;

static VOID stamp_arrival(PKTRAP_FRAME f, PVOID context)
{
    UNREFERENCED_PARAMETER(f);
    UNREFERENCED_PARAMETER(context);
    KbArrivedAt = kbench_begin();
}

static ULONG64 one_ipi(ULONG apic_id, ULONG shorthand)
{
    KbArrivedAt = 0;
    KbSentAt = kbench_begin();
    KiApicSendIpi(apic_id, ICR_FIXED | ICR_ASSERT | shorthand | KI_VECTOR_BENCH);
    while (__atomic_load_n(&KbArrivedAt, __ATOMIC_ACQUIRE) == 0)
        cpu_relax();
    return KbArrivedAt - KbSentAt;
}

static void time_ipis(ULONG apic_id, ULONG shorthand)
{
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        ULONG64 t = one_ipi(apic_id, shorthand);
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = t;
    }
}

KBENCH(floor_self_ipi)
{
    KiSetInterruptHandler(KI_VECTOR_BENCH, stamp_arrival, NULL);
    time_ipis(0, ICR_DEST_SELF);
    KiSetInterruptHandler(KI_VECTOR_BENCH, NULL, NULL);
    kbench_report("floor.self_ipi", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

KBENCH(floor_ipi_one_way)
{
    if (KeQueryActiveProcessorCount(NULL) < 2)
        return;
    KiSetInterruptHandler(KI_VECTOR_BENCH, stamp_arrival, NULL);
    time_ipis(KiProcessorBlock[1].Prcb.ApicId, 0);
    KiSetInterruptHandler(KI_VECTOR_BENCH, NULL, NULL);
    kbench_report("floor.ipi_one_way", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

/* CPU 0 writes odd values and waits for the next even one; CPU 1 answers
 * each odd value with the next even one.  Each round trip is two hops.  The
 * waits are bare loads, no pause: this floor is the line transfer alone
 * (under TCG a pause in such a strict alternation costs far more than the
 * transfer; docs/performance.md). */
static volatile LONG64 KbBall __attribute__((aligned(64)));

static void pingpong(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    UNREFERENCED_PARAMETER(context);

    KIRQL old = KeRaiseIrqlToDpcLevel();    /* no clock ticks in between */
    if (cpu == 1) {
        for (LONG64 v = 1; v < 2 * (KBENCH_WARMUP + KBENCH_SAMPLES); v += 2) {
            while (__atomic_load_n(&KbBall, __ATOMIC_ACQUIRE) != v)
                ;
            __atomic_store_n(&KbBall, v + 1, __ATOMIC_RELEASE);
        }
    } else if (cpu == 0) {
        for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
            LONG64 v = 2 * (LONG64)s + 1;
            ULONG64 t0 = kbench_begin();
            __atomic_store_n(&KbBall, v, __ATOMIC_RELEASE);
            while (__atomic_load_n(&KbBall, __ATOMIC_ACQUIRE) != v + 1)
                ;
            if (s >= KBENCH_WARMUP)
                KbSamples[s - KBENCH_WARMUP] = (kbench_end() - t0) / 2;
        }
    }
    KeLowerIrql(old);
}

KBENCH(floor_cacheline_pingpong)
{
    if (KeQueryActiveProcessorCount(NULL) < 2)
        return;
    KbBall = 0;
    ktest_run_on_all_cpus(pingpong, NULL);
    kbench_report("floor.cacheline_pingpong", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}
