/*
 * string.h - the freestanding kernel's subset of the C library's <string.h>.
 *
 * Standard names and semantics (C11 7.24, plus POSIX strnlen), so code reads
 * the same as anywhere else. The compiler may emit calls to memcpy, memset,
 * memmove and memcmp by itself (struct copies, large initialisers), which is
 * why those four must exist even in a kernel nobody calls them from.
 */
#ifndef STRING_H
#define STRING_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

size_t strlen(const char *s);
size_t strnlen(const char *s, size_t maxlen);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);

#endif
