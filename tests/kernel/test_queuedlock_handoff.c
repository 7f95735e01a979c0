/*
 * test_queuedlock_handoff.c - the MCS hand-off windows of the queued spin
 * locks (kernel/locks/queuedlock.c, arch/x86_64/queuedlock.S), hit as often as
 * possible: every CPU takes the lock for an empty critical section, again
 * and again, with a pseudo-random pause outside, so that arrivals land at
 * every moment of the holder's release.  Two windows are a few
 * instructions wide:
 *
 *   - a waiter has swapped itself into the lock word but not yet linked
 *     itself behind the holder, who releases: the release must wait for
 *     the link and hand off (were it to leave, the waiter would spin
 *     forever);
 *   - a waiter has linked itself and the holder hands off at once: the
 *     waiter must have marked its entry WAIT before linking (marked after,
 *     it would overwrite the hand-off and spin forever).
 *
 * Either bug loses the lock for good: every CPU ends up spinning at
 * DISPATCH_LEVEL, and the checked build's spin timeout (bug check 0xC4,
 * subcode 0x6000, after 5 s), or else the runner's timeout, fails the
 * boot.  What the test checks itself: no two holders at
 * once, a non-atomic counter equal to the sections done, and every CPU's
 * minimum of sections (KT_PROGRESS in kt_spinlock.h).
 */
#include "kt_spinlock.h"
#include "kernel/console/console.h"

#define HANDOFF_BUDGET      60000   /* sections in all, shared among the CPUs */
#define HANDOFF_SOFT_MS     300
#define HANDOFF_MINIMUM     20      /* sections each CPU must do */
#define HANDOFF_NUMBER      LockQueueUnusedSpare8
#define HANDOFF_JITTER      64      /* loop turns outside: 0..63 */

static struct {
    BOOLEAN Numbered;
    KSPIN_LOCK Lock;
    volatile ULONG Inside;              /* holder's CPU + 1, or 0 */
    volatile ULONG64 Counter;           /* non-atomic, under the lock */
    volatile LONG Overlaps;
    KT_PROGRESS Progress;
} KtHandoff;

static void handoff_section(ULONG cpu)
{
    if (KtHandoff.Inside != 0)
        __atomic_fetch_add(&KtHandoff.Overlaps, 1, __ATOMIC_RELAXED);
    KtHandoff.Inside = cpu + 1;
    KtHandoff.Counter = KtHandoff.Counter + 1;
    if (KtHandoff.Inside != cpu + 1)
        __atomic_fetch_add(&KtHandoff.Overlaps, 1, __ATOMIC_RELAXED);
    KtHandoff.Inside = 0;
}

static void handoff_worker(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    ULONG budget = HANDOFF_BUDGET / KeQueryActiveProcessorCount(NULL);
    ULONG seed = 0x9E3779B9u * (cpu + 1);
    ULONG done = 0;
    enum kt_step step;

    UNREFERENCED_PARAMETER(context);
    kt_ensure_lock_queues();
    kt_progress_start_together(&KtHandoff.Progress, HANDOFF_SOFT_MS);
    while ((step = kt_progress_next(&KtHandoff.Progress, done >= budget)) != KT_STOP) {
        if (step == KT_IDLE)
            continue;
        if (KtHandoff.Numbered) {
            KIRQL old = KeAcquireQueuedSpinLock(HANDOFF_NUMBER);
            handoff_section(cpu);
            KeReleaseQueuedSpinLock(HANDOFF_NUMBER, old);
        } else {
            KLOCK_QUEUE_HANDLE handle;
            KeAcquireInStackQueuedSpinLock(&KtHandoff.Lock, &handle);
            handoff_section(cpu);
            KeReleaseInStackQueuedSpinLock(&handle);
        }
        done++;
        kt_progress_count(&KtHandoff.Progress, KT_PASSIVE);
        seed = seed * 1664525u + 1013904223u;           /* LCG (Numerical Recipes) */
        /* A plain loop, not pause: under TCG each pause leaves the
         * translated code, too coarse a step for windows this narrow. */
        for (volatile ULONG n = (seed >> 16) % HANDOFF_JITTER; n; n--)
            ;
    }
}

static void run_handoff(BOOLEAN numbered)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG64 total = 0;

    KtHandoff.Numbered = numbered;
    KtHandoff.Lock = 0;
    KtHandoff.Inside = 0;
    KtHandoff.Counter = 0;
    KtHandoff.Overlaps = 0;
    kt_progress_init(&KtHandoff.Progress, HANDOFF_MINIMUM, 0, 0);
    ktest_run_on_all_cpus(handoff_worker, NULL);

    for (ULONG n = 0; n < cpus; n++)
        total += KtHandoff.Progress.Sections[KT_PASSIVE][n];
    kprintf("    # %u CPUs, %llu hand-offs or releases\n", cpus, (unsigned long long)total);
    KT_EXPECT_EQ(KtHandoff.Overlaps, 0);
    KT_EXPECT_EQ(KtHandoff.Counter, total);
    kt_progress_check(&KtHandoff.Progress);
    KT_EXPECT_EQ(KtHandoff.Lock, 0);
    PKSPIN_LOCK numbered_word = (PKSPIN_LOCK)(
        (ULONG_PTR)KeGetCurrentPrcb()->LockQueue[HANDOFF_NUMBER].Lock & ~(ULONG_PTR)3);
    KT_EXPECT_EQ(*numbered_word, 0);
}

KTEST(spinlock_queued_handoff_in_stack)
{
    run_handoff(FALSE);
}

KTEST(spinlock_queued_handoff_numbered)
{
    run_handoff(TRUE);
}
