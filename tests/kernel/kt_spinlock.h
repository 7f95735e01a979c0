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

/* Spin (at any IRQL) until *flag reaches value, or give up after ~2 s of
 * TSC: cross-CPU tests fail instead of hanging. */
static inline BOOLEAN kt_wait_for(volatile LONG *flag, LONG value)
{
    ULONG64 start = rdtsc();

    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
        if (rdtsc() - start > (1ull << 32))
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

/* The per-CPU share of a total iteration count: the tests stay short under
 * TCG whatever the vCPU count. */
static inline ULONG kt_share(ULONG total)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG share = total / (cpus ? cpus : 1);

    return share ? share : 1;
}

#endif
