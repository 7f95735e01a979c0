/*
 * trace.h - the per-CPU event tracer: trace points in the IRQL, interrupt,
 * IPI, DPC and spin lock paths, each CPU writing fixed 32-byte records with
 * a TSC stamp into its own ring, dumped at the end of a test run or at a bug
 * check through QEMU's debug console port (kernel/trace/trace_dump.c), and
 * turned into a timeline by scripts/trace.py (docs/tracing.md).
 *
 *     KI_TRACE(KI_TRACE_DPC, KI_TRACE_DPC_START, routine, dpc, importance);
 *
 * Off by default: every point is one load and one well-predicted branch on
 * KiTraceMask, which `trace=GROUP,...` (or `trace=all`) sets once, before the
 * tests start.  Context switches have no events yet: the kernel has no
 * threads.  Lock events come from the checked build's C lock routines; the
 * free build's assembly fast paths have none (docs/tracing.md).
 */
#ifndef KERNEL_TRACE_H
#define KERNEL_TRACE_H

#include "ntdef.h"

/* Groups, the bits of KiTraceMask (the names of `trace=`). */
#define KI_TRACE_IRQL           0x01    /* "irql": raise and lower */
#define KI_TRACE_INTERRUPTS     0x02    /* "interrupts": entry, exit, software interrupt requests */
#define KI_TRACE_IPI            0x04    /* "ipi": sent and received */
#define KI_TRACE_DPC            0x08    /* "dpc": insert, start, end */
#define KI_TRACE_LOCKS          0x10    /* "locks": acquire-begin, acquired, release, hand-off */
#define KI_TRACE_BUGCHECK       0x20    /* always with any other: the STOP itself */

/* Record types: the host tool's table (scripts/trace.py) must match. */
enum {
    KI_TRACE_IRQL_RAISE = 1,    /* A = old, B = new */
    KI_TRACE_IRQL_LOWER,        /* A = old, B = new */
    KI_TRACE_INTERRUPT_ENTRY,   /* A = vector, B = interrupted IRQL */
    KI_TRACE_INTERRUPT_EXIT,    /* A = vector */
    KI_TRACE_SOFTWARE_INTERRUPT,/* A = IRQL requested, B = target CPU */
    KI_TRACE_IPI_SEND,          /* A = request bits, B = target set */
    KI_TRACE_IPI_RECEIVE,       /* A = request bits taken */
    KI_TRACE_DPC_INSERT,        /* A = routine, B = KDPC, C = (target CPU << 8) | importance */
    KI_TRACE_DPC_START,         /* A = routine, B = KDPC */
    KI_TRACE_DPC_END,           /* A = routine, B = KDPC */
    KI_TRACE_LOCK_BEGIN,        /* A = lock, C = kind (KI_LOCK_*) */
    KI_TRACE_LOCK_ACQUIRED,     /* A = lock, B = spins (0: uncontended), C = kind */
    KI_TRACE_LOCK_RELEASE,      /* A = lock, C = kind */
    KI_TRACE_LOCK_HANDOFF,      /* A = lock, C = kind: an MCS owner passed it to its successor */
    KI_TRACE_BUGCHECK_EVENT,    /* A = code, B = P1, C = P2 */
};

/* One event: 32 bytes, little-endian, the layout scripts/trace.py reads. */
typedef struct _KI_TRACE_RECORD {
    ULONG64 Tsc;
    USHORT Type;
    UCHAR Cpu;
    UCHAR Irql;                 /* CR8 when the event was recorded */
    ULONG C;
    ULONG64 A;
    ULONG64 B;
} KI_TRACE_RECORD;
C_ASSERT(sizeof(KI_TRACE_RECORD) == 32);

/* The enabled groups; 0 until KiTraceStart, and 0 again once dumped. */
extern volatile ULONG KiTraceMask;

/* Append one record to this CPU's ring.  Any IRQL, interrupts on or off,
 * no lock: only this CPU writes its ring. */
VOID KiTraceRecord(USHORT Type, ULONG64 A, ULONG64 B, ULONG C);

#define KI_TRACE(group, type, a, b, c)                                          \
    do {                                                                        \
        if (__builtin_expect(KiTraceMask & (group), 0))                         \
            KiTraceRecord((type), (ULONG64)(a), (ULONG64)(b), (ULONG)(c));      \
    } while (0)

/* Split the ring pool among the CPUs online and switch on the groups
 * `trace=` asked for (before the tests; the CPUs are all up). */
VOID KiTraceStart(VOID);

/* Stop recording and write every ring to the debug console port (end of
 * tests, or a bug check with the other CPUs frozen).  Nothing if off. */
VOID KiTraceDump(VOID);

#endif
