/*
 * pcr.c - per-processor blocks.  One KPCR per possible CPU, statically; a CPU
 * installs its own with KiInitializePcr before anything reads gs:0.
 */
#include "kernel/smp/pcr.h"
#include "arch/x86_64/cpu.h"

KPCR KiProcessorBlock[MAXIMUM_PROCESSORS] __attribute__((aligned(64)));

void KiInitializePcr(ULONG Number, ULONG ApicId)
{
    PKPCR pcr = &KiProcessorBlock[Number];

    pcr->Self = pcr;
    pcr->CurrentPrcb = &pcr->Prcb;
    pcr->Prcb.Number = Number;
    pcr->Prcb.ApicId = ApicId;
    KiInitializeLockQueues(&pcr->Prcb);     /* numbered queued locks */
    wrmsr(MSR_GS_BASE, (uint64_t)pcr);
}
