/*
 * fastmutex.h - the one acquire/release protocol behind fast mutexes and
 * guarded mutexes (kernel/thread/fastmutex.c), which differ only in how
 * their callers keep kernel APCs away (docs/mutexes.md).
 *
 * A KGUARDED_MUTEX has a FAST_MUTEX's layout (Gate where Event is, both a
 * DISPATCHER_HEADER of a synchronization event: asserted in
 * kernel/thread/guardedmutex.c), so both go through these with a
 * PFAST_MUTEX.  The caller has kept kernel APCs away already (APC_LEVEL, or
 * a critical or guarded region): a thread interrupted between taking the
 * word and setting Owner must not run code that might want the mutex.
 */
#ifndef KERNEL_THREAD_FASTMUTEX_H
#define KERNEL_THREAD_FASTMUTEX_H

#include "wdm.h"

/* Driver Verifier's subcodes of Bug Check 0xC4 (WDK: Bug Check 0xC4), all
 * with P2 the IRQL: */
#define KI_VERIFIER_FAST_MUTEX_ACQUIRE_IRQL     0x33    /* P3 the mutex */
#define KI_VERIFIER_FAST_MUTEX_RELEASE_IRQL     0x34    /* P3 APC-disable count, P4 the mutex */
#define KI_VERIFIER_UNSAFE_ACQUIRE_IRQL         0x39    /* P3 APC-disable count, P4 the mutex */
#define KI_VERIFIER_UNSAFE_RELEASE_IRQL         0x3A    /* P3 APC-disable count, P4 the mutex */
/* ... and of its Deadlock Detection: */
#define KI_VERIFIER_SELF_DEADLOCK               0x1000  /* P2 the mutex */
#define KI_VERIFIER_RELEASED_BY_OTHER_THREAD    0x1004  /* P2 mutex, P3 owner, P4 this thread */

/* Take it, sleeping on its event while another thread owns it.  Checked
 * build: the owner taking it again is 0xC4/0x1000. */
VOID KiAcquireFastMutex(PFAST_MUTEX Mutex);
/* Take it if it is free; never sleeps. */
BOOLEAN KiTryToAcquireFastMutex(PFAST_MUTEX Mutex);
/* Give it up and wake one sleeper if there is one to wake.  Checked build:
 * a thread that does not own it is 0xC4/0x1004. */
VOID KiReleaseFastMutex(PFAST_MUTEX Mutex);

/* Checked build: the Unsafe forms' rule (WDK: ExAcquireFastMutexUnsafe,
 * KeAcquireGuardedMutexUnsafe): at APC_LEVEL, or below it with APCs held
 * off as ApcsDisabled says; otherwise 0xC4/Subcode. */
VOID KiCheckUnsafeMutexCall(PVOID Mutex, ULONG Subcode, BOOLEAN ApcsDisabled);

#endif
