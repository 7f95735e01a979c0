/*
 * spinlock_check.c - the checked build's spin lock verifier: per-CPU records
 * of held locks, the IRQL rules, the spin watchdog, and the bug checks they
 * raise (kernel/locks/spinlock_check.h says what is recorded and why).
 *
 * Only the checked build's lock routines call into this file; KeLowerIrql
 * (kernel/irql/irql.c) calls KiCheckIrqlLowering in the checked build.  Each
 * check names its bug check; docs/spinlocks.md lists them with parameters.
 */
#include "wdm.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/trace/trace.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define NO_CPU  0xFFFFFFFFu

volatile ULONG64 KiSpinLockTimeoutTicks;

ULONG_PTR KiSpinLockOwnerValue(VOID)
{
    /* A KPRCB is 8-aligned, so bit 0 is free for "held". */
    return (ULONG_PTR)KeGetCurrentPrcb() | 1;
}

static KI_SPIN_LOCK_TRACE *this_trace(void)
{
    return &KeGetCurrentPrcb()->SpinLockTrace;
}

static ULONG_PTR lock_word(const KI_HELD_SPIN_LOCK *held)
{
    if (held->Kind == KI_LOCK_SHARED || held->Kind == KI_LOCK_EXCLUSIVE ||
        held->Kind == KI_LOCK_DPC_QUEUE)                    /* 32-bit words */
        return (ULONG)*(volatile LONG *)held->Lock;
    return *(volatile KSPIN_LOCK *)held->Lock;
}

/* ---- Records of held locks ---------------------------------------------- */

VOID KiTrackAcquire(PVOID Lock, UCHAR Kind, KIRQL OldIrql, KIRQL HoldIrql, ULONG_PTR Caller)
{
    /* cli: an ISR on this CPU may add and drop its own records; it must not
     * land between filling a slot and counting it. */
    ULONG64 flags = interrupts_save_disable();
    KI_SPIN_LOCK_TRACE *trace = this_trace();

    if (trace->Count - trace->ContextBase == KI_MAX_HELD_SPIN_LOCKS ||
        trace->Count == KI_HELD_SPIN_LOCK_RECORDS)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_TOO_MANY_LOCKS,
                     (ULONG_PTR)Lock, KI_MAX_HELD_SPIN_LOCKS, Caller);
    KI_HELD_SPIN_LOCK *held = &trace->Held[trace->Count];
    held->Lock = Lock;
    held->Caller = Caller;
    held->Kind = Kind;
    held->OldIrql = OldIrql;
    held->HoldIrql = HoldIrql;
    trace->Count++;
    restore_rflags(flags);
}

KI_HELD_SPIN_LOCK *KiFindHeldLock(PVOID Lock, UCHAR Kind)
{
    KI_SPIN_LOCK_TRACE *trace = this_trace();

    for (ULONG i = trace->Count; i-- > 0;)     /* newest first */
        if (trace->Held[i].Lock == Lock && (Kind == 0 || trace->Held[i].Kind == Kind))
            return &trace->Held[i];
    return NULL;
}

/* Drop Lock's newest record of this Kind.  A release that keeps the IRQL of
 * a lock whose acquire raised it leaves the raise in force: remember it, for
 * KiCheckIrqlLowering.  FALSE if there was no record. */
BOOLEAN KiTrackRelease(PVOID Lock, UCHAR Kind, BOOLEAN Restores, ULONG_PTR Caller)
{
    ULONG64 flags = interrupts_save_disable();
    KI_SPIN_LOCK_TRACE *trace = this_trace();
    KI_HELD_SPIN_LOCK *held = KiFindHeldLock(Lock, Kind);

    if (!held) {
        restore_rflags(flags);
        return FALSE;
    }
    if (!Restores && held->OldIrql < held->HoldIrql && !trace->StaleRaise.Lock) {
        trace->StaleRaise.Lock = Lock;
        trace->StaleRaise.ReleaseCaller = Caller;
        trace->StaleRaise.OldIrql = held->OldIrql;
        trace->StaleRaise.HoldIrql = held->HoldIrql;
    }
    for (KI_HELD_SPIN_LOCK *next = held + 1; next < &trace->Held[trace->Count]; next++)
        next[-1] = *next;                       /* keep the order: oldest first */
    trace->Count--;
    restore_rflags(flags);
    return TRUE;
}

ULONG KiHeldSpinLockCount(VOID)
{
    return this_trace()->Count;
}

VOID KiCheckNoLockKept(ULONG CountBefore, PVOID Routine)
{
    KI_SPIN_LOCK_TRACE *trace = this_trace();

    /* Records are oldest first: Held[CountBefore] is the routine's first. */
    if (trace->Count > CountBefore)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_LOCK_HELD_AT_RETURN,
                     (ULONG_PTR)trace->Held[CountBefore].Lock, (ULONG_PTR)Routine,
                     trace->Held[CountBefore].Caller);
}

/* ---- IRQL rules --------------------------------------------------------- */

