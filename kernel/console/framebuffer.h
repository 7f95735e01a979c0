/*
 * framebuffer.h - the console on the screen and the blue STOP screen
 * (kernel/console/framebuffer.c).
 */
#ifndef KERNEL_FRAMEBUFFER_H
#define KERNEL_FRAMEBUFFER_H

#include "ntdef.h"

/* Use the framebuffer GRUB set up (KiBootInfo.Framebuffer), if it is one
 * this file can draw on, and clear it.  Boot CPU, once, before anything is
 * written to it. */
void KiInitializeFramebuffer(void);

/* What KiInitializeFramebuffer found, for the boot log: the mode and the
 * text grid, or why the screen is not used. */
const char *KiFramebufferDescription(void);

/* Draw text at the cursor, scrolling.  Callers serialize (the console lock,
 * kernel/console/console.c); any IRQL.  A call nested in another one on the same
 * CPU (an interrupt that prints while this CPU draws) draws nothing: its
 * text is on the serial console only. */
void KiFramebufferWrite(const char *s);

/* The bug check path, once the other CPUs are frozen: white on blue, the
 * whole screen cleared, the cursor at the top left.  Takes the screen over
 * from a draw that a frozen CPU, or this one, left half done. */
void KiFramebufferBeginStopScreen(void);

/* For tests (tests/kernel/test_console.c): TRUE while this CPU draws; and
 * the text of the row RowsUp rows above the cursor's (1 = the last line
 * ended), one character per column, into Text (FALSE if there is no
 * such row, or no framebuffer). */
BOOLEAN KiFramebufferDrawing(void);
BOOLEAN KiFramebufferReadRowAbove(ULONG RowsUp, char *Text, ULONG Size);

#endif
