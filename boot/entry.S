/*
 * entry.S - from GRUB (32-bit protected mode) to C in 64-bit long mode.
 *
 * Contract with GRUB (Multiboot2 spec, "Machine state"): EAX = 0x36D76289,
 * EBX = physical address of the boot information, paging off, interrupts off,
 * flat 32-bit segments, no usable stack.  Or the same from a Multiboot
 * (version 1) loader, QEMU's -kernel: EAX = 0x2BADB002, EBX = its info.
 * Contract with C: KiSystemStartup(magic, info) is called with RDI = magic,
 * RSI = info (System V), on KiBootStack, in 64-bit mode with the first 4 GiB
 * identity mapped (page 0 left unmapped so NULL dereferences fault), CS = 0x08,
 * data segments = 0x10, interrupts still off.  It never returns.
 *
 * Page tables (docs/boot.md): one PML4 -> one PDPT -> four page directories of
 * 2 MiB pages (0-4 GiB).  The first 2 MiB use a 4 KiB page table instead, so
 * that page 0 can be left not-present.  The fourth GiB, where the local APIC,
 * I/O APIC and HPET registers live, is mapped cache-disabled (PCD|PWT).
 */
#include "boot/multiboot2.h"

#define COM1            0x3F8
#define PTE_PRESENT     0x001
#define PTE_WRITE       0x002
#define PTE_PWT         0x008
#define PTE_PCD         0x010
#define PTE_LARGE       0x080           /* PS: a 2 MiB page in a PD entry */
#define CR0_PE          (1 << 0)
#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define MSR_EFER        0xC0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)

    .section .multiboot2, "a"
    .align 8
multiboot2_header:
    .long MB2_HEADER_MAGIC
    .long MB2_ARCH_I386
    .long multiboot2_header_end - multiboot2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))
    .align 8
    .short MB2_HEADER_TAG_INFO_REQUEST, 0  /* flags 0: GRUB must know each type */
    .long 8 + 4 * 4
    .long MB2_TAG_CMDLINE, MB2_TAG_MMAP, MB2_TAG_ACPI_OLD, MB2_TAG_ACPI_NEW
    .align 8
    /* A linear framebuffer for the console and the STOP screen
     * (kernel/console/framebuffer.c): 1024x768 at 32 bits per pixel if the firmware
     * has it, else GRUB's nearest.  Optional: a machine without one (or a
     * GRUB without video) still boots, on the serial console alone. */
    .short MB2_HEADER_TAG_FRAMEBUFFER, MB2_HEADER_TAG_OPTIONAL
    .long 20
    .long 1024, 768, 32                 /* width, height, depth; 0 = no preference */
    .align 8
    .short MB2_HEADER_TAG_END, 0
    .long 8
multiboot2_header_end:

    /* Multiboot (version 1), for QEMU's -kernel loader (boot/multiboot2.h):
     * load the file from the start of .text to the end of the data at their
     * link addresses, clear up to the end of .bss, enter at _start. */
    .align 4
multiboot1_header:
    .long MB1_HEADER_MAGIC
    .long MB1_HEADER_FLAGS
    .long -(MB1_HEADER_MAGIC + MB1_HEADER_FLAGS)
    .long multiboot1_header             /* header_addr */
    .long __kernel_start                /* load_addr */
    .long __data_end                    /* load_end_addr */
    .long __bss_end                     /* bss_end_addr */
    .long _start                        /* entry_addr */

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    mov     $KiBootStack + KI_BOOT_STACK_SIZE, %esp
    mov     %eax, %edi                  /* keep magic and info for C; */
    mov     %ebx, %esi                  /* EDI/ESI survive the code below */

    cmp     $MB2_BOOTLOADER_MAGIC, %eax
    je      1f
    cmp     $MB1_BOOTLOADER_MAGIC, %eax
    mov     $msg_not_multiboot2, %ebx
    jne     fail32
