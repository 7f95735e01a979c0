/*
 * wdm/spinlock.h - the spin lock family (part of <wdm.h>): executive,
 * in-stack queued, numbered queued and reader/writer spin locks, the
 * lock-guarded ExInterlocked helpers and the I/O cancel lock, with the WDK's
 * names, types, layouts and signatures (wdm.h, ntifs.h).
 *
 * Where they live: fast paths in arch/x86_64/spinlock.S, queuedlock.S and
 * rwlock.S (free build); checks and slow paths in kernel/locks/spinlock.c,
 * queuedlock.c, rwlock.c and exinterlocked.c.  docs/spinlocks.md has the
 * family as one table, each lock word's states, and the bug checks the
 * checked build raises for each misuse.
 *
 * IRQL, in one line per kind (entry -> while held -> after release):
 *   KeAcquireSpinLock / KeReleaseSpinLock          <= 2 -> 2 -> old
 *   ...AtDpcLevel / ...FromDpcLevel                >= 2 -> =  -> =
 *   ...ForDpc in a threaded DPC                    0 -> 2 -> 0
 *   ...ForDpc anywhere else                        =  -> =  -> =
 *   ...RaiseToSynch                                <= 12 -> 12 -> old
 *   ExInterlocked*                                 any, unchanged (interrupts off inside)
 * The routines change CR8 only: interrupts stay enabled (IF = 1) throughout.
 */
#ifndef WDM_SPINLOCK_H
#define WDM_SPINLOCK_H

#include "ntdef.h"
#include "wdm/irql.h"

/* ---- Types -------------------------------------------------------------- */

/* An executive spin lock: 0 = free.  Held: 1 in the free build, the owning
 * processor's KPRCB address | 1 in the checked build.  A queued lock's word
 * holds the tail of its waiter queue instead (a KSPIN_LOCK_QUEUE address).
 * Nonpaged, pointer-aligned. */
typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;

/* One waiter in a queued spin lock's MCS queue.  Lock is the lock's address
 * with the state in bits 0..1: LOCK_QUEUE_WAIT while queued and spinning,
 * LOCK_QUEUE_OWNER while it holds the lock, neither before and after. */
typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;   /* the waiter queued behind this one */
    PKSPIN_LOCK volatile Lock;                  /* &lock | state */
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

/* The caller's stack storage for an in-stack queued spin lock: one per
 * acquisition, never shared between call sites. */
typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;

#define LOCK_QUEUE_WAIT         1
#define LOCK_QUEUE_WAIT_BIT     0
#define LOCK_QUEUE_OWNER        2
#define LOCK_QUEUE_OWNER_BIT    1

#define LOCK_QUEUE_TIMER_LOCK_SHIFT     4
#define LOCK_QUEUE_TIMER_TABLE_LOCKS    (1 << (8 - LOCK_QUEUE_TIMER_LOCK_SHIFT))

/* Numbered queued spin locks (ntifs.h; x64: a ULONG64 and #defines).  The
 * names and numbers of current kits: the slots Server 2003 used for the
 * dispatcher, PFN, ... locks are spare. */
typedef ULONG64 KSPIN_LOCK_QUEUE_NUMBER, *PKSPIN_LOCK_QUEUE_NUMBER;
#define LockQueueUnusedSpare0       0
#define LockQueueUnusedSpare1       1
#define LockQueueUnusedSpare2       2
#define LockQueueUnusedSpare3       3
#define LockQueueVacbLock           4
#define LockQueueMasterLock         5
#define LockQueueNonPagedPoolLock   6
#define LockQueueIoCancelLock       7
#define LockQueueUnusedSpare8       8
#define LockQueueIoVpbLock          9
#define LockQueueIoDatabaseLock     10
#define LockQueueIoCompletionLock   11
#define LockQueueNtfsStructLock     12
#define LockQueueAfdWorkQueueLock   13
#define LockQueueBcbLock            14
#define LockQueueUnusedSpare15      15
#define LockQueueUnusedSpare16      16
#define LockQueueMaximumLock        (LockQueueUnusedSpare16 + 1)

