/*
 * queuedlock.S - queued spin lock fast paths, free build: the MCS queue of
 * the in-stack queued locks, and the cores of the numbered queued locks
 * (kernel/locks/queuedlock.c wraps those).  The checked build has checking C
 * versions of all of these instead (kernel/locks/queuedlock.c).
 *
 * Contract with C:
 *   ABI      System V AMD64 (FASTCALL is this ABI here).
 *   in       in-stack: %rdi = PKSPIN_LOCK, %rsi = PKLOCK_QUEUE_HANDLE
 *            (acquire); %rdi = PKLOCK_QUEUE_HANDLE (release).
 *            Kx cores: %rdi = PKSPIN_LOCK_QUEUE whose Lock holds &lock.
 *   out      KxTryToAcquireQueuedSpinLock: %eax = LOGICAL.
 *   clobbers %rax, %rcx, %rdx, %rsi, %rdi, flags.  Leaf routines: no stack
 *            use (but the trace points' while tracing is on); interrupts
 *            (RFLAGS.IF) left as found; CR8 = IRQL.
 *   offsets  KSPIN_LOCK_QUEUE: Next +0, Lock +8 (16 bytes);
 *            KLOCK_QUEUE_HANDLE: LockQueue +0, OldIrql +0x10;
 *            LOCK_QUEUE_WAIT 1, LOCK_QUEUE_OWNER 2 (C_ASSERTed in
 *            include/wdm/spinlock.h).
 *
 * The MCS queue (Mellor-Crummey and Scott, "Algorithms for scalable
 * synchronization on shared-memory multiprocessors", 1991).  L is the lock
 * word, q our queue entry, prev the entry queued before us, r the one after.
 * Notation: L | q.Next | q.Lock  (the states docs/spinlocks.md draws):
 *
 *   acquire, lock free:     0 | -    | -          xchg L   ->  q | NULL | &L|OWNER
 *   acquire, lock held:     p | -    | -          xchg L   ->  q | NULL | &L|WAIT,
 *                           then prev.Next = q; spin on q.Lock (our own line)
 *   release, no waiter:     q | NULL | &L|OWNER   cmpxchg  ->  0 | NULL | &L
 *   release, r waits:       r | r    | &L|OWNER   stores   ->  r | NULL | &L,
 *                                                     r.Lock: &L|WAIT -> &L|OWNER
 *   release, r not linked:  r | NULL | &L|OWNER   cmpxchg fails (L = r): spin
 *                           until r has set q.Next, then hand off as above
 *
 * Race points (kernel/debug/race.h; nothing unless RACE=1) sit between every two
 * of these steps: swapped in but WAIT not yet stored, WAIT stored but not
 * linked, linked, granted; and on release: OWNER dropped, no successor seen,
 * waiting for the link, about to hand off.
 *
 * Trace points (kernel/trace/trace.h, TRACE_LOCK; a 5-byte NOP each while
 * tracing is off, a jump while it is on): acquired (uncontended, or granted
 * after the passes of the wait), the wait's first pass, release and
 * hand-off.
 */
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/locks/spinlock_check.h"

#define DISPATCH_LEVEL      2
#define SYNCH_LEVEL         12
#define QNEXT               0x00    /* KSPIN_LOCK_QUEUE.Next */
#define QLOCK               0x08    /* KSPIN_LOCK_QUEUE.Lock */
#define OLDIRQL             0x10    /* KLOCK_QUEUE_HANDLE.OldIrql */
#define LOCK_QUEUE_WAIT     1
#define LOCK_QUEUE_OWNER    2

#if !DBG

    .text

/* Join lock %rdi's queue with entry %rsi, wait for our turn, return.
 * \kind (KI_LOCK_IN_STACK or KI_LOCK_NUMBERED) is for the tracer.
 * Clobbers %rax, %rcx, %rdx. */
.macro MCS_ACQUIRE_AND_RETURN kind
    movq    $0, QNEXT(%rsi)             /* q.Next = NULL */
    movq    %rdi, QLOCK(%rsi)           /* q.Lock = &L */
    mov     %rsi, %rax
    xchg    %rax, (%rdi)                /* prev = L; L = q.  xchg is locked: a full barrier */
    test    %rax, %rax
    jnz     .Lqueued\@
    lea     LOCK_QUEUE_OWNER(%rdi), %rcx
    mov     %rcx, QLOCK(%rsi)           /* no predecessor: q.Lock = &L|OWNER, ours */
    TRACE_LOCK KI_TRACE_LOCK_ACQUIRED, \kind
    RACE_POINT mcs.acquire.uncontended
    ret