1:

    /* Long mode needs CPUID leaf 0x80000001 EDX bit 29 (SDM Vol. 3A 9.8.5). */
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    mov     $msg_no_long_mode, %ebx
    jb      fail32
    mov     $0x80000001, %eax
    cpuid
    test    $(1 << 29), %edx
    jz      fail32

    /* .bss holds the page tables and the stack; nothing is on the stack
     * yet, so zeroing it whole is safe.  EBP keeps the magic meanwhile.
     * Four bytes a store (linker.ld aligns both ends to 4 KiB): .bss is
     * ~20 MiB, and under TCG each iteration of a rep string instruction
     * costs alike, so rep stosb took a quarter of a boot. */
    mov     %edi, %ebp
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    shr     $2, %ecx
    xor     %eax, %eax
    rep stosl
    mov     %ebp, %edi

    /* PML4[0] -> PDPT; PDPT[i] -> PD i (i = 0..3). */
    movl    $(KiBootPdpt + PTE_PRESENT + PTE_WRITE), KiBootPml4
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    add     $(KiBootPd + PTE_PRESENT + PTE_WRITE), %eax
    mov     %eax, KiBootPdpt(, %ecx, 8)
    inc     %ecx
    cmp     $4, %ecx
    jne     1b

    /* 2048 PD entries of 2 MiB: entry i maps i * 2 MiB (bits 32+ go in the
     * high dword: i >> 11). */
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $(PTE_PRESENT + PTE_WRITE + PTE_LARGE), %eax
    cmp     $1536, %ecx                 /* 3 GiB and up: device registers */
    jb      3f
    or      $(PTE_PCD + PTE_PWT), %eax
3:  mov     %eax, KiBootPd(, %ecx, 8)
    mov     %ecx, %eax
    shr     $11, %eax
    mov     %eax, KiBootPd + 4(, %ecx, 8)
    inc     %ecx
    cmp     $2048, %ecx
    jne     2b

    /* PD[0] -> a 4 KiB table for 0-2 MiB; entry 0 stays 0 (not present). */
    movl    $(KiBootPt0 + PTE_PRESENT + PTE_WRITE), KiBootPd
    movl    $0, KiBootPd + 4
    mov     $1, %ecx
4:  mov     %ecx, %eax
    shl     $12, %eax
    or      $(PTE_PRESENT + PTE_WRITE), %eax
    mov     %eax, KiBootPt0(, %ecx, 8)
    inc     %ecx
    cmp     $512, %ecx
    jne     4b

    /* SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode": PAE, CR3, EFER.LME,
     * then CR0.PG activates long mode (compatibility mode until the jump). */
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $KiBootPml4, %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $(EFER_LME | EFER_NXE), %eax
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_WP | CR0_PE), %eax
    mov     %eax, %cr0
    lgdt    KiBootGdtPointer
    ljmp    $0x08, $long_mode_entry

/* Print the NUL-terminated string at EBX on COM1 (polling, no setup beyond
 * what the BIOS left: GRUB used the port) and halt for good. */
fail32:
    mov     $COM1 + 5, %dx              /* line status register */
1:  in      %dx, %al
    test    $0x20, %al                  /* THR empty */
    jz      1b
    mov     (%ebx), %al
    test    %al, %al
    jz      2f
    mov     $COM1, %dx
    out     %al, %dx
    inc     %ebx
    jmp     fail32
2:  cli
    hlt
    jmp     2b

    .code64
long_mode_entry:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    xor     %eax, %eax
    mov     %ax, %fs
    mov     %ax, %gs
    mov     $KiBootStack + KI_BOOT_STACK_SIZE, %rsp
    xor     %ebp, %ebp                  /* ends the backtrace here */
    mov     %edi, %edi                  /* zero-extend magic and info */
    mov     %esi, %esi
    call    KiSystemStartup
1:  cli
    hlt
    jmp     1b

    .section .rodata
msg_not_multiboot2:
    .asciz  "ntsync: not started by a Multiboot loader (boot the ISO with GRUB)\r\n"
msg_no_long_mode:
    .asciz  "ntsync: this CPU has no long mode (x86-64); use qemu-system-x86_64\r\n"

    .align 16
    .globl KiBootGdt
KiBootGdt:                              /* replaced per CPU by arch/x86_64/gdt.c */
    .quad   0
    .quad   0x00AF9A000000FFFF          /* 0x08: 64-bit code, DPL 0 */
    .quad   0x00CF92000000FFFF          /* 0x10: data, DPL 0 */
KiBootGdtEnd:
    .globl KiBootGdtPointer
KiBootGdtPointer:
    .short  KiBootGdtEnd - KiBootGdt - 1
    .quad   KiBootGdt

    .section .bss
    .align 4096
    .globl KiBootPml4
KiBootPml4:     .space 4096
KiBootPdpt:     .space 4096
KiBootPd:       .space 4 * 4096
KiBootPt0:      .space 4096
    .align 4096
    .globl KiBootStackGuard             /* unmapped by kernel/smp/stackguard.c */
KiBootStackGuard: .space 4096
    .globl KiBootStack
KiBootStack:    .space KI_BOOT_STACK_SIZE
