/*
 * bench_floors.c - what the machine allows, measured in the same boot as
 * the locks: every lock metric is reported as a ratio to one of these.
 *
 *   floor_xchg_pair       xchg (acquire) + plain store (release), inline:
 *                         the least a test-and-set lock can cost
 *   floor_two_locked_rmw  two lock-prefixed read-modify-writes, inline: an
 *                         MCS or reader/writer acquire + release
 *   ..._called            the same instructions, each half behind a call
 *                         and a ret, as in an exported routine: what
 *                         KeAcquireSpinLockAtDpcLevel + release can cost
 *   floor_raise_xchg_pair_lower(_called)   mov %cr8 up, xchg, store,
 *                         mov %cr8 down: a raising test-and-set lock
 *   floor_call_ret        one call to a bare ret
 *   floor_cr8_write       one mov %cr8 write (under TCG it takes QEMU's
 *                         global lock); floor_cr8_read, one read
 *   floor_pause           one pause (under TCG it leaves the translated
 *                         code and takes QEMU's global lock)
 *   floor_self_ipi        ICR write to handler entry, same CPU
 *   floor_ipi_one_way     ICR write on CPU 0 to handler entry on CPU 1
 *   floor_cacheline_pingpong  one line bounced between two CPUs, per hop
 *
 * Waits for another CPU here are bare loads, no pause: a floor is the
 * event alone, not the cost of a pause loop under TCG (docs/performance.md).
 */
#include "wdm.h"
#include "kbench.h"
#include "ktest.h"
#include "kernel/irql/interrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

static ULONG64 KbSamples[KBENCH_SAMPLES];

/*
 * The called floors: the floor instructions as separate routines, entered
 * with call and left with ret, exactly as the exported lock routines are
 * (System V: the word in %rdi, the old IRQL in %al / %sil), each acquire
 * testing its locked instruction's result as a lock must.  Top-level
 * assembly, so no prologue is added around them, in a page of their own:
 * TCG chains a direct jump to its target only within one guest page, so a
 * call into another page (as into any exported routine) costs a lookup
 * that a call within the caller's page does not.
 */
VOID KbCalledRet(volatile LONG64 *Word);
VOID KbCalledXchg(volatile LONG64 *Word);
VOID KbCalledStoreZero(volatile LONG64 *Word);
VOID KbCalledLockedIncrement(volatile LONG64 *Word);
VOID KbCalledLockedDecrement(volatile LONG64 *Word);
KIRQL KbCalledRaiseXchg(volatile LONG64 *Word);
VOID KbCalledStoreZeroLower(volatile LONG64 *Word, KIRQL OldIrql);

