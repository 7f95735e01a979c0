/*
 * test_dpc.h - what the DPC tests share: a DPC routine that records where
 * and how it ran, and a bounded wait.
 */
#ifndef TESTS_KERNEL_TEST_DPC_H
#define TESTS_KERNEL_TEST_DPC_H

#include "wdm.h"
#include "ktest.h"
#include "kernel/dpc/dpc.h"
#include "arch/x86_64/cpu.h"

#define KT_DPC_WAIT_US 5000000          /* generous: 8 vCPUs share 2 host cores */

typedef struct _KT_DPC_RECORD {
    volatile LONG Runs;
    volatile ULONG Cpu;                 /* of the last run */
    volatile ULONG64 Ticks;             /* that CPU's ClockTicks when it ran */
    volatile KIRQL Irql;
    volatile BOOLEAN InterruptsOn, Executing, OnDpcStack;
    PKDPC volatile Dpc;
    PVOID volatile Argument1, Argument2;
} KT_DPC_RECORD;

/* DeferredContext = its KT_DPC_RECORD. */
static __attribute__((unused)) VOID kt_record_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1,
                                                  PVOID Argument2)
{
    KT_DPC_RECORD *r = Context;

    r->Irql = KeGetCurrentIrql();
    r->InterruptsOn = (read_rflags() & RFLAGS_IF) != 0;
    r->Executing = KeIsExecutingDpc() != 0;
    r->OnDpcStack = KiIsOnDpcStack();
    r->Cpu = KeGetCurrentProcessorNumber();
    r->Ticks = KeGetCurrentPrcb()->ClockTicks;
    r->Dpc = Dpc;
    r->Argument1 = Argument1;
    r->Argument2 = Argument2;
    __atomic_fetch_add(&r->Runs, 1, __ATOMIC_RELEASE);
}

/* Wait until *Value >= Wanted, at most Microseconds; TRUE if it got there. */
static inline BOOLEAN kt_wait_at_least_us(volatile LONG *Value, LONG Wanted, ULONG Microseconds)
{
    for (ULONG waited = 0; waited < Microseconds; waited += 20) {
        if (__atomic_load_n(Value, __ATOMIC_ACQUIRE) >= Wanted)
            return TRUE;
        KeStallExecutionProcessor(20);
    }
    return __atomic_load_n(Value, __ATOMIC_ACQUIRE) >= Wanted;
}

/* The same, at most KT_DPC_WAIT_US. */
static inline BOOLEAN kt_wait_at_least(volatile LONG *Value, LONG Wanted)
{
    return kt_wait_at_least_us(Value, Wanted, KT_DPC_WAIT_US);
}

#endif
