/*
 * test_calibrate.c - the TSC measured against each reference the machine
 * has (arch/x86_64/calibrate.c): QEMU's pc machine has all three (HPET, ACPI
 * PM timer, PIT), and each must give the same rate within 1 %; and the boot
 * option calibrate= must choose the reference the boot line names.  The
 * runner boots these once per calibrate= value (Makefile: test-calibrate).
 */
#include "wdm.h"
#include "ktest.h"
#include "arch/x86_64/calibrate.h"
#include "kernel/console.h"
#include "string.h"

static const struct {
    KI_TSC_REFERENCE Reference;
    const char *Name;
} KtReferences[] = {
    { KiTscReferenceHpet, "HPET" },
    { KiTscReferencePmTimer, "ACPI PM timer" },
    { KiTscReferencePit, "PIT" },
};

/* |a - b| <= 1 % of b */
static BOOLEAN within_1_percent(ULONG64 a, ULONG64 b)
{
    return (a > b ? a - b : b - a) * 100 <= b;
}

KTEST(calibrate_references_agree_within_1_percent)
{
    ULONG64 hz[ARRAYSIZE(KtReferences)];
    KI_CALIBRATION_SOURCE how;

    for (ULONG i = 0; i < ARRAYSIZE(KtReferences); i++) {
        hz[i] = KiMeasureTscFrequency(KtReferences[i].Reference, &how);
        kprintf("    # %s: TSC %llu kHz, best of %u windows%s\n", KtReferences[i].Name,
                (unsigned long long)(hz[i] / 1000), how.Windows,
                how.Agreed ? "" : ", best two DISAGREE");
        KT_EXPECT_NE(hz[i], 0);
        KT_EXPECT_STREQ(how.Source, KtReferences[i].Name);
    }
    for (ULONG i = 0; i < ARRAYSIZE(KtReferences); i++) {
        if (!within_1_percent(hz[i], KiTscFrequency))
            ktest_fail(__FILE__, __LINE__, "%s: %llu Hz, the boot's rate %llu Hz",
                       KtReferences[i].Name, (unsigned long long)hz[i],
                       (unsigned long long)KiTscFrequency);
    }
}

/* calibrate=X: the boot measured against X.  No option: CPUID's rate if it
 * states one, else the HPET, the first reference in the order. */
KTEST(calibrate_uses_the_requested_reference)
{
    const char *expected = "HPET", *cpuid;

    for (ULONG i = 0; i < ARRAYSIZE(KtReferences); i++)
        if (KtReferences[i].Reference == KiTscReferenceRequested)
            expected = KtReferences[i].Name;
    if (KiTscReferenceRequested == KiTscReferenceAuto && KiTscFrequencyFromCpuid(&cpuid) != 0)
        expected = cpuid;
    kprintf("    # calibrate=%u: %s\n", KiTscReferenceRequested, KiTscCalibration.Source);
    KT_EXPECT_STREQ(KiTscCalibration.Source, expected);
    KT_EXPECT_TRUE(KiTscCalibration.Windows > 0 || KiTscReferenceRequested == KiTscReferenceAuto);
}
