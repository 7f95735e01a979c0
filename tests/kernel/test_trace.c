/*
 * test_trace.c - the tracer's kernel side (kernel/trace/): a known number of
 * DPCs, traced, leave exactly that many start and end records in this CPU's
 * ring, in order, and the kernel's own DPC count (what `make test-trace`
 * holds the host tool's slices against) moves with the records.
 *
 * Works with tracing off (the test switches the dpc group on for its window
 * and off again) and under `trace=` (it reads only its window of the ring).
 */
#include "ktest.h"
#include "wdm.h"
#include "kernel/trace/trace.h"
#include "kernel/trace/trace_ring.h"
#include "kernel/smp/pcr.h"

#define KT_TRACED_DPCS 8

static volatile ULONG KtTracedRuns;

static VOID kt_traced_routine(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KtTracedRuns++;
}

KTEST(trace_dpc_records_counted)
{
    static KDPC dpcs[KT_TRACED_DPCS];
    BOOLEAN ours = KiTraceMask == 0;
    ULONG starts = 0, ends = 0, all_starts = 0;

    if (!ours && !(KiTraceMask & KI_TRACE_DPC)) {
        ktest_skip("trace= without the dpc group");
        return;
    }
    if (ours)
        KiTraceEnable(KI_TRACE_DPC);
    KtTracedRuns = 0;
    KIRQL old = KeRaiseIrqlToDpcLevel();        /* no DPC runs here until the lower */
    PKPRCB prcb = KeGetCurrentPrcb();
    KI_TRACE_RING *ring = &KiTraceRings[prcb->Number];
    ULONG64 head = ring->Head, counted = prcb->DpcRoutineCount;
    for (ULONG i = 0; i < KT_TRACED_DPCS; i++) {
        KeInitializeDpc(&dpcs[i], kt_traced_routine, NULL);
        KeInsertQueueDpc(&dpcs[i], NULL, NULL);
    }
    KeLowerIrql(old);                           /* they all run now, here */
    KeRaiseIrqlToDpcLevel();
    ULONG64 written = ring->Head - head;
    counted = prcb->DpcRoutineCount - counted;
    for (ULONG64 n = head; n < ring->Head && written <= ring->Size; n++) {
        KI_TRACE_RECORD *r = &ring->Records[n & (ring->Size - 1)];
        BOOLEAN mine = r->B >= (ULONG64)&dpcs[0] && r->B <= (ULONG64)&dpcs[KT_TRACED_DPCS - 1];
        all_starts += r->Type == KI_TRACE_DPC_START;
        starts += mine && r->Type == KI_TRACE_DPC_START;
        ends += mine && r->Type == KI_TRACE_DPC_END;
    }
    KeLowerIrql(old);
    if (ours)
        KiTraceEnable(0);

    KT_EXPECT_EQ(KtTracedRuns, KT_TRACED_DPCS);
    KT_EXPECT_TRUE(written <= ring->Size);      /* the window did not wrap */
    KT_EXPECT_EQ(starts, KT_TRACED_DPCS);
    KT_EXPECT_EQ(ends, KT_TRACED_DPCS);
    KT_EXPECT_EQ(counted, all_starts);          /* the kernel's count is the records' */
}
