/*
 * gdt.c - each CPU's GDT, TSS and interrupt stacks.
 *
 * Long mode ignores segment bases and limits, but still needs a code segment
 * with L=1, a data segment for SS, and a TSS: the TSS's IST slots give the
 * double fault, NMI and machine check their own known-good stacks (SDM Vol. 3A
 * 7.7 "Task Management in 64-bit Mode", 6.14.5 "Interrupt Stack Table"), so a
 * kernel stack overflow (into a guard page, kernel/smp/stackguard.h) ends in a
 * clean STOP screen, not a triple fault.
 */
#include "arch/x86_64/gdt.h"
#include "kernel/smp/stackguard.h"
#include "string.h"

#define IST_STACK_SIZE 8192

struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];            /* ring 0-2 stacks: unused, no ring changes */
    uint64_t reserved1;
    uint64_t ist[7];            /* IST1..IST7 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
C_ASSERT(sizeof(struct tss64) == 104);

struct cpu_tables {
    struct {
        uint64_t gdt[GDT_ENTRIES];
        struct tss64 tss;
    } t;
    KI_GUARDED_STACK(IST_STACK_SIZE) ist_stacks[IST_COUNT];     /* guard pages below */
};

static struct cpu_tables KiCpuTables[MAXIMUM_PROCESSORS] __attribute__((aligned(4096)));

struct __attribute__((packed)) descriptor_pointer {
    uint16_t limit;
    uint64_t base;
};

PVOID KiIstStackGuard(ULONG Number, ULONG Ist)
{
    return KiCpuTables[Number].ist_stacks[Ist - 1].Guard;
}

void KiInitializeGdt(ULONG Number)
{
    struct cpu_tables *c = &KiCpuTables[Number];
    __typeof__(c->t) *t = &c->t;
    uint64_t tss = (uint64_t)&t->tss;
    uint64_t tss_limit = sizeof(t->tss) - 1;

    memset(t, 0, sizeof(*t));           /* not the stacks: their guards are unmapped */
    t->gdt[GDT_KERNEL_CODE / 8] = 0x00AF9A000000FFFFull;   /* P, DPL 0, code, L */
    t->gdt[GDT_KERNEL_DATA / 8] = 0x00CF92000000FFFFull;   /* P, DPL 0, data, W */
    /* 16-byte available 64-bit TSS descriptor, type 9 (SDM Vol. 3A 7.2.3). */
    t->gdt[GDT_TSS / 8] = (tss_limit & 0xFFFF) | ((tss & 0xFFFFFF) << 16) |
                          (0x89ull << 40) | (((tss >> 24) & 0xFF) << 56);
    t->gdt[GDT_TSS / 8 + 1] = tss >> 32;
    for (int i = 0; i < IST_COUNT; i++)
        t->tss.ist[i] = (uint64_t)&c->ist_stacks[i].Stack[IST_STACK_SIZE];
    t->tss.iomap_base = sizeof(t->tss);     /* no I/O permission bitmap */

    struct descriptor_pointer gdtr = { sizeof(t->gdt) - 1, (uint64_t)t->gdt };
    __asm__ volatile(
        "lgdt %0\n\t"
        "mov %1, %%ds\n\t"
        "mov %1, %%es\n\t"
        "mov %1, %%ss\n\t"
        "pushq %2\n\t"                  /* reload CS with a far return */
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "ltr %w3"
        :
        : "m"(gdtr), "r"((uint64_t)GDT_KERNEL_DATA), "i"(GDT_KERNEL_CODE), "r"(GDT_TSS)
        : "rax", "memory");
}
