/*
 * idt.c - the interrupt descriptor table, shared by all CPUs.
 *
 * Every one of the 256 vectors gets a 64-bit interrupt gate (type 0xE: the CPU
 * clears IF on entry, SDM Vol. 3A 6.12.1.3) pointing at its stub in trap.S.
 * The double fault, NMI and machine check switch to their IST stacks.
 */
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/trap.h"

struct __attribute__((packed)) idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;          /* P=1, DPL=0, type 0xE: 0x8E */
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
C_ASSERT(sizeof(struct idt_gate) == 16);

static struct idt_gate KiIdt[256] __attribute__((aligned(4096)));

static uint8_t ist_for_vector(unsigned vector)
{
    switch (vector) {
    case X86_TRAP_DF: return IST_DOUBLE_FAULT;
    case X86_TRAP_NMI: return IST_NMI;
    case X86_TRAP_MC: return IST_MACHINE_CHECK;
    default: return 0;
    }
}

void KiInitializeIdt(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t handler = (uint64_t)&KiVectorStubs[v * KI_VECTOR_STUB_SIZE];
        KiIdt[v] = (struct idt_gate){
            .offset_low = handler & 0xFFFF,
            .selector = GDT_KERNEL_CODE,
            .ist = ist_for_vector(v),
            .type_attr = 0x8E,
            .offset_mid = (handler >> 16) & 0xFFFF,
            .offset_high = handler >> 32,
        };
    }
}

void KiLoadIdt(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = { sizeof(KiIdt) - 1, (uint64_t)KiIdt };

    __asm__ volatile("lidt %0" : : "m"(idtr));
}
