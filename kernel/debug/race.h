/*
 * race.h - race points: named places in the lock, DPC, IPI and interrupt
 * paths where the interleaving of CPUs decides right from wrong, and where a
 * RACE=1 build can be told to wait (kernel/debug/race.c, docs/testing.md).
 *
 *     KI_RACE_POINT("mcs.acquire.linked");            C
 *     RACE_POINT mcs.acquire.linked                   assembly (.S files)
 *
 * A race window is often a few instructions wide, and TCG rarely switches
 * vCPUs inside one.  With the `race=SEED` boot option a RACE=1 kernel waits a
 * pseudo-random time at every point (none most of the time, sometimes up to
 * tens of microseconds), drawn from a per-CPU generator seeded from SEED and
 * the CPU number, so another CPU gets to run inside the window; the same seed
 * replays the same sequence of waits on each CPU.
 *
 * Builds without RACE=1 (the default checked and free builds, and so `make
 * bench`) compile every point to nothing: not an instruction is added.
 */
#ifndef KERNEL_RACE_H
#define KERNEL_RACE_H

#ifndef KI_RACE
#define KI_RACE 0
#endif

#define KI_RACE_MAX_CPUS 64     /* MAXIMUM_PROCESSORS (kernel/smp/pcr.h) */

#ifndef __ASSEMBLER__
#include "ntdef.h"

/* One point, in the .kraces section (linker.ld): its name and how often each
 * CPU passed it.  Each CPU writes only its own slot, with a plain add: a
 * locked add here would be a full fence at every point and could hide the
 * very reorderings the points are there to expose. */
typedef struct _KI_RACE_SITE {
    const char *Name;
    ULONG Hits[KI_RACE_MAX_CPUS];
} KI_RACE_SITE;
C_ASSERT(sizeof(KI_RACE_SITE) == 8 + 4 * KI_RACE_MAX_CPUS);    /* the .S layout below */

/* The seed of `race=N`: decimal or 0x hex, not 0, at most 2^64 - 1; FALSE
 * for anything else. */
BOOLEAN KiRaceParseSeed(const char *Value, ULONG64 *Seed);

/* TRUE once `race=` switched the points on (read by every point). */
extern volatile BOOLEAN KiRaceEnabled;

/* Count the pass and maybe wait.  Any IRQL, interrupts on or off; takes no
 * lock and never prints. */
VOID KiRacePoint(KI_RACE_SITE *Site);

/* The APIC latency model (RACE builds with race points on): a self-IPI for a
 * software interrupt may be held back for a few IRR reads, as real hardware
 * takes a while to post it (arch/x86_64/apic.c).  TRUE if Vector was held. */
BOOLEAN KiRaceHoldSelfIpi(ULONG Vector);
/* An IRR read of Vector: counts down a held self-IPI; TRUE when it is time to
 * send it for real. */
BOOLEAN KiRaceReleaseSelfIpi(ULONG Vector);
/* Any interrupt entry on this CPU: a held self-IPI is sent now (the "later"
 * of real hardware is bounded). */
ULONG KiRaceTakeHeldSelfIpi(VOID);

/* The KTAP summary of a test run: seed, points, passes, waits, and the
 * points no test reached (kernel/debug/ktest.c calls it). */
VOID KiRaceReport(VOID);

#if KI_RACE
/* A block-scope static per expansion: every point has its own record. */
#define KI_RACE_POINT(name)                                                      \
    do {                                                                         \
        static KI_RACE_SITE site_                                                \
            __attribute__((used, section(".kraces"), aligned(8))) = { name, { 0 } }; \
        if (KiRaceEnabled)                                                       \
            KiRacePoint(&site_);                                                 \
    } while (0)
#else
#define KI_RACE_POINT(name) do { } while (0)
#endif

#else /* __ASSEMBLER__ */

#include "arch/x86_64/caller_saved.h"

/*
 * RACE_POINT name: the same for assembly.  Contract: every register and the
 * flags are preserved (the fast paths keep values in caller-saved registers
 * and sometimes flags across a point); uses 88 bytes of stack below RSP (the
 * kernel has no red zone: -mno-red-zone).  The call may be made with RSP
 * only 8-aligned: the kernel is built without SSE, so nothing in it needs
 * the ABI's 16.
 */
#if KI_RACE
.macro RACE_POINT name
    .pushsection .kraces, "aw"
    .balign 8
.Lrace_site\@:
    .quad   .Lrace_name\@
    .fill   KI_RACE_MAX_CPUS, 4, 0
    .popsection
    .pushsection .rodata
.Lrace_name\@:
    .asciz  "\name"
    .popsection
    pushfq
    cmpb    $0, KiRaceEnabled(%rip)
    je      .Lrace_off\@
    PUSH_CALLER_SAVED
    lea     .Lrace_site\@(%rip), %rdi
    call    KiRacePoint
    POP_CALLER_SAVED
.Lrace_off\@:
    popfq
.endm
#else
.macro RACE_POINT name
.endm
#endif

#endif /* __ASSEMBLER__ */
#endif
