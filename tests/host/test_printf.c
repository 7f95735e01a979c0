/*
 * test_printf.c - host tests for lib/printf.c.
 *
 * Most cases are checked against the host's vsnprintf: T(fmt, args...) has a
 * printf format attribute, so the host compiler also type-checks the table.
 * Cases where we deliberately differ from, or go beyond, C (unknown
 * conversions, NULL for %s and %p) give the expected text literally.
 *
 * Each case runs with (NULL, 0) and at sizes 0, 1, 2, 3, half the output,
 * one byte short, exactly enough and plenty, each time into a buffer
 * pre-filled with '#'. The whole buffer is compared, so a byte written past
 * the limit or a missing NUL is caught, and the return value must always be
 * the untruncated length. The expected bytes at each size follow from the
 * full output by C99's rule: the first size-1 bytes, then a NUL.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
/* With -Iinclude this is the kernel's string.h; libc supplies the code. */
#include <string.h>

#include "printf.h"

#include "tests/host/harness.h"

#define BUF 2048

/* Print n bytes C-escaped so NULs and sentinels show in failure lines. */
static void print_escaped(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            fputs("\\0", stdout);
        else if (c < ' ' || c >= 0x7f || c == '"' || c == '\\')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Run kvsnprintf at every interesting size and compare with want[0..wlen). */
static void compare(const char *file, int line, const char *want, int wlen,
                    const char *fmt, va_list ap)
{
    size_t sizes[] = { 0, 1, 2, 3, (size_t)wlen / 2, (size_t)wlen,
                       (size_t)wlen + 1, BUF };
    char exp[BUF], got[BUF];
    va_list aq;
    int ret;

    /* buf may be NULL when size is 0. */
    va_copy(aq, ap);
    ret = kvsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    check(ret == wlen, file, line, "kvsnprintf(NULL, 0, \"%s\"): expected "
          "ret %d, got %d", fmt, wlen, ret);

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t size = sizes[i];
        memset(exp, '#', BUF);
        memset(got, '#', BUF);
        if (size > 0) {
            size_t n = (size_t)wlen < size - 1 ? (size_t)wlen : size - 1;
            memcpy(exp, want, n);
            exp[n] = '\0';
        }
        va_copy(aq, ap);
        ret = kvsnprintf(got, size, fmt, aq);
        va_end(aq);
        if (check(ret == wlen && memcmp(exp, got, BUF) == 0, file, line,
                  "kvsnprintf(buf, %zu, \"%s\") mismatch:", size, fmt))
            continue;
        /* Show one byte past the limit, so an overrun is visible too. */
        size_t show = size + 1 < (size_t)wlen + 2 ? size + 1 : (size_t)wlen + 2;
        printf("    expected ");
        print_escaped(exp, show);
        printf(" ret %d\n    got      ", wlen);
        print_escaped(got, show);
        printf(" ret %d\n", ret);
    }
}

/* A case whose expected output is the host C library's. */
static void host_vcase(const char *file, int line, const char *fmt, va_list ap)
{
    char want[BUF];
    va_list aq;
    int wlen;

    va_copy(aq, ap);
    wlen = vsnprintf(want, BUF, fmt, aq);
    va_end(aq);
    if (check(wlen >= 0 && wlen < BUF, file, line, "host vsnprintf failed"))
        compare(file, line, want, wlen, fmt, ap);
}

__attribute__((format(printf, 3, 4)))
static void host_case(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    host_vcase(file, line, fmt, ap);
    va_end(ap);
}

/*
 * The same without the format attribute, for formats C defines but the host
 * compiler's -Wformat rejects: redundant flags, or an int passed to %hh/%h
 * (C11 7.21.6.1p7: the promoted value is converted back, which is the point).
 */
static void host_case_unchecked(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    host_vcase(file, line, fmt, ap);
    va_end(ap);
}

/* A case with literal expected output; not format-checked on purpose. */
static void literal_case(const char *file, int line, const char *want,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    compare(file, line, want, (int)strlen(want), fmt, ap);
    va_end(ap);
}

#define T(...) host_case(__FILE__, __LINE__, __VA_ARGS__)
#define U(...) host_case_unchecked(__FILE__, __LINE__, __VA_ARGS__)
#define L(want, ...) literal_case(__FILE__, __LINE__, want, __VA_ARGS__)

static void test_integers(void)
{
    T("%d", 0);
    T("%d", 42);
    T("%d", -42);
    T("%d", INT_MAX);
    T("%d", INT_MIN);
    T("%i", -7);
    T("%u", 0u);
    T("%u", UINT_MAX);
    T("%x", 0xdeadbeefu);
    T("%X", 0xdeadbeefu);
    T("%x", 0u);
    T("%ld", LONG_MIN);
    T("%ld", LONG_MAX);
    T("%lu", ULONG_MAX);
    T("%lx", 0xfedcba9876543210ul);
    T("%lld", LLONG_MIN);
    T("%lld", LLONG_MAX);
    T("%llu", ULLONG_MAX);
    T("%llx", ULLONG_MAX);
    T("%llX", 0x0123456789abcdefull);
    T("%lli", -1ll);
    T("%zu", (size_t)0);
    T("%zu", SIZE_MAX);
    T("%zx", (size_t)0x1000);
    T("%zd", (ptrdiff_t)-5);
    T("%td", PTRDIFF_MIN);
    T("%jd", INTMAX_MIN);
    T("%ju", UINTMAX_MAX);
    /* hh and h narrow the promoted int before printing. */
    U("%hhd", 300);
    U("%hhd", -129);
    U("%hhu", 511);
    U("%hhx", 0x1ff);
    U("%hd", 70000);
    U("%hd", -32768);
    U("%hu", 65537);
    U("%hx", 0x12345);
    T("%hhd", (signed char)-5);
    T("%hu", (unsigned short)65535);
}

