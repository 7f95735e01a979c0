/*
 * test_options.c - bad command-line input gets a clear message and changes
 * nothing (kernel/options.c, the race= seed in kernel/debug/race.c).
 */
#include "wdm.h"
#include "ktest.h"
#include "string.h"
#include "kernel/options.h"
#include "kernel/debug/race.h"

/* An unknown option and a word too long to keep whole are both reported
 * (on the console) and counted; neither is applied. */
KTEST(options_unknown_and_overlong_words_are_refused)
{
    static char overlong[KI_MAX_OPTION + 16];

    KT_EXPECT_EQ(KiApplyOptions("cpu_prefix=0"), 0);
    KT_EXPECT_EQ(KiApplyOptions("no_such_option=1"), 1);
    memset(overlong, 'x', sizeof(overlong) - 1);
    memcpy(overlong, "cpu_prefix=", 11);            /* a real option, cut short it would apply */
    KT_EXPECT_EQ(KiApplyOptions(overlong), 1);
    overlong[KI_MAX_OPTION - 1] = '\0';             /* one character shorter: fits, applies */
    KT_EXPECT_EQ(KiApplyOptions(overlong), 0);
    KT_EXPECT_EQ(KiApplyOptions("cpu_prefix=0"), 0);
}

KTEST(options_race_seed_parsing)
{
    static const struct {
        const char *Text;
        BOOLEAN Ok;
        ULONG64 Seed;
    } cases[] = {
        { "42", TRUE, 42 },
        { "0x2A", TRUE, 42 },
        { "0X2a", TRUE, 42 },
        { "18446744073709551615", TRUE, ~0ull },
        { "0xFFFFFFFFFFFFFFFF", TRUE, ~0ull },
        { "18446744073709551616", FALSE, 0 },       /* 2^64: too big */
        { "0x10000000000000000", FALSE, 0 },
        { "0", FALSE, 0 },                          /* 0 would mean "off" */
        { "", FALSE, 0 },
        { "0x", FALSE, 0 },
        { "12a", FALSE, 0 },
        { "-1", FALSE, 0 },
        { "0x1g", FALSE, 0 },
    };

    for (ULONG i = 0; i < ARRAYSIZE(cases); i++) {
        ULONG64 seed = 0;
        BOOLEAN ok = KiRaceParseSeed(cases[i].Text, &seed);
        if (ok != cases[i].Ok || (ok && seed != cases[i].Seed))
            ktest_fail(__FILE__, __LINE__, "race=%s: got %s 0x%llx", cases[i].Text,
                       ok ? "TRUE" : "FALSE", (unsigned long long)seed);
    }
}
