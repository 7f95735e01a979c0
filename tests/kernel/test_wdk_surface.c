/*
 * test_wdk_surface.c - the WDK routines and types a driver expects beyond
 * the synchronization API: interlocked operations, barriers, the
 * ReadNoFence / ReadAcquire / WriteRelease families, system time, the
 * performance counter, the Rtl memory routines, LARGE_INTEGER and friends.
 *
 * Written as a driver would be: it includes <wdm.h> and nothing of the
 * kernel's (ktest.h is the test framework), so it also proves those names
 * compile from the public headers alone.
 */
#include <wdm.h>
#include <ktest.h>

/* 1 January 2020 and 2100, in 100 ns units since 1601 (days since 1601:
 * 153036 and 182256). */
#define TIME_2020   (153036ll * 86400 * 10000000)
#define TIME_2100   (182256ll * 86400 * 10000000)

KTEST(wdk_interlocked_return_values)
{
    LONG volatile l = 5;
    LONG64 volatile q = 5;
    PVOID volatile p = NULL;
    int a, b;

    KT_EXPECT_EQ(InterlockedIncrement(&l), 6);          /* the new value */
    KT_EXPECT_EQ(InterlockedDecrement(&l), 5);
    KT_EXPECT_EQ(InterlockedExchange(&l, 9), 5);        /* the old value */
    KT_EXPECT_EQ(InterlockedCompareExchange(&l, 1, 8), 9);  /* no match: unchanged */
    KT_EXPECT_EQ(l, 9);
    KT_EXPECT_EQ(InterlockedCompareExchange(&l, 1, 9), 9);  /* match: stored */
    KT_EXPECT_EQ(l, 1);
    KT_EXPECT_EQ(InterlockedExchangeAdd(&l, 10), 1);
    KT_EXPECT_EQ(InterlockedOr(&l, 0x30), 11);
    KT_EXPECT_EQ(InterlockedAnd(&l, 0x1E), 0x3B);
    KT_EXPECT_EQ(InterlockedXor(&l, 0xFF), 0x1A);
    KT_EXPECT_EQ(l, 0xE5);

    KT_EXPECT_EQ(InterlockedIncrement64(&q), 6);
    KT_EXPECT_EQ(InterlockedDecrement64(&q), 5);
    KT_EXPECT_EQ(InterlockedExchange64(&q, 1ll << 40), 5);
    KT_EXPECT_EQ(InterlockedCompareExchange64(&q, 7, 1ll << 40), 1ll << 40);
    KT_EXPECT_EQ(InterlockedExchangeAdd64(&q, 1ll << 33), 7);
    KT_EXPECT_EQ(InterlockedOr64(&q, 1ll << 50), (1ll << 33) + 7);
    KT_EXPECT_EQ(InterlockedAnd64(&q, (1ll << 50) | 3), (1ll << 50) + (1ll << 33) + 7);
    KT_EXPECT_EQ(InterlockedXor64(&q, 1), (1ll << 50) + 3);
    KT_EXPECT_EQ(q, (1ll << 50) + 2);

    KT_EXPECT_EQ(InterlockedAdd(&l, 3), 0xE8);          /* Add: the new value */
    KT_EXPECT_EQ(InterlockedAdd64(&q, -2), 1ll << 50);

    LONG bits[2] = { 0, 0 };
    LONG64 bits64[2] = { 0, 0 };
    KT_EXPECT_EQ(InterlockedBitTestAndSet(bits, 33), FALSE);   /* was clear */
    KT_EXPECT_EQ(bits[1], 2);
    KT_EXPECT_EQ(InterlockedBitTestAndSet(bits, 33), TRUE);
    KT_EXPECT_EQ(InterlockedBitTestAndReset(bits, 33), TRUE);
    KT_EXPECT_EQ(bits[1], 0);
    KT_EXPECT_EQ(InterlockedBitTestAndSet64(bits64, 127), FALSE);
    KT_EXPECT_EQ((ULONG64)bits64[1], 1ull << 63);
    KT_EXPECT_EQ(InterlockedBitTestAndReset64(bits64, 127), TRUE);
    KT_EXPECT_EQ(bits64[1], 0);

    KT_EXPECT_EQ(InterlockedExchangePointer(&p, &a), NULL);
    KT_EXPECT_EQ(InterlockedCompareExchangePointer(&p, &b, NULL), &a);   /* no match */
    KT_EXPECT_EQ(InterlockedCompareExchangePointer(&p, &b, &a), &a);
    KT_EXPECT_EQ(p, &b);
}

