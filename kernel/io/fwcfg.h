/*
 * fwcfg.h - QEMU fw_cfg files (kernel/io/fwcfg.c).
 */
#ifndef KERNEL_FWCFG_H
#define KERNEL_FWCFG_H

#include <stddef.h>

/* Copy fw_cfg file `name` into buf as a NUL-terminated string (truncated to
 * size - 1 bytes).  Returns its length, or -1 if there is no such file. */
long KiReadFirmwareFile(const char *name, char *buf, size_t size);

#endif
