/*
 * string.c - memory and string primitives for the freestanding kernel.
 *
 * Plain byte loops: short, obviously correct, and fast enough for a teaching
 * kernel (`rep movsb`/`rep stosb` would be the next step on x86). Comparisons
 * work on unsigned char, as C11 7.24.4 requires, so "\x80" sorts after "\x01".
 *
 * The one trap: GCC recognises a byte-copy or byte-fill loop and replaces it
 * with a call to memcpy/memset -- here, a call to the very function being
 * defined, i.e. infinite recursion. GCC 12 does it at -O2 whenever builtins
 * are enabled, and older releases did it even under -ffreestanding (GCC bug
 * 56888). OPAQUE() hides the loop pointer's value from the optimiser on each
 * iteration, so there is no pattern left to recognise whatever the flags.
 *
 * Host tests compile this file with tests/host/krename.h force-included,
 * which renames every function here to k<name> so it cannot collide with
 * the host's libc.
 */
#include <stdint.h>

#include "string.h"

/* Empty asm that "may change" p: the compiler must forget what p holds. */
#define OPAQUE(p) __asm__("" : "+r"(p))

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    while (n--) {
        *d++ = (unsigned char)c;
        OPAQUE(d);
    }
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    while (n--) {
        *d++ = *s++;
        OPAQUE(d);
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if ((uintptr_t)d - (uintptr_t)s >= n) {
        /* dst is below src, or past the end of it: a forward copy never
         * overwrites a source byte before reading it. The unsigned
         * subtraction folds both cases into one compare. */
        while (n--) {
            *d++ = *s++;
            OPAQUE(d);
        }
    } else {
        /* dst starts inside [src, src+n): copy from the top down. */
        d += n;
        s += n;
        while (n--) {
            *--d = *--s;
            OPAQUE(d);
        }
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;

    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;

    while (*p)
        p++;
    return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t maxlen)
{
    size_t n = 0;

    while (n < maxlen && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a;
    const unsigned char *q = (const unsigned char *)b;

    while (*p && *p == *q)
        p++, q++;
    return *p - *q;
}

int strncmp(const char *a, const char *b, size_t n)
{
    const unsigned char *p = (const unsigned char *)a;
    const unsigned char *q = (const unsigned char *)b;

    for (; n; n--, p++, q++)
        if (*p != *q || !*p)
            return *p - *q;
    return 0;
}

/* Both searches convert c to char first (C11 7.24.5.2), and count the
 * terminating NUL as part of the string, so strchr(s, 0) finds the end. */
char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;

    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}
