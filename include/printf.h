/*
 * printf.h - bounded string formatting for the kernel.
 *
 * C99 snprintf semantics: the return value is the length the full output
 * would have had, so "ret >= size" means truncated; when size > 0 the buffer
 * is always NUL-terminated. buf may be NULL when size is 0.
 *
 * Conversions: d i u x X p s c %. Flags: - 0 + space # (# only for x/X).
 * Width and precision, each also as '*'. Length modifiers: hh h l ll z j t.
 * No floating point and no %n. %p prints like glibc ("0x1f", "(nil)"); %s of
 * NULL prints "(null)". An unknown conversion is copied out literally.
 */
#ifndef PRINTF_H
#define PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
