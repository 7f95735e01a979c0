/*
 * font.h - the framebuffer console's bitmap font (kernel/console/font.c).
 */
#ifndef KERNEL_FONT_H
#define KERNEL_FONT_H

#define KI_FONT_WIDTH   8               /* a character cell, in pixels */
#define KI_FONT_HEIGHT  16
#define KI_FONT_FIRST   0x20            /* printable ASCII: ' ' ... */
#define KI_FONT_LAST    0x7E            /* ... '~' */

/* Row y of character c is KiFontGlyphs[c - KI_FONT_FIRST][y]: eight
 * characters, '#' a lit pixel, '.' background. */
extern const char KiFontGlyphs[KI_FONT_LAST - KI_FONT_FIRST + 1][KI_FONT_HEIGHT][KI_FONT_WIDTH + 1];

#endif
