/*
 * lockorder.h - the checked build's lock-order validator (kernel/locks/lockorder.c,
 * docs/validator.md): it learns which lock classes are taken while which are
 * held, and bug-checks the first acquire that closes a cycle (0xC4 / 0x1001)
 * or that an interrupt could deadlock on (0xC4 / KI_VERIFIER_LOCK_IRQL_INVERSION),
 * on one CPU, before any deadlock happens.  The free build has none of it.
 */
#ifndef KERNEL_LOCKORDER_H
#define KERNEL_LOCKORDER_H

#include "ntdef.h"

/* WDK: Bug Check 0xC4, 0x1001: "a lock hierarchy violation".  P2 the lock
 * being taken, P3 the held lock that closes the cycle, P4 the caller. */
#define KI_VERIFIER_DEADLOCK_DETECTED       0x1001
/* Ours: a lock taken by an interrupt (P4 its caller) of IRQL I that is also
 * held at IRQL H < I; P2 the lock, P3 (H << 8) | I. */
#define KI_VERIFIER_LOCK_IRQL_INVERSION     0x6004

/* Bounds: memory is fixed, whatever the lock population. */
#define KI_LOCK_ORDER_CLASSES   256
#define KI_LOCK_ORDER_EDGES     1024
#define KI_LOCK_ORDER_INITS     4096    /* KeInitializeSpinLock sites remembered */

/* Before a blocking acquire waits (after any raise): Kind is KI_LOCK_*. */
VOID KiLockOrderAcquire(PVOID Lock, UCHAR Kind, ULONG_PTR Caller);
/* KeInitializeSpinLock: a lock is classed by the place that initialised it. */
VOID KiLockOrderInitialize(PVOID Lock, ULONG_PTR Caller);
/* IoConnectInterrupt: an interrupt object's own lock is classed by its ISR
 * and SynchronizeIrql (one ISR connected at two levels is two classes: their
 * IRQLs must not mix); the level sits above every kernel address. */
#define KI_LOCK_ORDER_ISR_KEY(Isr, Irql) ((ULONG_PTR)(Isr) | ((ULONG_PTR)(Irql) << 56))
#define KI_LOCK_ORDER_KEY_ADDRESS(Key) ((Key) & (((ULONG_PTR)1 << 56) - 1))

/* Around an interrupt (kernel/irql/interrupt.c): locks the interrupted code
 * holds give no order to the handler's; Irql is the vector's. */
ULONG KiLockOrderEnterInterrupt(KIRQL Irql);
VOID KiLockOrderLeaveInterrupt(ULONG Saved);

/* What has been learned so far; DumpGraph prints it on the console. */
typedef struct _KI_LOCK_ORDER_STATS {
    ULONG Classes;
    ULONG Edges;
    ULONG Inits;
    BOOLEAN Enabled;            /* FALSE: off, or a table filled up */
    ULONG Reports;              /* cycles reported in report-only mode */
} KI_LOCK_ORDER_STATS;
VOID KiLockOrderQuery(KI_LOCK_ORDER_STATS *Stats);
/* Every lock classed by where it was initialised, with that place (the
 * tracer names a lock's class with it, kernel/trace/trace_dump.c).  Visit
 * is called with interrupts off: it must not wait. */
VOID KiLockOrderForEachInit(VOID (*Visit)(ULONG_PTR Lock, ULONG_PTR Site));
VOID KiLockOrderDumpGraph(VOID);
/* Report-only mode (the shell's `demo abba`): an order that closes a cycle
 * prints the report and is not learned, instead of the bug check. */
VOID KiLockOrderSetReportOnly(BOOLEAN On);
/* At the end of a test run: the graph, if `lockorder=dump` asked for it. */
VOID KiLockOrderAtEnd(VOID);

#endif
