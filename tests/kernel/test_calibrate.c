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
#include "kernel/console/console.h"
#include "kernel/io/fwcfg.h"
#include "string.h"

static const struct {
    KI_TSC_REFERENCE Reference;
    const char *Option;                 /* calibrate=<Option> */
    const char *Name;                   /* on the boot line */
} KtReferences[] = {
    { KiTscReferenceHpet, "hpet", "HPET" },
    { KiTscReferencePmTimer, "pmtimer", "ACPI PM timer" },
    { KiTscReferencePit, "pit", "PIT" },
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

/* The reference's boot-line name if the runner's command line (read here
 * from fw_cfg, not from the option parser under test) says calibrate=X. */
static const char *requested_reference(void)
{
    static char cmdline[256];

    if (KiReadFirmwareFile("opt/ntsync/cmdline", cmdline, sizeof(cmdline)) < 0)
        return NULL;
    for (const char *p = cmdline; *p; p++) {
        if (strncmp(p, "calibrate=", 10) != 0 || (p != cmdline && p[-1] != ' '))
            continue;
        for (ULONG i = 0; i < ARRAYSIZE(KtReferences); i++) {
            size_t n = strlen(KtReferences[i].Option);
            if (strncmp(p + 10, KtReferences[i].Option, n) == 0 && (p[10 + n] == ' ' || !p[10 + n]))
                return KtReferences[i].Name;
        }
    }
    return NULL;
}

/* calibrate=X: the boot measured against X.  No option: CPUID's rate if it
 * states one, else the HPET, the first reference in the order. */
KTEST(calibrate_uses_the_requested_reference)
{
    const char *expected = requested_reference(), *cpuid;
    BOOLEAN forced = expected != NULL;

    if (!forced)
        expected = KiTscFrequencyFromCpuid(&cpuid) != 0 ? cpuid : "HPET";
    kprintf("    # expected %s, measured against %s\n", expected, KiTscCalibration.Source);
    KT_EXPECT_STREQ(KiTscCalibration.Source, expected);
    KT_EXPECT_TRUE(KiTscCalibration.Windows > 0 || !forced);
}
