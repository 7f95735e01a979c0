/*
 * calibrate.c - how fast the TSC and the local APIC timer run.
 *
 * The TSC: the rate CPUID states when it states one
 * (arch/x86_64/calibrate_cpuid.c), else measured against the first
 * reference the machine has of: the HPET, the ACPI PM timer
 * (arch/x86_64/calibrate_acpi.c) and the 8254 PIT (1.193182 MHz), which real
 * machines may lack or leave disabled, hence last.  The boot option
 * calibrate=hpet|pmtimer|pit measures against that one (if it is there),
 * CPUID or not.  The APIC timer: always measured, against the TSC.
 *
 * Measuring on a loaded host: a vCPU the host deschedules in the middle of
 * a window sees that window last longer in TSC terms, and a single 20 ms
 * window once made the TSC look up to 4.8 times too fast.  So each rate is
 * measured over many short windows, each bracketed so that any delay can
 * only make it look longer, and the shortest is kept (lateness only ever
 * adds).  Measuring stops once the two shortest agree within 1/500, or
 * after MAX_WINDOWS; a window whose rate is outside a sane range is thrown
 * away, and with no sane window at all the machine stops (bug check 0x5C
 * HAL_INITIALIZATION_FAILED: every timeout would be wrong).  The boot line
 * says which source and how many windows.
 *
 * PIT channel 2 is the one whose output can be read back (port 0x61 bit 5,
 * OSDev "Programmable Interval Timer"): a one-shot count in mode 0, gate
 * open, wait for OUT2 to rise.  The TSC is read before the count's last
 * byte is written: real hardware starts counting at the gate, QEMU at that
 * write (its mode 0 ignores the gate), and either is after the read.  A
 * machine without a PIT never raises OUT2: the wait gives up after
 * STUCK_TSC ticks, a window no sane rate comes from.
 *
 * The HPET and the PM timer count freely: a window reads the TSC, then the
 * counter, waits until it has counted a window's worth, reads the TSC again,
 * and scales the TSC ticks to exactly that worth (a late last read has
 * counted more).  A delay before the first counter read or after the last
 * adds TSC ticks only, so again lateness only ever adds.
 */
#include "wdm.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "kernel/console/console.h"
#include "kernel/options.h"
#include "string.h"

#define PIT_HZ              1193182
#define PIT_CHANNEL2        0x42
#define PIT_COMMAND         0x43
#define   PIT_CH2_ONESHOT_LOHI 0xB0     /* channel 2, lobyte/hibyte, mode 0 */
#define PORT_B              0x61
#define   PORT_B_GATE2      0x01
#define   PORT_B_SPEAKER    0x02
#define   PORT_B_OUT2       0x20

#define WINDOW_US           2000        /* short: likely to fit in one host time slice */
#define PIT_WINDOW_COUNT    (PIT_HZ / (1000000 / WINDOW_US))
#define MIN_WINDOWS         4
#define MAX_WINDOWS         64
#define AGREEMENT           500         /* the two best within 1/500 (0.2 %) */
#define APIC_COUNT_SCALE    20          /* APIC windows give TSC ticks per 2^20 counts */

/* Sane rates: a TSC from 100 MHz to 20 GHz; an APIC timer (divided by 16)
 * from 100 kHz to 1 GHz.  A window outside them was disturbed. */
#define TSC_HZ_MIN          100000000ull
#define TSC_HZ_MAX          20000000000ull
#define APIC_HZ_MIN         100000ull
#define APIC_HZ_MAX         1000000000ull
#define STUCK_TSC           (TSC_HZ_MAX / 10)   /* 100 ms at the fastest sane TSC */

KI_TSC_REFERENCE KiTscReferenceRequested;

static const struct {
    const char *Option;
    KI_TSC_REFERENCE Reference;
} KiTscReferenceNames[] = {
    { "auto", KiTscReferenceAuto },
    { "hpet", KiTscReferenceHpet },
    { "pmtimer", KiTscReferencePmTimer },
    { "pit", KiTscReferencePit },
};

