/*
 * processor.c - the WDK's processor-number routines, over the per-CPU blocks
 * (kernel/smp/pcr.h) and the online set kept by kernel/smp/smp.c.
 */
#include "wdm.h"
#include "kernel/smp/pcr.h"
#include "kernel/smp/smp.h"

ULONG NTAPI KeGetCurrentProcessorNumber(VOID)
{
    return KeGetCurrentPrcb()->Number;
}

ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    ULONG number = KeGetCurrentPrcb()->Number;

    if (ProcNumber) {
        ProcNumber->Group = 0;
        ProcNumber->Number = (UCHAR)number;
        ProcNumber->Reserved = 0;
    }
    return number;
}

ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
    if (ActiveProcessors)
        *ActiveProcessors = KiActiveProcessorSet();
    return KiActiveProcessorCount();
}

ULONG NTAPI KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
    return GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS ? KiActiveProcessorCount() : 0;
}

KAFFINITY NTAPI KeQueryActiveProcessors(VOID)
{
    return KiActiveProcessorSet();
}
