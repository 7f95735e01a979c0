/*
 * options.c - split the kernel command line into options and apply them.
 *
 * The command line is GRUB's (multiboot2 tag 1, from grub.cfg) followed by
 * QEMU's fw_cfg file opt/ntsync/cmdline (kernel/io/fwcfg.c), which the test
 * runner and `make run ARGS=...` use.  A later option wins over an earlier one.
 */
#include "kernel/options.h"
#include "kernel/console/console.h"
#include "string.h"

extern const struct kernel_option __koptions_start[], __koptions_end[];

#define MAX_OPTION KI_MAX_OPTION

static const struct kernel_option *find_option(const char *name)
{
    for (const struct kernel_option *o = __koptions_start; o < __koptions_end; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static void list_options(void)
{
    kprintf("known options:\n");
    for (const struct kernel_option *o = __koptions_start; o < __koptions_end; o++)
        kprintf("  %-14s %s\n", o->name, o->help);
}

int KiApplyOptions(const char *cmdline)
{
    int unknown = 0, bad = 0;

    while (*cmdline) {
        char word[MAX_OPTION];
        size_t n = 0, length = 0;

        while (*cmdline == ' ')
            cmdline++;
        for (; *cmdline && *cmdline != ' '; cmdline++, length++)
            if (n + 1 < sizeof(word))
                word[n++] = *cmdline;
        word[n] = '\0';
        if (n == 0)
            break;
        if (length > n) {               /* cut short, it would mean something else */
            kprintf("warning: kernel option '%.20s...' is %u characters, at most %u: ignored\n",
                    word, (ULONG)length, MAX_OPTION - 1);
            bad++;
            continue;
        }

        char *value = strchr(word, '=');
        if (value)
            *value++ = '\0';
        const struct kernel_option *o = find_option(word);
        if (o) {
            o->apply(value ? value : "");
        } else {
            kprintf("warning: unknown kernel option '%s' (ignored)\n", word);
            unknown++;
        }
    }
    if (unknown)
        list_options();
    return unknown + bad;
}
