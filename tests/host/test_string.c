/*
 * test_string.c - host tests for lib/string.c and lib/glob.c.
 *
 * krename.h comes first so that "string.h" declares kmemcpy, kstrlen, ...:
 * every call below reaches the kernel's code, never libc's (see krename.h).
 * The mem* sweeps try every small offset and length against a byte-by-byte
 * reference and check the bytes around the destination stay untouched.
 */
#include "tests/host/krename.h"

#include "string.h"
#include "glob.h"

#include "tests/host/harness.h"

#define SIGN(x) ((x) > 0 ? 1 : (x) < 0 ? -1 : 0)

static unsigned char buf[96], ref[96];

static void fill(unsigned char *p)
{
    for (int i = 0; i < 96; i++)
        p[i] = (unsigned char)(i * 7 + 1);
}

static int same(void)
{
    for (int i = 0; i < 96; i++)
        if (buf[i] != ref[i])
            return 0;
    return 1;
}

/* Each sweep counts as one test and reports its first failing case. */
static void test_memset(void)
{
    for (int off = 0; off < 16; off++)
        for (int len = 0; len < 40; len++) {
            fill(buf);
            fill(ref);
            for (int i = 0; i < len; i++)
                ref[off + i] = 0xA5;
            /* 0x1A5: only the low byte counts, converted to unsigned char. */
            void *r = memset(buf + off, 0x1A5, (size_t)len);
            if (r != buf + off || !same()) {
                CHECK(0, "memset(buf+%d, 0x1A5, %d): wrong bytes or result", off, len);
                return;
            }
        }
    CHECK(1, "memset sweep");
}

static void test_memcpy(void)
{
    static unsigned char src[64];

    for (int i = 0; i < 64; i++)
        src[i] = (unsigned char)(200 - i);
    for (int off = 0; off < 16; off++)
        for (int len = 0; len < 48; len++) {
            fill(buf);
            fill(ref);
            for (int i = 0; i < len; i++)
                ref[off + i] = src[3 + i];
            void *r = memcpy(buf + off, src + 3, (size_t)len);
            if (r != buf + off || !same()) {
                CHECK(0, "memcpy(buf+%d, src+3, %d): wrong bytes or result", off, len);
                return;
            }
        }
    CHECK(1, "memcpy sweep");
}

/* Overlap in both directions: the reference copies via a scratch buffer. */
static void test_memmove(void)
{
    unsigned char tmp[48];

    for (int d = 0; d < 20; d++)
        for (int s = 0; s < 20; s++)
            for (int len = 0; len < 48; len++) {
                fill(buf);
                fill(ref);
                for (int i = 0; i < len; i++)
                    tmp[i] = ref[s + i];
                for (int i = 0; i < len; i++)
                    ref[d + i] = tmp[i];
                void *r = memmove(buf + d, buf + s, (size_t)len);
                if (r != buf + d || !same()) {
                    CHECK(0, "memmove(buf+%d, buf+%d, %d): wrong bytes or result",
                          d, s, len);
                    return;
                }
            }
    CHECK(1, "memmove sweep");
}

static void test_memcmp(void)
{
    EXPECT_INT(memcmp("abc", "abd", 0), 0);
    EXPECT_INT(memcmp("abc", "abc", 3), 0);
    EXPECT_INT(memcmp("abc", "abd", 2), 0);
    EXPECT_INT(SIGN(memcmp("abc", "abd", 3)), -1);
    EXPECT_INT(SIGN(memcmp("abd", "abc", 3)), 1);
    EXPECT_INT(SIGN(memcmp("\x80", "\x01", 1)), 1);   /* bytes are unsigned */
    EXPECT_INT(memcmp("a\0b", "a\0b", 3), 0);         /* NUL is just a byte */
    EXPECT_INT(SIGN(memcmp("a\0b", "a\0c", 3)), -1);
}

static void test_strlen(void)
{
    EXPECT_INT(strlen(""), 0);
    EXPECT_INT(strlen("a"), 1);
    EXPECT_INT(strlen("hello, world"), 12);
    EXPECT_INT(strlen("ab\0cd"), 2);
    EXPECT_INT(strnlen("hello", 0), 0);
    EXPECT_INT(strnlen("hello", 3), 3);
    EXPECT_INT(strnlen("hello", 5), 5);
    EXPECT_INT(strnlen("hello", 100), 5);
    EXPECT_INT(strnlen("", 10), 0);
    /* strnlen must not read past maxlen: no NUL anywhere in this array. */
    static const char unterminated[4] = { 'a', 'b', 'c', 'd' };
    EXPECT_INT(strnlen(unterminated, 4), 4);
}

