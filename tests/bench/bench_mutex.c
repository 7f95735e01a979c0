/*
 * bench_mutex.c - one uncontended acquire + release of a fast mutex and of
 * a guarded mutex (kernel/thread/fastmutex.c, kernel/thread/guardedmutex.c),
 * against the raising spin lock pair KeAcquireSpinLock / KeReleaseSpinLock
 * timed in the same boot, from the benchmark thread at PASSIVE_LEVEL
 * (docs/performance.md, docs/mutexes.md).
 *
 * Uncontended, each mutex is one lock btr and one lock xadd, like the spin
 * lock's two locked instructions; what differs is around them: the fast
 * mutex raises to APC_LEVEL and lowers (as the spin lock raises to
 * DISPATCH_LEVEL and lowers), the guarded mutex enters and leaves a guarded
 * region (a counter in the thread, and a look for pending APCs on the way
 * out) and never touches CR8.
 */
#include "wdm.h"
#include "kbench.h"

static ULONG64 KbSamples[KBENCH_SAMPLES];
static KSPIN_LOCK KbLock;
static FAST_MUTEX KbFastMutex;
static KGUARDED_MUTEX KbGuardedMutex;

#define SPIN_PAIR "uncontended.mutex_spinlock_pair"

KBENCH(uncontended_mutex)
{
    KeInitializeSpinLock(&KbLock);
    ExInitializeFastMutex(&KbFastMutex);
    KeInitializeGuardedMutex(&KbGuardedMutex);

    KBENCH_TIME(KbSamples, {
        KIRQL irql;
        KeAcquireSpinLock(&KbLock, &irql);
        KeReleaseSpinLock(&KbLock, irql);
    });
    kbench_report(SPIN_PAIR, "ticks", KbSamples, KBENCH_SAMPLES,
                  "floor.raise_xchg_pair_lower_called");

    KBENCH_TIME(KbSamples, {
        ExAcquireFastMutex(&KbFastMutex);
        ExReleaseFastMutex(&KbFastMutex);
    });
    kbench_report("uncontended.fast_mutex", "ticks", KbSamples, KBENCH_SAMPLES, SPIN_PAIR);

    KBENCH_TIME(KbSamples, {
        KeAcquireGuardedMutex(&KbGuardedMutex);
        KeReleaseGuardedMutex(&KbGuardedMutex);
    });
    kbench_report("uncontended.guarded_mutex", "ticks", KbSamples, KBENCH_SAMPLES, SPIN_PAIR);

    /* The Unsafe pair inside one critical region: the word alone. */
    KeEnterCriticalRegion();
    KBENCH_TIME(KbSamples, {
        ExAcquireFastMutexUnsafe(&KbFastMutex);
        ExReleaseFastMutexUnsafe(&KbFastMutex);
    });
    KeLeaveCriticalRegion();
    kbench_report("uncontended.fast_mutex_unsafe", "ticks", KbSamples, KBENCH_SAMPLES, SPIN_PAIR);
}
