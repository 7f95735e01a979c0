/*
 * ktest.c - run the in-kernel tests and print KTAP version 1
 * (Linux Documentation/dev-tools/ktap.rst): the plan "1..N" first, then
 * "ok N name" / "not ok N name", "# SKIP reason", diagnostics as "# " lines.
 *
 * A glob run executes the ordinary tests and lists each matching negative
 * test as "# negative NAME STOP 0xCODE" for the runner, which boots each one
 * alone by its exact name: a negative test ends the machine with a bug check.
 */
#include "wdm.h"
#include "ktest.h"
#include "arch/x86_64/cpu.h"
#include "glob.h"
#include "string.h"
#include "printf.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/console/console.h"
#include "kernel/debug/race.h"
#include "kernel/locks/lockorder.h"

extern const struct ktest __ktests_start[], __ktests_end[];

static const struct ktest *KiCurrentTest;
static BOOLEAN KiTestFailed;
static const char *KiTestSkipReason;

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
    char message[256];
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    kprintf("    # %s:%d: %s\n", file, line, message);
    KiTestFailed = TRUE;
}

BOOLEAN ktest_failed(void)
{
    return KiTestFailed;
}

void ktest_skip(const char *reason)
{
    KiTestSkipReason = reason;
}

BOOLEAN ktest_wait_count(volatile ULONG *Counter, ULONG Target, ULONG Microseconds)
{
    for (ULONG waited = 0; *Counter < Target; waited += 10) {
        if (waited >= Microseconds)
            return FALSE;
        KeStallExecutionProcessor(10);
    }
    return TRUE;
}

static void format_param(char *buf, size_t size, struct kt_param p)
{
    if (p.any)
        ksnprintf(buf, size, "*");
    else
        ksnprintf(buf, size, "0x%016llX", (unsigned long long)p.value);
}

void ktest_expect_bugcheck(struct kt_param p1, struct kt_param p2, struct kt_param p3,
                           struct kt_param p4)
{
    char s[4][24];

    format_param(s[0], sizeof(s[0]), p1);
    format_param(s[1], sizeof(s[1]), p2);
    format_param(s[2], sizeof(s[2]), p3);
    format_param(s[3], sizeof(s[3]), p4);
    kprintf("# EXPECT STOP 0x%08X P1=%s P2=%s P3=%s P4=%s\n",
            KiCurrentTest ? KiCurrentTest->expected_bugcheck : 0, s[0], s[1], s[2], s[3]);
}

void ktest_expect_line(const char *fmt, ...)
{
    char text[200];
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    kprintf("# EXPECT LINE %s\n", text);
}

/* "all", or globs separated by commas: test=spinlock_rw_*,dpc_flush_* */
static BOOLEAN selected(const struct ktest *t, const char *pattern)
{
    return glob_match_list(pattern, t->name);
}

/* Every test starts at PASSIVE_LEVEL with interrupts enabled and must leave
 * the CPU that way; a test that does not fails here, and the next one still
 * gets a clean CPU. */
static void check_left_clean(const struct ktest *t)
{
    KIRQL irql = KeGetCurrentIrql();

    if (irql != PASSIVE_LEVEL) {
        ktest_fail(__FILE__, __LINE__, "%s returned at IRQL %u, not PASSIVE_LEVEL", t->name, irql);
        KeLowerIrql(PASSIVE_LEVEL);
    }
    if (!(read_rflags() & RFLAGS_IF)) {
        ktest_fail(__FILE__, __LINE__, "%s returned with interrupts disabled", t->name);
        sti();
    }
}

/* Run one test; TRUE if it passed or was skipped. */
static BOOLEAN run_one(const struct ktest *t, int number)
{
    KiCurrentTest = t;
    KiTestFailed = FALSE;
    KiTestSkipReason = NULL;
    t->body();
    KiCurrentTest = NULL;
    check_left_clean(t);

    if (KiTestSkipReason && !KiTestFailed) {
        kprintf("ok %d %s # SKIP %s\n", number, t->name, KiTestSkipReason);
        return TRUE;
    }
    kprintf("%s %d %s\n", KiTestFailed ? "not ok" : "ok", number, t->name);
    return !KiTestFailed;
}

static DECLSPEC_NORETURN void run_negative(const struct ktest *t)
{
    kprintf("KTAP version 1\n1..1\n");
    KiCurrentTest = t;
    t->body();
    /* Still here: the check under test did not fire. */
    kprintf("    # %s returned: expected STOP 0x%08X, got no bug check\n", t->name,
            t->expected_bugcheck);
    kprintf("not ok 1 %s\n", t->name);
    KiExitMachine(KI_EXIT_TESTS_FAILED);
}

/* The run itself: the plan, the negative tests listed, the ordinary ones
 * run; the number that failed.  Exclude (a glob list, or NULL) names tests
 * left out, with a line saying so; Interactive (the shell's `test`) says how
 * to boot a negative test instead of listing it for the runner. */
int KiRunTestsNoExit(const char *pattern, const char *Exclude, BOOLEAN Interactive)
{
    int planned = 0, number = 0, failed = 0;

    for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
        planned += !t->expected_bugcheck && selected(t, pattern) &&
                   !(Exclude && glob_match_list(Exclude, t->name));
    kprintf("KTAP version 1\n1..%d\n", planned);
    for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
        if (t->expected_bugcheck && selected(t, pattern))
            kprintf(Interactive ? "# %s ends in STOP 0x%08X: not run here; boot it alone: "
                                  "make run ARGS=\"test=%s\"\n"
                                : "# negative %s STOP 0x%08X\n",
                    t->name, t->expected_bugcheck, t->name);
    for (const struct ktest *t = __ktests_start; t < __ktests_end; t++) {
        if (t->expected_bugcheck || !selected(t, pattern))
            continue;
        if (Exclude && glob_match_list(Exclude, t->name))
            kprintf("# %s: left out here\n", t->name);
        else
            failed += !run_one(t, ++number);
    }

    if (KI_RACE)
        KiRaceReport();
    if (DBG)
        KiLockOrderAtEnd();             /* lockorder=dump */
    kprintf("# %d tests, %d failed\n", number, failed);
    return failed;
}

void KiRunTests(const char *pattern)
{
    for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
        if (t->expected_bugcheck && strcmp(pattern, t->name) == 0)
            run_negative(t);
    int failed = KiRunTestsNoExit(pattern, NULL, FALSE);
    KiExitMachine(failed ? KI_EXIT_TESTS_FAILED : KI_EXIT_TESTS_PASSED);
}
