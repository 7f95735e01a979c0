/*
 * spinlock_check.h - what the checked build knows about the spin locks each
 * CPU holds, and the kernel-internal helpers the spin lock files share
 * (kernel/locks/spinlock.c, queuedlock.c, rwlock.c, exinterlocked.c).
 *
 * Every spin lock acquired through the Ke/Ex routines (not the raw lock of
 * the ExInterlocked helpers) gets a record in its CPU's KI_SPIN_LOCK_TRACE
 * (in the KPRCB) for as long as it is held: the lock, how and where it was
 * taken, the IRQL before and the IRQL it is held at.  From these the checked
 * build tells a recursive acquire from contention, finds the holder of a lock
 * a CPU has spun on for too long, knows which release level KeReleaseSpinLock
 * expects, and catches IRQL lowered below a held lock's level or left
 * raised by a release that does not restore it (a stale raise: a lock taken
 * by a raising form and released by a FromDpcLevel form).  The free build
 * keeps the fields but never touches them.
 *
 * Bug check codes and parameters: docs/spinlocks.md, "Misuse and the bug
 * check each one gets".
 */
#ifndef KERNEL_SPINLOCK_CHECK_H
#define KERNEL_SPINLOCK_CHECK_H

/* How a held lock was acquired (KI_HELD_SPIN_LOCK.Kind). */
#define KI_LOCK_EXECUTIVE       1   /* KSPIN_LOCK, KeAcquireSpinLock family */
#define KI_LOCK_IN_STACK        2   /* KSPIN_LOCK, in-stack queued (Lock = the KSPIN_LOCK) */
#define KI_LOCK_NUMBERED        3   /* numbered queued (Lock = the global KSPIN_LOCK) */
#define KI_LOCK_SHARED          4   /* EX_SPIN_LOCK held shared */
#define KI_LOCK_EXCLUSIVE       5   /* EX_SPIN_LOCK held exclusive */
#define KI_LOCK_INTERRUPT       6   /* a KINTERRUPT's *ActualLock, held at SynchronizeIrql */
#define KI_LOCK_RAW             7   /* KSPIN_LOCK under an ExInterlocked helper, interrupts off */
#define KI_LOCK_DPC_QUEUE       8   /* a KPRCB's DPC queue lock (a LONG), interrupts off */

/* gs:KI_PCR_DPC_THREAD_ACTIVE = KPRCB.DpcThreadActive (kernel/smp/pcr.h
 * asserts it): the ForDpc fast paths read it. */
#define KI_PCR_DPC_THREAD_ACTIVE 0x199

#ifndef __ASSEMBLER__           /* the kinds above are the tracer's too, in the .S fast paths */
#include "ntdef.h"
#include "wdm.h"

typedef struct _KI_HELD_SPIN_LOCK {
    PVOID Lock;                 /* the lock word's address */
    ULONG_PTR Caller;           /* return address of the acquiring call */
    UCHAR Kind;                 /* KI_LOCK_* */
    KIRQL OldIrql;              /* IRQL before the acquire */
    KIRQL HoldIrql;             /* IRQL it is held at: DISPATCH, SYNCH for RaiseToSynch,
                                   SynchronizeIrql for an interrupt spin lock */
} KI_HELD_SPIN_LOCK;

/* Deeper nesting than this in one context (the code an interrupt found, or
 * one interrupt handler: ContextBase below) is a bug check (0xC4,
 * KI_VERIFIER_TOO_MANY_LOCKS).  The records have room for more, so that a
 * clock tick taking the DPC queue lock on top of 16 held locks is no error. */
#define KI_MAX_HELD_SPIN_LOCKS  16
#define KI_HELD_SPIN_LOCK_RECORDS 32    /* every context of one CPU together */

/* Per CPU, in the KPRCB.  Written only by its own CPU, with interrupts
 * disabled for the few instructions of an update (an ISR on this CPU may
 * take and drop locks of its own in between); read by any CPU to name a
 * holder in a timeout report. */
