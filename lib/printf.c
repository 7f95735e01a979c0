/*
 * printf.c - kvsnprintf, the formatter behind every kernel message.
 *
 * One pass over the format string. Each conversion is parsed into a struct
 * spec, its argument is fetched at the type the caller passed (after default
 * promotion), and it is handed to one of two emitters: emit_str for text and
 * emit_num for integers. All output goes through put(), which counts every
 * character but stores only those that fit; that is all it takes to get
 * C99's "return the length you would have written" (C11 7.21.6.5).
 *
 * Freestanding: no libc, no floating point, no allocation; safe at any IRQL
 * because it touches nothing but the caller's buffer and stack.
 */
#include <stdbool.h>
#include <stdint.h>

#include "printf.h"

struct out {
    char *buf;
    size_t size;
    size_t len;     /* characters produced so far, stored or not */
};

enum length { LEN_INT, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

struct spec {
    bool left;      /* '-': pad on the right */
    bool zero;      /* '0': pad numbers with zeros after the sign */
    bool plus;      /* '+': "+5" for non-negative signed numbers */
    bool space;     /* ' ': " 5" for non-negative signed numbers */
    bool alt;       /* '#': "0x" before non-zero hex */
    int width;
    int prec;       /* -1 when none was given */
    enum length len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)       /* the last byte is kept for the NUL */
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

/* n bytes of s, padded with spaces to the field width. */
static void emit_str(struct out *o, const struct spec *sp, const char *s, int n)
{
    if (!sp->left)
        pad(o, ' ', sp->width - n);
    for (int i = 0; i < n; i++)
        put(o, s[i]);
    if (sp->left)
        pad(o, ' ', sp->width - n);
}

/*
 * An integer laid out as [spaces] prefix [zeros] digits [spaces], where
 * prefix is the sign or "0x". The zeros come from the precision, or from the
 * '0' flag filling the field -- but only when no precision was given
 * (C11 7.21.6.1p6).
 */
static void emit_num(struct out *o, const struct spec *sp, uintmax_t v,
                     const char *prefix, unsigned base, bool upper)
{
    const char *digit = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];                   /* 2^64-1 is 20 decimal digits */
    int n = 0, np = 0, zeros, spaces;

    if (v != 0 || sp->prec != 0) {  /* "%.0d" prints 0 as nothing at all */
        do {
            tmp[n++] = digit[v % base];
            v /= base;
        } while (v);
    }
    while (prefix[np])
        np++;
    zeros = sp->prec > n ? sp->prec - n : 0;
    if (sp->zero && !sp->left && sp->prec < 0 && sp->width > np + n)
        zeros = sp->width - np - n;
    spaces = sp->width - np - zeros - n;

    if (!sp->left)
        pad(o, ' ', spaces);
    for (int i = 0; i < np; i++)
        put(o, prefix[i]);
    pad(o, '0', zeros);
    while (n)
        put(o, tmp[--n]);           /* digits were generated backwards */
    if (sp->left)
        pad(o, ' ', spaces);
}

/*
 * Fetch an argument. Types narrower than int arrive promoted to int, so %hh
 * and %h read an int and narrow it. ptrdiff_t and size_t stand in for each
 * other's signed/unsigned twin, as they are on every LP64 ABI.
 */
static intmax_t get_signed(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_HH: return (signed char)va_arg(*ap, int);
    case LEN_H:  return (short)va_arg(*ap, int);
    case LEN_L:  return va_arg(*ap, long);
    case LEN_LL: return va_arg(*ap, long long);
    case LEN_J:  return va_arg(*ap, intmax_t);
    case LEN_Z:
    case LEN_T:  return va_arg(*ap, ptrdiff_t);
    default:     return va_arg(*ap, int);
    }
}

static uintmax_t get_unsigned(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
    case LEN_H:  return (unsigned short)va_arg(*ap, unsigned int);
    case LEN_L:  return va_arg(*ap, unsigned long);
    case LEN_LL: return va_arg(*ap, unsigned long long);
    case LEN_J:  return va_arg(*ap, uintmax_t);
    case LEN_Z:
    case LEN_T:  return va_arg(*ap, size_t);
    default:     return va_arg(*ap, unsigned int);
    }
}

