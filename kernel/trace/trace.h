/*
 * trace.h - the per-CPU event tracer: trace points in the IRQL, interrupt,
 * IPI, DPC, spin lock and scheduler paths, each CPU writing fixed 32-byte
 * records with a TSC stamp into its own ring, dumped at the end of a test
 * run or at a bug check through QEMU's debug console port
 * (kernel/trace/trace_dump.c), and turned into a timeline by
 * scripts/trace.py (docs/tracing.md).
 *
 *     KI_TRACE(KI_TRACE_DPC, KI_TRACE_DPC_START, routine, dpc, importance);
 *
 * Off by default: every point is one load and one well-predicted branch on
 * KiTraceMask, which `trace=GROUP,...` (or `trace=all`) sets once, before the
 * tests start.  Lock events come from the checked build's C lock routines and
 * from the free build's assembly fast paths (TRACE_LOCK, below).
 */
#ifndef KERNEL_TRACE_H
#define KERNEL_TRACE_H

/* Groups, the bits of KiTraceMask (the names of `trace=`). */
#define KI_TRACE_IRQL           0x01    /* "irql": raise and lower */
#define KI_TRACE_INTERRUPTS     0x02    /* "interrupts": entry, exit, software interrupt requests */
#define KI_TRACE_IPI            0x04    /* "ipi": sent and received */
#define KI_TRACE_DPC            0x08    /* "dpc": insert, start, end */
#define KI_TRACE_LOCKS          0x10    /* "locks": acquire-begin, acquired, release, hand-off */
#define KI_TRACE_BUGCHECK       0x20    /* always with any other: the STOP itself */
#define KI_TRACE_THREADS        0x40    /* "threads": context switch, made ready, wait that blocks */

/* Record types: the host tool's table (scripts/ntrace/parse.py) must match.
 * Plain defines: the assembly fast paths use them too. */
#define KI_TRACE_IRQL_RAISE         1   /* A = old, B = new */
#define KI_TRACE_IRQL_LOWER         2   /* A = old, B = new */
#define KI_TRACE_INTERRUPT_ENTRY    3   /* A = vector, B = interrupted IRQL */
#define KI_TRACE_INTERRUPT_EXIT     4   /* A = vector */
#define KI_TRACE_SOFTWARE_INTERRUPT 5   /* A = IRQL requested, B = target CPU */
#define KI_TRACE_IPI_SEND           6   /* A = request bits, B = target set */
#define KI_TRACE_IPI_RECEIVE        7   /* A = request bits taken */
#define KI_TRACE_DPC_INSERT         8   /* A = routine, B = KDPC, C = (target CPU << 8) | importance */
#define KI_TRACE_DPC_START          9   /* A = routine, B = KDPC */
#define KI_TRACE_DPC_END            10  /* A = routine, B = KDPC */
#define KI_TRACE_LOCK_BEGIN         11  /* A = lock, C = kind (KI_LOCK_*) */
#define KI_TRACE_LOCK_ACQUIRED      12  /* A = lock, B = spins (0: uncontended), C = kind */
#define KI_TRACE_LOCK_RELEASE       13  /* A = lock, C = kind */
#define KI_TRACE_LOCK_HANDOFF       14  /* A = lock, C = kind: an MCS owner passed it to its successor */
#define KI_TRACE_BUGCHECK_EVENT     15  /* A = code, B = P1, C = P2 */
/* Thread ids are Cid.UniqueThread (0: an idle thread), 32 bits in a record. */
#define KI_TRACE_THREAD_SWITCH      16  /* A = new's start routine, B = (old's State << 32) | old id, C = new id */
#define KI_TRACE_THREAD_READY       17  /* A = thread id, B = target CPU, C = priority */
#define KI_TRACE_THREAD_WAIT        18  /* A = thread id, B = first object (0: a delay), C = object count */

#ifndef __ASSEMBLER__
#include "ntdef.h"

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

/* TRACE_LOCK's call: KiTraceRecord, and for an ACQUIRED with no spins the
 * BEGIN before it (the fast paths test once for an uncontended acquire). */