typedef struct _KI_SPIN_LOCK_TRACE {
    ULONG Count;                                    /* records in Held[] */
    KI_HELD_SPIN_LOCK Held[KI_HELD_SPIN_LOCK_RECORDS]; /* oldest first */
    /* The lock-order validator's context (kernel/locks/lockorder.c): the
     * records from ContextBase up belong to the running interrupt handler,
     * entered at ContextIrql (0: no interrupt); those below, to the code
     * it interrupted, which orders nothing the handler takes. */
    ULONG ContextBase;
    KIRQL ContextIrql;
    struct {                    /* a raising acquire released by a FromDpcLevel form */
        PVOID Lock;             /* NULL: none */
        ULONG_PTR ReleaseCaller;
        KIRQL OldIrql;          /* the level that should have been restored */
        KIRQL HoldIrql;         /* the level left in force */
    } StaleRaise;
} KI_SPIN_LOCK_TRACE;

/* Our own DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) subcodes, outside the
 * ranges Windows documents (docs/spinlocks.md). */
#define KI_VERIFIER_SPIN_TIMEOUT        0x6000  /* P2 lock, P3 holder CPU or ~0, P4 lock word */
#define KI_VERIFIER_TOO_MANY_LOCKS      0x6001  /* P2 lock, P3 limit, P4 caller */
#define KI_VERIFIER_LOCK_HELD_AT_RETURN 0x6002  /* P2 lock, P3 routine, P4 where it was taken */
#define KI_VERIFIER_BAD_LOCK_NUMBER     0x6003  /* P2 number, P3 LockQueueMaximumLock, P4 caller */
/* Windows' own subcodes used here (WDK: Bug Check 0xC4). */
#define KI_VERIFIER_RELEASE_SPIN_LOCK_IRQL      0x32    /* KeReleaseSpinLock not at its level */
#define KI_VERIFIER_RELEASE_LOCK_IRQL           0x35    /* other releases that lower */
#define KI_VERIFIER_RELEASE_QUEUED_LOCK_IRQL    0x36    /* KeReleaseQueuedSpinLock */
#define KI_VERIFIER_ACQUIRE_SPIN_LOCK_IRQL      0x42    /* KeAcquireSpinLock above DISPATCH */
/* IRQL_UNEXPECTED_VALUE (0xC8) "Unique" byte: IRQL left raised by a
 * FromDpcLevel release of a lock a raising form acquired. */
#define KI_IRQL_UNIQUE_STALE_RAISE      0x10

/* Why a record is dropped (KiTrackRelease). */
#define KI_RELEASE_RESTORES     TRUE    /* the release puts the old IRQL back */
#define KI_RELEASE_KEEPS_IRQL   FALSE   /* FromDpcLevel forms: IRQL unchanged */

struct _KPRCB;

/* Every CPU's numbered queued lock entries point at the global locks. */
VOID KiInitializeLockQueues(struct _KPRCB *Prcb);

/* Free build: the assembly cores of the numbered queued locks
 * (arch/x86_64/queuedlock.S): Entry->Lock holds the lock's address. */
VOID KxAcquireQueuedSpinLock(PKSPIN_LOCK_QUEUE Entry);
VOID KxReleaseQueuedSpinLock(PKSPIN_LOCK_QUEUE Entry);
LOGICAL KxTryToAcquireQueuedSpinLock(PKSPIN_LOCK_QUEUE Entry);

/* The raw lock of the ExInterlocked helpers: no IRQL change, no record;
 * the caller has disabled interrupts.  Checked build: recursion and owner
 * checks, the spin timeout. */
VOID KiAcquireSpinLockRaw(PKSPIN_LOCK SpinLock, ULONG_PTR Caller);
VOID KiReleaseSpinLockRaw(PKSPIN_LOCK SpinLock, ULONG_PTR Caller);

/* Interrupt spin locks (kernel/locks/intspinlock.c, kernel/io/iointerrupt.c): take
 * and drop *ActualLock with IRQL already at SynchronizeIrql.  Checked build:
 * recorded at that level (KI_LOCK_INTERRUPT, OldIrql = the level the caller
 * will lower back to), so lowering below it while the lock is held is 0x0F
 * like any other lock.  Free build: the at-DPC-level fast paths. */
#if DBG
VOID KiAcquireInterruptSpinLock(PKSPIN_LOCK SpinLock, KIRQL OldIrql, ULONG_PTR Caller);
VOID KiReleaseInterruptSpinLock(PKSPIN_LOCK SpinLock, ULONG_PTR Caller);
#else
static inline VOID KiAcquireInterruptSpinLock(PKSPIN_LOCK SpinLock, KIRQL OldIrql, ULONG_PTR Caller)
{
    UNREFERENCED_PARAMETER(OldIrql);
    UNREFERENCED_PARAMETER(Caller);
    KeAcquireSpinLockAtDpcLevel(SpinLock);
}

