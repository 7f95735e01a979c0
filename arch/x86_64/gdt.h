/*
 * gdt.h - segment selectors and the per-CPU descriptor tables (gdt.c, idt.c).
 */
#ifndef ARCH_X86_64_GDT_H
#define ARCH_X86_64_GDT_H

#include "ntdef.h"
#include "kernel/smp/pcr.h"

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS         0x18            /* two entries: 0x18 and 0x20 */
#define GDT_ENTRIES     5

/* IST slot numbers as the IDT encodes them (1-based). */
#define IST_DOUBLE_FAULT    1
#define IST_NMI             2
#define IST_MACHINE_CHECK   3
#define IST_COUNT           3

void KiInitializeGdt(ULONG Number);     /* this CPU's GDT + TSS, loaded */
void KiInitializeIdt(void);             /* the shared IDT, once, on the boot CPU */
void KiLoadIdt(void);                   /* every CPU */

#endif