VOID KiCheckIrqlLowering(KIRQL NewIrql, ULONG_PTR Caller)
{
    KI_SPIN_LOCK_TRACE *trace = this_trace();

    /* A stale raise: KeAcquireSpinLock raised from OldIrql, the FromDpcLevel
     * release kept the raised level; the next lowering below it shows the
     * caller never got its IRQL back there.  WDK: Bug Check 0xC8,
     * P1 = (Current << 16) | (Expected << 8) | Unique. */
    if (trace->StaleRaise.Lock && NewIrql < trace->StaleRaise.HoldIrql)
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE,
                     ((ULONG_PTR)KeGetCurrentIrql() << 16) |
                         ((ULONG_PTR)trace->StaleRaise.OldIrql << 8) | KI_IRQL_UNIQUE_STALE_RAISE,
                     (ULONG_PTR)trace->StaleRaise.Lock, trace->StaleRaise.ReleaseCaller, Caller);

    /* Lowering below a held lock's level: an interrupt or DPC of the lower
     * level could now run on this CPU and spin on the lock forever. */
    for (ULONG i = trace->Count; i-- > 0;)
        if (NewIrql < trace->Held[i].HoldIrql)
            KiBugCheckRecursion(trace->Held[i].Lock, lock_word(&trace->Held[i]));
}

VOID KiCheckAtDpcLevel(PVOID Lock, ULONG_PTR Caller)
{
    KIRQL current = KeGetCurrentIrql();

    if (current < DISPATCH_LEVEL)
        KiBugCheckIrql(current, DISPATCH_LEVEL, Lock, Caller);
}

KIRQL KiRaiseForAcquire(KIRQL Target, PVOID Lock, ULONG_PTR Caller)
{
    KIRQL old = KeGetCurrentIrql();

    if (old > Target)       /* what KfRaiseIrql reports for a raise to a lower level */
        KiBugCheckIrql(old, Target, Lock, Caller);
    __writecr8(Target);     /* mov %cr8: raise before touching the lock word */
    KI_TRACE(KI_TRACE_IRQL, KI_TRACE_IRQL_RAISE, old, Target, 0);
    return old;
}

/* ---- Bug checks --------------------------------------------------------- */

VOID KiBugCheckRecursion(PVOID Lock, ULONG_PTR Word)
{
    KI_HELD_SPIN_LOCK *held = KiFindHeldLock(Lock, 0);

    KeBugCheckEx(SPIN_LOCK_ALREADY_OWNED, (ULONG_PTR)Lock, Word, KeGetCurrentProcessorNumber(),
                 held ? held->Caller : 0);
}

VOID KiBugCheckNotOwned(PVOID Lock, ULONG_PTR Word, ULONG_PTR Caller)
{
    KeBugCheckEx(SPIN_LOCK_NOT_OWNED, (ULONG_PTR)Lock, Word, KeGetCurrentProcessorNumber(), Caller);
}

VOID KiBugCheckIrql(KIRQL Current, KIRQL Needed, PVOID Lock, ULONG_PTR Caller)
{
    KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, Current, Needed, (ULONG_PTR)Lock, Caller);
}

/* ---- The spin watchdog -------------------------------------------------- */

ULONG KiFindSpinLockHolder(PVOID Lock, ULONG_PTR Word)
{
    /* An executive lock's word names its owner: &KiProcessorBlock[n].Prcb | 1. */
    if (Word & 1) {
        for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
            if ((Word & ~(ULONG_PTR)1) == (ULONG_PTR)&KiProcessorBlock[n].Prcb)
                return n;
    }
    /* Queued and reader/writer words do not: look for a CPU's record (a
     * racy read of other CPUs' records, good enough for a report). */
    KAFFINITY online = KiActiveProcessorSet();
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        if (!(online & ((KAFFINITY)1 << n)))
            continue;
        KI_SPIN_LOCK_TRACE *trace = &KiProcessorBlock[n].Prcb.SpinLockTrace;
        ULONG count = *(volatile ULONG *)&trace->Count;
        for (ULONG i = 0; i < count && i < KI_HELD_SPIN_LOCK_RECORDS; i++)
            if (*(PVOID volatile *)&trace->Held[i].Lock == Lock)
                return n;
    }
    return NO_CPU;
}

static ULONG64 timeout_ticks(void)
{
    ULONG64 ticks = KiSpinLockTimeoutTicks;

    if (ticks)
        return ticks;
    return KiTscFrequency ? 5 * KiTscFrequency : 1ull << 34;
}

VOID KiSpinWaitPause(KI_SPIN_WAIT *Wait, PVOID Lock, ULONG_PTR Word)
{
    cpu_relax();                        /* pause */
    if ((++Wait->Spins & 255) != 0)     /* rdtsc every 256 spins is plenty */
        return;
    ULONG64 now = rdtsc();
    if (!Wait->Start) {
        Wait->Start = now;
        return;
    }
    if (now - Wait->Start > timeout_ticks())
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KI_VERIFIER_SPIN_TIMEOUT,
                     (ULONG_PTR)Lock, KiFindSpinLockHolder(Lock, Word), Word);
}
