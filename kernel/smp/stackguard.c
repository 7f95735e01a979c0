/*
 * stackguard.c - unmap the guard page below every kernel stack, and name the
 * stack an address in a guard page belongs to (kernel/smp/stackguard.h).
 *
 * boot/entry.S maps 0-4 GiB with 2 MiB pages (4 KiB ones for the first
 * 2 MiB).  A guard page inside a 2 MiB page needs that page split first:
 * a 4 KiB page table from a static pool, filled to map the same 2 MiB with
 * the same attributes, replaces the PD entry; then the guard's entry is
 * cleared and invlpg drops whatever this CPU cached for that address (the
 * 2 MiB entry included, SDM Vol. 3A 4.10.4.1).  Done once on the boot CPU
 * before any other CPU runs, so no other TLB can hold a stale entry.
 */
#include "wdm.h"
#include "kernel/smp/stackguard.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "kernel/thread/thread.h"

#define PTE_PRESENT     0x001ull
#define PTE_WRITE       0x002ull
#define PTE_PWT         0x008ull
#define PTE_PCD         0x010ull
#define PTE_LARGE       0x080ull        /* PS: a 2 MiB page in a PD entry */
#define PTE_ADDRESS     0x000FFFFFFFFFF000ull
#define LARGE_PAGE_MASK (~0x1FFFFFull)
#define PAGE_TABLE_SIZE 512

/* 2 MiB pages the guards may fall in: the stacks are ~10 MiB of .bss. */
#define KI_GUARD_PAGE_TABLES 16

/* Only the boot CPU writes these, before the others start. */
static ULONG64 KiGuardPageTables[KI_GUARD_PAGE_TABLES][PAGE_TABLE_SIZE]
    __attribute__((aligned(4096)));
static ULONG KiGuardPageTablesUsed;

typedef struct _KI_STACK_GUARD {
    PVOID Page;
    const char *What;
    const char *Owner;          /* "CPU" or "thread slot" */
    ULONG Cpu;                  /* its number */
} KI_STACK_GUARD;

/* Guard number Index: the boot stack, then per CPU its own stack, its DPC
 * stack and its IST stacks, then each thread slot's stack (Cpu = the slot).
 * FALSE past the last. */
static BOOLEAN stack_guard(ULONG Index, KI_STACK_GUARD *Guard)
{
    static const char *const ist_names[IST_COUNT] = {
        "double-fault stack", "NMI stack", "machine-check stack",
    };
    const ULONG per_cpu = 2 + IST_COUNT;

    if (Index == 0) {
        *Guard = (KI_STACK_GUARD){ KiBootStackGuard, "boot stack", "CPU", 0 };
        return TRUE;
    }
    ULONG cpu = (Index - 1) / per_cpu, k = (Index - 1) % per_cpu;
    if (cpu >= MAXIMUM_PROCESSORS) {
        ULONG slot = Index - 1 - MAXIMUM_PROCESSORS * per_cpu;
        if (slot >= KI_MAXIMUM_THREADS)
            return FALSE;
        *Guard = (KI_STACK_GUARD){ KiThreadStackGuard(slot), "stack", "thread slot", slot };
        return TRUE;
    }
    Guard->Cpu = cpu;
    Guard->Owner = "CPU";
    if (k == 0) {
        Guard->Page = KiProcessorStackGuard(cpu);
        Guard->What = "stack";
    } else if (k == 1) {
        Guard->Page = KiDpcStackGuard(cpu);
        Guard->What = "DPC stack";
    } else {
        Guard->Page = KiIstStackGuard(cpu, k - 1);
        Guard->What = ist_names[k - 2];
    }
    return TRUE;
}

/* The identity map makes a table's physical address its pointer. */
static ULONG64 *table_at(ULONG64 Entry)
{
    return (ULONG64 *)(ULONG_PTR)(Entry & PTE_ADDRESS);
}

static void unmap_page(ULONG_PTR Address)
{
    ULONG64 *pml4 = table_at(read_cr3());
    ULONG64 *pdpt = table_at(pml4[(Address >> 39) & 511]);
    ULONG64 *pde = &table_at(pdpt[(Address >> 30) & 511])[(Address >> 21) & 511];

    if (*pde & PTE_LARGE) {
        if (KiGuardPageTablesUsed == KI_GUARD_PAGE_TABLES)
            /* More 2 MiB pages hold stacks than the pool was sized for. */
            KeBugCheckEx(PHASE0_INITIALIZATION_FAILED, Address, KI_GUARD_PAGE_TABLES, 0, 0);
        ULONG64 *pt = KiGuardPageTables[KiGuardPageTablesUsed++];
        ULONG64 base = *pde & PTE_ADDRESS & LARGE_PAGE_MASK;
        ULONG64 flags = *pde & (PTE_PRESENT | PTE_WRITE | PTE_PWT | PTE_PCD);
        for (ULONG i = 0; i < PAGE_TABLE_SIZE; i++)
            pt[i] = (base + ((ULONG64)i << 12)) | flags;
        *pde = (ULONG64)(ULONG_PTR)pt | PTE_PRESENT | PTE_WRITE;    /* same map, 4 KiB pages */
    }
    table_at(*pde)[(Address >> 12) & 511] = 0;                      /* not present */
    invlpg(Address);
}

VOID KiInitializeStackGuards(VOID)
{
    KI_STACK_GUARD guard;

    for (ULONG i = 0; stack_guard(i, &guard); i++)
        unmap_page((ULONG_PTR)guard.Page);
}

const char *KiFindStackGuard(ULONG_PTR Address, const char **Owner, PULONG Cpu,
                             PULONG_PTR GuardPage)
{
    KI_STACK_GUARD guard;

    for (ULONG i = 0; stack_guard(i, &guard); i++)
        if (Address - (ULONG_PTR)guard.Page < KI_GUARD_PAGE_SIZE) {
            *Owner = guard.Owner;
            *Cpu = guard.Cpu;
            *GuardPage = (ULONG_PTR)guard.Page;
            return guard.What;
        }
    return NULL;
}
