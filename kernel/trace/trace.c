/*
 * trace.c - the tracer's rings and its boot option (kernel/trace/trace.h).
 *
 * One pool of records, split evenly among the CPUs online when the tests
 * start: each CPU gets a ring of a power-of-two size, which it alone writes,
 * so a record needs no lock.  A ring keeps the newest records: once full,
 * each new one overwrites the oldest (the last events before a STOP are
 * the ones worth keeping), and the dump says how many were overwritten.
 */
#include "wdm.h"
#include "kernel/trace/trace.h"
#include "kernel/trace/trace_ring.h"
#include "kernel/options.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"
#include "kernel/console/console.h"
#include "arch/x86_64/cpu.h"
#include "string.h"

#define KI_TRACE_POOL_RECORDS   (256 * 1024)    /* 8 MiB: 64 Ki records each on 4 CPUs */

static KI_TRACE_RECORD KiTracePool[KI_TRACE_POOL_RECORDS];
KI_TRACE_RING KiTraceRings[MAXIMUM_PROCESSORS];
volatile ULONG KiTraceMask;
static ULONG KiTraceRequested;          /* `trace=`: applied by KiTraceStart */

static const struct {
    const char *Name;
    ULONG Groups;
} KiTraceGroupNames[] = {
    { "irql", KI_TRACE_IRQL },
    { "interrupts", KI_TRACE_INTERRUPTS },
    { "ipi", KI_TRACE_IPI },
    { "dpc", KI_TRACE_DPC },
    { "locks", KI_TRACE_LOCKS },
    { "all", KI_TRACE_IRQL | KI_TRACE_INTERRUPTS | KI_TRACE_IPI | KI_TRACE_DPC | KI_TRACE_LOCKS },
};

/* trace=locks,dpc,irql | trace=all: unknown names are reported and skipped. */
static void apply_trace(const char *value)
{
    while (*value) {
        size_t n = 0;
        while (value[n] && value[n] != ',')
            n++;
        ULONG found = 0;
        for (ULONG i = 0; i < ARRAYSIZE(KiTraceGroupNames); i++)
            if (strlen(KiTraceGroupNames[i].Name) == n &&
                strncmp(KiTraceGroupNames[i].Name, value, n) == 0)
                found = KiTraceGroupNames[i].Groups;
        if (!found && n)
            kprintf("warning: trace=: unknown group '%.*s' (irql, interrupts, ipi, dpc, locks, all)\n",
                    (int)n, value);
        KiTraceRequested |= found;
        value += n + (value[n] == ',');
    }
}
KERNEL_OPTION("trace", "trace=GROUP,... (irql interrupts ipi dpc locks all): event rings, "
              "dumped to port 0xE9", apply_trace);

VOID KiTraceEnable(ULONG Groups)
{
    ULONG cpus = KiActiveProcessorCount();
    ULONG64 size = 1;

    if (!Groups) {
        __atomic_store_n(&KiTraceMask, 0, __ATOMIC_RELEASE);
        return;
    }
    while (size * 2 <= KI_TRACE_POOL_RECORDS / cpus)
        size *= 2;
    for (ULONG n = 0; n < cpus; n++) {
        KiTraceRings[n].Records = &KiTracePool[n * size];
        KiTraceRings[n].Size = size;
        KiTraceRings[n].Head = 0;
        KiTraceRings[n].DpcRoutinesAtStart = KiProcessorBlock[n].Prcb.DpcRoutineCount;
    }
    /* Rings first, then the mask: a CPU that sees the mask sees its ring. */
    __atomic_store_n(&KiTraceMask, Groups | KI_TRACE_BUGCHECK, __ATOMIC_RELEASE);
}

VOID KiTraceStart(VOID)
{
    if (!KiTraceRequested)
        return;
    KiTraceEnable(KiTraceRequested);
    kprintf("trace: groups 0x%x, %llu records per CPU\n", KiTraceRequested,
            (unsigned long long)KiTraceRings[0].Size);
}

VOID KiTraceRecord(USHORT Type, ULONG64 A, ULONG64 B, ULONG C)
{
    ULONG64 tsc = rdtsc();
    PKPRCB prcb = KeGetCurrentPrcb();
    KI_TRACE_RING *ring = &KiTraceRings[prcb->Number];
    ULONG64 slot = 1;

    /* xadd without lock: one instruction, so an interrupt on this CPU comes
     * before or after it and takes another slot; no other CPU writes here. */
    __asm__ volatile("xaddq %0, %1" : "+r"(slot), "+m"(ring->Head));
    KI_TRACE_RECORD *r = &ring->Records[slot & (ring->Size - 1)];
    r->Tsc = tsc;
    r->Type = Type;
    r->Cpu = (UCHAR)prcb->Number;
    r->Irql = (UCHAR)read_cr8();
    r->C = C;
    r->A = A;
    r->B = B;
}

VOID KiTraceLockEvent(USHORT Type, ULONG64 Lock, ULONG64 Spins, ULONG Kind)
{
    if (Type == KI_TRACE_LOCK_ACQUIRED && !Spins)
        KiTraceRecord(KI_TRACE_LOCK_BEGIN, Lock, 0, Kind);     /* free at the first try */
    KiTraceRecord(Type, Lock, Spins, Kind);
}
