/*
 * boot_info.h - what GRUB told us, parsed once at boot (kernel/boot_info.c).
 */
#ifndef KERNEL_BOOT_INFO_H
#define KERNEL_BOOT_INFO_H

#include "ntdef.h"
#include "boot/multiboot2.h"

typedef struct _KI_BOOT_INFO {
    char CommandLine[256];          /* multiboot2 tag 1 */
    char LoaderName[64];            /* multiboot2 tag 2 */
    ULONG64 UsableMemory;           /* bytes of type-1 RAM in the memory map */
    const void *AcpiRsdp;           /* &RsdpCopy if GRUB gave one, else NULL */
    UCHAR RsdpCopy[36];             /* the RSDP from tag 15, else tag 14: kept
                                       here, as the boot information's memory
                                       is not reserved once we run */
    BOOLEAN AcpiRsdpIsXsdp;         /* TRUE if it came from tag 15 (ACPI 2.0+) */
    BOOLEAN MemoryMapPresent;       /* multiboot2 tag 6 was there */
    BOOLEAN TrampolinePageUsable;   /* tag 6 lists the AP trampoline's page
                                       (kernel/smp/trampoline.h) as available RAM:
                                       no firmware (UEFI runtime, SMM) keeps it */
    struct mb2_tag_framebuffer Framebuffer; /* tag 8 as GRUB gave it (the color
                                       fields for type 1, RGB, only); tag.type
                                       is 0 when there was none */
} KI_BOOT_INFO;

extern KI_BOOT_INFO KiBootInfo;

/* Fill KiBootInfo from the Multiboot2 (or, Magic says, Multiboot version 1)
 * information (boot/entry.S checked the magic). */
void KiParseBootInfo(ULONG Magic, ULONG_PTR Info);

#endif
