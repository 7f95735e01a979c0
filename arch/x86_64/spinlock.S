/*
 * spinlock.S - executive spin lock fast paths, free build (the checked build
 * replaces every routine here with a checking C version, kernel/locks/spinlock.c).
 *
 * Contract with C:
 *   ABI      System V AMD64 (NTAPI and FASTCALL are this one ABI here).
 *   in       %rdi = PKSPIN_LOCK; %sil = KIRQL NewIrql / OldIrql (releases).
 *   out      %al = old KIRQL (raising acquires) or BOOLEAN (try).
 *   clobbers %rax, %rcx, %rdx, %rsi, flags.  Leaf routines: no stack use
 *            beyond the return address (but the trace points' while tracing
 *            is on); interrupts (RFLAGS.IF) left as found.
 *   memory   KSPIN_LOCK: 8 bytes at (%rdi), 0 = free, 1 = held.
 *   IRQL     CR8 = IRQL (wdm/irql.h); DISPATCH_LEVEL 2, SYNCH_LEVEL 12.
 *
 * Acquire is test-and-test-and-set: one `lock bts`; if the lock was taken,
 * spin on plain reads with `pause` (the line stays shared in every waiter's
 * cache until the holder's release store invalidates it) and only then try
 * the locked instruction again.  Release is a plain store: x86-64 is TSO
 * (SDM Vol. 3A 8.2.2), so no load or store of the critical section can pass
 * it, and a call boundary already stops the compiler.
 *
 * Race points (kernel/debug/race.h; nothing unless RACE=1): between the raise and
 * the locked instruction, inside the critical section's first and last
 * instructions, between a waiter's "looks free" and its retry, and between
 * the releasing store and the lowering of IRQL.
 *
 * Trace points (kernel/trace/trace.h, TRACE_LOCK; a 5-byte NOP each while
 * tracing is off, a jump while it is on): acquired (with the passes of the
 * wait), the wait's first pass, and release before the store.
 */
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/locks/spinlock_check.h"

#define DISPATCH_LEVEL  2
#define SYNCH_LEVEL     12

#if !DBG

    .text

/* Take the lock word at (%rdi) and return.  %edx counts the passes of the
 * wait for the tracer: zeroed by an idiom the CPU drops at rename, counted
 * only while spinning.  \name names the race points. */
.macro TAKE_AND_RETURN name
    xor     %edx, %edx
.Ltry\@:
    lock btsq $0, (%rdi)            /* CF = the old bit 0: the one locked instruction */
    jc      .Lspin\@
    TRACE_LOCK KI_TRACE_LOCK_ACQUIRED, KI_LOCK_EXECUTIVE, spins=%rdx
    RACE_POINT \name\().held
    ret
.Lspin\@:                           /* wait until the word reads 0, then retry */
    TRACE_LOCK_SPIN KI_LOCK_EXECUTIVE
    pause                           /* spin-wait hint: no memory-order machine clear on exit */
    cmpq    $0, (%rdi)              /* a plain read: no bus lock, no line stolen */
    jne     .Lspin\@
    RACE_POINT spinlock.waiter.saw_free     /* another CPU may take it first */
    jmp     .Ltry\@
.endm

/* Raise to \level, then take the lock word at (%rdi) and return the old
 * IRQL in %al. */
.macro RAISE_AND_ACQUIRE level, name
    mov     %cr8, %rax              /* the old IRQL: our return value */
    mov     $\level, %ecx
    mov     %rcx, %cr8              /* raise first: no DPC can now run here and spin on it */
    RACE_POINT \name\().raised
    TAKE_AND_RETURN \name
.endm

/* KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)   (KeAcquireSpinLock) */
    .globl  KeAcquireSpinLockRaiseToDpc
    .type   KeAcquireSpinLockRaiseToDpc, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireSpinLockRaiseToDpc:
    RAISE_AND_ACQUIRE DISPATCH_LEVEL, spinlock.acquire
    .size   KeAcquireSpinLockRaiseToDpc, . - KeAcquireSpinLockRaiseToDpc

/* KIRQL KeAcquireSpinLockRaiseToSynch(PKSPIN_LOCK SpinLock) */
    .globl  KeAcquireSpinLockRaiseToSynch
    .type   KeAcquireSpinLockRaiseToSynch, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireSpinLockRaiseToSynch:
    RAISE_AND_ACQUIRE SYNCH_LEVEL, spinlock.acquire_synch
    .size   KeAcquireSpinLockRaiseToSynch, . - KeAcquireSpinLockRaiseToSynch

