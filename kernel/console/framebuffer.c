/*
 * framebuffer.c - the console on the screen, for PCs without a serial port:
 * every console line is also drawn on the linear framebuffer GRUB set up
 * (multiboot2 tag 8, kernel/boot_info.c), and a bug check turns it into the
 * blue STOP screen.
 *
 * The screen is a grid of 8x16 character cells (kernel/console/font.c) with a
 * cursor, and KiFbText keeps a copy of the character in every cell.  A
 * character costs one cell's 128 pixel writes.  At the bottom the text
 * jump-scrolls: it moves up a quarter of the screen at once, redrawing only
 * the cells whose character changed.  Scrolling line by line would redraw
 * the whole screen for every line, ~12 times the work, and the lock holder
 * draws with the other CPUs waiting for the console.  Nothing is ever read
 * back from video memory (slow on real hardware, where it is uncached).
 *
 * Only RGB framebuffers of 15, 16, 24 or 32 bits per pixel inside the
 * identity-mapped first 4 GiB (boot/entry.S) are used; anything else leaves
 * the serial console alone, and the boot log says why.
 */
#include "wdm.h"
#include "kernel/boot_info.h"
#include "kernel/console/font.h"
#include "kernel/console/framebuffer.h"
#include "boot/multiboot2.h"
#include "printf.h"
#include "string.h"

#define IDENTITY_MAPPED_LIMIT   (4ull << 30)    /* boot/entry.S maps 0-4 GiB */
#define MAX_COLUMNS             240             /* 1920 pixels; a wider screen */
#define MAX_ROWS                75              /* uses its top left 1920x1200 */
#define CONSOLE_FOREGROUND      0xC0C0C0        /* 0xRRGGBB */
#define CONSOLE_BACKGROUND      0x000000
#define STOP_FOREGROUND         0xFFFFFF        /* the classic STOP screen */
#define STOP_BACKGROUND         0x0000AA

/* KiFb, KiFbText: the screen and its text.  Protected by the console lock
 * (kernel/console/console.c), held at IRQL 12 or above; the bug check path takes
 * them over without it once every other CPU is frozen.  Set up once at boot;
 * Base stays NULL when there is no framebuffer to draw on. */
static struct {
    volatile UCHAR *Base;
    ULONG Pitch;                    /* bytes from one pixel row to the next */
    ULONG BytesPerPixel;
    ULONG Width, Height;            /* pixels */
    ULONG Columns, Rows;            /* character cells */
    ULONG Column, Row;              /* the cursor: always inside the grid */
    ULONG Foreground, Background;   /* pixel values in the framebuffer's format */
    char Description[128];
} KiFb;
static char KiFbText[MAX_ROWS][MAX_COLUMNS];

/* TRUE while this module draws.  Set and read only by the CPU that holds
 * the console lock (or the bug check CPU): an interrupt that prints on top
 * of a draw finds it set and leaves the screen to the draw it interrupted,
 * whose cursor and KiFbText it would otherwise change underneath it. */
static volatile BOOLEAN KiFbDrawing;

/* One 8-bit color channel of 0xRRGGBB, scaled to the field's width and
 * moved to its place. */
static ULONG channel(ULONG rgb, ULONG shift, UCHAR position, UCHAR size)
{
    ULONG value = (rgb >> shift) & 0xFF;

    value = size >= 8 ? value << (size - 8) : value >> (8 - size);
    return value << position;
}

static ULONG pixel_value(ULONG rgb)
{
    const struct mb2_tag_framebuffer *fb = &KiBootInfo.Framebuffer;

    return channel(rgb, 16, fb->red_position, fb->red_mask_size) |
           channel(rgb, 8, fb->green_position, fb->green_mask_size) |
           channel(rgb, 0, fb->blue_position, fb->blue_mask_size);
}

static void put_pixel(volatile UCHAR *p, ULONG value)
{
    switch (KiFb.BytesPerPixel) {
    case 4:
        *(volatile ULONG *)p = value;
        break;
    case 3:
        p[0] = (UCHAR)value;
        p[1] = (UCHAR)(value >> 8);
        p[2] = (UCHAR)(value >> 16);
        break;
    default:
        *(volatile USHORT *)p = (USHORT)value;
        break;
    }
}

static void draw_cell(ULONG row, ULONG column, char c)
{
    ULONG glyph = (UCHAR)c >= KI_FONT_FIRST && (UCHAR)c <= KI_FONT_LAST ? (UCHAR)c : '?';
    volatile UCHAR *line = KiFb.Base + (ULONG64)row * KI_FONT_HEIGHT * KiFb.Pitch +
                           (ULONG64)column * KI_FONT_WIDTH * KiFb.BytesPerPixel;

    for (ULONG y = 0; y < KI_FONT_HEIGHT; y++, line += KiFb.Pitch) {
        const char *bits = KiFontGlyphs[glyph - KI_FONT_FIRST][y];
        for (ULONG x = 0; x < KI_FONT_WIDTH; x++)
            put_pixel(line + x * KiFb.BytesPerPixel,
                      bits[x] == '#' ? KiFb.Foreground : KiFb.Background);
    }
}

/* Every pixel, the margins right of and below the grid too. */
static void clear_screen(void)
{
    for (ULONG y = 0; y < KiFb.Height; y++)
        for (ULONG x = 0; x < KiFb.Width; x++)
            put_pixel(KiFb.Base + (ULONG64)y * KiFb.Pitch + x * KiFb.BytesPerPixel,
                      KiFb.Background);
    memset(KiFbText, ' ', sizeof(KiFbText));
    KiFb.Column = KiFb.Row = 0;
}