.Lqueued\@:
    RACE_POINT mcs.acquire.swapped      /* the tail, but not yet linked behind prev */
    lea     LOCK_QUEUE_WAIT(%rdi), %rcx
    mov     %rcx, QLOCK(%rsi)           /* q.Lock = &L|WAIT, stored (TSO) before prev can see q */
    RACE_POINT mcs.acquire.wait_stored
    mov     %rsi, QNEXT(%rax)           /* prev.Next = q: from here prev may hand off to us */
    RACE_POINT mcs.acquire.linked
    xor     %edx, %edx                  /* the passes of the wait, for the tracer */
.Lwait\@:
    TRACE_LOCK_SPIN \kind
    pause
    testb   $LOCK_QUEUE_WAIT, QLOCK(%rsi)   /* spin on our own entry, not on L */
    jnz     .Lwait\@
    TRACE_LOCK KI_TRACE_LOCK_ACQUIRED, \kind, spins=%rdx
    RACE_POINT mcs.acquire.granted
    ret                                 /* TSO: no later load passes the load that saw OWNER */
.endm

/* Leave the queue of entry %rdi, handing the lock to the next waiter if any.
 * \kind is for the tracer.  Clobbers %rax, %rcx, %rdx; falls through. */
.macro MCS_RELEASE kind
    RACE_POINT mcs.release.held
    mov     QLOCK(%rdi), %rdx
    and     $~(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER), %rdx    /* &L */
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, \kind, lock=%rdx     /* still ours */
    mov     %rdx, QLOCK(%rdi)           /* q.Lock = &L: drop OWNER */
    mov     QNEXT(%rdi), %rcx           /* r = q.Next */
    test    %rcx, %rcx
    jnz     .Lhandoff\@
    RACE_POINT mcs.release.no_successor_seen    /* one may swap in now */
    mov     %rdi, %rax
    lock cmpxchg %rcx, (%rdx)           /* L == q (nobody behind us)?  L = 0: free */
    je      .Ldone\@
.Llink\@:                               /* r swapped itself into L but has not linked yet */
    pause
    mov     QNEXT(%rdi), %rcx
    test    %rcx, %rcx
    jz      .Llink\@
.Lhandoff\@:
    RACE_POINT mcs.release.handing_off
    TRACE_LOCK KI_TRACE_LOCK_HANDOFF, \kind, lock=%rdx     /* the successor's turn next */
    movq    $0, QNEXT(%rdi)             /* q.Next = NULL */
    or      $LOCK_QUEUE_OWNER, %rdx
    mov     %rdx, QLOCK(%rcx)           /* r.Lock = &L|OWNER: the hand-off.  A plain store:
                                         * TSO keeps our critical section's stores before it */
.Ldone\@:
.endm

/* VOID KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK, PKLOCK_QUEUE_HANDLE) */
    .globl  KeAcquireInStackQueuedSpinLock
    .type   KeAcquireInStackQueuedSpinLock, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireInStackQueuedSpinLock:
    mov     %cr8, %rax
    mov     $DISPATCH_LEVEL, %ecx
    mov     %rcx, %cr8                  /* raise before joining the queue */
    mov     %al, OLDIRQL(%rsi)
    MCS_ACQUIRE_AND_RETURN KI_LOCK_IN_STACK
    .size   KeAcquireInStackQueuedSpinLock, . - KeAcquireInStackQueuedSpinLock

/* VOID KeAcquireInStackQueuedSpinLockRaiseToSynch(PKSPIN_LOCK, PKLOCK_QUEUE_HANDLE) */
    .globl  KeAcquireInStackQueuedSpinLockRaiseToSynch
    .type   KeAcquireInStackQueuedSpinLockRaiseToSynch, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireInStackQueuedSpinLockRaiseToSynch:
    mov     %cr8, %rax
    mov     $SYNCH_LEVEL, %ecx
    mov     %rcx, %cr8
    mov     %al, OLDIRQL(%rsi)
    MCS_ACQUIRE_AND_RETURN KI_LOCK_IN_STACK
    .size   KeAcquireInStackQueuedSpinLockRaiseToSynch, . - KeAcquireInStackQueuedSpinLockRaiseToSynch

/* VOID KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK, PKLOCK_QUEUE_HANDLE):
 * OldIrql is left alone. */
    .globl  KeAcquireInStackQueuedSpinLockAtDpcLevel
    .type   KeAcquireInStackQueuedSpinLockAtDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireInStackQueuedSpinLockAtDpcLevel:
    MCS_ACQUIRE_AND_RETURN KI_LOCK_IN_STACK
    .size   KeAcquireInStackQueuedSpinLockAtDpcLevel, . - KeAcquireInStackQueuedSpinLockAtDpcLevel

