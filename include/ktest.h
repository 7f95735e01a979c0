/*
 * ktest.h - in-kernel tests (kernel/debug/ktest.c runs them, tests/runner.py checks
 * the KTAP they print).
 *
 *     KTEST(list_insert_tail) { ... KT_EXPECT_EQ(x, 3); ... }
 *
 * registers a test by placing a record in the .ktests section: no list to
 * edit.  A negative test must end in a bug check; it runs alone in its own
 * boot (the runner asks for it by name) and announces the parameters it
 * expects, which the runner compares with the STOP line:
 *
 *     KTEST_BUGCHECK(fault_divide_error, KMODE_EXCEPTION_NOT_HANDLED) {
 *         ktest_expect_bugcheck(KT_P(STATUS_INTEGER_DIVIDE_BY_ZERO), KT_ANY, KT_P(0), KT_P(0));
 *         ...divide by zero...
 *     }
 */
#ifndef KTEST_H
#define KTEST_H

#include "ntdef.h"

struct ktest {
    const char *name;
    void (*body)(void);
    ULONG expected_bugcheck;    /* 0 for an ordinary test */
};

#define KTEST_DEFINE(test_name, code)                                         \
    static void test_name(void);                                              \
    static const struct ktest ktest_record_##test_name                        \
        __attribute__((used, section(".ktests"), aligned(8))) = {             \
            #test_name, test_name, code };                                    \
    static void test_name(void)

#define KTEST(test_name) KTEST_DEFINE(test_name, 0)
#define KTEST_BUGCHECK(test_name, code) KTEST_DEFINE(test_name, code)

struct kt_param {
    BOOLEAN any;
    ULONG_PTR value;
};
#define KT_ANY ((struct kt_param){ TRUE, 0 })
#define KT_P(v) ((struct kt_param){ FALSE, (ULONG_PTR)(v) })

/* Print the "# EXPECT STOP" line for this negative test's declared code. */
void ktest_expect_bugcheck(struct kt_param p1, struct kt_param p2, struct kt_param p3,
                           struct kt_param p4);

/* Print "# EXPECT LINE <text>": the runner then also wants a log line after
 * the STOP line that starts with the text (e.g. a nested bug check's). */
void ktest_expect_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Record a failure of the running test, with file:line and a message. */
void ktest_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Mark the running test skipped (it should return right after). */
void ktest_skip(const char *reason);
/* Skip the running test, and return from it, unless n CPUs are online. */
#define KT_REQUIRE_CPUS(n)                                                            \
    do {                                                                              \
        if (KeQueryActiveProcessorCount(NULL) < (n)) {                                \
            ktest_skip("needs " #n " CPUs");                                          \
            return;                                                                   \
        }                                                                             \
    } while (0)

/* Wait up to Microseconds for *Counter to reach Target; TRUE if it did. */
BOOLEAN ktest_wait_count(volatile ULONG *Counter, ULONG Target, ULONG Microseconds);

/* TRUE once the running test has failed. */
BOOLEAN ktest_failed(void);

#define KT_EXPECT_EQ(actual, expected)                                                \
    do {                                                                              \
        unsigned long long actual_ = (unsigned long long)(actual);                   \
        unsigned long long expected_ = (unsigned long long)(expected);               \
        if (actual_ != expected_)                                                     \
            ktest_fail(__FILE__, __LINE__, "%s: expected 0x%llx (%lld), got 0x%llx (%lld)", \
                       #actual, expected_, (long long)expected_, actual_,             \
                       (long long)actual_);                                           \
    } while (0)

#define KT_EXPECT_NE(actual, unexpected)                                              \
    do {                                                                              \
        unsigned long long actual_ = (unsigned long long)(actual);                   \
        if (actual_ == (unsigned long long)(unexpected))                              \
            ktest_fail(__FILE__, __LINE__, "%s: expected anything but 0x%llx", #actual, \
                       actual_);                                                      \
    } while (0)

#define KT_EXPECT_TRUE(cond)                                                          \
    do {                                                                              \
        if (!(cond))                                                                  \
            ktest_fail(__FILE__, __LINE__, "expected %s", #cond);                     \
    } while (0)

#define KT_EXPECT_STREQ(actual, expected)                                             \
    do {                                                                              \
        const char *actual_ = (actual), *expected_ = (expected);                      \
        if (strcmp(actual_, expected_) != 0)                                          \
            ktest_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", #actual, \
                       expected_, actual_);                                           \
    } while (0)

/* The ASSERT forms also end the test when their own check fails (and only
 * then: an earlier EXPECT failure does not make them return). */
#define KT_ASSERT_EQ(actual, expected)                                                \
    do {                                                                              \
        unsigned long long actual_a_ = (unsigned long long)(actual);                 \
        if (actual_a_ != (unsigned long long)(expected)) {                            \
            KT_EXPECT_EQ(actual_a_, expected);                                        \
            return;                                                                   \
        }                                                                             \
    } while (0)

#define KT_ASSERT_TRUE(cond)                                                          \
    do {                                                                              \
        if (!(cond)) {                                                                \
            KT_EXPECT_TRUE(cond);                                                     \
            return;                                                                   \
        }                                                                             \
    } while (0)

/* Run fn(context) on every online CPU at once, each at PASSIVE_LEVEL with
 * interrupts enabled (the caller's CPU included), and return when every one
 * has returned.  Concurrency tests build on this. */
void ktest_run_on_all_cpus(void (*fn)(void *context), void *context);

/* Run the tests whose names match pattern (a glob; "all" = every test) and
 * leave QEMU with the passed/failed status (kernel/debug/ktest.c). */
DECLSPEC_NORETURN void KiRunTests(const char *pattern);

/* The same run without leaving QEMU (the shell's `test`, kernel/shell/):
 * the tests matching Exclude are left out, negative tests are named, not
 * run; returns how many failed. */
int KiRunTestsNoExit(const char *pattern, const char *Exclude, BOOLEAN Interactive);

#endif