/* A reader/writer spin lock (Vista SP1+): 0 = free.  Here bit 31 is the
 * writer (held, or claimed and waiting for the readers to leave) and bits
 * 0..30 count the readers inside. */
typedef volatile LONG EX_SPIN_LOCK, *PEX_SPIN_LOCK;

/* The layouts are the WDK's (x64); arch/x86_64/queuedlock.S depends on them. */
C_ASSERT(sizeof(KSPIN_LOCK) == 8);
C_ASSERT(sizeof(KSPIN_LOCK_QUEUE) == 16);
C_ASSERT(offsetof(KSPIN_LOCK_QUEUE, Next) == 0);
C_ASSERT(offsetof(KSPIN_LOCK_QUEUE, Lock) == 8);
C_ASSERT(sizeof(KLOCK_QUEUE_HANDLE) == 24);
C_ASSERT(offsetof(KLOCK_QUEUE_HANDLE, LockQueue) == 0);
C_ASSERT(offsetof(KLOCK_QUEUE_HANDLE, OldIrql) == 0x10);
C_ASSERT(sizeof(EX_SPIN_LOCK) == 4);

/* ---- Executive spin locks (kernel/locks/spinlock.c, arch/x86_64/spinlock.S) --- */

NTKERNELAPI VOID NTAPI KeInitializeSpinLock(_Out_ PKSPIN_LOCK SpinLock);

/* <= DISPATCH_LEVEL: raise to DISPATCH_LEVEL, then spin; returns the old IRQL. */
_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
NTKERNELAPI KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(_Inout_ PKSPIN_LOCK SpinLock);
#define KeAcquireSpinLock(SpinLock, OldIrql) \
    (*(OldIrql) = KeAcquireSpinLockRaiseToDpc(SpinLock))

/* At DISPATCH_LEVEL (SYNCH_LEVEL for a RaiseToSynch lock): release, then
 * lower to NewIrql. */
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI KeReleaseSpinLock(_Inout_ PKSPIN_LOCK SpinLock, _In_ KIRQL NewIrql);

/* >= DISPATCH_LEVEL, IRQL unchanged.  On x64 the Kef names are the same
 * routines (both exported). */
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI KeAcquireSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI KeReleaseSpinLockFromDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID FASTCALL KefAcquireSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID FASTCALL KefReleaseSpinLockFromDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);

/* >= DISPATCH_LEVEL: TRUE if acquired; FALSE at once if the lock is busy. */
_Must_inspect_result_ _IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI BOOLEAN FASTCALL KeTryToAcquireSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);

/* Any IRQL: TRUE if the lock looks free now (never acquires). */
_Must_inspect_result_
NTKERNELAPI BOOLEAN FASTCALL KeTestSpinLock(_In_ PKSPIN_LOCK SpinLock);

/* Threaded DPCs (Vista+): raise to DISPATCH_LEVEL and lower back only while
 * a threaded DPC runs on this CPU; anywhere else take and release the lock
 * at the current IRQL, unchanged (and return it), as Windows does. */
_IRQL_requires_max_(DISPATCH_LEVEL)
NTKERNELAPI KIRQL NTAPI KeAcquireSpinLockForDpc(_Inout_ PKSPIN_LOCK SpinLock);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI KeReleaseSpinLockForDpc(_Inout_ PKSPIN_LOCK SpinLock, _In_ KIRQL OldIrql);

/* ntifs: raise to SYNCH_LEVEL; release with KeReleaseSpinLock. */
_IRQL_requires_max_(SYNCH_LEVEL) _IRQL_raises_(SYNCH_LEVEL)
NTKERNELAPI KIRQL NTAPI KeAcquireSpinLockRaiseToSynch(_Inout_ PKSPIN_LOCK SpinLock);

