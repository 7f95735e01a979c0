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
 *   "NTTRACE1", u32 version 1, u32 CPUs, u64 TSC Hz, u32 record size 32, u32 0
 *   per CPU: u32 CPU, u32 0, u64 records written, u64 ring size,
 *            u64 DPC routines this CPU ran while tracing,
 *            then min(written, size) records, oldest first
 *   "NTTREND\0"
 */
#include "wdm.h"
#include "kernel/trace/trace.h"
#include "kernel/trace/trace_ring.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"
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
        ULONG Cpu, Reserved;
        ULONG64 Written, Size, DpcRoutines;
    } header = { Number, 0, written, ring->Size,
                 KiProcessorBlock[Number].Prcb.DpcRoutineCount - ring->DpcRoutinesAtStart };

    send(&header, sizeof(header));
    /* Oldest first: from slot first % Size to the end, then from 0. */
    ULONG64 start = first & (ring->Size - 1);
    ULONG64 count = written - first;
    ULONG64 tail = count < ring->Size - start ? count : ring->Size - start;
    send(&ring->Records[start], tail * sizeof(KI_TRACE_RECORD));
    send(&ring->Records[0], (count - tail) * sizeof(KI_TRACE_RECORD));
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
    } header = { "NTTRACE1", 1, cpus, KiTscFrequency, sizeof(KI_TRACE_RECORD), 0 };

    send(&header, sizeof(header));
    for (ULONG n = 0; n < cpus; n++)
        send_ring(n);
    send("NTTREND", 8);
}
