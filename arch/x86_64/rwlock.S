/*
 * rwlock.S - reader/writer spin lock (EX_SPIN_LOCK) fast paths, free build.
 * The checked build has checking C versions instead (kernel/locks/rwlock.c).
 *
 * Contract with C:
 *   ABI      System V AMD64.
 *   in       %rdi = PEX_SPIN_LOCK; %sil = KIRQL OldIrql (releases).
 *   out      %al = old KIRQL (raising acquires); %eax = LOGICAL (try, convert).
 *   clobbers %rax, %rcx, %rdx, %rsi, %r8, flags.  Leaf routines: no stack
 *            use (but the trace points' while tracing is on); interrupts
 *            (RFLAGS.IF) left as found; CR8 = IRQL.
 *   memory   EX_SPIN_LOCK: 4 bytes at (%rdi).  Bit 31 (W) = a writer holds
 *            the lock, or has claimed it and waits for the readers inside to
 *            leave; bits 0..30 (R) = readers inside.  0 = free.
 *
 * Transitions (W,R):
 *   shared acquire     (0,n) -> (0,n+1)   lock cmpxchg; while W = 1, spin on
 *                                          plain reads: a waiting writer
 *                                          stops new readers (writer preference)
 *   shared release     (w,n) -> (w,n-1)   lock dec
 *   exclusive acquire  (0,0) -> (1,0)     lock cmpxchg, uncontended
 *                      (0,n) -> (1,n)     lock bts $31: claim, then wait for
 *                                          R = 0 on plain reads; a writer that
 *                                          finds W set waits for it to clear and
 *                                          races the others again: no queue, so
 *                                          writers can starve each other
 *   exclusive release  (1,0) -> (0,0)     mov $0: TSO keeps the section before it
 *   convert            (0,1) -> (1,0)     lock cmpxchg: only the caller reads,
 *                                          and no writer waits
 *
 * Race points (kernel/debug/race.h; nothing unless RACE=1) sit between each read
 * of the word and the locked instruction that acts on it, after each
 * transition, and before each release.
 *
 * Trace points (kernel/trace/trace.h, TRACE_LOCK; a 5-byte NOP each while
 * tracing is off, a jump while it is on): acquired (with the passes of the
 * wait), the wait's first pass, and release.  The tries and the conversion
 * have none, as in the checked build.
 */
#include "kernel/debug/race.h"
#include "kernel/trace/trace.h"
#include "kernel/locks/spinlock_check.h"

#define DISPATCH_LEVEL  2
#define WRITER          0x80000000
#define READERS         0x7FFFFFFF

#if !DBG

    .text

/* Enter as a reader.  Clobbers %eax, %ecx, %edx (the passes of the wait,
 * for the tracer: zeroed by an idiom the CPU drops at rename). */
.macro SHARED_ACQUIRE
    xor     %edx, %edx
    mov     (%rdi), %eax
.Ltry\@:
    test    %eax, %eax
    js      .Lwait\@                    /* W: a writer holds or waits, new readers wait */
    RACE_POINT rw.shared.saw_no_writer  /* a writer may claim W right here */
    lea     1(%rax), %ecx
    lock cmpxchg %ecx, (%rdi)           /* R + 1 if the word is still %eax; else %eax = now */
    jne     .Ltry\@
    TRACE_LOCK KI_TRACE_LOCK_ACQUIRED, KI_LOCK_SHARED, spins=%rdx
    RACE_POINT rw.shared.held
    jmp     .Ldone\@
.Lwait\@:
    TRACE_LOCK_SPIN KI_LOCK_SHARED
    pause
    mov     (%rdi), %eax                /* a plain read: the writer keeps its line */
    jmp     .Ltry\@
.Ldone\@:
.endm

/* Enter as the writer.  Clobbers %eax, %ecx, %edx (as SHARED_ACQUIRE). */
.macro EXCLUSIVE_ACQUIRE
    xor     %eax, %eax
    xor     %edx, %edx
    mov     $WRITER, %ecx
    lock cmpxchg %ecx, (%rdi)           /* free -> writer: the uncontended case */
    je      .Lheld\@