/* VOID KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK, PKLOCK_QUEUE_HANDLE):
 * raise only in a threaded DPC (KPRCB.DpcThreadActive, at PASSIVE_LEVEL);
 * elsewhere join the queue at the current IRQL, unchanged, as Windows does. */
    .globl  KeAcquireInStackQueuedSpinLockForDpc
    .type   KeAcquireInStackQueuedSpinLockForDpc, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireInStackQueuedSpinLockForDpc:
    mov     %cr8, %rax
    mov     %al, OLDIRQL(%rsi)
    cmpb    $0, %gs:KI_PCR_DPC_THREAD_ACTIVE
    je      1f
    mov     $DISPATCH_LEVEL, %ecx
    mov     %rcx, %cr8
1:  MCS_ACQUIRE_AND_RETURN KI_LOCK_IN_STACK
    .size   KeAcquireInStackQueuedSpinLockForDpc, . - KeAcquireInStackQueuedSpinLockForDpc

/* VOID KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE) */
    .globl  KeReleaseInStackQueuedSpinLock
    .type   KeReleaseInStackQueuedSpinLock, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeReleaseInStackQueuedSpinLock:
    movzbl  OLDIRQL(%rdi), %esi
    MCS_RELEASE KI_LOCK_IN_STACK
    mov     %rsi, %cr8                  /* lower only after the lock is passed on */
    ret
    .size   KeReleaseInStackQueuedSpinLock, . - KeReleaseInStackQueuedSpinLock

/* VOID KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE) */
    .globl  KeReleaseInStackQueuedSpinLockFromDpcLevel
    .type   KeReleaseInStackQueuedSpinLockFromDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeReleaseInStackQueuedSpinLockFromDpcLevel:
    MCS_RELEASE KI_LOCK_IN_STACK
    ret
    .size   KeReleaseInStackQueuedSpinLockFromDpcLevel, . - KeReleaseInStackQueuedSpinLockFromDpcLevel

/* VOID KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE): lower to
 * OldIrql only in a threaded DPC, as the acquire raised only there. */
    .globl  KeReleaseInStackQueuedSpinLockForDpc
    .type   KeReleaseInStackQueuedSpinLockForDpc, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeReleaseInStackQueuedSpinLockForDpc:
    movzbl  OLDIRQL(%rdi), %esi
    MCS_RELEASE KI_LOCK_IN_STACK
    cmpb    $0, %gs:KI_PCR_DPC_THREAD_ACTIVE
    je      1f
    mov     %rsi, %cr8
1:  ret
    .size   KeReleaseInStackQueuedSpinLockForDpc, . - KeReleaseInStackQueuedSpinLockForDpc

/* VOID KxAcquireQueuedSpinLock(PKSPIN_LOCK_QUEUE Entry): a numbered lock's
 * per-CPU entry, whose Lock field already holds the lock's address. */
    .globl  KxAcquireQueuedSpinLock
    .type   KxAcquireQueuedSpinLock, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KxAcquireQueuedSpinLock:
    mov     %rdi, %rsi
    mov     QLOCK(%rsi), %rdi
    and     $~(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER), %rdi
    MCS_ACQUIRE_AND_RETURN KI_LOCK_NUMBERED
    .size   KxAcquireQueuedSpinLock, . - KxAcquireQueuedSpinLock

/* VOID KxReleaseQueuedSpinLock(PKSPIN_LOCK_QUEUE Entry) */
    .globl  KxReleaseQueuedSpinLock
    .type   KxReleaseQueuedSpinLock, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KxReleaseQueuedSpinLock:
    MCS_RELEASE KI_LOCK_NUMBERED
    ret
    .size   KxReleaseQueuedSpinLock, . - KxReleaseQueuedSpinLock

/* LOGICAL KxTryToAcquireQueuedSpinLock(PKSPIN_LOCK_QUEUE Entry): take the lock
 * only if it is free (nobody holds it or waits): 0 -> q. */
    .globl  KxTryToAcquireQueuedSpinLock
    .type   KxTryToAcquireQueuedSpinLock, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KxTryToAcquireQueuedSpinLock:
    mov     QLOCK(%rdi), %rdx
    and     $~(LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER), %rdx    /* &L */
    cmpq    $0, (%rdx)                  /* busy: fail on a plain read */
    jne     1f
    RACE_POINT mcs.try.saw_free
    movq    $0, QNEXT(%rdi)
    xor     %eax, %eax
    lock cmpxchg %rdi, (%rdx)           /* L == 0?  L = q */
    jne     1f
    or      $LOCK_QUEUE_OWNER, %rdx
    mov     %rdx, QLOCK(%rdi)           /* q.Lock = &L|OWNER */
    mov     $1, %eax
    ret
1:  xor     %eax, %eax
    ret
    .size   KxTryToAcquireQueuedSpinLock, . - KxTryToAcquireQueuedSpinLock

#endif /* !DBG */