static void apply_calibrate(const char *value)
{
    for (ULONG i = 0; i < ARRAYSIZE(KiTscReferenceNames); i++)
        if (strcmp(value, KiTscReferenceNames[i].Option) == 0) {
            KiTscReferenceRequested = KiTscReferenceNames[i].Reference;
            return;
        }
    kprintf("warning: calibrate=%s: use auto, hpet, pmtimer or pit (auto it is)\n", value);
}
KERNEL_OPTION("calibrate", "the TSC's reference: calibrate=auto|hpet|pmtimer|pit",
              apply_calibrate);

ULONG64 KiTscFrequency;
ULONG64 KiApicTimerFrequency;
KI_CALIBRATION_SOURCE KiTscCalibration;
KI_CALIBRATION_SOURCE KiApicTimerCalibration;

/* One window: TSC ticks for a fixed amount of the reference clock. */
typedef ULONG64 (*KI_CALIBRATION_WINDOW)(void);
/* A window's TSC ticks as a rate in Hz. */
typedef ULONG64 (*KI_CALIBRATION_RATE)(ULONG64 TscTicks);

static ULONG64 pit_window(void)
{
    outb(PORT_B, (inb(PORT_B) & ~PORT_B_SPEAKER) & ~PORT_B_GATE2);
    outb(PIT_COMMAND, PIT_CH2_ONESHOT_LOHI);
    outb(PIT_CHANNEL2, PIT_WINDOW_COUNT & 0xFF);
    UCHAR gate_open = inb(PORT_B) | PORT_B_GATE2;
    ULONG64 start = rdtsc();            /* before either start of the count */
    outb(PIT_CHANNEL2, PIT_WINDOW_COUNT >> 8);
    outb(PORT_B, gate_open);
    while (!(inb(PORT_B) & PORT_B_OUT2) && rdtsc() - start < STUCK_TSC)
        ;
    return rdtsc() - start;             /* read after OUT2 was seen high */
}

static ULONG64 pit_rate(ULONG64 tsc)
{
    return tsc * PIT_HZ / PIT_WINDOW_COUNT;
}

/* The HPET or PM timer being measured against: windows take no arguments. */
static KI_REFERENCE_COUNTER KiReference;

static ULONG counter_window_count(void)
{
    return (ULONG)(KiReference.Hz / (1000000 / WINDOW_US));
}

/* TSC ticks per counter_window_count() counts of the reference. */
static ULONG64 counter_window(void)
{
    ULONG due = counter_window_count(), counted;
    ULONG64 start = rdtsc();
    ULONG first = KiReference.Read();

    do {
        counted = (KiReference.Read() - first) & KiReference.Mask;
        if (rdtsc() - start > STUCK_TSC)
            return ~0ull;               /* a counter that does not count */
    } while (counted < due);
    return (rdtsc() - start) * due / counted;
}

static ULONG64 counter_rate(ULONG64 tsc)
{
    return tsc * KiReference.Hz / counter_window_count();
}

/* The APIC timer counts between the two TSC reads around it, so the TSC
 * ticks per 2^20 counts can only come out too many, never too few. */
static ULONG64 apic_window(void)
{
    ULONG64 wait = KiTscFrequency / (1000000 / WINDOW_US);
    ULONG64 start = rdtsc();

    KiApicWrite(APIC_TIMER_INITIAL, 0xFFFFFFFF);
    while (rdtsc() - start < wait)
        ;
    ULONG counted = 0xFFFFFFFF - KiApicRead(APIC_TIMER_CURRENT);
    ULONG64 tsc = rdtsc() - start;
    KiApicWrite(APIC_TIMER_INITIAL, 0);
    return counted == 0 ? ~0ull : (tsc << APIC_COUNT_SCALE) / counted;
}

static ULONG64 apic_rate(ULONG64 tsc_per_counts)
{
    return (KiTscFrequency << APIC_COUNT_SCALE) / tsc_per_counts;
}

