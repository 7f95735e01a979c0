/*
 * test_lockorder.c - the lock-order validator (kernel/locks/lockorder.c,
 * docs/bugchecks.md): an inversion stops the first time the second order is
 * taken, on one CPU, with no deadlock; per-object locks initialised by one
 * line are one class, so a thousand of them cost two classes and one edge.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/locks/lockorder.h"

#if DBG

#define KT_OBJECTS 1000

static KSPIN_LOCK KtOrderA, KtOrderB, KtOrderGlobal;
static struct { KSPIN_LOCK Lock; ULONG Value; } KtObjects[KT_OBJECTS];

/* A then B, released; then B then A: no CPU ever waits, yet 0x1001. */
KTEST_BUGCHECK(lockorder_ab_ba_on_one_cpu, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    KIRQL old;

    ktest_expect_bugcheck(KT_P(KI_VERIFIER_DEADLOCK_DETECTED), KT_P(&KtOrderA), KT_P(&KtOrderB),
                          KT_ANY);
    KeAcquireSpinLock(&KtOrderA, &old);
    KeAcquireSpinLockAtDpcLevel(&KtOrderB);
    KeReleaseSpinLockFromDpcLevel(&KtOrderB);
    KeReleaseSpinLock(&KtOrderA, old);

    KeAcquireSpinLock(&KtOrderB, &old);
    KeAcquireSpinLockAtDpcLevel(&KtOrderA);         /* the opposite order: STOP here */
}

/* Each object's lock, then one global lock: always that order. */
KTEST(lockorder_thousand_objects_one_class)
{
    KI_LOCK_ORDER_STATS before, after;

    for (ULONG i = 0; i < KT_OBJECTS; i++)
        KeInitializeSpinLock(&KtObjects[i].Lock);   /* one line: one class */
    KiLockOrderQuery(&before);
    for (ULONG i = 0; i < KT_OBJECTS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&KtObjects[i].Lock, &old);
        KeAcquireSpinLockAtDpcLevel(&KtOrderGlobal);
        KtObjects[i].Value++;
        KeReleaseSpinLockFromDpcLevel(&KtOrderGlobal);
        KeReleaseSpinLock(&KtObjects[i].Lock, old);
    }
    KiLockOrderQuery(&after);
    KT_EXPECT_TRUE(after.Enabled);
    KT_EXPECT_TRUE(after.Classes - before.Classes <= 2);   /* the objects' and the global */
    KT_EXPECT_TRUE(after.Edges - before.Edges <= 1);
    KT_EXPECT_TRUE(after.Classes <= KI_LOCK_ORDER_CLASSES && after.Edges < KI_LOCK_ORDER_EDGES);
}

#endif
