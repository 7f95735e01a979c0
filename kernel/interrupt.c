/*
 * interrupt.c - dispatch of external and software interrupts (vectors 32-255).
 *
 * Nothing connects an interrupt yet, so any that arrives is a bug: it stops
 * the machine with UNEXPECTED_KERNEL_MODE_TRAP and the vector in P1.
 */
#include "wdm.h"
#include "kernel/interrupt.h"
#include "kernel/bugcheck.h"

void KiDispatchInterrupt(PKTRAP_FRAME f)
{
    KiBugCheckWithTrapFrame(UNEXPECTED_KERNEL_MODE_TRAP, f->Vector, 0, f->Rip, 0, f);
}

BOOLEAN KiHandleNmi(PKTRAP_FRAME f)
{
    UNREFERENCED_PARAMETER(f);
    return FALSE;
}
