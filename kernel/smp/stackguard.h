/*
 * stackguard.h - a 4 KiB unmapped guard page below every kernel stack
 * (kernel/smp/stackguard.c, docs/boot.md "Guard pages").
 *
 * Each stack is declared with its guard right below it (stacks grow down):
 * running off the bottom touches the guard, the #PF cannot push its frame
 * there either, and the CPU takes a double fault on its own IST stack (SDM
 * Vol. 3A 6.14.5, and the #DF entry in 6.15): STOP 0x7F with P1 = 8, and
 * the screen names the stack whose guard CR2 is in.
 */
#ifndef KERNEL_STACKGUARD_H
#define KERNEL_STACKGUARD_H

#include "ntdef.h"

#define KI_GUARD_PAGE_SIZE  4096

/* A stack of Size bytes (a multiple of 4 KiB) with its guard page below. */
#define KI_GUARDED_STACK(Size)                                                \
    struct {                                                                  \
        UCHAR Guard[KI_GUARD_PAGE_SIZE];                                      \
        UCHAR Stack[Size];                                                    \
    } __attribute__((aligned(KI_GUARD_PAGE_SIZE)))

/* The guard pages, by the files that own the stacks. */
extern UCHAR KiBootStackGuard[KI_GUARD_PAGE_SIZE];     /* boot/entry.S */
extern UCHAR KiBootStack[];                             /* boot/entry.S, right above it */
PVOID KiProcessorStackGuard(ULONG Number);             /* kernel/smp/smp.c */
PVOID KiDpcStackGuard(ULONG Number);                   /* kernel/dpc/dpc_queue.c */
PVOID KiIstStackGuard(ULONG Number, ULONG Ist);        /* arch/x86_64/gdt.c, Ist 1-based */

/* Unmap every guard page, splitting 2 MiB pages as needed.  On the boot CPU,
 * before the other CPUs start (they would need the TLB shootdown we skip). */
VOID KiInitializeStackGuards(VOID);

/* The stack whose guard page holds Address ("DPC stack", ...) and whose it
 * is (*Owner "CPU" or "thread slot", *Number which); NULL if none does. */
const char *KiFindStackGuard(ULONG_PTR Address, const char **Owner, PULONG Number,
                             PULONG_PTR GuardPage);
PVOID KiThreadStackGuard(ULONG Slot);                  /* kernel/thread/thread.c */

#endif
