/*
 * kt_spinlock.h - what the spin lock tests share (tests/kernel/test_spinlock*.c,
 * test_queuedlock*.c, test_rwlock.c, test_exinterlocked.c), and KT_PROGRESS,
 * which ends every stress loop.
 */
#ifndef KT_SPINLOCK_H
#define KT_SPINLOCK_H

#include "wdm.h"
#include "ktest.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

/* The value of an executive lock this CPU holds: 1 (free build), or this
 * CPU's KPRCB | 1 (checked build). */
static inline ULONG_PTR kt_held_value(void)
{
    return DBG ? (ULONG_PTR)KeGetCurrentPrcb() | 1 : 1;
}

/* A held value naming another CPU (for a raw word "held elsewhere"). */
static inline ULONG_PTR kt_foreign_value(void)
{
    ULONG other = KeGetCurrentProcessorNumber() == 1 ? 2 : 1;

    return DBG ? (ULONG_PTR)&KiProcessorBlock[other].Prcb | 1 : 1;
}

static inline BOOLEAN kt_interrupts_enabled(void)
{
    return (read_rflags() & RFLAGS_IF) != 0;
}

/* The numbered queued locks need this CPU's KPRCB entries set up (boot does
 * it; a test run before that wiring does it itself). */
static inline void kt_ensure_lock_queues(void)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    if (prcb->LockQueue[0].Lock == NULL)
        KiInitializeLockQueues(prcb);
}

/* TSC ticks in ms milliseconds (a guess before calibration). */
static inline ULONG64 kt_ticks(ULONG ms)
{
    return (KiTscFrequency ? KiTscFrequency : 2000000000ull) / 1000 * ms;
}

/* Spin (at any IRQL) until *flag reaches value, or give up after 3 s:
 * cross-CPU tests fail instead of hanging. */
static inline BOOLEAN kt_wait_for(volatile LONG *flag, LONG value)
{
    ULONG64 start = rdtsc();

    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
        if (rdtsc() - start > kt_ticks(3000))
            return FALSE;
        cpu_relax();
    }
    return TRUE;
}

/* Wait a little (a few thousand pauses): long enough for another CPU to
 * have reached its spin loop. */
static inline void kt_pause(ULONG n)
{
    while (n--)
        cpu_relax();
}

/*
 * Progress of a stress test.  Under TCG, 8 vCPUs on 2 host cores hand a
 * FIFO lock to a descheduled vCPU thread every few milliseconds, so a fixed
 * count of sections could take a minute; a time limit alone would let a
 * lock that starves one CPU (or strands one DPC) pass on what the others
 * did.  So each context (PASSIVE_LEVEL worker, DPC, ISR) of each CPU counts
 * the sections it completed, and:
 *   - a loop may stop once its own share is done or the soft deadline has
 *     passed, but only when every context of every CPU has reached its
 *     minimum: until then it keeps the DPCs and IPIs coming, and takes
 *     the lock only while a context of its own CPU is short (a busy lock
 *     would starve the try loops of the CPUs that lag);
 *   - past the hard deadline every loop stops and the test fails, naming
 *     the CPU and context that fell short.  KT_HARD_MS is long (a vCPU can
 *     be descheduled for many milliseconds, never assume a short window)
 *     and below the DPC watchdog's 20 s, so a stuck DPC is reported here;
 *   - a try loop (try forms, spun on) never gives up before the hard
 *     deadline, and giving up there is a failure too.
 */
#define KT_HARD_MS 15000

enum kt_context { KT_PASSIVE, KT_DPC, KT_ISR, KT_CONTEXTS };

typedef struct _KT_PROGRESS {
    volatile LONG Arrived, Go;
    ULONG64 Soft, Hard;                 /* TSC deadlines */
    ULONG Minimum[KT_CONTEXTS];         /* sections each CPU must do there; 0: not checked */
    ULONG Sections[KT_CONTEXTS][MAXIMUM_PROCESSORS];    /* one writer per slot */
    volatile LONG Enough;               /* every minimum reached */
    volatile LONG TimedOut;             /* a loop stopped at the hard deadline */
    volatile LONG GaveUp[KT_CONTEXTS][MAXIMUM_PROCESSORS];  /* try loops that did */
} KT_PROGRESS;

/* Clear the counts and set the minimums (the clock starts later). */
static inline void kt_progress_init(KT_PROGRESS *p, ULONG passive, ULONG dpc, ULONG isr)
{
    *p = (KT_PROGRESS){ .Minimum = { passive, dpc, isr } };
}

