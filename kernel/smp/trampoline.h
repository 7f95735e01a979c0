/*
 * trampoline.h - the AP start-up trampoline's place and mailbox
 * (boot/trampoline.S has the contract).
 */
#ifndef KERNEL_TRAMPOLINE_H
#define KERNEL_TRAMPOLINE_H

#define KI_TRAMPOLINE_BASE 0x8000       /* STARTUP IPI vector 0x08 */
#define KI_TRAMPOLINE_SIZE 0x1000       /* the page it is copied to */

#ifndef __ASSEMBLER__
#include "ntdef.h"

extern const char KiTrampolineStart[], KiTrampolineEnd[];
extern const char KiTrampolineCr3[], KiTrampolineStack[], KiTrampolineNumber[],
    KiTrampolineEntry[];

/* Where a trampoline symbol lives once copied to KI_TRAMPOLINE_BASE. */
#define KI_TRAMPOLINE_FIELD(type, symbol) \
    ((volatile type *)(KI_TRAMPOLINE_BASE + ((symbol) - KiTrampolineStart)))
#endif

#endif
