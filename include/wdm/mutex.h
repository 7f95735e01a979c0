/*
 * wdm/mutex.h - fast mutexes and guarded mutexes, the mutexes that live at
 * APC_LEVEL (part of <wdm.h>; kernel/thread/fastmutex.c,
 * kernel/thread/guardedmutex.c, docs/mutexes.md).
 *
 * Both are one LONG, Count, that a thread takes with one locked instruction
 * when nobody holds it, and a synchronization event (a fast mutex's Event,
 * a guarded mutex's Gate) that a thread finding it held sleeps on.  They
 * differ in how the holder keeps kernel APCs away (WDK: Fast Mutexes and
 * Guarded Mutexes): a fast mutex raises to APC_LEVEL, a guarded mutex
 * enters a guarded region and leaves IRQL alone.  Neither is recursive, and
 * neither is a dispatcher object (no KeWaitXxx on them).  The x64 layouts
 * are the WDK's (WDK: FAST_MUTEX; KGUARDED_MUTEX), asserted below.
 */
#ifndef WDM_MUTEX_H
#define WDM_MUTEX_H

#include "ntdef.h"
#include "wdm/dispatcher.h"

/* Count's bits (WDK: FAST_MUTEX names the first three for the fast mutex;
 * the guarded mutex uses the same word).  Drawn in kernel/thread/fastmutex.c. */
#define FM_LOCK_BIT             0x1     /* set: free */
#define FM_LOCK_BIT_V           0x0     /* its bit number */
#define FM_LOCK_WAITER_WOKEN    0x2     /* a woken waiter is on its way */
#define FM_LOCK_WAITER_INC      0x4     /* one waiter, counted from bit 2 up */
#define GM_LOCK_BIT             FM_LOCK_BIT
#define GM_LOCK_BIT_V           FM_LOCK_BIT_V
#define GM_LOCK_WAITER_WOKEN    FM_LOCK_WAITER_WOKEN
#define GM_LOCK_WAITER_INC      FM_LOCK_WAITER_INC

typedef struct _FAST_MUTEX {
    volatile LONG Count;        /* the word above */
    PVOID Owner;                /* the owning KTHREAD; NULL when free */
    ULONG Contention;           /* acquisitions that had to sleep */
    KEVENT Event;               /* synchronization event the sleepers wait on */
    ULONG OldIrql;              /* the owner's IRQL before ExAcquireFastMutex */
} FAST_MUTEX, *PFAST_MUTEX;

C_ASSERT(offsetof(FAST_MUTEX, Count) == 0x00);
C_ASSERT(offsetof(FAST_MUTEX, Owner) == 0x08);
C_ASSERT(offsetof(FAST_MUTEX, Contention) == 0x10);
C_ASSERT(offsetof(FAST_MUTEX, Event) == 0x18);
C_ASSERT(offsetof(FAST_MUTEX, OldIrql) == 0x30);
C_ASSERT(sizeof(FAST_MUTEX) == 0x38);

/* The gate a guarded mutex's sleepers wait on.  In Windows a gate is its
 * own dispatcher object type, lighter than an event; here it is a
 * synchronization event under another name (it releases one waiter and
 * resets), which is what a gate does. */
typedef struct _KGATE {
    DISPATCHER_HEADER Header;
} KGATE, *PKGATE;

typedef struct _KGUARDED_MUTEX {
    volatile LONG Count;        /* the same word as FAST_MUTEX's */
    struct _KTHREAD *Owner;
    ULONG Contention;
    KGATE Gate;
    union {                     /* the owner's APC-disable counts while it holds it */
        struct {
            SHORT KernelApcDisable;
            SHORT SpecialApcDisable;
        };
        ULONG CombinedApcDisable;
    };
} KGUARDED_MUTEX, *PKGUARDED_MUTEX;

C_ASSERT(offsetof(KGUARDED_MUTEX, Count) == 0x00);
C_ASSERT(offsetof(KGUARDED_MUTEX, Owner) == 0x08);
C_ASSERT(offsetof(KGUARDED_MUTEX, Contention) == 0x10);
C_ASSERT(offsetof(KGUARDED_MUTEX, Gate) == 0x18);
C_ASSERT(offsetof(KGUARDED_MUTEX, CombinedApcDisable) == 0x30);
C_ASSERT(sizeof(KGUARDED_MUTEX) == 0x38);

/* ---- Fast mutexes (kernel/thread/fastmutex.c) ----------------------------- */

/* <= DISPATCH_LEVEL.  Free, no waiters, the event clear. */
NTKERNELAPI VOID NTAPI ExInitializeFastMutex(_Out_ PFAST_MUTEX FastMutex);
/* <= APC_LEVEL; returns at APC_LEVEL owning it (sleeping while another
 * thread owns it).  The IRQL it was called at is kept in OldIrql. */
NTKERNELAPI VOID FASTCALL ExAcquireFastMutex(_Inout_ PFAST_MUTEX FastMutex);
/* APC_LEVEL, the owner; lowers to the IRQL ExAcquireFastMutex saved. */
NTKERNELAPI VOID FASTCALL ExReleaseFastMutex(_Inout_ PFAST_MUTEX FastMutex);
/* <= APC_LEVEL.  TRUE: owned, at APC_LEVEL; FALSE: nothing changed. */
NTKERNELAPI BOOLEAN FASTCALL ExTryToAcquireFastMutex(_Inout_ PFAST_MUTEX FastMutex);
/* At APC_LEVEL, or below it inside a critical or guarded region; IRQL is
 * left alone (the caller keeps APCs away itself). */
NTKERNELAPI VOID FASTCALL ExAcquireFastMutexUnsafe(_Inout_ PFAST_MUTEX FastMutex);
NTKERNELAPI VOID FASTCALL ExReleaseFastMutexUnsafe(_Inout_ PFAST_MUTEX FastMutex);

/* ---- Guarded mutexes (kernel/thread/guardedmutex.c) ----------------------- */

/* <= DISPATCH_LEVEL. */
NTKERNELAPI VOID FASTCALL KeInitializeGuardedMutex(_Out_ PKGUARDED_MUTEX Mutex);
/* <= APC_LEVEL; enters a guarded region and returns owning it, at the
 * IRQL it was called at. */
NTKERNELAPI VOID FASTCALL KeAcquireGuardedMutex(_Inout_ PKGUARDED_MUTEX Mutex);
/* <= APC_LEVEL, the owner; leaves the guarded region. */
NTKERNELAPI VOID FASTCALL KeReleaseGuardedMutex(_Inout_ PKGUARDED_MUTEX Mutex);
/* <= APC_LEVEL.  TRUE: owned, in a guarded region; FALSE: nothing changed. */
NTKERNELAPI BOOLEAN FASTCALL KeTryToAcquireGuardedMutex(_Inout_ PKGUARDED_MUTEX Mutex);
/* At APC_LEVEL, or in a guarded region already; no region change. */
NTKERNELAPI VOID FASTCALL KeAcquireGuardedMutexUnsafe(_Inout_ PKGUARDED_MUTEX FastMutex);
NTKERNELAPI VOID FASTCALL KeReleaseGuardedMutexUnsafe(_Inout_ PKGUARDED_MUTEX FastMutex);

#endif