/* Every CPU of a ktest_run_on_all_cpus routine calls this first: they start
 * together (or the first may be done before the last wakes up), and the
 * last to arrive starts the clock.  One that waited in vain finds both
 * deadlines past, and the test fails. */
static inline void kt_progress_start_together(KT_PROGRESS *p, ULONG soft_ms)
{
    if (__atomic_add_fetch(&p->Arrived, 1, __ATOMIC_SEQ_CST) ==
        (LONG)KeQueryActiveProcessorCount(NULL)) {
        p->Soft = rdtsc() + kt_ticks(soft_ms);
        p->Hard = rdtsc() + kt_ticks(KT_HARD_MS);
        __atomic_store_n(&p->Go, 1, __ATOMIC_RELEASE);
    }
    kt_wait_for(&p->Go, 1);
}

static inline void kt_progress_count(KT_PROGRESS *p, enum kt_context c)
{
    p->Sections[c][KeGetCurrentProcessorNumber()]++;
}

/* TRUE while context c of CPU cpu is short of its minimum. */
static inline BOOLEAN kt_progress_short(KT_PROGRESS *p, enum kt_context c, ULONG cpu)
{
    return __atomic_load_n(&p->Sections[c][cpu], __ATOMIC_RELAXED) < p->Minimum[c];
}

static inline BOOLEAN kt_progress_enough(KT_PROGRESS *p)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);

    if (__atomic_load_n(&p->Enough, __ATOMIC_ACQUIRE))
        return TRUE;
    for (ULONG c = 0; c < KT_CONTEXTS; c++)
        for (ULONG n = 0; n < cpus; n++)
            if (kt_progress_short(p, (enum kt_context)c, n))
                return FALSE;
    __atomic_store_n(&p->Enough, 1, __ATOMIC_RELEASE);
    return TRUE;
}

/* What a loop does next: work (take the lock), idle (its own contexts have
 * their minimums but others lag: leave the lock to them, and to their try
 * loops, while still feeding them DPCs and interrupts), or stop. */
enum kt_step { KT_WORK, KT_IDLE, KT_STOP };

static inline enum kt_step kt_progress_next(KT_PROGRESS *p, BOOLEAN share_done)
{
    ULONG64 now = rdtsc();
    ULONG me = KeGetCurrentProcessorNumber();

    if (now >= p->Hard) {
        __atomic_store_n(&p->TimedOut, 1, __ATOMIC_RELAXED);
        return KT_STOP;
    }
    if (!share_done && now < p->Soft)
        return KT_WORK;
    if (kt_progress_enough(p))
        return KT_STOP;
    for (ULONG c = 0; c < KT_CONTEXTS; c++)
        if (kt_progress_short(p, (enum kt_context)c, me))
            return KT_WORK;
    kt_pause(100);
    return KT_IDLE;
}

/* For a try loop, after each failed try: TRUE (and a failure recorded)
 * once the hard deadline has passed. */
static inline BOOLEAN kt_progress_give_up(KT_PROGRESS *p, enum kt_context c)
{
    if (rdtsc() < p->Hard)
        return FALSE;
    __atomic_fetch_add(&p->GaveUp[c][KeGetCurrentProcessorNumber()], 1, __ATOMIC_RELAXED);
    return TRUE;
}

/* After the run, on the test's CPU: a failure for each context of each CPU
 * that fell short of its minimum or gave up a try loop. */
static inline void kt_progress_check(KT_PROGRESS *p)
{
    static const char *const names[KT_CONTEXTS] = { "PASSIVE_LEVEL", "DPC", "ISR" };
    ULONG cpus = KeQueryActiveProcessorCount(NULL);

    for (ULONG c = 0; c < KT_CONTEXTS; c++)
        for (ULONG n = 0; n < cpus; n++) {
            if (kt_progress_short(p, (enum kt_context)c, n))
                ktest_fail(__FILE__, __LINE__,
                           "CPU %u %s: %u sections, fewer than %u (hard deadline %u ms)", n,
                           names[c], p->Sections[c][n], p->Minimum[c], KT_HARD_MS);
            if (p->GaveUp[c][n])
                ktest_fail(__FILE__, __LINE__, "CPU %u %s: a try loop still failed after %u ms",
                           n, names[c], KT_HARD_MS);
        }
    if (p->TimedOut && !ktest_failed())
        ktest_fail(__FILE__, __LINE__, "the loops ran into the %u ms hard deadline", KT_HARD_MS);
}

#endif