/* Every CPU adds to shared counters at once: only locked instructions keep
 * every update. */
#define ROUNDS 20000
static struct {
    LONG volatile Count;
    LONG64 volatile Sum;
    LONG volatile CasCount;
} KtShared;

static void add_concurrently(void *context)
{
    UNREFERENCED_PARAMETER(context);
    for (ULONG i = 0; i < ROUNDS; i++) {
        InterlockedIncrement(&KtShared.Count);
        InterlockedExchangeAdd64(&KtShared.Sum, 3);
        LONG seen;
        do {                                    /* the classic CAS loop */
            seen = ReadNoFence(&KtShared.CasCount);
        } while (InterlockedCompareExchange(&KtShared.CasCount, seen + 1, seen) != seen);
    }
}

KTEST(wdk_interlocked_on_every_cpu)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);

    KtShared.Count = 0;
    KtShared.Sum = 0;
    KtShared.CasCount = 0;
    ktest_run_on_all_cpus(add_concurrently, NULL);
    KT_EXPECT_EQ(KtShared.Count, cpus * ROUNDS);
    KT_EXPECT_EQ(KtShared.Sum, 3ll * cpus * ROUNDS);
    KT_EXPECT_EQ(KtShared.CasCount, cpus * ROUNDS);
}

/* Store buffering (SDM Vol. 3A 8.2.3.4): each CPU stores its flag, then
 * loads the other's.  x86 may let both loads pass their own stores and see
 * 0, 0; KeMemoryBarrier between the store and the load forbids it. */
#define SB_ROUNDS 2000
static struct {
    LONG volatile Flag[2];
    LONG volatile Seen[2];
    LONG volatile Go, Done;
    ULONG BothZero;
} KtSb;

static void store_buffer_round(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();

    UNREFERENCED_PARAMETER(context);
    if (cpu > 1)
        return;
    for (LONG round = 1; round <= SB_ROUNDS; round++) {
        if (cpu == 0) {                         /* CPU 0 starts each round */
            WriteNoFence(&KtSb.Flag[0], 0);
            WriteNoFence(&KtSb.Flag[1], 0);
            WriteRelease(&KtSb.Go, round);
        } else {
            while (ReadAcquire(&KtSb.Go) != round)
                ;
        }
        WriteNoFence(&KtSb.Flag[cpu], 1);
        KeMemoryBarrier();
        WriteNoFence(&KtSb.Seen[cpu], ReadNoFence(&KtSb.Flag[1 - cpu]));
        InterlockedIncrement(&KtSb.Done);
        if (cpu == 0) {                         /* both done: count, next round */
            while (ReadAcquire(&KtSb.Done) != 2 * round)
                ;
            KtSb.BothZero += KtSb.Seen[0] == 0 && KtSb.Seen[1] == 0;
        }
    }
}

KTEST(wdk_memory_barrier_orders_store_then_load)
{
    KT_REQUIRE_CPUS(2);
    KtSb.Go = 0;
    KtSb.Done = 0;
    KtSb.BothZero = 0;
    ktest_run_on_all_cpus(store_buffer_round, NULL);
    KT_EXPECT_EQ(KtSb.BothZero, 0);
}

KTEST(wdk_read_write_families)
{
    CHAR volatile c = 0;
    SHORT volatile s = 0;
    LONG volatile l = 0;
    LONG64 volatile q = 0;
    PVOID volatile p = NULL;

    WriteNoFence8(&c, -3);
    WriteRelease16(&s, -300);
    WriteRelease(&l, 70000);
    WriteNoFence64(&q, 1ll << 40);
    WritePointerRelease(&p, (PVOID)&l);
    KT_EXPECT_EQ(ReadAcquire8(&c), (CHAR)-3);
    KT_EXPECT_EQ(ReadNoFence16(&s), (SHORT)-300);
    KT_EXPECT_EQ(ReadAcquire(&l), 70000);
    KT_EXPECT_EQ(ReadAcquire64(&q), 1ll << 40);
    KT_EXPECT_EQ(ReadPointerAcquire(&p), &l);
    WritePointerNoFence(&p, NULL);
    KT_EXPECT_EQ(ReadPointerNoFence(&p), NULL);
    KeMemoryBarrierWithoutFence();
    MemoryBarrier();
    _ReadWriteBarrier();
    YieldProcessor();
}

