/*
 * harness.h - bookkeeping shared by the host unit tests.
 *
 * Every check counts as one test. A failing check prints one line,
 * "file:line: what: expected X, got Y"; finish() prints the summary line
 * "N passed, N failed" that run.sh adds up, and returns main()'s exit status.
 * Header-only (static functions) so each test is a single C file.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdarg.h>
#include <stdio.h>

static int tests_passed, tests_failed;

/* Record one check; on failure print file:line and a printf-style message. */
__attribute__((format(printf, 4, 5)))
static int check(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        tests_passed++;
        return 1;
    }
    tests_failed++;
    printf("%s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    return 0;
}

#define CHECK(ok, ...) check((ok), __FILE__, __LINE__, __VA_ARGS__)

/* Integers of any width and signedness compare as long long. */
#define EXPECT_INT(actual, expected) do {                                   \
        long long a_ = (long long)(actual), e_ = (long long)(expected);     \
        CHECK(a_ == e_, "%s: expected %lld, got %lld", #actual, e_, a_);    \
    } while (0)

#define EXPECT_PTR(actual, expected) do {                                   \
        const void *a_ = (actual), *e_ = (expected);                        \
        CHECK(a_ == e_, "%s: expected %p, got %p", #actual, e_, a_);        \
    } while (0)

#define EXPECT_TRUE(cond) CHECK((cond), "%s: expected true, got false", #cond)

/* Print the summary line; the exit status is non-zero on any failure. */
static int finish(void)
{
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed != 0;
}

#endif
