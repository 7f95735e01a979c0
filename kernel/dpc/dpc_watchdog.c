/*
 * dpc_watchdog.c - the DPC watchdog (WDK: Bug Check 0x133
 * DPC_WATCHDOG_VIOLATION, KeQueryDpcWatchdogInformation).
 *
 * Every clock tick on every CPU checks, in that CPU's KPRCB:
 *   DpcRoutineStart   the TSC when the DPC routine now running was called
 *                     (the drain loop stamps it before each call);
 *   DpcWatchdogStart  the TSC one tick before the first tick that found the
 *                     CPU at DISPATCH_LEVEL or above (TrapFrame->PreviousIrql);
 *                     DpcWatchdogCount is that stretch in ticks, zeroed by
 *                     any tick that finds the CPU lower.
 * Time is the TSC, counted in whole clock periods (a started period counts):
 * under QEMU's TCG a vCPU the host does not run loses ticks (they coalesce
 * in one IRR bit), and so does a CPU with interrupts disabled, so counting
 * ticks ran slow (a 20 s limit once took 95 s).  Going past a limit is bug
 * check 0x133, raised from the tick with the interrupted code's registers
 * and stack on the STOP screen:
 *   P1 0  one DPC too long:        P2 its time in ticks (> P3), P3 the limit, P4 0
 *   P1 1  too long at >= DISPATCH: P2 the period,  P3 0, P4 0
 * (Windows puts a triage block pointer in P4 / P3; we have none.)  P2 of the
 * first is limit + 1 when ticks come on time, more when they were lost.
 * ISRs are not timed.  Being sampled by the tick, the cumulative count
 * cannot see a CPU dip below DISPATCH_LEVEL between two ticks.
 *
 * Limits: the `dpc_timeout_ms` and `dpc_watchdog_ms` options, 0 = off;
 * defaults 20 s and 120 s as on Windows (0x500 and 0x1E00 of its 15.6 ms
 * ticks), converted to our ticks at boot.
 */
#include "wdm.h"
#include "kernel/dpc/dpc.h"
#include "kernel/debug/bugcheck.h"
#include "kernel/irql/clock.h"
#include "kernel/options.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define DEFAULT_DPC_TIMEOUT_MS      20000
#define DEFAULT_DPC_WATCHDOG_MS     120000

static ULONG KiDpcTimeoutMs = DEFAULT_DPC_TIMEOUT_MS;
static ULONG KiDpcWatchdogMs = DEFAULT_DPC_WATCHDOG_MS;

/* In ticks; read by every CPU's tick, written at boot and by tests. */
static volatile ULONG KiDpcTimeLimit;
static volatile ULONG KiDpcWatchdogPeriod;
static ULONG64 KiTscPerTick;            /* one clock period of TSC, set at boot */

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
    KiTscPerTick = KiTscFrequency * KiClockPeriodMicroseconds() / 1000000;
    KiSetDpcWatchdogLimits(ms_to_ticks(KiDpcTimeoutMs), ms_to_ticks(KiDpcWatchdogMs));
}

VOID KiSetDpcWatchdogLimits(ULONG DpcTimeLimit, ULONG DpcWatchdogPeriod)
{
    KiDpcTimeLimit = DpcTimeLimit;
    KiDpcWatchdogPeriod = DpcWatchdogPeriod;
}

/* Clock periods from Start to Now, a started one counting whole. */
static ULONG ticks_since(ULONG64 Start, ULONG64 Now)
{
    ULONG64 ticks = (Now - Start + KiTscPerTick - 1) / KiTscPerTick;

    return ticks > MAXULONG ? MAXULONG : (ULONG)ticks;
}

VOID KiDpcWatchdogTick(PKPRCB Prcb, PKTRAP_FRAME TrapFrame)
{
    ULONG limit = KiDpcTimeLimit;
    ULONG period = KiDpcWatchdogPeriod;
    ULONG64 now = rdtsc();

    if (Prcb->DpcRoutineActive) {
        ULONG used = ticks_since(Prcb->DpcRoutineStart, now);
        if (limit != 0 && used > limit)
            KiBugCheckWithTrapFrame(DPC_WATCHDOG_VIOLATION, 0, used, limit, 0, TrapFrame);
    }
    if (TrapFrame->PreviousIrql >= DISPATCH_LEVEL) {
        if (Prcb->DpcWatchdogCount == 0)        /* raised at most a tick ago, as far as we know */
            Prcb->DpcWatchdogStart = now - KiTscPerTick;
        ULONG count = ticks_since(Prcb->DpcWatchdogStart, now);
        Prcb->DpcWatchdogCount = count;
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
    WatchdogInformation->DpcTimeCount = time_left(limit, ticks_since(prcb->DpcRoutineStart, rdtsc()));
    WatchdogInformation->DpcWatchdogLimit = period;
    WatchdogInformation->DpcWatchdogCount = time_left(period, prcb->DpcWatchdogCount);
    WatchdogInformation->Reserved = 0;
    return prcb->DpcRoutineActive ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
