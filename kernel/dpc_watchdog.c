/*
 * dpc_watchdog.c - the DPC watchdog (WDK: Bug Check 0x133
 * DPC_WATCHDOG_VIOLATION, KeQueryDpcWatchdogInformation).
 *
 * Every clock tick on every CPU counts, in that CPU's KPRCB:
 *   DpcTimeCount      ticks the DPC routine now running has taken (the
 *                     drain loop zeroes it before each call);
 *   DpcWatchdogCount  ticks in a row that found the CPU at DISPATCH_LEVEL or
 *                     above (TrapFrame->PreviousIrql), zeroed by any tick
 *                     that finds it lower.
 * Going past a limit is bug check 0x133, raised from the tick with the
 * interrupted code's registers and stack on the STOP screen:
 *   P1 0  one DPC too long:       P2 its count (limit + 1), P3 the limit, P4 0
 *   P1 1  too long at >= DISPATCH: P2 the period,  P3 0, P4 0
 * (Windows puts a triage block pointer in P4 / P3; we have none.)  ISRs are
 * not timed.  Being sampled by the tick, the cumulative count cannot see a
 * CPU dip below DISPATCH_LEVEL between two ticks.
 *
 * Limits: the `dpc_timeout_ms` and `dpc_watchdog_ms` options, 0 = off;
 * defaults 20 s and 120 s as on Windows (0x500 and 0x1E00 of its 15.6 ms
 * ticks), converted to our ticks at boot.
 */
#include "wdm.h"
#include "kernel/dpc.h"
#include "kernel/bugcheck.h"
#include "kernel/clock.h"
#include "kernel/options.h"

#define DEFAULT_DPC_TIMEOUT_MS      20000
#define DEFAULT_DPC_WATCHDOG_MS     120000

static ULONG KiDpcTimeoutMs = DEFAULT_DPC_TIMEOUT_MS;
static ULONG KiDpcWatchdogMs = DEFAULT_DPC_WATCHDOG_MS;

/* In ticks; read by every CPU's tick, written at boot and by tests. */
static volatile ULONG KiDpcTimeLimit;
static volatile ULONG KiDpcWatchdogPeriod;

static ULONG parse_ms(const char *value, const char *name, ULONG current)
{
    ULONG ms = 0;

    for (; *value >= '0' && *value <= '9'; value++)
        ms = ms * 10 + (ULONG)(*value - '0');
    if (*value == '\0' && ms <= 3600000)
        return ms;
    DbgPrint("warning: %s must be 0..3600000 (ms, 0 = off); keeping %u\n", name, current);
    return current;
}

static void apply_dpc_timeout_ms(const char *value)
{
    KiDpcTimeoutMs = parse_ms(value, "dpc_timeout_ms", KiDpcTimeoutMs);
}
KERNEL_OPTION("dpc_timeout_ms", "DPC watchdog: longest single DPC in ms, 0 = off (default 20000)",
              apply_dpc_timeout_ms);

static void apply_dpc_watchdog_ms(const char *value)
{
    KiDpcWatchdogMs = parse_ms(value, "dpc_watchdog_ms", KiDpcWatchdogMs);
}
KERNEL_OPTION("dpc_watchdog_ms",
              "DPC watchdog: longest stretch at >= DISPATCH_LEVEL in ms, 0 = off (default 120000)",
              apply_dpc_watchdog_ms);

static ULONG ms_to_ticks(ULONG ms)
{
    ULONG64 ticks = (ULONG64)ms * 1000 / KiClockPeriodMicroseconds();

    return ms == 0 ? 0 : (ticks == 0 ? 1 : (ULONG)ticks);
}

VOID KiInitializeDpcWatchdog(VOID)
{
    KiSetDpcWatchdogLimits(ms_to_ticks(KiDpcTimeoutMs), ms_to_ticks(KiDpcWatchdogMs));
}

VOID KiSetDpcWatchdogLimits(ULONG DpcTimeLimit, ULONG DpcWatchdogPeriod)
{
    KiDpcTimeLimit = DpcTimeLimit;
    KiDpcWatchdogPeriod = DpcWatchdogPeriod;
}

VOID KiDpcWatchdogTick(PKPRCB Prcb, PKTRAP_FRAME TrapFrame)
{
    ULONG limit = KiDpcTimeLimit;
    ULONG period = KiDpcWatchdogPeriod;

    if (Prcb->DpcRoutineActive) {
        ULONG count = ++Prcb->DpcTimeCount;
        if (limit != 0 && count > limit)
            KiBugCheckWithTrapFrame(DPC_WATCHDOG_VIOLATION, 0, count, limit, 0, TrapFrame);
    }
    if (TrapFrame->PreviousIrql >= DISPATCH_LEVEL) {
        ULONG count = ++Prcb->DpcWatchdogCount;
        if (period != 0 && count > period)
            KiBugCheckWithTrapFrame(DPC_WATCHDOG_VIOLATION, 1, period, 0, 0, TrapFrame);
    } else {
        Prcb->DpcWatchdogCount = 0;
    }
}

static ULONG time_left(ULONG limit, ULONG used)
{
    return limit == 0 ? 0 : (used < limit ? limit - used : 0);
}

NTSTATUS NTAPI KeQueryDpcWatchdogInformation(PKDPC_WATCHDOG_INFORMATION WatchdogInformation)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    ULONG limit = KiDpcTimeLimit;
    ULONG period = KiDpcWatchdogPeriod;

    WatchdogInformation->DpcTimeLimit = limit;
    WatchdogInformation->DpcTimeCount = time_left(limit, prcb->DpcTimeCount);
    WatchdogInformation->DpcWatchdogLimit = period;
    WatchdogInformation->DpcWatchdogCount = time_left(period, prcb->DpcWatchdogCount);
    WatchdogInformation->Reserved = 0;
    return prcb->DpcRoutineActive ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
