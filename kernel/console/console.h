/*
 * console.h - kernel output on COM1 and the screen (kernel/console/console.c).
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include "ntdef.h"

void KiInitializeConsole(void);

/* printf to the serial console.  One call's output is written whole: lines
 * from different CPUs never interleave mid-line (a clock or IPI handler
 * that prints on the CPU in the middle of a write is the exception,
 * kernel/console/console.c).  Any IRQL; the write itself runs at IRQL 12 or the
 * caller's, if higher, with interrupts as the caller had them. */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For the bug check path only: writes without the console lock, which a
 * frozen CPU may hold forever. */
void KiConsoleWriteUnlocked(const char *s);

#endif