__asm__(
    "    .pushsection .text.kbench_called, \"ax\", @progbits\n"
    "    .p2align 12\n"                   /* a page of their own: see above */
    "    .globl KbCalledRet\n"
    "    .type  KbCalledRet, @function\n"
    "    .p2align 4\n"
    "KbCalledRet:\n"
    "    ret\n"
    "    .size  KbCalledRet, . - KbCalledRet\n"

    "    .globl KbCalledXchg\n"             /* KeAcquireSpinLockAtDpcLevel, uncontended */
    "    .type  KbCalledXchg, @function\n"
    "    .p2align 4\n"
    "KbCalledXchg:\n"
    "    mov    $1, %eax\n"
    "    xchg   %rax, (%rdi)\n"
    "    test   %rax, %rax\n"              /* was it free?  (never busy here) */
    "    jnz    1f\n"
    "    ret\n"
    "1:  ret\n"
    "    .size  KbCalledXchg, . - KbCalledXchg\n"

    "    .globl KbCalledStoreZero\n"        /* KeReleaseSpinLockFromDpcLevel */
    "    .type  KbCalledStoreZero, @function\n"
    "    .p2align 4\n"
    "KbCalledStoreZero:\n"
    "    movq   $0, (%rdi)\n"
    "    ret\n"
    "    .size  KbCalledStoreZero, . - KbCalledStoreZero\n"

    "    .globl KbCalledLockedIncrement\n"
    "    .type  KbCalledLockedIncrement, @function\n"
    "    .p2align 4\n"
    "KbCalledLockedIncrement:\n"
    "    mov    $1, %eax\n"
    "    lock xadd %rax, (%rdi)\n"
    "    test   %rax, %rax\n"
    "    jnz    1f\n"
    "    ret\n"
    "1:  ret\n"
    "    .size  KbCalledLockedIncrement, . - KbCalledLockedIncrement\n"

    "    .globl KbCalledLockedDecrement\n"
    "    .type  KbCalledLockedDecrement, @function\n"
    "    .p2align 4\n"
    "KbCalledLockedDecrement:\n"
    "    mov    $-1, %rax\n"
    "    lock xadd %rax, (%rdi)\n"
    "    cmp    $1, %rax\n"
    "    jne    1f\n"
    "    ret\n"
    "1:  ret\n"
    "    .size  KbCalledLockedDecrement, . - KbCalledLockedDecrement\n"

    "    .globl KbCalledRaiseXchg\n"        /* KeAcquireSpinLockRaiseToDpc, uncontended */
    "    .type  KbCalledRaiseXchg, @function\n"
    "    .p2align 4\n"
    "KbCalledRaiseXchg:\n"
    "    mov    %cr8, %rax\n"
    "    mov    $2, %ecx\n"
    "    mov    %rcx, %cr8\n"
    "    mov    $1, %ecx\n"
    "    xchg   %rcx, (%rdi)\n"
    "    test   %rcx, %rcx\n"
    "    jnz    1f\n"
    "    ret\n"
    "1:  ret\n"
    "    .size  KbCalledRaiseXchg, . - KbCalledRaiseXchg\n"

    "    .globl KbCalledStoreZeroLower\n"   /* KeReleaseSpinLock */
    "    .type  KbCalledStoreZeroLower, @function\n"
    "    .p2align 4\n"
    "KbCalledStoreZeroLower:\n"
    "    movq   $0, (%rdi)\n"
    "    movzbl %sil, %esi\n"
    "    mov    %rsi, %cr8\n"
    "    ret\n"
    "    .size  KbCalledStoreZeroLower, . - KbCalledStoreZeroLower\n"
    "    .p2align 12\n"
    "    .popsection\n");

static volatile LONG64 KbWord __attribute__((aligned(64)));

