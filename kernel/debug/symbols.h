/*
 * symbols.h - address to "name+0xoffset" for STOP screens (kernel/debug/symbols.c).
 */
#ifndef KERNEL_SYMBOLS_H
#define KERNEL_SYMBOLS_H

#include "ntdef.h"

/* Name of the function containing address, and address minus its start;
 * NULL if the address is outside the kernel's text. */
const char *KiLookupSymbol(ULONG_PTR Address, ULONG_PTR *Offset);

#endif