.Lclaim\@:
    test    %eax, %eax
    js      .Lwriter\@                  /* another writer holds or claimed it */
    RACE_POINT rw.exclusive.saw_no_writer
    lock btsl $31, (%rdi)               /* claim W: from now on, new readers wait */
    jc      .Lwriter\@                  /* another writer was faster */
    RACE_POINT rw.exclusive.claimed     /* readers inside leave; new ones must wait */
.Ldrain\@:
    testl   $READERS, (%rdi)            /* the readers inside leave by themselves */
    jz      .Lheld\@
    TRACE_LOCK_SPIN KI_LOCK_EXCLUSIVE
    pause
    jmp     .Ldrain\@
.Lwriter\@:
    TRACE_LOCK_SPIN KI_LOCK_EXCLUSIVE
    pause
    mov     (%rdi), %eax
    jmp     .Lclaim\@
.Lheld\@:
    TRACE_LOCK KI_TRACE_LOCK_ACQUIRED, KI_LOCK_EXCLUSIVE, spins=%rdx
.endm

/* Raise to DISPATCH_LEVEL, old IRQL in %r8. */
.macro RAISE_TO_DPC
    mov     %cr8, %r8
    mov     $DISPATCH_LEVEL, %ecx
    mov     %rcx, %cr8
.endm

/* KIRQL ExAcquireSpinLockShared(PEX_SPIN_LOCK) */
    .globl  ExAcquireSpinLockShared
    .type   ExAcquireSpinLockShared, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExAcquireSpinLockShared:
    RAISE_TO_DPC
    SHARED_ACQUIRE
    mov     %r8d, %eax
    ret
    .size   ExAcquireSpinLockShared, . - ExAcquireSpinLockShared

/* VOID ExAcquireSpinLockSharedAtDpcLevel(PEX_SPIN_LOCK) */
    .globl  ExAcquireSpinLockSharedAtDpcLevel
    .type   ExAcquireSpinLockSharedAtDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExAcquireSpinLockSharedAtDpcLevel:
    SHARED_ACQUIRE
    ret
    .size   ExAcquireSpinLockSharedAtDpcLevel, . - ExAcquireSpinLockSharedAtDpcLevel

/* VOID ExReleaseSpinLockShared(PEX_SPIN_LOCK, KIRQL OldIrql) */
    .globl  ExReleaseSpinLockShared
    .type   ExReleaseSpinLockShared, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExReleaseSpinLockShared:
    RACE_POINT rw.release_shared.held
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, KI_LOCK_SHARED
    lock decl (%rdi)                    /* R - 1: locked, readers leave concurrently */
    movzbl  %sil, %esi
    mov     %rsi, %cr8
    ret
    .size   ExReleaseSpinLockShared, . - ExReleaseSpinLockShared

/* VOID ExReleaseSpinLockSharedFromDpcLevel(PEX_SPIN_LOCK) */
    .globl  ExReleaseSpinLockSharedFromDpcLevel
    .type   ExReleaseSpinLockSharedFromDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExReleaseSpinLockSharedFromDpcLevel:
    RACE_POINT rw.release_shared_from_dpc.held
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, KI_LOCK_SHARED
    lock decl (%rdi)
    ret
    .size   ExReleaseSpinLockSharedFromDpcLevel, . - ExReleaseSpinLockSharedFromDpcLevel

/* KIRQL ExAcquireSpinLockExclusive(PEX_SPIN_LOCK) */
    .globl  ExAcquireSpinLockExclusive
    .type   ExAcquireSpinLockExclusive, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExAcquireSpinLockExclusive:
    RAISE_TO_DPC
    EXCLUSIVE_ACQUIRE
    mov     %r8d, %eax
    ret
    .size   ExAcquireSpinLockExclusive, . - ExAcquireSpinLockExclusive

/* VOID ExAcquireSpinLockExclusiveAtDpcLevel(PEX_SPIN_LOCK) */
    .globl  ExAcquireSpinLockExclusiveAtDpcLevel
    .type   ExAcquireSpinLockExclusiveAtDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExAcquireSpinLockExclusiveAtDpcLevel:
    EXCLUSIVE_ACQUIRE
    ret
    .size   ExAcquireSpinLockExclusiveAtDpcLevel, . - ExAcquireSpinLockExclusiveAtDpcLevel

