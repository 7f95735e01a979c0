/*
 * boot_info.c - walk GRUB's Multiboot2 boot information (spec section 3.6):
 * a header then tags, each 8-byte aligned, ending with a type-0 tag; or the
 * Multiboot (version 1) information of QEMU's -kernel loader.
 */
#include "wdm.h"
#include "boot/multiboot2.h"
#include "kernel/boot_info.h"
#include "kernel/smp/trampoline.h"
#include "printf.h"
#include "string.h"

#define MMAP_AVAILABLE 1

KI_BOOT_INFO KiBootInfo;

static void copy_string(char *dst, size_t size, const struct mb2_tag *tag)
{
    const struct mb2_tag_string *s = (const void *)tag;
    ksnprintf(dst, size, "%s", s->string);
}

static void note_memory(uint64_t Base, uint64_t Length)
{
    KiBootInfo.UsableMemory += Length;
    if (Base <= KI_TRAMPOLINE_BASE && Base + Length >= KI_TRAMPOLINE_BASE + KI_TRAMPOLINE_SIZE)
        KiBootInfo.TrampolinePageUsable = TRUE;
}

static void add_memory(const struct mb2_tag *tag)
{
    const struct mb2_tag_mmap *m = (const void *)tag;
    const uint8_t *end = (const uint8_t *)tag + tag->size;

    for (const uint8_t *p = (const uint8_t *)m->entries; p + m->entry_size <= end;
         p += m->entry_size) {
        const struct mb2_mmap_entry *e = (const void *)p;
        if (e->type == MMAP_AVAILABLE)
            note_memory(e->base_addr, e->length);
    }
    KiBootInfo.MemoryMapPresent = TRUE;
}

static void copy_rsdp(const struct mb2_tag *tag)
{
    size_t length = tag->size - sizeof(*tag);

    if (length > sizeof(KiBootInfo.RsdpCopy))
        length = sizeof(KiBootInfo.RsdpCopy);
    memcpy(KiBootInfo.RsdpCopy, ((const struct mb2_tag_acpi *)tag)->rsdp, length);
    KiBootInfo.AcpiRsdp = KiBootInfo.RsdpCopy;
}

static void copy_framebuffer(const struct mb2_tag *tag)
{
    size_t length = tag->size;

    if (length > sizeof(KiBootInfo.Framebuffer))
        length = sizeof(KiBootInfo.Framebuffer);
    memcpy(&KiBootInfo.Framebuffer, tag, length);
}

/* Without GRUB's ACPI tags: the RSDP where a PC BIOS keeps it, on a 16-byte
 * boundary in the read-only BIOS area 0xE0000-0xFFFFF (ACPI spec 5.2.5.1,
 * "Finding the RSDP on IA-PC Systems"; the EBDA, the other place, is found
 * through page 0, which is unmapped here).  The signature only: the ACPI code
 * checks the checksums (kernel/acpi/acpi.c). */
static void find_bios_rsdp(void)
{
    for (ULONG_PTR p = 0xE0000; p < 0x100000; p += 16)
        if (memcmp((const void *)p, "RSD PTR ", 8) == 0) {
            memcpy(KiBootInfo.RsdpCopy, (const void *)p, sizeof(KiBootInfo.RsdpCopy));
            KiBootInfo.AcpiRsdp = KiBootInfo.RsdpCopy;
            KiBootInfo.AcpiRsdpIsXsdp = KiBootInfo.RsdpCopy[15] >= 2;   /* Revision */
            return;
        }
}

/* Multiboot (version 1) information, from QEMU's -kernel loader: the command
 * line, the memory map and the loader's name.  No ACPI copy (the RSDP is
 * found in the BIOS area) and no framebuffer (the serial console alone). */
static void parse_mb1(const struct mb1_info *Info)
{
    find_bios_rsdp();
    if (Info->flags & MB1_INFO_CMDLINE) {
        /* Version 1 loaders put the image's path first (QEMU: "file args"). */
        const char *line = (const char *)(ULONG_PTR)Info->cmdline;
        while (*line && *line != ' ')
            line++;
        ksnprintf(KiBootInfo.CommandLine, sizeof(KiBootInfo.CommandLine), "%s",
                  *line ? line + 1 : line);
    }
    if (Info->flags & MB1_INFO_LOADER_NAME)
        ksnprintf(KiBootInfo.LoaderName, sizeof(KiBootInfo.LoaderName), "%s",
                  (const char *)(ULONG_PTR)Info->boot_loader_name);
    if (!(Info->flags & MB1_INFO_MMAP))
        return;
    for (uint32_t offset = 0; offset + sizeof(struct mb1_mmap_entry) <= Info->mmap_length;) {
        const struct mb1_mmap_entry *e = (const void *)(ULONG_PTR)(Info->mmap_addr + offset);
        if (e->type == MMAP_AVAILABLE)
            note_memory(e->base_addr, e->length);
        offset += e->size + sizeof(e->size);
    }
    KiBootInfo.MemoryMapPresent = TRUE;
}

/* boot/entry.S has checked the loader's magic already: a kernel that was
 * not started by a Multiboot loader never gets here. */
void KiParseBootInfo(ULONG Magic, ULONG_PTR Info)
{
    ksnprintf(KiBootInfo.LoaderName, sizeof(KiBootInfo.LoaderName), "unknown");
    if (Magic == MB1_BOOTLOADER_MAGIC) {
        parse_mb1((const void *)Info);
        return;
    }
    const struct mb2_info *header = (const void *)Info;
    const uint8_t *p = (const uint8_t *)(header + 1);
    const uint8_t *end = (const uint8_t *)Info + header->total_size;

    while (p + sizeof(struct mb2_tag) <= end) {
        const struct mb2_tag *tag = (const void *)p;
        if (tag->type == MB2_TAG_END)
            break;
        switch (tag->type) {
        case MB2_TAG_CMDLINE:
            copy_string(KiBootInfo.CommandLine, sizeof(KiBootInfo.CommandLine), tag);
            break;
        case MB2_TAG_BOOTLOADER_NAME:
            copy_string(KiBootInfo.LoaderName, sizeof(KiBootInfo.LoaderName), tag);
            break;
        case MB2_TAG_MMAP:
            add_memory(tag);
            break;
        case MB2_TAG_FRAMEBUFFER:
            copy_framebuffer(tag);
            break;
        case MB2_TAG_ACPI_NEW:
            copy_rsdp(tag);
            KiBootInfo.AcpiRsdpIsXsdp = TRUE;
            break;
        case MB2_TAG_ACPI_OLD:
            if (!KiBootInfo.AcpiRsdpIsXsdp)     /* the 2.0 copy wins */
                copy_rsdp(tag);
            break;
        }
        p += (tag->size + 7) & ~7u;
    }
}
