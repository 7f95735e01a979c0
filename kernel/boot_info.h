/*
 * boot_info.h - what GRUB told us, parsed once at boot (kernel/boot_info.c).
 */
#ifndef KERNEL_BOOT_INFO_H
#define KERNEL_BOOT_INFO_H

#include "ntdef.h"

#define KI_NO_FRAMEBUFFER 0xFF            /* Type when GRUB gave no tag 8 */

typedef struct _KI_BOOT_FRAMEBUFFER {  /* multiboot2 tag 8 */
    ULONG64 Address;                /* physical */
    ULONG Pitch;                    /* bytes from one pixel row to the next */
    ULONG Width, Height;            /* pixels */
    UCHAR BitsPerPixel;
    UCHAR Type;                     /* 1 = RGB, the one kernel/framebuffer.c draws on */
    UCHAR RedPosition, RedSize;     /* RGB only: each color's lowest bit and width */
    UCHAR GreenPosition, GreenSize;
    UCHAR BluePosition, BlueSize;
} KI_BOOT_FRAMEBUFFER;

typedef struct _KI_BOOT_INFO {
    char CommandLine[256];          /* multiboot2 tag 1 */
    char LoaderName[64];            /* multiboot2 tag 2 */
    ULONG64 UsableMemory;           /* bytes of type-1 RAM in the memory map */
    const void *AcpiRsdp;           /* &RsdpCopy if GRUB gave one, else NULL */
    UCHAR RsdpCopy[36];             /* the RSDP from tag 15, else tag 14: kept
                                       here, as the boot information's memory
                                       is not reserved once we run */
    BOOLEAN AcpiRsdpIsXsdp;         /* TRUE if it came from tag 15 (ACPI 2.0+) */
    KI_BOOT_FRAMEBUFFER Framebuffer;
} KI_BOOT_INFO;

extern KI_BOOT_INFO KiBootInfo;

/* Fill KiBootInfo from the Multiboot2 information (boot/entry.S checked
 * the magic). */
void KiParseBootInfo(ULONG_PTR Info);

#endif
