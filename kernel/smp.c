/*
 * smp.c - the set of online processors.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/smp.h"

static volatile KAFFINITY KiActiveProcessorMask = 1;   /* the boot CPU */
static volatile ULONG KiActiveProcessorTotal = 1;

ULONG KiActiveProcessorCount(void)
{
    return KiActiveProcessorTotal;
}

KAFFINITY KiActiveProcessorSet(void)
{
    return KiActiveProcessorMask;
}

void KiFreezeOtherProcessors(void)
{
}

void ktest_run_on_all_cpus(void (*fn)(void *context), void *context)
{
    fn(context);
}