/*
 * A width or precision: decimal digits, or '*' to take it from an int
 * argument. Digits saturate instead of overflowing on absurd input.
 */
static int parse_field(const char **fmt, va_list *ap)
{
    int n = 0;

    if (**fmt == '*') {
        (*fmt)++;
        return va_arg(*ap, int);
    }
    for (; **fmt >= '0' && **fmt <= '9'; (*fmt)++)
        if (n < 100000000)
            n = n * 10 + (**fmt - '0');
    return n;
}

/* Parse one conversion (fmt is just past the '%') and print it. */
static const char *convert(struct out *o, const char *fmt, va_list *ap)
{
    const char *start = fmt - 1;
    struct spec sp = { .prec = -1 };

    for (;; fmt++) {
        if (*fmt == '-')      sp.left = true;
        else if (*fmt == '0') sp.zero = true;
        else if (*fmt == '+') sp.plus = true;
        else if (*fmt == ' ') sp.space = true;
        else if (*fmt == '#') sp.alt = true;
        else break;
    }
    sp.width = parse_field(&fmt, ap);
    if (sp.width < 0) {             /* only from '*': it means '-' */
        sp.left = true;
        sp.width = sp.width < -100000000 ? 100000000 : -sp.width;
    }
    if (*fmt == '.') {
        fmt++;
        sp.prec = parse_field(&fmt, ap);
        if (sp.prec < 0)            /* a negative '*' means "as if omitted" */
            sp.prec = -1;
    }
    switch (*fmt) {
    case 'h': sp.len = *++fmt == 'h' ? (fmt++, LEN_HH) : LEN_H; break;
    case 'l': sp.len = *++fmt == 'l' ? (fmt++, LEN_LL) : LEN_L; break;
    case 'z': sp.len = LEN_Z; fmt++; break;
    case 'j': sp.len = LEN_J; fmt++; break;
    case 't': sp.len = LEN_T; fmt++; break;
    }

    switch (*fmt) {
    case 'd':
    case 'i': {
        intmax_t v = get_signed(ap, sp.len);
        /* Negate in unsigned arithmetic: -INTMAX_MIN would overflow. */
        uintmax_t mag = v < 0 ? 0 - (uintmax_t)v : (uintmax_t)v;
        const char *sign = v < 0 ? "-" : sp.plus ? "+" : sp.space ? " " : "";
        emit_num(o, &sp, mag, sign, 10, false);
        break;
    }
    case 'u':
        emit_num(o, &sp, get_unsigned(ap, sp.len), "", 10, false);
        break;
    case 'x':
    case 'X': {
        uintmax_t v = get_unsigned(ap, sp.len);
        const char *pfx = sp.alt && v ? (*fmt == 'X' ? "0X" : "0x") : "";
        emit_num(o, &sp, v, pfx, 16, *fmt == 'X');
        break;
    }
    case 'p': {
        uintptr_t v = (uintptr_t)va_arg(*ap, void *);
        if (v)
            emit_num(o, &sp, v, "0x", 16, false);
        else
            emit_str(o, &sp, "(nil)", 5);
        break;
    }
    case 's': {
        const char *s = va_arg(*ap, const char *);
        int n = 0;
        if (!s)
            s = "(null)";
        while ((sp.prec < 0 || n < sp.prec) && s[n])
            n++;
        emit_str(o, &sp, s, n);
        break;
    }
    case 'c': {
        char c = (char)va_arg(*ap, int);
        emit_str(o, &sp, &c, 1);
        break;
    }
    case '%':
        put(o, '%');
        break;
    default:
        /* Unknown conversion, or the string ended mid-spec: print the
         * spec as written so the mistake shows up in the output. */
        for (; start < fmt; start++)
            put(o, *start);
        if (!*fmt)
            return fmt;
        put(o, *fmt);
    }
    return fmt + 1;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    va_list args;

    /* Helpers take a va_list pointer; only a local copy can portably be
     * passed that way (a va_list parameter may have decayed to a pointer). */
    va_copy(args, ap);
    while (*fmt) {
        if (*fmt == '%')
            fmt = convert(&o, fmt + 1, &args);
        else
            put(&o, *fmt++);
    }
    va_end(args);

    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    /* C99 asks for a negative return past INT_MAX; no message gets there. */
    return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