#define ExAcquireSpinLock(Lock, OldIrql) KeAcquireSpinLock((Lock), (OldIrql))
#define ExReleaseSpinLock(Lock, OldIrql) KeReleaseSpinLock((Lock), (OldIrql))
#define ExAcquireSpinLockAtDpcLevel(Lock) KeAcquireSpinLockAtDpcLevel(Lock)
#define ExReleaseSpinLockFromDpcLevel(Lock) KeReleaseSpinLockFromDpcLevel(Lock)

/* ---- In-stack queued spin locks (kernel/locks/queuedlock.c, queuedlock.S) ----- */

_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeAcquireInStackQueuedSpinLock(_Inout_ PKSPIN_LOCK SpinLock,
                                                        _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeReleaseInStackQueuedSpinLock(_In_ PKLOCK_QUEUE_HANDLE LockHandle);
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeAcquireInStackQueuedSpinLockAtDpcLevel(
    _Inout_ PKSPIN_LOCK SpinLock, _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeReleaseInStackQueuedSpinLockFromDpcLevel(
    _In_ PKLOCK_QUEUE_HANDLE LockHandle);
_IRQL_requires_max_(DISPATCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeAcquireInStackQueuedSpinLockForDpc(
    _Inout_ PKSPIN_LOCK SpinLock, _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeReleaseInStackQueuedSpinLockForDpc(_In_ PKLOCK_QUEUE_HANDLE LockHandle);
/* Undocumented: raise to SYNCH_LEVEL; release with KeReleaseInStackQueuedSpinLock. */
_IRQL_requires_max_(SYNCH_LEVEL) _IRQL_raises_(SYNCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeAcquireInStackQueuedSpinLockRaiseToSynch(
    _Inout_ PKSPIN_LOCK SpinLock, _Out_ PKLOCK_QUEUE_HANDLE LockHandle);

/* ---- Numbered queued spin locks (ntifs; "reserved for system use") ------ */

_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
NTKERNELAPI KIRQL FASTCALL KeAcquireQueuedSpinLock(_In_ KSPIN_LOCK_QUEUE_NUMBER Number);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID FASTCALL KeReleaseQueuedSpinLock(_In_ KSPIN_LOCK_QUEUE_NUMBER Number,
                                                 _In_ KIRQL OldIrql);
/* TRUE = acquired, at DISPATCH_LEVEL.  *OldIrql is filled either way; on
 * FALSE the IRQL is back at *OldIrql. */
_Must_inspect_result_
NTKERNELAPI LOGICAL FASTCALL KeTryToAcquireQueuedSpinLock(_In_ KSPIN_LOCK_QUEUE_NUMBER Number,
                                                         _Out_ PKIRQL OldIrql);
NTKERNELAPI KIRQL FASTCALL KeAcquireQueuedSpinLockRaiseToSynch(
    _In_ KSPIN_LOCK_QUEUE_NUMBER Number);
_Must_inspect_result_
NTKERNELAPI LOGICAL FASTCALL KeTryToAcquireQueuedSpinLockRaiseToSynch(
    _In_ KSPIN_LOCK_QUEUE_NUMBER Number, _Out_ PKIRQL OldIrql);

/* ---- Reader/writer spin locks (kernel/locks/rwlock.c, arch/x86_64/rwlock.S) --- */

_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
NTKERNELAPI KIRQL NTAPI ExAcquireSpinLockShared(_Inout_ PEX_SPIN_LOCK SpinLock);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI ExReleaseSpinLockShared(_Inout_ PEX_SPIN_LOCK SpinLock,
                                               _In_ KIRQL OldIrql);
_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
NTKERNELAPI KIRQL NTAPI ExAcquireSpinLockExclusive(_Inout_ PEX_SPIN_LOCK SpinLock);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI ExReleaseSpinLockExclusive(_Inout_ PEX_SPIN_LOCK SpinLock,
                                                  _In_ KIRQL OldIrql);
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI ExAcquireSpinLockSharedAtDpcLevel(_Inout_ PEX_SPIN_LOCK SpinLock);
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI ExReleaseSpinLockSharedFromDpcLevel(_Inout_ PEX_SPIN_LOCK SpinLock);
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI ExAcquireSpinLockExclusiveAtDpcLevel(_Inout_ PEX_SPIN_LOCK SpinLock);
_IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI ExReleaseSpinLockExclusiveFromDpcLevel(_Inout_ PEX_SPIN_LOCK SpinLock);
/* Held shared at DISPATCH_LEVEL: becomes exclusive (TRUE) only if no other
 * reader holds it and no writer waits; release then with the exclusive
 * release and the same old IRQL.  FALSE: still held shared. */
_Must_inspect_result_ _IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI LOGICAL NTAPI ExTryConvertSharedSpinLockExclusive(_Inout_ PEX_SPIN_LOCK SpinLock);
_Must_inspect_result_ _IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI LOGICAL NTAPI ExTryAcquireSpinLockSharedAtDpcLevel(_Inout_ PEX_SPIN_LOCK SpinLock);
_Must_inspect_result_ _IRQL_requires_min_(DISPATCH_LEVEL)
NTKERNELAPI LOGICAL NTAPI ExTryAcquireSpinLockExclusiveAtDpcLevel(_Inout_ PEX_SPIN_LOCK SpinLock);

/* ---- Lock-guarded interlocked helpers (kernel/locks/exinterlocked.c) ----------
 * Any IRQL, IRQL unchanged: interrupts are disabled around the raw lock, so
 * an ISR may share the lock with its SynchCritSection.  Use the lock with
 * these routines only. */

NTKERNELAPI PLIST_ENTRY FASTCALL ExInterlockedInsertHeadList(_Inout_ PLIST_ENTRY ListHead,
                                                            _Inout_ PLIST_ENTRY ListEntry,
                                                            _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY FASTCALL ExInterlockedInsertTailList(_Inout_ PLIST_ENTRY ListHead,
                                                            _Inout_ PLIST_ENTRY ListEntry,
                                                            _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY FASTCALL ExInterlockedRemoveHeadList(_Inout_ PLIST_ENTRY ListHead,
                                                            _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PSINGLE_LIST_ENTRY FASTCALL ExInterlockedPushEntryList(
    _Inout_ PSINGLE_LIST_ENTRY ListHead, _Inout_ PSINGLE_LIST_ENTRY ListEntry,
    _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PSINGLE_LIST_ENTRY FASTCALL ExInterlockedPopEntryList(
    _Inout_ PSINGLE_LIST_ENTRY ListHead, _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI ULONG FASTCALL ExInterlockedAddUlong(_Inout_ PULONG Addend, _In_ ULONG Increment,
                                                _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI LARGE_INTEGER NTAPI ExInterlockedAddLargeInteger(_Inout_ PLARGE_INTEGER Addend,
                                                            _In_ LARGE_INTEGER Increment,
                                                            _Inout_ PKSPIN_LOCK Lock);

/* The x64 macros that ignore the lock: one locked instruction each. */
#define ExInterlockedAddLargeStatistic(Addend, Increment) \
    ((VOID)__atomic_fetch_add(&(Addend)->QuadPart, (LONGLONG)(Increment), __ATOMIC_SEQ_CST))
#define ExInterlockedCompareExchange64(Destination, Exchange, Comperand, Lock)              \
    __extension__({                                                                      \
        LONGLONG comperand_ = *(Comperand);                                              \
        (VOID)(Lock);                                                                    \
        __atomic_compare_exchange_n((Destination), &comperand_, *(Exchange), FALSE,      \
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                 \
        comperand_;                                                                      \
    })

/* ---- The I/O cancel and VPB locks (numbered queued locks, as in Windows) */

_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI IoAcquireCancelSpinLock(_Out_ PKIRQL Irql);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI IoReleaseCancelSpinLock(_In_ KIRQL Irql);
_IRQL_requires_max_(DISPATCH_LEVEL) _IRQL_raises_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI IoAcquireVpbSpinLock(_Out_ PKIRQL Irql);
_IRQL_requires_(DISPATCH_LEVEL)
NTKERNELAPI VOID NTAPI IoReleaseVpbSpinLock(_In_ KIRQL Irql);

#endif
