/*
 * calibrate_cpuid.c - the TSC rate when the CPU (or the hypervisor) states
 * it, so that nothing has to be measured.  Preferred to the PIT because a
 * stated rate cannot be skewed by a host that deschedules the vCPU.
 *
 * In order (the first that gives a non-zero rate wins):
 *   leaf 0x15  TSC/crystal ratio EBX/EAX times the crystal rate ECX, in Hz
 *              (SDM Vol. 2A, CPUID "Time Stamp Counter and Nominal Core
 *              Crystal Clock Information Leaf"; EBX or ECX 0 = not stated);
 *   0x40000010 the hypervisor's TSC rate in kHz (EAX), when CPUID.1:ECX[31]
 *              says a hypervisor is there and its leaf 0x40000000 reaches it;
 *   leaf 0x16  the processor base frequency in MHz (EAX[15:0]) (SDM Vol. 2A,
 *              CPUID "Processor Frequency Information Leaf"), last because
 *              it is the nominal rate, which an invariant TSC runs at.
 * QEMU's TCG states none of them, so there the PIT is used.
 */
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define CPUID_1_ECX_HYPERVISOR  (1u << 31)
#define HYPERVISOR_BASE_LEAF    0x40000000u
#define HYPERVISOR_TSC_LEAF     0x40000010u

static ULONG64 from_leaf_15(void)
{
    uint32_t r[4];

    cpuid(0x15, 0, r);
    return r[0] == 0 ? 0 : (ULONG64)r[2] * r[1] / r[0];
}

static ULONG64 from_hypervisor_leaf(void)
{
    uint32_t r[4];

    cpuid(1, 0, r);
    if (!(r[2] & CPUID_1_ECX_HYPERVISOR))
        return 0;
    cpuid(HYPERVISOR_BASE_LEAF, 0, r);
    if (r[0] < HYPERVISOR_TSC_LEAF)
        return 0;
    cpuid(HYPERVISOR_TSC_LEAF, 0, r);
    return (ULONG64)r[0] * 1000;
}

static ULONG64 from_leaf_16(void)
{
    uint32_t r[4];

    cpuid(0x16, 0, r);
    return (ULONG64)(r[0] & 0xFFFF) * 1000000;
}

ULONG64 KiTscFrequencyFromCpuid(const char **Source)
{
    uint32_t r[4];
    ULONG64 hz;

    cpuid(0, 0, r);                     /* EAX: the highest basic leaf */
    ULONG max_leaf = r[0];

    if (max_leaf >= 0x15 && (hz = from_leaf_15()) != 0) {
        *Source = "CPUID 0x15";
        return hz;
    }
    if ((hz = from_hypervisor_leaf()) != 0) {
        *Source = "CPUID 0x40000010";
        return hz;
    }
    if (max_leaf >= 0x16 && (hz = from_leaf_16()) != 0) {
        *Source = "CPUID 0x16";
        return hz;
    }
    return 0;
}
