/*
 * trace_dump.c - the rings out of the machine through QEMU's debug console
 * port, 0xE9 (QEMU's "isa-debugcon" device, `-debugcon file:PATH`).
 *
 * Why that port: it is a byte sink with no protocol and no console on it,
 * so the serial log (COM1, which the test runner reads) stays as it was;
 * QEMU writes each byte to the file as it comes, so a dump cut short by a
 * crash still leaves what was written; and on a machine without the device
 * the writes go nowhere.  `rep outsb` sends a whole buffer in one
 * instruction.
 *
 * The stream (little-endian; scripts/trace.py reads it):
 *   "NTTRACE1", u32 version 3, u32 CPUs, u64 TSC Hz, u32 record size 32, u32 0
 *   per CPU: u32 CPU, u32 context switches this CPU made while tracing
 *            (KPRCB.ContextSwitches, low 32 bits; version 2 had 0 here),
 *            u64 records written, u64 ring size,
 *            u64 DPC routines this CPU ran while tracing,
 *            then min(written, size) records, oldest first
 *   "NTCLASS\0", u32 N, u32 0, then N pairs {u64 lock, u64 where it was
 *            initialised}: the lock-order validator's classes (checked
 *            build; N = 0 in the free build), so the tool can name a lock's
 *            class (docs/validator.md)
 *   "NTTREND\0"
 */
#include "wdm.h"
#include "kernel/trace/trace.h"
#include "kernel/trace/trace_ring.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"
#include "kernel/locks/lockorder.h"
#include "arch/x86_64/calibrate.h"

#define KI_DEBUGCON_PORT    0xE9

static void send(const void *Buffer, ULONG64 Length)
{
    __asm__ volatile("rep outsb"
                     : "+S"(Buffer), "+c"(Length)
                     : "d"((USHORT)KI_DEBUGCON_PORT)
                     : "memory");
}

static void send_ring(ULONG Number)
{
    KI_TRACE_RING *ring = &KiTraceRings[Number];
    ULONG64 written = ring->Head;
    ULONG64 first = written > ring->Size ? written - ring->Size : 0;   /* the oldest kept */
    struct {
        ULONG Cpu, ContextSwitches;
        ULONG64 Written, Size, DpcRoutines;
    } header = { Number,
                 (ULONG)(KiProcessorBlock[Number].Prcb.ContextSwitches - ring->ContextSwitchesAtStart),
                 written, ring->Size,
                 KiProcessorBlock[Number].Prcb.DpcRoutineCount - ring->DpcRoutinesAtStart };

    send(&header, sizeof(header));
    /* Oldest first: from slot first % Size to the end, then from 0. */
    ULONG64 start = first & (ring->Size - 1);
    ULONG64 count = written - first;
    ULONG64 tail = count < ring->Size - start ? count : ring->Size - start;
    send(&ring->Records[start], tail * sizeof(KI_TRACE_RECORD));
    send(&ring->Records[0], (count - tail) * sizeof(KI_TRACE_RECORD));
}

static ULONG KiInitCount;

static VOID count_init(ULONG_PTR Lock, ULONG_PTR Site)
{
    UNREFERENCED_PARAMETER(Lock);
    UNREFERENCED_PARAMETER(Site);
    KiInitCount++;
}

static VOID send_init(ULONG_PTR Lock, ULONG_PTR Site)
{
    ULONG64 pair[2] = { Lock, Site };

    if (KiInitCount == 0)               /* no more than the header said */
        return;
    KiInitCount--;
    send(pair, sizeof(pair));
}

/* The validator's init records: counted, then sent (they only grow, and
 * every other CPU is frozen or done by now; a count that grew meanwhile is
 * cut to the count sent). */
static void send_classes(void)
{
    ULONG header[2] = { 0, 0 };

    KiInitCount = 0;
    if (DBG)
        KiLockOrderForEachInit(count_init);
    header[0] = KiInitCount;
    send("NTCLASS", 8);
    send(header, sizeof(header));
    if (DBG)
        KiLockOrderForEachInit(send_init);
}

VOID KiTraceDump(VOID)
{
    /* Clear the mask first: from here on no CPU writes, the rings hold still
     * (a CPU inside KiTraceRecord finishes its one record before the
     * caller's next event could start: ours are the last). */
    if (!__atomic_exchange_n(&KiTraceMask, 0, __ATOMIC_ACQ_REL))
        return;
    ULONG cpus = KiActiveProcessorCount();
    struct {
        char Magic[8];
        ULONG Version, Cpus;
        ULONG64 TscHz;
        ULONG RecordSize, Reserved;
    } header = { "NTTRACE1", 3, cpus, KiTscFrequency, sizeof(KI_TRACE_RECORD), 0 };

    send(&header, sizeof(header));
    for (ULONG n = 0; n < cpus; n++)
        send_ring(n);
    send_classes();
    send("NTTREND", 8);
}