/* Move the text up by `lines` rows; redraw only what changes. */
static void scroll(ULONG lines)
{
    for (ULONG row = 0; row < KiFb.Rows; row++)
        for (ULONG column = 0; column < KiFb.Columns; column++) {
            char c = row + lines < KiFb.Rows ? KiFbText[row + lines][column] : ' ';
            if (c != KiFbText[row][column]) {
                KiFbText[row][column] = c;
                draw_cell(row, column, c);
            }
        }
    KiFb.Row -= lines;
}

static void new_line(void)
{
    KiFb.Column = 0;
    if (++KiFb.Row == KiFb.Rows)
        scroll(KiFb.Rows / 4 ? KiFb.Rows / 4 : 1);
}

static void put_char(char c)
{
    if (c == '\n') {
        new_line();
        return;
    }
    if (c == '\r') {
        KiFb.Column = 0;
        return;
    }
    if (c == '\b') {                   /* a rubout is "\b \b": back, blank, back */
        if (KiFb.Column)
            KiFb.Column--;
        return;
    }
    if (KiFb.Column == KiFb.Columns)    /* a long line wraps */
        new_line();
    KiFbText[KiFb.Row][KiFb.Column] = c;
    draw_cell(KiFb.Row, KiFb.Column++, c);
}

/* The flag brackets the draw for interrupts on this CPU: a signal fence
 * keeps the compiler from moving the draw's stores outside it. */
static void set_drawing(BOOLEAN drawing)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    KiFbDrawing = drawing;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void KiFramebufferWrite(const char *s)
{
    if (!KiFb.Base || KiFbDrawing)
        return;
    set_drawing(TRUE);
    for (; *s; s++)
        put_char(*s);
    set_drawing(FALSE);
}

/* Colors and a clean screen.  KiFbDrawing stays set meanwhile: a fault in
 * here is a (nested) bug check whose line must not come back here. */
static void start_screen(ULONG foreground, ULONG background)
{
    set_drawing(TRUE);
    KiFb.Foreground = pixel_value(foreground);
    KiFb.Background = pixel_value(background);
    clear_screen();
    set_drawing(FALSE);
}

void KiFramebufferBeginStopScreen(void)
{
    if (KiFb.Base)
        start_screen(STOP_FOREGROUND, STOP_BACKGROUND);
}

static BOOLEAN usable(const struct mb2_tag_framebuffer *fb)
{
    char *why = KiFb.Description;
    size_t size = sizeof(KiFb.Description);

    if (fb->tag.type != MB2_TAG_FRAMEBUFFER) {
        ksnprintf(why, size, "none from the boot loader, serial only");
    } else if (fb->type != MB2_FRAMEBUFFER_TYPE_RGB) {
        ksnprintf(why, size, "type %u (not RGB) not used, serial only", fb->type);
    } else if (fb->bpp != 15 && fb->bpp != 16 && fb->bpp != 24 && fb->bpp != 32) {
        ksnprintf(why, size, "%u bits per pixel not used, serial only", fb->bpp);
    } else if (fb->addr == 0 ||
               fb->addr + (ULONG64)fb->pitch * fb->height > IDENTITY_MAPPED_LIMIT) {
        ksnprintf(why, size, "at 0x%llX, outside the first 4 GiB the kernel maps, serial only",
                  (unsigned long long)fb->addr);
    } else if (fb->width < KI_FONT_WIDTH || fb->height < KI_FONT_HEIGHT) {
        ksnprintf(why, size, "%ux%u too small for one character, serial only", fb->width,
                  fb->height);
    } else {
        return TRUE;
    }
    return FALSE;
}

void KiInitializeFramebuffer(void)
{
    const struct mb2_tag_framebuffer *fb = &KiBootInfo.Framebuffer;

    if (!usable(fb))
        return;
    KiFb.Base = (volatile UCHAR *)(ULONG_PTR)fb->addr;   /* identity mapped */
    KiFb.Pitch = fb->pitch;
    KiFb.BytesPerPixel = (fb->bpp + 7) / 8;
    KiFb.Width = fb->width;
    KiFb.Height = fb->height;
    KiFb.Columns = fb->width / KI_FONT_WIDTH;
    if (KiFb.Columns > MAX_COLUMNS)
        KiFb.Columns = MAX_COLUMNS;
    KiFb.Rows = fb->height / KI_FONT_HEIGHT;
    if (KiFb.Rows > MAX_ROWS)
        KiFb.Rows = MAX_ROWS;
    start_screen(CONSOLE_FOREGROUND, CONSOLE_BACKGROUND);
    ksnprintf(KiFb.Description, sizeof(KiFb.Description),
              "%ux%u, %u bits per pixel at 0x%llX, %ux%u characters", fb->width, fb->height,
              fb->bpp, (unsigned long long)fb->addr, KiFb.Columns, KiFb.Rows);
}

BOOLEAN KiFramebufferDrawing(void)
{
    return KiFbDrawing;
}

BOOLEAN KiFramebufferReadRowAbove(ULONG RowsUp, char *Text, ULONG Size)
{
    if (!KiFb.Base || RowsUp == 0 || RowsUp > KiFb.Row || Size == 0)
        return FALSE;
    ULONG length = KiFb.Columns < Size - 1 ? KiFb.Columns : Size - 1;
    memcpy(Text, KiFbText[KiFb.Row - RowsUp], length);
    Text[length] = '\0';
    return TRUE;
}

const char *KiFramebufferDescription(void)
{
    return KiFb.Description;
}