static void test_width_and_flags(void)
{
    T("%5d|", 42);
    T("%-5d|", 42);
    T("%05d", 42);
    T("%05d", -42);
    U("%-05d|", -42);               /* '-' overrides '0' */
    T("%1d", 12345);                /* width never truncates */
    T("%20lld|", LLONG_MIN);
    T("%025lld", LLONG_MIN);
    T("%*d|", 6, 42);
    T("%*d|", -6, 42);              /* negative '*' width means '-' */
    T("%-*d|", 6, 42);
    T("%0*d", 6, -42);
    T("%+d", 5);
    T("%+d", -5);
    T("%+d", 0);
    T("% d", 5);
    T("% d", -5);
    U("%+ d", 5);                   /* '+' beats ' ' */
    T("% 05d", 5);
    T("%+05d", 5);
    T("%#x", 255u);
    T("%#X", 255u);
    T("%#x", 0u);                   /* no prefix for zero */
    T("%#08x", 255u);
    T("%#8x|", 255u);
    T("%-#8x|", 255u);
    T("%#llx", ULLONG_MAX);
    T("%08X", 0xbeefu);
    T("%1000d|", 1);
}

static void test_precision(void)
{
    T("%.3d", 7);
    T("%.3d", -7);
    T("%.0d", 0);                   /* zero with precision 0: no digits */
    T("%.0u", 0u);
    T("%.0x", 0u);
    T("%#.0x", 0u);
    T("%5.0d|", 0);
    T("%-5.0d|", 0);
    T("%+.0d", 0);
    T("%.1d", 0);
    T("%8.3d|", -7);
    U("%08.3d|", -7);               /* precision disables '0' padding */
    T("%-8.3d|", -7);
    T("%.*d", 4, 3);
    T("%.*d", -1, 3);               /* negative '*' precision: as if none */
    T("%.10llx", 0xabcull);
    T("%#.4x", 255u);
    T("%+.3d", 5);
    T("%.20d", INT_MIN);
    T("%*.*d|", 8, 4, -12);
}

static void test_chars_and_strings(void)
{
    static const char unterminated[3] = { 'a', 'b', 'c' };
    char longstr[301];

    memset(longstr, 'x', 300);
    longstr[300] = '\0';

    T("%c", 'A');
    T("%c%c%c", 'a', 'b', 'c');
    T("%5c|", 'A');
    T("%-5c|", 'A');
    T("a%cb", 0);                   /* a NUL in the middle still counts */
    T("%c", 200);
    T("%s", "abc");
    T("%s", "");
    T("[%s]", "");
    T("%10s|", "abc");
    T("%-10s|", "abc");
    T("%2s|", "abcdef");
    T("%.2s", "abc");
    T("%.0s|", "abc");
    T("%.10s", "abc");
    T("%6.2s|", "abc");
    T("%-6.2s|", "abc");
    T("%*s|", 6, "ab");
    T("%*s|", -6, "ab");
    T("%.*s|", 2, "abcdef");
    T("%.*s|", -1, "abcdef");
    T("%.3s", unterminated);        /* precision bounds the read */
    T("%s", longstr);
    T("%s%s", longstr, longstr);
}

static void test_pointers_and_misc(void)
{
    int local;

    T("%p", (void *)0x1234);
    T("%p", (void *)&local);
    T("%p", (void *)UINTPTR_MAX);
    T("%20p|", (void *)0xabcdef);
    T("%-20p|", (void *)0xabcdef);
    T("%%");
    T("100%%");
    T("a%%b%%c");
    T("plain text");
    T("hello, world\n");
    T("%s=%d (%#x) %c%%", "irql", 2, 2u, '!');
    T("[%3d|%-3d|%03d]", 1, 2, 3);
    T("cpu%u: %-12s %016llx %p", 3u, "DISPATCH", 0x123456789ull, (void *)0xffff8000);
}

/* Behaviour C leaves undefined, pinned to what the kernel promises. */
static void test_literal(void)
{
    L("(null)", "%s", (char *)NULL);
    L("  (null)|", "%8s|", (char *)NULL);
    L("(nu", "%.3s", (char *)NULL); /* glibc prints "" here; we truncate */
    L("(nil)", "%p", (void *)NULL);
    L("     (nil)|", "%10p|", (void *)NULL);
    L("(nil)     |", "%-10p|", (void *)NULL);
    L("%y", "%y");
    L("a%yb", "a%yb");
    L("%5y", "%5y");
    L("%-08.3ly", "%-08.3ly");
    L("%y7", "%y%d", 7);            /* an unknown spec consumes no argument */
    L("%n", "%n");                  /* no %n: nothing gets written through it */
    L("abc%", "abc%");              /* format ends inside a spec */
    L("%5", "%5");
    L("%l", "%l");
    L("", "");
}

/* The variadic wrapper, directly. */
static void test_ksnprintf(void)
{
    char b[8];

    EXPECT_INT(ksnprintf(b, sizeof b, "%d-%s", 12345, "abcdef"), 12);
    CHECK(strcmp(b, "12345-a") == 0, "ksnprintf truncation: got \"%s\"", b);
    EXPECT_INT(ksnprintf(NULL, 0, "%d", 123), 3);
    EXPECT_INT(ksnprintf(b, sizeof b, "%s", "ok"), 2);
    CHECK(strcmp(b, "ok") == 0, "ksnprintf: got \"%s\"", b);
}

int main(void)
{
    test_integers();
    test_width_and_flags();
    test_precision();
    test_chars_and_strings();
    test_pointers_and_misc();
    test_literal();
    test_ksnprintf();
    return finish();
}