static inline VOID KiReleaseInterruptSpinLock(PKSPIN_LOCK SpinLock, ULONG_PTR Caller)
{
    UNREFERENCED_PARAMETER(Caller);
    KeReleaseSpinLockFromDpcLevel(SpinLock);
}
#endif

/* ---- Checked build only ------------------------------------------------- */

/* Called by KeLowerIrql (kernel/irql/irql.c) and by every spin lock release that
 * lowers IRQL, before CR8 changes: bug-checks lowering below a held lock's
 * level (0x0F) or while a stale raise is in force (0xC8). */
VOID KiCheckIrqlLowering(KIRQL NewIrql, ULONG_PTR Caller);

/* The held value of an executive lock acquired on this CPU: KPRCB | 1. */
ULONG_PTR KiSpinLockOwnerValue(VOID);

/* Add a record after acquiring; find one; drop it before releasing. */
VOID KiTrackAcquire(PVOID Lock, UCHAR Kind, KIRQL OldIrql, KIRQL HoldIrql, ULONG_PTR Caller);
KI_HELD_SPIN_LOCK *KiFindHeldLock(PVOID Lock, UCHAR Kind);   /* Kind 0: any kind */
BOOLEAN KiTrackRelease(PVOID Lock, UCHAR Kind, BOOLEAN Restores, ULONG_PTR Caller);

/* Bug checks shared by the lock kinds. */
DECLSPEC_NORETURN VOID KiBugCheckRecursion(PVOID Lock, ULONG_PTR Word);
DECLSPEC_NORETURN VOID KiBugCheckNotOwned(PVOID Lock, ULONG_PTR Word, ULONG_PTR Caller);
/* An at-DPC-level form called below DISPATCH_LEVEL, or a raising form called
 * above the level it raises to: IRQL_NOT_GREATER_OR_EQUAL (0x09). */
DECLSPEC_NORETURN VOID KiBugCheckIrql(KIRQL Current, KIRQL Needed, PVOID Lock, ULONG_PTR Caller);

/* Check an at-DPC-level form's IRQL (>= DISPATCH_LEVEL). */
VOID KiCheckAtDpcLevel(PVOID Lock, ULONG_PTR Caller);
/* Raise to Target for a raising acquire (0x09 if above it); returns the old IRQL. */
KIRQL KiRaiseForAcquire(KIRQL Target, PVOID Lock, ULONG_PTR Caller);
/* A release that lowers: KeLowerIrql's checks with the release's caller,
 * then mov %cr8 (kernel/irql/irql.c). */
VOID KiLowerIrqlChecked(KIRQL NewIrql, ULONG_PTR Caller);

/* A wait loop's pause, with the watchdog: past KiSpinLockTimeoutTicks of
 * TSC, 0xC4 / KI_VERIFIER_SPIN_TIMEOUT naming the holder. */
typedef struct _KI_SPIN_WAIT {
    ULONG64 Start;              /* TSC at the first check, 0 before */
    ULONG Spins;
} KI_SPIN_WAIT;
#define KI_SPIN_WAIT_INIT { 0, 0 }
VOID KiSpinWaitPause(KI_SPIN_WAIT *Wait, PVOID Lock, ULONG_PTR Word);
/* 0 = the default, 5 s of TSC (2^34 ticks before calibration); the timeout
 * test sets it shorter. */
extern volatile ULONG64 KiSpinLockTimeoutTicks;

/* Around a call into a DPC routine, an ISR, an interrupt handler or idle
 * work: the number of records before the call, and the check after it that
 * the routine left none of its own (0xC4 / KI_VERIFIER_LOCK_HELD_AT_RETURN
 * naming the first lock it kept, the routine and where it took the lock). */
ULONG KiHeldSpinLockCount(VOID);
VOID KiCheckNoLockKept(ULONG CountBefore, PVOID Routine);

/* The CPU holding Lock (decoded from an executive lock's owner value, else
 * found in the CPUs' records), or 0xFFFFFFFF if none is known. */
ULONG KiFindSpinLockHolder(PVOID Lock, ULONG_PTR Word);

#endif /* __ASSEMBLER__ */
#endif