VOID KiTraceLockEvent(USHORT Type, ULONG64 Lock, ULONG64 Spins, ULONG Kind);

/* A thread's id in the threads group's records (kernel/thread/): its
 * Cid.UniqueThread; 0 for an idle thread (the only kind not a system thread). */
#define KI_TRACE_THREAD_ID(Thread)                                              \
    ((Thread)->SystemThread ? (ULONG)(ULONG_PTR)((PETHREAD)(Thread))->Cid.UniqueThread : 0)

#define KI_TRACE(group, type, a, b, c)                                          \
    do {                                                                        \
        if (__builtin_expect(KiTraceMask & (group), 0))                         \
            KiTraceRecord((type), (ULONG64)(a), (ULONG64)(b), (ULONG)(c));      \
    } while (0)

/* Split the ring pool among the CPUs online and switch on the groups
 * `trace=` asked for (before the tests; the CPUs are all up). */
VOID KiTraceStart(VOID);

/* Tracing off (Groups 0: the rings kept), or fresh rings and Groups on,
 * which is only safe while tracing is off: nobody writes a ring then.
 * KiTraceStart is this for `trace=`; `make bench` switches the locks group
 * on and off again to measure what it costs (kernel/debug/kbench.c). */
VOID KiTraceEnable(ULONG Groups);

/* Stop recording and write every ring to the debug console port (end of
 * tests, or a bug check with the other CPUs frozen).  Nothing if off. */
VOID KiTraceDump(VOID);

#else /* __ASSEMBLER__ */

#include "arch/x86_64/caller_saved.h"

/*
 * The lock trace points of the free build's fast paths
 * (arch/x86_64/spinlock.S, queuedlock.S, rwlock.S):
 *
 *   TRACE_LOCK type, kind [, lock, spins]   one record: A = lock (%rdi unless
 *                                           given), B = spins ($0 unless given)
 *   TRACE_LOCK_SPIN kind [, lock]           one pass of a wait loop: counted in
 *                                           %edx (which the path zeroed), and
 *                                           the wait's BEGIN on the first
 *
 * Off, a point is one 5-byte NOP: not even a test and a branch, because
 * the fast paths are what `make bench` measures.  KiTraceEnable rewrites
 * every such NOP into a `jmp` to the point's out-of-line code (in
 * .text.unlikely: the register saves and the call) when the locks group is
 * switched on, and back when it is switched off: each point's address and
 * target are in the .ktrace_sites section (linker.ld), the way Linux's
 * static keys and jump labels work.  Contract: every register and the flags
 * are preserved; on, it uses 80 bytes of stack below RSP and calls with RSP
 * only 8-aligned (as RACE_POINT does, kernel/debug/race.h: no SSE in the
 * kernel).  \lock must not be %rsi, which it is copied to first.
 */
.macro TRACE_LOCK type, kind, lock=%rdi, spins=$0
.Ltrace_site\@:
    .byte   0x0F, 0x1F, 0x44, 0x00, 0x00    /* nopl 0(%rax,%rax): becomes jmp .Ltrace_on */
.Ltrace_back\@:
    .pushsection .ktrace_sites, "a"
    .balign 8
    .quad   .Ltrace_site\@, .Ltrace_on\@
    .popsection
    .pushsection .text.unlikely, "ax"
.Ltrace_on\@:
    pushfq                              /* the site is a NOP: the flags may be live */
    PUSH_CALLER_SAVED
    mov     \lock, %rsi                 /* before %rdi and %rdx are reused */
    mov     \spins, %rdx
    mov     $\kind, %ecx
    mov     $\type, %edi
    call    KiTraceLockEvent
    POP_CALLER_SAVED
    popfq
    jmp     .Ltrace_back\@
    .popsection
.endm

.macro TRACE_LOCK_SPIN kind, lock=%rdi
    inc     %edx
    cmp     $1, %edx
    jne     .Ltrace_counted\@
    TRACE_LOCK KI_TRACE_LOCK_BEGIN, \kind, \lock
.Ltrace_counted\@:
.endm

#endif /* __ASSEMBLER__ */
#endif