/* VOID ExReleaseSpinLockExclusive(PEX_SPIN_LOCK, KIRQL OldIrql) */
    .globl  ExReleaseSpinLockExclusive
    .type   ExReleaseSpinLockExclusive, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExReleaseSpinLockExclusive:
    RACE_POINT rw.release_exclusive.held
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, KI_LOCK_EXCLUSIVE
    movl    $0, (%rdi)                  /* (1,0) -> (0,0): only the writer writes now */
    movzbl  %sil, %esi
    mov     %rsi, %cr8
    ret
    .size   ExReleaseSpinLockExclusive, . - ExReleaseSpinLockExclusive

/* VOID ExReleaseSpinLockExclusiveFromDpcLevel(PEX_SPIN_LOCK) */
    .globl  ExReleaseSpinLockExclusiveFromDpcLevel
    .type   ExReleaseSpinLockExclusiveFromDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExReleaseSpinLockExclusiveFromDpcLevel:
    RACE_POINT rw.release_exclusive_from_dpc.held
    TRACE_LOCK KI_TRACE_LOCK_RELEASE, KI_LOCK_EXCLUSIVE
    movl    $0, (%rdi)
    ret
    .size   ExReleaseSpinLockExclusiveFromDpcLevel, . - ExReleaseSpinLockExclusiveFromDpcLevel

/* LOGICAL ExTryConvertSharedSpinLockExclusive(PEX_SPIN_LOCK) */
    .globl  ExTryConvertSharedSpinLockExclusive
    .type   ExTryConvertSharedSpinLockExclusive, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExTryConvertSharedSpinLockExclusive:
    mov     $1, %eax
    cmpl    %eax, (%rdi)                /* another reader, or a waiting writer: no */
    jne     1f
    RACE_POINT rw.convert.saw_alone
    mov     $WRITER, %ecx
    lock cmpxchg %ecx, (%rdi)           /* (0,1) -> (1,0) */
    jne     1f
    mov     $1, %eax
    ret
1:  xor     %eax, %eax
    ret
    .size   ExTryConvertSharedSpinLockExclusive, . - ExTryConvertSharedSpinLockExclusive

/* LOGICAL ExTryAcquireSpinLockSharedAtDpcLevel(PEX_SPIN_LOCK): FALSE only if
 * a writer holds or waits (not because another reader raced us). */
    .globl  ExTryAcquireSpinLockSharedAtDpcLevel
    .type   ExTryAcquireSpinLockSharedAtDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExTryAcquireSpinLockSharedAtDpcLevel:
    mov     (%rdi), %eax
1:  test    %eax, %eax
    js      2f
    RACE_POINT rw.try_shared.saw_no_writer
    lea     1(%rax), %ecx
    lock cmpxchg %ecx, (%rdi)
    jne     1b
    mov     $1, %eax
    ret
2:  xor     %eax, %eax
    ret
    .size   ExTryAcquireSpinLockSharedAtDpcLevel, . - ExTryAcquireSpinLockSharedAtDpcLevel

/* LOGICAL ExTryAcquireSpinLockExclusiveAtDpcLevel(PEX_SPIN_LOCK) */
    .globl  ExTryAcquireSpinLockExclusiveAtDpcLevel
    .type   ExTryAcquireSpinLockExclusiveAtDpcLevel, @function
    .p2align 6                          /* a cache line: no fast path straddles a line or a page */
ExTryAcquireSpinLockExclusiveAtDpcLevel:
    xor     %eax, %eax
    cmpl    $0, (%rdi)                  /* busy: fail on a plain read */
    jne     1f
    RACE_POINT rw.try_exclusive.saw_free
    mov     $WRITER, %ecx
    lock cmpxchg %ecx, (%rdi)           /* (0,0) -> (1,0); on failure EAX = the word */
    sete    %al
    movzbl  %al, %eax                   /* LOGICAL is 32 bits: drop the failed word */
1:  ret
    .size   ExTryAcquireSpinLockExclusiveAtDpcLevel, . - ExTryAcquireSpinLockExclusiveAtDpcLevel

#endif /* !DBG */
