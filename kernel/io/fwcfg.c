/*
 * fwcfg.c - read a named file from QEMU's firmware configuration device.
 *
 * QEMU's "fw_cfg" (QEMU documentation, "QEMU Firmware Configuration (fw_cfg)
 * Device"): write a 16-bit selector to port 0x510, read the item's bytes
 * from port 0x511.  Item 0 is the signature
 * "QEMU"; item 0x19 is the file directory, a big-endian count followed by
 * 64-byte entries {be32 size, be16 select, be16 reserved, char name[56]}.
 * On a machine without the device the signature read returns other bytes and
 * we report "no such file".
 */
#include "kernel/io/fwcfg.h"
#include "arch/x86_64/cpu.h"
#include "string.h"

#define FW_CFG_PORT_SELECTOR    0x510
#define FW_CFG_PORT_DATA        0x511
#define FW_CFG_SIGNATURE        0x0000
#define FW_CFG_FILE_DIR         0x0019

static void read_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n--)
        *p++ = inb(FW_CFG_PORT_DATA);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

long KiReadFirmwareFile(const char *name, char *buf, size_t size)
{
    char signature[4];
    uint8_t count[4];

    outw(FW_CFG_PORT_SELECTOR, FW_CFG_SIGNATURE);
    read_bytes(signature, sizeof(signature));
    if (memcmp(signature, "QEMU", 4) != 0)
        return -1;

    outw(FW_CFG_PORT_SELECTOR, FW_CFG_FILE_DIR);
    read_bytes(count, sizeof(count));
    for (uint32_t i = be32(count); i > 0; i--) {
        struct {
            uint8_t size[4];
            uint8_t select[2];
            uint8_t reserved[2];
            char name[56];
        } entry;
        read_bytes(&entry, sizeof(entry));
        if (strncmp(entry.name, name, sizeof(entry.name)) != 0)
            continue;
        size_t length = be32(entry.size);
        if (length >= size)
            length = size - 1;
        outw(FW_CFG_PORT_SELECTOR, (uint16_t)((entry.select[0] << 8) | entry.select[1]));
        read_bytes(buf, length);
        buf[length] = '\0';
        return (long)length;
    }
    return -1;
}
