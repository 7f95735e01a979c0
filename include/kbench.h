/*
 * kbench.h - in-kernel benchmarks (kernel/debug/kbench.c runs them; `make bench`
 * boots the free build with `bench=all` and tests/bench.py reads the output).
 *
 *     KBENCH(floor_xchg_pair) { ... kbench_report(...); }
 *
 * registers a benchmark in the .kbench section.  Each reports metrics as
 * `BENCH {json}` lines: name, vCPUs, unit, median, p99, samples, and the
 * name of the floor metric it is compared with (the host computes the ratio,
 * from the same boot).  A metric may name a second, inline floor: an
 * exported routine is compared first with the same instructions behind a
 * call/ret ("called" floor), then with them inline (docs/performance.md).
 * Timings are TSC ticks read with the fences the SDM recommends
 * (kbench_begin/kbench_end).  Nothing here asserts a timing.
 */
#ifndef KBENCH_H
#define KBENCH_H

#include "ntdef.h"

struct kbench {
    const char *name;
    void (*run)(void);
};

#define KBENCH(bench_name)                                                    \
    static void bench_name(void);                                             \
    static const struct kbench kbench_record_##bench_name                     \
        __attribute__((used, section(".kbench"), aligned(8))) = {             \
            #bench_name, bench_name };                                        \
    static void bench_name(void)

#define KBENCH_WARMUP   32      /* samples thrown away first */
#define KBENCH_SAMPLES  256     /* samples kept */
#define KBENCH_BATCH    64      /* operations timed together in one sample */

/* lfence; rdtsc; lfence: earlier instructions are done before the read, and
 * later ones do not start before it (SDM Vol. 2B, RDTSC). */
static inline ULONG64 kbench_begin(void)
{
    ULONG lo, hi;
    __asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((ULONG64)hi << 32) | lo;
}

/* rdtscp waits for everything before it; lfence keeps what follows out. */
static inline ULONG64 kbench_end(void)
{
    ULONG lo, hi;
    __asm__ volatile("rdtscp; lfence" : "=a"(lo), "=d"(hi) : : "rcx", "memory");
    return ((ULONG64)hi << 32) | lo;
}

/* Time `body` KBENCH_BATCH times per sample into samples[KBENCH_SAMPLES]
 * (ticks per operation), after KBENCH_WARMUP samples thrown away. */
#define KBENCH_TIME(samples, body)                                            \
    do {                                                                      \
        for (ULONG s_ = 0; s_ < KBENCH_WARMUP + KBENCH_SAMPLES; s_++) {       \
            ULONG64 t0_ = kbench_begin();                                     \
            for (ULONG i_ = 0; i_ < KBENCH_BATCH; i_++) {                     \
                body;                                                         \
            }                                                                 \
            ULONG64 t1_ = kbench_end();                                       \
            if (s_ >= KBENCH_WARMUP)                                          \
                (samples)[s_ - KBENCH_WARMUP] = (t1_ - t0_) / KBENCH_BATCH;   \
        }                                                                     \
    } while (0)

/* Print one metric from count samples (sorted in place): median, p99. */
void kbench_report(const char *metric, const char *unit, ULONG64 *samples, ULONG count,
                   const char *floor);

/* The same, compared with two floors: `floor` (the called floor) and
 * `inline_floor` (the same instructions without call/ret). */
void kbench_report2(const char *metric, const char *unit, ULONG64 *samples, ULONG count,
                    const char *floor, const char *inline_floor);

/* Like kbench_report, with a raw JSON fragment appended. */
void kbench_report_samples_extra(const char *metric, const char *unit, ULONG64 *samples,
                                 ULONG count, const char *floor, const char *extra_json);

/* Print one metric that is a single value (a throughput, an index). */
void kbench_report_value(const char *metric, const char *unit, ULONG64 value,
                         const char *floor);

/* Like kbench_report_value, with a raw JSON fragment appended (for example
 * "\"per_cpu\":[1,2,3]"). */
void kbench_report_extra(const char *metric, const char *unit, ULONG64 value,
                         const char *extra_json);

/* For kernel/main.c: was `bench=` given; run them and leave QEMU. */
BOOLEAN KiBenchmarksRequested(void);
DECLSPEC_NORETURN void KiRunBenchmarks(void);
/* Run the benchmarks matching Pattern and return (the shell's `bench`). */
void KiRunBenchmarksMatching(const char *Pattern);

#endif
