/*
 * test_exinterlocked.c - the lock-guarded interlocked helpers and their
 * lock-free macro cousins (kernel/locks/exinterlocked.c): WDK return values, list
 * contents, IRQL unchanged at any level, RFLAGS.IF as found, and the lock
 * free afterwards.
 */
#include "kt_spinlock.h"

/* Run every list helper once at the current IRQL and check it. */
static void lists_at_current_irql(void)
{
    KSPIN_LOCK lock = 0;
    LIST_ENTRY head, a, b, c;
    KIRQL irql = KeGetCurrentIrql();
    BOOLEAN enabled = kt_interrupts_enabled();

    InitializeListHead(&head);
    KT_EXPECT_EQ(ExInterlockedInsertHeadList(&head, &a, &lock), NULL);     /* was empty */
    KT_EXPECT_EQ(ExInterlockedInsertHeadList(&head, &b, &lock), &a);       /* old first */
    KT_EXPECT_EQ(ExInterlockedInsertTailList(&head, &c, &lock), &a);       /* old last */
    /* b, a, c */
    KT_EXPECT_EQ(head.Flink, &b);
    KT_EXPECT_EQ(b.Flink, &a);
    KT_EXPECT_EQ(a.Flink, &c);
    KT_EXPECT_EQ(c.Flink, &head);
    KT_EXPECT_EQ(head.Blink, &c);
    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), irql);
    KT_EXPECT_EQ(kt_interrupts_enabled(), enabled);

    KT_EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &b);
    KT_EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &a);
    KT_EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &c);
    KT_EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), NULL);         /* empty */
    KT_EXPECT_TRUE(IsListEmpty(&head));
    KT_EXPECT_EQ(ExInterlockedInsertTailList(&head, &a, &lock), NULL);     /* was empty */
    KT_EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &a);

    SINGLE_LIST_ENTRY stack = { NULL }, x, y;
    KT_EXPECT_EQ(ExInterlockedPushEntryList(&stack, &x, &lock), NULL);
    KT_EXPECT_EQ(ExInterlockedPushEntryList(&stack, &y, &lock), &x);
    KT_EXPECT_EQ(ExInterlockedPopEntryList(&stack, &lock), &y);
    KT_EXPECT_EQ(ExInterlockedPopEntryList(&stack, &lock), &x);
    KT_EXPECT_EQ(ExInterlockedPopEntryList(&stack, &lock), NULL);

    ULONG value = 40;
    KT_EXPECT_EQ(ExInterlockedAddUlong(&value, 2, &lock), 40);             /* the old value */
    KT_EXPECT_EQ(value, 42);
    KT_EXPECT_EQ(ExInterlockedAddUlong(&value, 0xFFFFFFFFu, &lock), 42);   /* wraps: -1 */
    KT_EXPECT_EQ(value, 41);

    LARGE_INTEGER big, step, before;
    big.QuadPart = 0xFFFFFFFFll;
    step.QuadPart = 1;
    before = ExInterlockedAddLargeInteger(&big, step, &lock);
    KT_EXPECT_EQ(before.QuadPart, 0xFFFFFFFFll);
    KT_EXPECT_EQ(big.QuadPart, 0x100000000ll);                            /* carries */
    step.QuadPart = -0x200000000ll;
    before = ExInterlockedAddLargeInteger(&big, step, &lock);
    KT_EXPECT_EQ(before.QuadPart, 0x100000000ll);
    KT_EXPECT_EQ(big.QuadPart, -0x100000000ll);

    KT_EXPECT_EQ(lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), irql);
    KT_EXPECT_EQ(kt_interrupts_enabled(), enabled);
}

/* Any IRQL: PASSIVE, DISPATCH, a device level, HIGH; and with interrupts
 * already off (an ISR's view): they stay off. */
KTEST(spinlock_exinterlocked_any_irql)
{
    KIRQL saved;

    lists_at_current_irql();
    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    lists_at_current_irql();
    KfRaiseIrql(CLOCK_LEVEL);
    lists_at_current_irql();
    KfRaiseIrql(HIGH_LEVEL);
    lists_at_current_irql();
    KeLowerIrql(saved);

    ULONG64 flags = interrupts_save_disable();
    lists_at_current_irql();
    KT_EXPECT_TRUE(!kt_interrupts_enabled());
    restore_rflags(flags);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* CPU 0 holds the raw lock (interrupts off, as a helper would); CPU 1's
 * helper must wait for the release before it adds. */
static struct {
    KSPIN_LOCK Lock;
    volatile LONG Step;
    ULONG Value;
    volatile LONG Order;
} KtHeld;

static void held_elsewhere(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(context);
    if (cpu == 0) {
        KIRQL old = KeRaiseIrqlToDpcLevel();
        ULONG64 flags = interrupts_save_disable();
        KiAcquireSpinLockRaw(&KtHeld.Lock, 0);      /* what the helpers take */
        KtHeld.Step = 1;
        kt_pause(200000);                           /* CPU 1 must be waiting by now */
        KtHeld.Order = 1;                           /* still first */
        KiReleaseSpinLockRaw(&KtHeld.Lock, 0);
        restore_rflags(flags);
        KeLowerIrql(old);
    } else if (cpu == 1) {
        if (!kt_wait_for(&KtHeld.Step, 1))
            return;
        ExInterlockedAddUlong(&KtHeld.Value, 1, &KtHeld.Lock);
        if (KtHeld.Order == 1)                      /* it waited for CPU 0's release */
            KtHeld.Order = 2;
    }
}

KTEST(spinlock_exinterlocked_waits_for_the_lock)
{
    KT_REQUIRE_CPUS(2);
    KtHeld.Lock = 0;
    KtHeld.Step = 0;
    KtHeld.Value = 0;
    KtHeld.Order = 0;
    ktest_run_on_all_cpus(held_elsewhere, NULL);
    KT_EXPECT_EQ(KtHeld.Value, 1);
    KT_EXPECT_EQ(KtHeld.Order, 2);
    KT_EXPECT_EQ(KtHeld.Lock, 0);
}

KTEST(spinlock_exinterlocked_lock_free_macros)
{
    KSPIN_LOCK unused = 0;
    LARGE_INTEGER statistic;
    LONGLONG target = 5, exchange = 9, comperand = 5;

    statistic.QuadPart = 0xFFFFFFFFll;
    ExInterlockedAddLargeStatistic(&statistic, 1);
    KT_EXPECT_EQ(statistic.QuadPart, 0x100000000ll);

    KT_EXPECT_EQ(ExInterlockedCompareExchange64(&target, &exchange, &comperand, &unused), 5);
    KT_EXPECT_EQ(target, 9);                        /* matched: exchanged */
    KT_EXPECT_EQ(ExInterlockedCompareExchange64(&target, &exchange, &comperand, &unused), 9);
    KT_EXPECT_EQ(target, 9);                        /* no match: unchanged */
    KT_EXPECT_EQ(unused, 0);                        /* the lock is ignored */
}
