/*
 * trace_ring.h - a CPU's trace ring, shared by the recorder (trace.c) and
 * the dump (trace_dump.c).
 */
#ifndef KERNEL_TRACE_RING_H
#define KERNEL_TRACE_RING_H

#include "kernel/trace/trace.h"

/* Written by its own CPU only (Head with a plain xadd); read by the dump
 * after the mask is cleared and the other CPUs are done or frozen. */
typedef struct _KI_TRACE_RING {
    KI_TRACE_RECORD *Records;
    ULONG64 Size;                       /* records, a power of two */
    volatile ULONG64 Head;              /* records ever written; slot = Head % Size */
    ULONG64 DpcRoutinesAtStart;         /* KPRCB.DpcRoutineCount at KiTraceStart */
    ULONG64 ContextSwitchesAtStart;     /* KPRCB.ContextSwitches at KiTraceStart */
} DECLSPEC_CACHEALIGN KI_TRACE_RING;

extern KI_TRACE_RING KiTraceRings[];

#endif