/* The shortest window, once the two shortest sane ones agree. */
static ULONG64 best_window(KI_CALIBRATION_WINDOW window, KI_CALIBRATION_RATE rate,
                           ULONG64 min_hz, ULONG64 max_hz, KI_CALIBRATION_SOURCE *how)
{
    ULONG64 best = ~0ull, second = ~0ull;

    how->Windows = 0;
    how->Agreed = FALSE;
    while (how->Windows < MAX_WINDOWS && !how->Agreed) {
        ULONG64 ticks = window();
        ULONG64 hz = ticks == ~0ull ? 0 : rate(ticks);

        how->Windows++;
        if (hz < min_hz || hz > max_hz)
            continue;
        if (ticks < best) {
            second = best;
            best = ticks;
        } else if (ticks < second) {
            second = ticks;
        }
        how->Agreed = how->Windows >= MIN_WINDOWS && second != ~0ull &&
                      second - best <= best / AGREEMENT;
    }
    return best == ~0ull ? 0 : rate(best);
}

/* P1 1 = the TSC, 2 = the APIC timer; P2 the windows tried. */
static ULONG64 check_rate(ULONG64 hz, ULONG which, const KI_CALIBRATION_SOURCE *how)
{
    if (hz == 0)
        KeBugCheckEx(HAL_INITIALIZATION_FAILED, which, how->Windows, 0, 0);
    return hz;
}

ULONG64 KiMeasureTscFrequency(KI_TSC_REFERENCE Reference, KI_CALIBRATION_SOURCE *How)
{
    KI_CALIBRATION_WINDOW window = counter_window;
    KI_CALIBRATION_RATE rate = counter_rate;

    if (Reference == KiTscReferenceHpet) {
        if (!KiHpetCounter(&KiReference))
            return 0;
    } else if (Reference == KiTscReferencePmTimer) {
        if (!KiPmTimerCounter(&KiReference))
            return 0;
    } else {
        KiReference.Name = "PIT";
        window = pit_window;
        rate = pit_rate;
    }
    How->Source = KiReference.Name;
    uint64_t flags = interrupts_save_disable();
    ULONG64 hz = best_window(window, rate, TSC_HZ_MIN, TSC_HZ_MAX, How);
    restore_rflags(flags);
    return hz;
}

/* The requested reference if the machine has it, else CPUID's rate, else
 * the first reference that gives a sane rate; the PIT's failure stops. */
static void calibrate_tsc(void)
{
    static const KI_TSC_REFERENCE order[] = { KiTscReferenceHpet, KiTscReferencePmTimer };

    if (KiTscReferenceRequested != KiTscReferenceAuto) {
        KiTscFrequency = KiMeasureTscFrequency(KiTscReferenceRequested, &KiTscCalibration);
        if (KiTscFrequency != 0)
            return;
        kprintf("calibrate: the requested reference is absent or gave no sane rate\n");
    }
    KiTscFrequency = KiTscFrequencyFromCpuid(&KiTscCalibration.Source);
    if (KiTscFrequency >= TSC_HZ_MIN && KiTscFrequency <= TSC_HZ_MAX) {
        KiTscCalibration.Windows = 0;   /* stated, not measured */
        KiTscCalibration.Agreed = TRUE;
        return;
    }
    for (ULONG i = 0; i < ARRAYSIZE(order); i++)
        if ((KiTscFrequency = KiMeasureTscFrequency(order[i], &KiTscCalibration)) != 0)
            return;
    KiTscFrequency = check_rate(KiMeasureTscFrequency(KiTscReferencePit, &KiTscCalibration), 1,
                                &KiTscCalibration);
}

void KiCalibrateTimers(void)
{
    uint64_t flags = interrupts_save_disable();

    calibrate_tsc();

    KiApicWrite(APIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_BY_16);
    KiApicWrite(APIC_LVT_TIMER, APIC_LVT_MASKED);
    KiApicTimerCalibration.Source = "TSC";
    KiApicTimerFrequency = check_rate(best_window(apic_window, apic_rate, APIC_HZ_MIN,
                                                  APIC_HZ_MAX, &KiApicTimerCalibration),
                                      2, &KiApicTimerCalibration);
    restore_rflags(flags);
}
