/*
 * test_dpc_negative.c - DPC misuse ends in the bug check docs/dpc.md lists.
 * Each test runs alone in its own boot (the runner asks for it by name).
 * The watchdog, a NULL routine and a bad target number are checked in both
 * builds, as on Windows; IRQL misuse only in the checked build.
 */
#include "test_dpc.h"
#include "kernel/irql/clock.h"

#define KT_WATCHDOG_TICKS 20

static VOID kt_spin_forever(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    for (;;)
        cpu_relax();
}

static KDPC KtDpc;

/* P2, the DPC's time in ticks, is KT_WATCHDOG_TICKS + 1 when every tick
 * comes on time and more when the host kept the vCPU from taking some. */
KTEST_BUGCHECK(dpc_watchdog_single_dpc_too_long, DPC_WATCHDOG_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0), KT_ANY, KT_P(KT_WATCHDOG_TICKS), KT_P(0));
    KiSetDpcWatchdogLimits(KT_WATCHDOG_TICKS, 0);
    KeInitializeDpc(&KtDpc, kt_spin_forever, NULL);
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
}

/* Twice the limit with interrupts off (its ticks coalesce into one), then a
 * few ticks with them on, then return: only a watchdog that measures time,
 * not ticks, stops it. */
static VOID kt_stall_without_ticks(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    ULONG period = KiClockPeriodMicroseconds();

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    cli();
    KeStallExecutionProcessor(2 * KT_WATCHDOG_TICKS * period);
    sti();
    KeStallExecutionProcessor(5 * period);
}

KTEST_BUGCHECK(dpc_watchdog_counts_time_not_ticks, DPC_WATCHDOG_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0), KT_ANY, KT_P(KT_WATCHDOG_TICKS), KT_P(0));
    KiSetDpcWatchdogLimits(KT_WATCHDOG_TICKS, 0);
    KeInitializeDpc(&KtDpc, kt_stall_without_ticks, NULL);
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
}

KTEST_BUGCHECK(dpc_watchdog_too_long_at_dispatch, DPC_WATCHDOG_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(1), KT_P(KT_WATCHDOG_TICKS), KT_P(0), KT_P(0));
    KiSetDpcWatchdogLimits(0, KT_WATCHDOG_TICKS);
    KeRaiseIrqlToDpcLevel();
    for (;;)
        cpu_relax();
}

KTEST_BUGCHECK(dpc_insert_null_routine, TIMER_OR_DPC_INVALID)
{
    ktest_expect_bugcheck(KT_P(2), KT_P(0), KT_P(0), KT_P(0xFFF));
    KeInitializeDpc(&KtDpc, NULL, NULL);
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
}

KTEST_BUGCHECK(dpc_insert_bad_target_number, TIMER_OR_DPC_INVALID)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    ktest_expect_bugcheck(KT_P(3), KT_P(&KtDpc), KT_P(count), KT_P(count));
    KeInitializeDpc(&KtDpc, kt_spin_forever, NULL);
    KtDpc.Number = (USHORT)(MAXIMUM_PROCESSORS + count);    /* written behind the API's back */
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
}

#if DBG
static VOID kt_return_at_passive(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KeLowerIrql(PASSIVE_LEVEL);         /* e.g. a spin lock released with the wrong old IRQL */
}

KTEST_BUGCHECK(dpc_routine_returns_at_wrong_irql, IRQL_UNEXPECTED_VALUE)
{
    /* P1 = (current 0 << 16) | (expected 2 << 8) | 4 (a DPC routine). */
    ktest_expect_bugcheck(KT_P(0x204), KT_P(kt_return_at_passive), KT_P(&KtDpc), KT_P(0x77));
    KeInitializeDpc(&KtDpc, kt_return_at_passive, (PVOID)0x77);
    KeInsertQueueDpc(&KtDpc, NULL, NULL);
}

KTEST_BUGCHECK(dpc_flush_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(KeFlushQueuedDpcs), KT_P(DISPATCH_LEVEL), KT_P(8), KT_ANY);
    KeRaiseIrqlToDpcLevel();
    KeFlushQueuedDpcs();
}

static VOID kt_generic_nothing(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument2);
    KeSignalCallDpcDone(Argument1);
}

KTEST_BUGCHECK(dpc_generic_call_at_dispatch_level, IRQL_NOT_LESS_OR_EQUAL)
{
    ktest_expect_bugcheck(KT_P(KeGenericCallDpc), KT_P(DISPATCH_LEVEL), KT_P(8), KT_ANY);
    KeRaiseIrqlToDpcLevel();
    KeGenericCallDpc(kt_generic_nothing, NULL);
}
#endif