static void test_strcmp(void)
{
    EXPECT_INT(strcmp("", ""), 0);
    EXPECT_INT(strcmp("abc", "abc"), 0);
    EXPECT_INT(SIGN(strcmp("abc", "abd")), -1);
    EXPECT_INT(SIGN(strcmp("abd", "abc")), 1);
    EXPECT_INT(SIGN(strcmp("ab", "abc")), -1);        /* prefix sorts first */
    EXPECT_INT(SIGN(strcmp("abc", "ab")), 1);
    EXPECT_INT(SIGN(strcmp("", "a")), -1);
    EXPECT_INT(SIGN(strcmp("\x80", "\x01")), 1);      /* unsigned compare */

    EXPECT_INT(strncmp("abc", "xyz", 0), 0);
    EXPECT_INT(strncmp("abcX", "abcY", 3), 0);
    EXPECT_INT(SIGN(strncmp("abcX", "abcY", 4)), -1);
    /* Equal up to the NUL, different after it: strncmp must stop there. */
    static const char a[8] = "abc\0xyz", b[8] = "abc\0pqr";
    EXPECT_INT(strncmp(a, b, 8), 0);
    EXPECT_INT(SIGN(strncmp("ab", "abc", 10)), -1);
    EXPECT_INT(SIGN(strncmp("abc", "ab", 3)), 1);
    EXPECT_INT(SIGN(strncmp("\xff", "a", 1)), 1);
}

static void test_strchr(void)
{
    static const char s[] = "spinlock.queued";

    EXPECT_PTR(strchr(s, 's'), s);
    EXPECT_PTR(strchr(s, 'n'), s + 3);
    EXPECT_PTR(strchr(s, '.'), s + 8);
    EXPECT_PTR(strchr(s, 'z'), NULL);
    EXPECT_PTR(strchr(s, '\0'), s + 15);              /* finds the terminator */
    EXPECT_PTR(strchr(s, 'n' + 256), s + 3);          /* c is taken as a char */
    EXPECT_PTR(strchr("", 'a'), NULL);

    EXPECT_PTR(strrchr(s, 'e'), s + 13);
    EXPECT_PTR(strrchr(s, 's'), s);
    EXPECT_PTR(strrchr(s, 'z'), NULL);
    EXPECT_PTR(strrchr(s, '\0'), s + 15);
    EXPECT_PTR(strrchr("", 'a'), NULL);
}

#define GLOB(p, t, want) CHECK(glob_match((p), (t)) == (want),              \
        "glob_match(\"%s\", \"%s\"): expected %d", (p), (t), (want))

static void test_glob(void)
{
    GLOB("", "", 1);
    GLOB("", "a", 0);
    GLOB("a", "", 0);
    GLOB("abc", "abc", 1);
    GLOB("abc", "abd", 0);
    GLOB("abc", "ab", 0);                             /* whole text must match */
    GLOB("ab", "abc", 0);
    GLOB("ABC", "abc", 0);                            /* case-sensitive */

    GLOB("*", "", 1);
    GLOB("*", "anything", 1);
    GLOB("**", "", 1);
    GLOB("a*", "a", 1);
    GLOB("a*", "abc", 1);
    GLOB("a*", "ba", 0);
    GLOB("*c", "abc", 1);
    GLOB("*c", "abcd", 0);
    GLOB("a*c", "ac", 1);
    GLOB("a*c", "abbbc", 1);
    GLOB("a*c", "abbbcd", 0);
    GLOB("*a*b*", "xxaxxbxx", 1);
    GLOB("*a*b*", "xxbxxaxx", 0);
    GLOB("a*b*c", "aXbYbZc", 1);                      /* needs backtracking */
    GLOB("a*bc", "abcbc", 1);
    GLOB("*ab", "aab", 1);

    GLOB("?", "", 0);
    GLOB("?", "a", 1);
    GLOB("?", "ab", 0);
    GLOB("???", "abc", 1);
    GLOB("a?c", "abc", 1);
    GLOB("a?c", "ac", 0);
    GLOB("*?", "", 0);
    GLOB("*?", "a", 1);
    GLOB("?*?", "ab", 1);
    GLOB("?*?", "a", 0);

    /* The way test=<glob> is used. */
    GLOB("spinlock.*", "spinlock.basic", 1);
    GLOB("spinlock.*", "queuedlock.basic", 0);
    GLOB("*.smp", "dpc.smp", 1);
    GLOB("*lock*", "rwlock.contended", 1);

    /* Many stars against a long near-miss: must finish quickly. */
    GLOB("a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0);
}

int main(void)
{
    test_memset();
    test_memcpy();
    test_memmove();
    test_memcmp();
    test_strlen();
    test_strcmp();
    test_strchr();
    test_glob();
    return finish();
}
