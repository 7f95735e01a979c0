/*
 * kt_spinlock.h - what the spin lock tests share (tests/kernel/test_spinlock*.c,
 * test_queuedlock.c, test_rwlock.c, test_exinterlocked.c).
 */
#ifndef KT_SPINLOCK_H
#define KT_SPINLOCK_H

#include "wdm.h"
#include "ktest.h"
#include "kernel/pcr.h"
#include "kernel/spinlock_check.h"
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

/* Contended loops stop at an iteration budget or a deadline, whichever
 * comes first: under TCG, 8 vCPUs on 2 host cores hand a FIFO lock to a
 * descheduled vCPU thread every few milliseconds, so a fixed count could
 * take a minute.  Totals are checked against the iterations really done. */
static inline ULONG64 kt_deadline(ULONG ms)
{
    return rdtsc() + kt_ticks(ms);
}

/* Every CPU of a ktest_run_on_all_cpus routine calls this first: they start
 * together, or the first may be done before the last wakes up. */
static inline void kt_start_together(volatile LONG *arrived)
{
    __atomic_fetch_add(arrived, 1, __ATOMIC_SEQ_CST);
    kt_wait_for(arrived, (LONG)KeQueryActiveProcessorCount(NULL));
}

#endif
