/*
 * multiboot2.h - the Multiboot2 specification's numbers (version 2.0,
 * sections 3.1 "OS image format" and 3.6 "Boot information format"), shared by
 * boot/entry.S and the C code that reads GRUB's boot information.
 */
#ifndef BOOT_MULTIBOOT2_H
#define BOOT_MULTIBOOT2_H

#define MB2_HEADER_MAGIC            0xE85250D6  /* in the image, for GRUB */
#define MB2_BOOTLOADER_MAGIC        0x36D76289  /* in EAX, from GRUB */
#define MB2_ARCH_I386               0
#define MB2_HEADER_TAG_END          0
#define MB2_HEADER_TAG_INFO_REQUEST 1
#define MB2_HEADER_TAG_FRAMEBUFFER  5           /* 3.1.10: a graphics mode, please */
#define MB2_HEADER_TAG_OPTIONAL     1           /* flags bit 0: GRUB may ignore the tag */

#define MB2_TAG_END                 0           /* boot information tags */
#define MB2_TAG_CMDLINE             1
#define MB2_TAG_BOOTLOADER_NAME     2
#define MB2_TAG_MMAP                6
#define MB2_TAG_FRAMEBUFFER         8           /* 3.6.12 "Framebuffer info" */
#define MB2_FRAMEBUFFER_TYPE_RGB    1           /* direct color; 0 = palette, 2 = EGA text */
#define MB2_TAG_ACPI_OLD            14          /* copy of the ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW            15          /* copy of the ACPI 2.0+ RSDP */

/* Multiboot (version 1) 0.6.96, section 3.1 "OS image format": the tests'
 * negative boots start the kernel with QEMU's own Multiboot loader
 * (-kernel), which skips the firmware's disk boot and GRUB.  QEMU loads only
 * 32-bit ELF that way, so the header gives the load addresses (flag 16). */
#define MB1_HEADER_MAGIC            0x1BADB002  /* in the image */
#define MB1_BOOTLOADER_MAGIC        0x2BADB002  /* in EAX, from the loader */
#define MB1_HEADER_FLAGS            0x00010002  /* bit 1: memory map; bit 16: addresses */
#define MB1_INFO_CMDLINE            (1 << 2)    /* multiboot_info.flags */
#define MB1_INFO_MMAP               (1 << 6)
#define MB1_INFO_LOADER_NAME        (1 << 9)

#define KI_BOOT_STACK_SIZE          16384

#ifndef __ASSEMBLER__
#include <stdint.h>

struct mb1_info {                /* 3.3 "Boot information format", the fields used */
    uint32_t flags;
    uint32_t mem_lower, mem_upper, boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
};

struct mb1_mmap_entry {          /* size excludes itself: the next is at +size+4 */
    uint32_t size;
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;
} __attribute__((packed));

struct mb2_info {
    uint32_t total_size;
    uint32_t reserved;
};

struct mb2_tag {                 /* tags follow the header, 8-byte aligned */
    uint32_t type;
    uint32_t size;
};

struct mb2_tag_string {          /* MB2_TAG_CMDLINE, MB2_TAG_BOOTLOADER_NAME */
    struct mb2_tag tag;
    char string[];
};

struct mb2_mmap_entry {
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;               /* 1 = available RAM */
    uint32_t reserved;
};

struct mb2_tag_mmap {
    struct mb2_tag tag;
    uint32_t entry_size;
    uint32_t entry_version;
    struct mb2_mmap_entry entries[];
};

struct mb2_tag_framebuffer {     /* MB2_TAG_FRAMEBUFFER */
    struct mb2_tag tag;
    uint64_t addr;               /* physical */
    uint32_t pitch;              /* bytes per line */
    uint32_t width, height;      /* pixels (characters for EGA text) */
    uint8_t bpp;
    uint8_t type;
    uint16_t reserved;
    /* type 1 (RGB): each color's lowest bit and width in bits */
    uint8_t red_position, red_mask_size;
    uint8_t green_position, green_mask_size;
    uint8_t blue_position, blue_mask_size;
} __attribute__((packed));       /* 38 bytes, as GRUB sizes the tag: no tail padding */

struct mb2_tag_acpi {            /* MB2_TAG_ACPI_OLD / MB2_TAG_ACPI_NEW */
    struct mb2_tag tag;
    uint8_t rsdp[];
};
#endif

#endif
