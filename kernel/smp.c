/*
 * smp.c - the set of online processors.
 */
#include "kernel/smp.h"

static volatile ULONG KiProcessorsOnline = 1;   /* the boot CPU */

ULONG KiActiveProcessorCount(void)
{
    return KiProcessorsOnline;
}

void KiFreezeOtherProcessors(void)
{
    if (KiActiveProcessorCount() == 1)
        return;                         /* nobody else is running */
}
