/*
 * system_time.c - the time of day and the performance counter (WDK:
 * KeQuerySystemTime, KeQuerySystemTimePrecise, KeQueryPerformanceCounter,
 * KeQueryUnbiasedInterruptTime).
 *
 * System time is UTC in 100 ns units since 1 January 1601.  The boot CPU
 * reads the date and time once, to the second, from the CMOS real-time clock
 * (the MC146818 registers behind ports 0x70/0x71; OSDev "CMOS"), and notes
 * the interrupt time and the TSC at that moment.  After that:
 *   KeQuerySystemTime         boot time + interrupt time since: it moves with
 *                             the clock tick, as Windows' does;
 *   KeQuerySystemTimePrecise  boot time + TSC time since: to the TSC's
 *                             resolution (the calibrated rate, docs/smp.md);
 *   KeQueryPerformanceCounter the TSC itself, with its rate as the frequency
 *                             (invariant under QEMU and on current CPUs).
 * Nothing here sleeps, so "unbiased" interrupt time (without time asleep)
 * is the interrupt time.
 */
#include "wdm.h"
#include "kernel/irql/clock.h"
#include "kernel/console/console.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define CMOS_INDEX          0x70
#define CMOS_DATA           0x71
#define   RTC_SECONDS         0x00
#define   RTC_MINUTES         0x02
#define   RTC_HOURS           0x04
#define     RTC_HOURS_PM        0x80    /* 12-hour mode: the afternoon */
#define   RTC_DAY             0x07
#define   RTC_MONTH           0x08
#define   RTC_YEAR            0x09
#define   RTC_STATUS_A        0x0A
#define     RTC_UPDATING        0x80    /* the next second is being written */
#define   RTC_STATUS_B        0x0B
#define     RTC_24_HOUR         0x02
#define     RTC_BINARY          0x04    /* else BCD */
#define   RTC_CENTURY         0x32    /* where PCs keep it (the FADT's Century field) */
#define CMOS_NMI_DISABLE    0x80        /* index bit 7 masks NMI: keep it clear */

#define TICKS_PER_SECOND    10000000ull /* 100 ns units */

static LONGLONG KiBootSystemTime;       /* 100 ns since 1601 at the RTC read */
static ULONGLONG KiBootInterruptTime;
static ULONG64 KiBootTsc;

typedef struct {
    ULONG Year, Month, Day, Hour, Minute, Second;
} RTC_TIME;

static UCHAR cmos_read(UCHAR reg)
{
    outb(CMOS_INDEX, reg & ~CMOS_NMI_DISABLE);
    return inb(CMOS_DATA);
}

static ULONG from_bcd(UCHAR value)
{
    return (value >> 4) * 10 + (value & 0x0F);
}

/* One read of every field, between two "not updating" checks. */
static void rtc_read_once(RTC_TIME *t)
{
    while (cmos_read(RTC_STATUS_A) & RTC_UPDATING)
        cpu_relax();
    UCHAR b = cmos_read(RTC_STATUS_B);
    UCHAR raw[7] = { cmos_read(RTC_SECONDS), cmos_read(RTC_MINUTES), cmos_read(RTC_HOURS),
                     cmos_read(RTC_DAY), cmos_read(RTC_MONTH), cmos_read(RTC_YEAR),
                     cmos_read(RTC_CENTURY) };
    BOOLEAN pm = raw[2] & RTC_HOURS_PM;
    ULONG v[7];

    raw[2] &= ~RTC_HOURS_PM;
    for (int i = 0; i < 7; i++)
        v[i] = (b & RTC_BINARY) ? raw[i] : from_bcd(raw[i]);
    if (!(b & RTC_24_HOUR))
        v[2] = v[2] % 12 + (pm ? 12 : 0);           /* 12 AM is 0, 12 PM is 12 */
    t->Second = v[0];
    t->Minute = v[1];
    t->Hour = v[2];
    t->Day = v[3];
    t->Month = v[4];
    t->Year = (v[6] >= 19 && v[6] <= 99 ? v[6] : 20) * 100 + v[5];   /* no century: 20xx */
}

static BOOLEAN is_leap(ULONG year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Days from 1 January 1601 to the given date (1601 is the first year of a
 * 400-year Gregorian cycle, which is why Windows counts from it). */
static ULONGLONG days_since_1601(ULONG year, ULONG month, ULONG day)
{
    static const USHORT before_month[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273,
                                             304, 334 };
    ULONGLONG years = year - 1601;
    ULONGLONG days = years * 365 + years / 4 - years / 100 + years / 400;

    days += before_month[month - 1] + (month > 2 && is_leap(year)) + (day - 1);
    return days;
}

VOID KiInitializeSystemTime(VOID)
{
    RTC_TIME a, b;

    /* Two reads that agree: no second ticked over between the fields. */
    do {
        rtc_read_once(&a);
        rtc_read_once(&b);
    } while (a.Second != b.Second || a.Minute != b.Minute || a.Hour != b.Hour ||
             a.Day != b.Day || a.Month != b.Month || a.Year != b.Year);
    KiBootTsc = rdtsc();
    KiBootInterruptTime = KeQueryInterruptTime();
    if (a.Month < 1 || a.Month > 12 || a.Day < 1 || a.Day > 31 || a.Hour > 23 ||
        a.Minute > 59 || a.Second > 59 || a.Year < 1601) {
        kprintf("time: the CMOS clock reads %u-%u-%u %u:%u:%u, not a date; system time "
                "starts at 1601-01-01\n", a.Year, a.Month, a.Day, a.Hour, a.Minute, a.Second);
        return;
    }
    KiBootSystemTime = (LONGLONG)(((days_since_1601(a.Year, a.Month, a.Day) * 24 + a.Hour) * 60 +
                                   a.Minute) * 60 + a.Second) * (LONGLONG)TICKS_PER_SECOND;
    kprintf("time: %04u-%02u-%02u %02u:%02u:%02u UTC (CMOS clock)\n", a.Year, a.Month, a.Day,
            a.Hour, a.Minute, a.Second);
}

VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = KiBootSystemTime +
                            (LONGLONG)(KeQueryInterruptTime() - KiBootInterruptTime);
}

VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
    ULONG64 elapsed = rdtsc() - KiBootTsc;

    /* Seconds and the rest apart: elapsed * 10^7 would overflow after
     * about 10 minutes at a few GHz. */
    CurrentTime->QuadPart = KiBootSystemTime +
                            (LONGLONG)(elapsed / KiTscFrequency * TICKS_PER_SECOND +
                                       elapsed % KiTscFrequency * TICKS_PER_SECOND /
                                           KiTscFrequency);
}

LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    LARGE_INTEGER now;

    if (PerformanceFrequency)
        PerformanceFrequency->QuadPart = (LONGLONG)KiTscFrequency;
    now.QuadPart = (LONGLONG)rdtsc();
    return now;
}

ULONGLONG NTAPI KeQueryUnbiasedInterruptTime(VOID)
{
    return KeQueryInterruptTime();
}