/* VOID KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql) */
    .globl  KeReleaseSpinLock
    .type   KeReleaseSpinLock, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeReleaseSpinLock:
    RACE_POINT spinlock.release.held
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, KI_LOCK_EXECUTIVE
    movq    $0, (%rdi)              /* release: the store TSO keeps after the critical section */
    RACE_POINT spinlock.release.stored      /* free, IRQL still raised */
    movzbl  %sil, %esi
    mov     %rsi, %cr8              /* then lower: pending interrupts above NewIrql arrive now */
    ret
    .size   KeReleaseSpinLock, . - KeReleaseSpinLock

/* VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock), and its x64 twin
 * KefAcquireSpinLockAtDpcLevel: one routine, two exported names. */
    .globl  KeAcquireSpinLockAtDpcLevel
    .type   KeAcquireSpinLockAtDpcLevel, @function
    .globl  KefAcquireSpinLockAtDpcLevel
    .type   KefAcquireSpinLockAtDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireSpinLockAtDpcLevel:
KefAcquireSpinLockAtDpcLevel:
    TAKE_AND_RETURN spinlock.acquire_at_dpc
    .size   KeAcquireSpinLockAtDpcLevel, . - KeAcquireSpinLockAtDpcLevel
    .size   KefAcquireSpinLockAtDpcLevel, . - KefAcquireSpinLockAtDpcLevel

/* VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock), and
 * KefReleaseSpinLockFromDpcLevel. */
    .globl  KeReleaseSpinLockFromDpcLevel
    .type   KeReleaseSpinLockFromDpcLevel, @function
    .globl  KefReleaseSpinLockFromDpcLevel
    .type   KefReleaseSpinLockFromDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeReleaseSpinLockFromDpcLevel:
KefReleaseSpinLockFromDpcLevel:
    RACE_POINT spinlock.release_from_dpc.held
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, KI_LOCK_EXECUTIVE
    movq    $0, (%rdi)
    ret
    .size   KeReleaseSpinLockFromDpcLevel, . - KeReleaseSpinLockFromDpcLevel
    .size   KefReleaseSpinLockFromDpcLevel, . - KefReleaseSpinLockFromDpcLevel

/* BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) */
    .globl  KeTryToAcquireSpinLockAtDpcLevel
    .type   KeTryToAcquireSpinLockAtDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeTryToAcquireSpinLockAtDpcLevel:
    xor     %eax, %eax
    cmpq    $0, (%rdi)              /* busy: FALSE on a plain read, the holder keeps its line */
    jne     1f
    RACE_POINT spinlock.try.saw_free
    lock btsq $0, (%rdi)
    setnc   %al                     /* TRUE if bit 0 was clear: it is ours */
1:  ret
    .size   KeTryToAcquireSpinLockAtDpcLevel, . - KeTryToAcquireSpinLockAtDpcLevel

/* KIRQL KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock): in a threaded DPC
 * (KPRCB.DpcThreadActive, at PASSIVE_LEVEL) raise to DISPATCH_LEVEL;
 * anywhere else take the lock at the current IRQL without changing it, as
 * Windows does.  Returns the entry IRQL either way. */
    .globl  KeAcquireSpinLockForDpc
    .type   KeAcquireSpinLockForDpc, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeAcquireSpinLockForDpc:
    mov     %cr8, %rax
    cmpb    $0, %gs:KI_PCR_DPC_THREAD_ACTIVE
    je      1f
    mov     $DISPATCH_LEVEL, %ecx
    mov     %rcx, %cr8
1:  TAKE_AND_RETURN spinlock.acquire_for_dpc
    .size   KeAcquireSpinLockForDpc, . - KeAcquireSpinLockForDpc

/* VOID KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql):
 * lowers to OldIrql only in a threaded DPC, as the acquire raised only there. */
    .globl  KeReleaseSpinLockForDpc
    .type   KeReleaseSpinLockForDpc, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
KeReleaseSpinLockForDpc:
    RACE_POINT spinlock.release_for_dpc.held
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, KI_LOCK_EXECUTIVE
    movq    $0, (%rdi)
    RACE_POINT spinlock.release_for_dpc.stored
    cmpb    $0, %gs:KI_PCR_DPC_THREAD_ACTIVE
    je      1f
    movzbl  %sil, %esi
    mov     %rsi, %cr8
1:  ret
    .size   KeReleaseSpinLockForDpc, . - KeReleaseSpinLockForDpc

#endif /* !DBG */