KBENCH(floor_xchg_pair)
{
    KBENCH_TIME(KbSamples, {
        LONG64 one = 1;
        __asm__ volatile("xchg %0, %1" : "+r"(one), "+m"(KbWord) : : "memory");
        __asm__ volatile("movq $0, %0" : "=m"(KbWord) : : "memory");
    });
    kbench_report("floor.xchg_pair", "ticks", KbSamples, KBENCH_SAMPLES, NULL);

    KBENCH_TIME(KbSamples, {
        KbCalledXchg(&KbWord);
        KbCalledStoreZero(&KbWord);
    });
    kbench_report("floor.xchg_pair_called", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

KBENCH(floor_two_locked_rmw)
{
    KBENCH_TIME(KbSamples, {
        __asm__ volatile("lock xaddq %0, %1" : : "r"(1ll), "m"(KbWord) : "memory");
        __asm__ volatile("lock xaddq %0, %1" : : "r"(-1ll), "m"(KbWord) : "memory");
    });
    kbench_report("floor.two_locked_rmw", "ticks", KbSamples, KBENCH_SAMPLES, NULL);

    KBENCH_TIME(KbSamples, {
        KbCalledLockedIncrement(&KbWord);
        KbCalledLockedDecrement(&KbWord);
    });
    kbench_report("floor.two_locked_rmw_called", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

/* The least a raising test-and-set lock can cost: mov %cr8 up, xchg, store,
 * mov %cr8 down.  The called form also reads CR8 (the old IRQL it must
 * return), as KeAcquireSpinLockRaiseToDpc does. */
KBENCH(floor_raise_xchg_pair_lower)
{
    KBENCH_TIME(KbSamples, {
        LONG64 one = 1;
        __writecr8(DISPATCH_LEVEL);
        __asm__ volatile("xchg %0, %1" : "+r"(one), "+m"(KbWord) : : "memory");
        __asm__ volatile("movq $0, %0" : "=m"(KbWord) : : "memory");
        __writecr8(PASSIVE_LEVEL);
    });
    kbench_report("floor.raise_xchg_pair_lower", "ticks", KbSamples, KBENCH_SAMPLES, NULL);

    KBENCH_TIME(KbSamples, {
        KIRQL old = KbCalledRaiseXchg(&KbWord);
        KbCalledStoreZeroLower(&KbWord, old);
    });
    kbench_report("floor.raise_xchg_pair_lower_called", "ticks", KbSamples, KBENCH_SAMPLES,
                  NULL);
}

KBENCH(floor_call_ret)
{
    KBENCH_TIME(KbSamples, KbCalledRet(&KbWord));
    kbench_report("floor.call_ret", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

KBENCH(floor_cr8)
{
    ULONG64 level = __readcr8();

    KBENCH_TIME(KbSamples, __writecr8(level));
    kbench_report("floor.cr8_write", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
    KBENCH_TIME(KbSamples, (void)__readcr8());
    kbench_report("floor.cr8_read", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

KBENCH(floor_pause)
{
    KBENCH_TIME(KbSamples, __asm__ volatile("pause" : : : "memory"));
    kbench_report("floor.pause", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

/* IPI latency: the sender stamps the TSC right before the ICR write, the
 * handler stamps it on entry (the vCPUs share the host's TSC).  The target
 * of the one-way IPI is idle, halted in its idle loop, as a DPC's target
 * is in bench_dpc.c. */
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
        ;                               /* bare loads: see the top of the file */
    return KbArrivedAt - KbSentAt;
}

static void time_ipis(ULONG apic_id, ULONG shorthand)
{
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        ULONG64 until = kbench_begin() + KiTscFrequency * 50 / 1000000;
        while (kbench_begin() < until)
            ;                           /* 50 us: the target is back in hlt (bench_dpc.c) */
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

static volatile BOOLEAN KbPingPongPause;

static inline void wait_for_ball(LONG64 v)
{
    if (KbPingPongPause)
        while (__atomic_load_n(&KbBall, __ATOMIC_ACQUIRE) != v)
            __asm__ volatile("pause" : : : "memory");
    else
        while (__atomic_load_n(&KbBall, __ATOMIC_ACQUIRE) != v)
            ;
}

static void pingpong(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    UNREFERENCED_PARAMETER(context);

    KIRQL old = KeRaiseIrqlToDpcLevel();    /* no clock ticks in between */
    if (cpu == 1) {
        for (LONG64 v = 1; v < 2 * (KBENCH_WARMUP + KBENCH_SAMPLES); v += 2) {
            wait_for_ball(v);
            __atomic_store_n(&KbBall, v + 1, __ATOMIC_RELEASE);
        }
    } else if (cpu == 0) {
        for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
            LONG64 v = 2 * (LONG64)s + 1;
            ULONG64 t0 = kbench_begin();
            __atomic_store_n(&KbBall, v, __ATOMIC_RELEASE);
            wait_for_ball(v + 1);
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
    KbPingPongPause = FALSE;
    ktest_run_on_all_cpus(pingpong, NULL);
    kbench_report("floor.cacheline_pingpong", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
}

/* Not a floor: the same alternation with a pause in every poll, which is
 * what the pause costs a hand-off under TCG (docs/performance.md). */
KBENCH(pause_pingpong)
{
    if (KeQueryActiveProcessorCount(NULL) < 2)
        return;
    KbBall = 0;
    KbPingPongPause = TRUE;
    ktest_run_on_all_cpus(pingpong, NULL);
    kbench_report("pause.cacheline_pingpong_pause_every_poll", "ticks", KbSamples,
                  KBENCH_SAMPLES, "floor.cacheline_pingpong");
}
