/*
 * framebuffer.h - the console on the screen and the blue STOP screen
 * (kernel/framebuffer.c).
 */
#ifndef KERNEL_FRAMEBUFFER_H
#define KERNEL_FRAMEBUFFER_H

/* Use the framebuffer GRUB set up (KiBootInfo.Framebuffer), if it is one
 * this file can draw on, and clear it.  Boot CPU, once, before anything is
 * written to it. */
void KiInitializeFramebuffer(void);

/* What KiInitializeFramebuffer found, for the boot log: the mode and the
 * text grid, or why the screen is not used. */
const char *KiFramebufferDescription(void);

/* Draw text at the cursor, scrolling.  Callers serialize (the console lock,
 * kernel/console.c); any IRQL.  A call nested in another one on the same
 * CPU (an interrupt that prints while this CPU draws) draws nothing: its
 * text is on the serial console only. */
void KiFramebufferWrite(const char *s);

/* The bug check path, once the other CPUs are frozen: white on blue, the
 * whole screen cleared, the cursor at the top left.  Takes the screen over
 * from a draw that a frozen CPU, or this one, left half done. */
void KiFramebufferBeginStopScreen(void);

#endif