KTEST(wdk_types_and_large_integer)
{
    LARGE_INTEGER li;
    ULARGE_INTEGER uli;
    LONG_PTR value = -5;
    PLONG_PTR pointer = &value;

    KT_EXPECT_EQ(sizeof(CSHORT), 2);
    KT_EXPECT_EQ(sizeof(LARGE_INTEGER), 8);
    KT_EXPECT_EQ(*pointer, -5);
    li.QuadPart = -2;                           /* 0xFFFFFFFF_FFFFFFFE */
    KT_EXPECT_EQ(li.LowPart, 0xFFFFFFFEu);
    KT_EXPECT_EQ(li.HighPart, -1);
    KT_EXPECT_EQ(li.u.LowPart, li.LowPart);     /* the named struct is the same bytes */
    KT_EXPECT_EQ(li.u.HighPart, li.HighPart);
    uli.u.HighPart = 0x80000000u;
    uli.u.LowPart = 7;
    KT_EXPECT_EQ(uli.QuadPart, 0x8000000000000007ull);
    KT_EXPECT_EQ(uli.HighPart, 0x80000000u);
}

KTEST(wdk_rtl_memory)
{
    UCHAR a[16], b[16];

    RtlFillMemory(a, sizeof(a), 0xAB);
    KT_EXPECT_EQ(a[0], 0xAB);
    KT_EXPECT_EQ(a[15], 0xAB);
    RtlZeroMemory(b, sizeof(b));
    KT_EXPECT_EQ(RtlCompareMemory(a, b, sizeof(a)), 0);         /* differ at once */
    RtlCopyMemory(b, a, sizeof(b));
    KT_EXPECT_TRUE(RtlEqualMemory(a, b, sizeof(a)));
    KT_EXPECT_EQ(RtlCompareMemory(a, b, sizeof(a)), sizeof(a)); /* all equal */
    b[9] = 0;
    KT_EXPECT_EQ(RtlCompareMemory(a, b, sizeof(a)), 9);         /* equal up to b[9] */
    KT_EXPECT_TRUE(!RtlEqualMemory(a, b, sizeof(a)));
    KT_EXPECT_EQ(RtlCompareMemory(a, b, 0), 0);
    for (ULONG i = 0; i < sizeof(a); i++)
        a[i] = (UCHAR)i;
    RtlMoveMemory(a + 2, a, 8);                 /* overlapping: as if through a buffer */
    KT_EXPECT_EQ(a[2], 0);
    KT_EXPECT_EQ(a[9], 7);
    KT_EXPECT_EQ(a[10], 10);
}

KTEST(wdk_system_time_and_performance_counter)
{
    LARGE_INTEGER frequency, coarse, precise, later, c0, c1;
    ULONG increment = KeQueryTimeIncrement();

    c0 = KeQueryPerformanceCounter(&frequency);
    KeQuerySystemTime(&coarse);
    KeQuerySystemTimePrecise(&precise);
    KT_EXPECT_TRUE(frequency.QuadPart > 0);
    /* The CMOS clock says "now": somewhere in this century. */
    KT_EXPECT_TRUE(precise.QuadPart > TIME_2020 && precise.QuadPart < TIME_2100);
    /* The tick-based time is behind the precise one by at most a tick
     * (more only when ticks were lost; never ahead by more than one). */
    KT_EXPECT_TRUE(coarse.QuadPart <= precise.QuadPart + increment);

    KeStallExecutionProcessor(2000);
    c1 = KeQueryPerformanceCounter(NULL);
    KeQuerySystemTimePrecise(&later);
    KT_EXPECT_TRUE(c1.QuadPart - c0.QuadPart >= frequency.QuadPart / 1000 * 2);
    KT_EXPECT_TRUE(later.QuadPart - precise.QuadPart >= 2000 * 10);    /* 2 ms in 100 ns */
    KT_EXPECT_TRUE(KeQueryUnbiasedInterruptTime() >= KeQueryInterruptTime() - increment);
}
