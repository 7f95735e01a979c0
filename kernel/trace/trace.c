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
    { "threads", KI_TRACE_THREADS },
    { "all", KI_TRACE_IRQL | KI_TRACE_INTERRUPTS | KI_TRACE_IPI | KI_TRACE_DPC | KI_TRACE_LOCKS |
             KI_TRACE_THREADS },
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
            kprintf("warning: trace=: unknown group '%.*s' (irql, interrupts, ipi, dpc, locks, threads, all)\n",
                    (int)n, value);
        KiTraceRequested |= found;
        value += n + (value[n] == ',');
    }
}
KERNEL_OPTION("trace", "trace=GROUP,... (irql interrupts ipi dpc locks threads all): event rings, "
              "dumped to port 0xE9", apply_trace);

/* The free build's lock points (TRACE_LOCK in kernel/trace/trace.h): a
 * 5-byte NOP at Site while off, `jmp rel32` to Target while on. */
typedef struct _KI_TRACE_SITE {
    PUCHAR Site;
    PUCHAR Target;
} KI_TRACE_SITE;
extern KI_TRACE_SITE __ktrace_sites_start[], __ktrace_sites_end[];

static const UCHAR KiNop5[5] = { 0x0F, 0x1F, 0x44, 0x00, 0x00 };
static BOOLEAN KiTraceSitesOn;
static volatile LONG KiTraceSitesPatched;
static ULONG KiTracePatcher;           /* the CPU that rewrites them */

/* KIPI_BROADCAST_WORKER: every CPU is here, at IPI_LEVEL, none inside a
 * fast path (an interrupt lands between instructions, never inside the
 * 5 bytes), so the boot CPU may rewrite them; then each CPU serializes
 * before it runs code again (SDM Vol. 3A 8.1.3 "Handling Self- and
 * Cross-Modifying Code": cpuid is a serializing instruction). */
static ULONG_PTR NTAPI patch_sites(ULONG_PTR On)
{
    uint32_t r[4];

    if (KeGetCurrentProcessorNumber() == KiTracePatcher) {
        for (KI_TRACE_SITE *s = __ktrace_sites_start; s < __ktrace_sites_end; s++) {
            if (On) {
                LONG rel = (LONG)(s->Target - (s->Site + 5));
                s->Site[0] = 0xE9;                  /* jmp rel32 */
                memcpy(s->Site + 1, &rel, 4);
            } else {
                memcpy(s->Site, KiNop5, 5);
            }
        }
        __atomic_store_n(&KiTraceSitesPatched, 1, __ATOMIC_RELEASE);
    }
    while (!__atomic_load_n(&KiTraceSitesPatched, __ATOMIC_ACQUIRE))
        cpu_relax();
    cpuid(0, 0, r);
    return 0;
}

static void switch_sites(BOOLEAN On)
{
    if (On == KiTraceSitesOn || (ULONG_PTR)__ktrace_sites_start == (ULONG_PTR)__ktrace_sites_end)
        return;
    KiTraceSitesPatched = 0;
    KiTracePatcher = KeGetCurrentProcessorNumber();   /* no thread moves us meanwhile */
    KeIpiGenericCall(patch_sites, On);
    KiTraceSitesOn = On;
}

VOID KiTraceEnable(ULONG Groups)
{
    ULONG cpus = KiActiveProcessorCount();
    ULONG64 size = 1;

    if (!Groups) {
        __atomic_store_n(&KiTraceMask, 0, __ATOMIC_RELEASE);
        switch_sites(FALSE);
        return;
    }
    while (size * 2 <= KI_TRACE_POOL_RECORDS / cpus)
        size *= 2;
    for (ULONG n = 0; n < cpus; n++) {
        KiTraceRings[n].Records = &KiTracePool[n * size];
        KiTraceRings[n].Size = size;
        KiTraceRings[n].Head = 0;
        KiTraceRings[n].DpcRoutinesAtStart = KiProcessorBlock[n].Prcb.DpcRoutineCount;
        KiTraceRings[n].ContextSwitchesAtStart = KiProcessorBlock[n].Prcb.ContextSwitches;
    }
    /* Rings first, then the mask: a CPU that sees the mask sees its ring. */
    __atomic_store_n(&KiTraceMask, Groups | KI_TRACE_BUGCHECK, __ATOMIC_RELEASE);
    switch_sites((Groups & KI_TRACE_LOCKS) != 0);
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
    if (!(KiTraceMask & KI_TRACE_LOCKS))    /* a dump in progress switched it off: the sites still jump */
        return;
    if (Type == KI_TRACE_LOCK_ACQUIRED && !Spins)
        KiTraceRecord(KI_TRACE_LOCK_BEGIN, Lock, 0, Kind);     /* free at the first try */
    KiTraceRecord(Type, Lock, Spins, Kind);
}
