/*
 * trampoline.S - where an application processor starts: real mode at
 * KI_TRAMPOLINE_BASE, to long mode, to C.
 *
 * Contract with kernel/smp/smp.c, which copies [KiTrampolineStart,
 * KiTrampolineEnd) to physical KI_TRAMPOLINE_BASE (0x8000, a 4 KiB page
 * below 1 MiB that GRUB and the BIOS leave free) and fills the mailbox at its
 * end before each STARTUP IPI (vector = KI_TRAMPOLINE_BASE >> 12):
 *   KiTrampolineCr3     (4 bytes)  the boot CPU's page tables; below 4 GiB
 *   KiTrampolineStack   (8 bytes)  top of this AP's kernel stack
 *   KiTrampolineNumber  (4 bytes)  this AP's processor number
 *   KiTrampolineEntry   (8 bytes)  C function void (ULONG Number)
 * The AP arrives in real mode with CS:IP = 0x0800:0000 (SDM Vol. 3A 8.4.4.1
 * "Typical BSP Initialization Sequence"), builds nothing itself, and calls
 * Entry(Number) with RSP = Stack, interrupts off, CS = 0x18 of the
 * trampoline's GDT; the C side loads its own GDT and IDT at once.
 * The code is position dependent: every absolute address is written as
 * (label - KiTrampolineStart + KI_TRAMPOLINE_BASE).
 */
#include "kernel/smp/trampoline.h"

#define ABS(label) ((label) - KiTrampolineStart + KI_TRAMPOLINE_BASE)

    .section .rodata                    /* copied, never run in place */
    .code16
    .globl KiTrampolineStart
KiTrampolineStart:
    cli
    cld
    xor     %ax, %ax
    mov     %ax, %ds
    lgdtl   ABS(trampoline_gdt_pointer)
    mov     %cr0, %eax
    or      $1, %eax                    /* CR0.PE: protected mode */
    mov     %eax, %cr0
    ljmpl   $0x08, $ABS(protected_mode)

    .code32
protected_mode:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    /* The same steps as boot/entry.S (SDM Vol. 3A 10.8.5): PAE, CR3, LME, PG. */
    mov     %cr4, %eax
    or      $0x20, %eax                 /* CR4.PAE */
    mov     %eax, %cr4
    mov     ABS(KiTrampolineCr3), %eax
    mov     %eax, %cr3
    mov     $0xC0000080, %ecx           /* IA32_EFER */
    rdmsr
    or      $0x900, %eax                /* LME | NXE */
    wrmsr
    mov     %cr0, %eax
    or      $0x80010000, %eax           /* PG | WP */
    mov     %eax, %cr0
    ljmp    $0x18, $ABS(long_mode)

    .code64
long_mode:
    mov     ABS(KiTrampolineStack), %rsp
    mov     ABS(KiTrampolineNumber), %edi
    mov     ABS(KiTrampolineEntry), %rax
    xor     %ebp, %ebp                  /* ends backtraces here */
    call    *%rax
1:  cli
    hlt
    jmp     1b

    .align 8
trampoline_gdt:
    .quad   0
    .quad   0x00CF9A000000FFFF          /* 0x08: 32-bit code */
    .quad   0x00CF92000000FFFF          /* 0x10: data */
    .quad   0x00AF9A000000FFFF          /* 0x18: 64-bit code */
trampoline_gdt_pointer:
    .short  trampoline_gdt_pointer - trampoline_gdt - 1
    .long   ABS(trampoline_gdt)

    .align 8
    .globl KiTrampolineCr3, KiTrampolineStack, KiTrampolineNumber, KiTrampolineEntry
KiTrampolineStack:  .quad 0
KiTrampolineEntry:  .quad 0
KiTrampolineCr3:    .long 0
KiTrampolineNumber: .long 0
    .globl KiTrampolineEnd
KiTrampolineEnd:
