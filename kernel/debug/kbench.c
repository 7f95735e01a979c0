/*
 * kbench.c - run the benchmarks named by `bench=<glob>` and print their
 * metrics as `BENCH {json}` lines for tests/bench.py.
 *
 * Then the uncontended lock benchmarks once more with the tracer's locks
 * group on (kernel/trace/trace.h): each metric again as trace_on.NAME, its
 * floor NAME from the first pass, so the ratio is the cost of tracing on
 * against off, in one boot.  The free build's fast paths have their trace
 * points compiled in either way: the first pass is the cost of "off".
 */
#include "wdm.h"
#include "kbench.h"
#include "glob.h"
#include "printf.h"
#include "string.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/console/console.h"
#include "kernel/options.h"
#include "kernel/trace/trace.h"
#include "arch/x86_64/calibrate.h"

#ifndef KERNEL_VERSION
#define KERNEL_VERSION "unknown"
#endif

extern const struct kbench __kbench_start[], __kbench_end[];

static char KiBenchPattern[KI_MAX_OPTION];    /* any word the parser accepts fits */
static BOOLEAN KiBenchTracing;          /* the second pass: names get trace_on. */

static void apply_bench(const char *value)
{
    ksnprintf(KiBenchPattern, sizeof(KiBenchPattern), "%s", value[0] ? value : "all");
}
KERNEL_OPTION("bench", "run benchmarks and exit QEMU: bench=all or bench=<glob>[,<glob>...]",
              apply_bench);

static void sort(ULONG64 *v, ULONG n)
{
    /* Shell sort (Ciura's gaps, then insertion sort at gap 1): handoff
     * metrics bring thousands of samples. */
    static const ULONG gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };

    for (ULONG g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        ULONG gap = gaps[g];
        for (ULONG i = gap; i < n; i++) {
            ULONG64 x = v[i];
            ULONG j = i;
            for (; j >= gap && v[j - gap] > x; j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
}

static void print_metric(const char *metric, const char *unit, ULONG64 median, ULONG64 p99,
                         ULONG samples, const char *floor, const char *inline_floor,
                         const char *extra)
{
    if (KiBenchTracing) {
        floor = metric;                 /* on against off: the same pair, first pass */
        inline_floor = NULL;
    }
    kprintf("BENCH {\"name\":\"%s%s\",\"vcpus\":%u,\"unit\":\"%s\",\"median\":%llu,\"p99\":%llu,"
            "\"samples\":%u,\"floor\":\"%s\"%s%s%s%s%s}\n",
            KiBenchTracing ? "trace_on." : "", metric, KeQueryActiveProcessorCount(NULL), unit, (unsigned long long)median,
            (unsigned long long)p99, samples, floor ? floor : "",
            inline_floor ? ",\"inline_floor\":\"" : "", inline_floor ? inline_floor : "",
            inline_floor ? "\"" : "", extra ? "," : "", extra ? extra : "");
}

static void report_sorted(const char *metric, const char *unit, ULONG64 *samples, ULONG count,
                          const char *floor, const char *inline_floor, const char *extra)
{
    if (count == 0)
        return;
    sort(samples, count);
    print_metric(metric, unit, samples[count / 2], samples[(count * 99) / 100], count, floor,
                 inline_floor, extra);
}

void kbench_report(const char *metric, const char *unit, ULONG64 *samples, ULONG count,
                   const char *floor)
{
    report_sorted(metric, unit, samples, count, floor, NULL, NULL);
}

void kbench_report2(const char *metric, const char *unit, ULONG64 *samples, ULONG count,
                    const char *floor, const char *inline_floor)
{
    report_sorted(metric, unit, samples, count, floor, inline_floor, NULL);
}

void kbench_report_samples_extra(const char *metric, const char *unit, ULONG64 *samples,
                                 ULONG count, const char *floor, const char *extra_json)
{
    report_sorted(metric, unit, samples, count, floor, NULL, extra_json);
}

void kbench_report_value(const char *metric, const char *unit, ULONG64 value, const char *floor)
{
    print_metric(metric, unit, value, value, 1, floor, NULL, NULL);
}

void kbench_report_extra(const char *metric, const char *unit, ULONG64 value,
                         const char *extra_json)
{
    print_metric(metric, unit, value, value, 1, NULL, NULL, extra_json);
}

BOOLEAN KiBenchmarksRequested(void)
{
    return KiBenchPattern[0] != '\0';
}

static BOOLEAN selected(const struct kbench *b)
{
    return glob_match_list(KiBenchPattern, b->name);
}

void KiRunBenchmarks(void)
{
    KiRunBenchmarksMatching(KiBenchPattern);
    KiExitMachine(KI_EXIT_TESTS_PASSED);
}

/* The shell's `bench`: the run without leaving QEMU. */
void KiRunBenchmarksMatching(const char *Pattern)
{
    if (Pattern != KiBenchPattern)
        ksnprintf(KiBenchPattern, sizeof(KiBenchPattern), "%s", Pattern);
    kprintf("BENCH-START {\"tsc_hz\":%llu,\"vcpus\":%u,\"build\":\"%s\",\"version\":\"%s\"}\n",
            (unsigned long long)KiTscFrequency, KeQueryActiveProcessorCount(NULL),
            DBG ? "checked" : "free", KERNEL_VERSION);
    for (const struct kbench *b = __kbench_start; b < __kbench_end; b++) {
        if (selected(b))
            b->run();
    }
    KiTraceEnable(KI_TRACE_LOCKS);
    KiBenchTracing = TRUE;
    for (const struct kbench *b = __kbench_start; b < __kbench_end; b++)
        if (selected(b) && glob_match("uncontended_*", b->name))
            b->run();
    KiBenchTracing = FALSE;
    KiTraceEnable(0);
    kprintf("BENCH-END\n");
}
