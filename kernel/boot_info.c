/*
 * boot_info.c - walk GRUB's Multiboot2 boot information (spec section 3.6):
 * a header then tags, each 8-byte aligned, ending with a type-0 tag.
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

static void add_memory(const struct mb2_tag *tag)
{
    const struct mb2_tag_mmap *m = (const void *)tag;
    const uint8_t *end = (const uint8_t *)tag + tag->size;

    for (const uint8_t *p = (const uint8_t *)m->entries; p + m->entry_size <= end;
         p += m->entry_size) {
        const struct mb2_mmap_entry *e = (const void *)p;
        if (e->type != MMAP_AVAILABLE)
            continue;
        KiBootInfo.UsableMemory += e->length;
        if (e->base_addr <= KI_TRAMPOLINE_BASE &&
            e->base_addr + e->length >= KI_TRAMPOLINE_BASE + KI_TRAMPOLINE_SIZE)
            KiBootInfo.TrampolinePageUsable = TRUE;
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

/* boot/entry.S has checked the loader's magic already: a kernel that was
 * not started by a Multiboot2 loader never gets here. */
void KiParseBootInfo(ULONG_PTR Info)
{
    const struct mb2_info *header = (const void *)Info;
    const uint8_t *p = (const uint8_t *)(header + 1);
    const uint8_t *end = (const uint8_t *)Info + header->total_size;

    ksnprintf(KiBootInfo.LoaderName, sizeof(KiBootInfo.LoaderName), "unknown");
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
