/*
 * options.h - kernel command-line options (kernel/options.c).
 *
 * A file that owns a setting declares it where it lives:
 *     KERNEL_OPTION("cpu_prefix", "help text", apply_cpu_prefix);
 * The record lands in the .koptions section (linker.ld), so there is no
 * central list to edit.  `apply` gets the text after '=' ("" if none).
 */
#ifndef KERNEL_OPTIONS_H
#define KERNEL_OPTIONS_H

#include "ntdef.h"

struct kernel_option {
    const char *name;
    const char *help;
    void (*apply)(const char *value);
};

#define KERNEL_OPTION(name, help, apply)                                   \
    static const struct kernel_option koption_##apply                      \
        __attribute__((used, section(".koptions"), aligned(8))) = {        \
            name, help, apply }

/* Parse "name[=value] name[=value] ..." and apply each option; report unknown
 * ones, and words longer than KI_MAX_OPTION - 1 characters (ignored), on the
 * console.  Returns how many were unknown or too long. */
#define KI_MAX_OPTION 256
int KiApplyOptions(const char *cmdline);

#endif
