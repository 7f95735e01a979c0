/*
 * race.c - the race points' waits (kernel/debug/race.h says what a point is).
 *
 * `race=SEED` (decimal or 0x hex; `race` or `race=random` picks a seed from
 * the TSC) switches the points on in a RACE=1 build and prints the seed.
 * Each CPU draws from its own xorshift64* generator (Marsaglia, "Xorshift
 * RNGs", 2003; Vigna's * multiplier), seeded with splitmix64(SEED + CPU), so
 * the sequence of waits each CPU makes is the same for the same seed.  The
 * interleaving itself is not: vCPUs are host threads.  A point waits
 *
 *     7 times in 8   not at all
 *     3 times in 32  0-63 pauses: a few hundred ns, enough to lose a race
 *     1 time in 32   0-40 us by the TSC: a whole other CPU's turn
 *
 * The state is read and written without interrupts disabled: an interrupt
 * that runs a point between the two replays one draw, which is harmless.
 *
 * The APIC latency model: on real hardware a self-IPI reaches the IRR some
 * cycles after the ICR write, which is why KiRequestSoftwareInterrupt polls
 * the IRR before returning; TCG posts it at once, so a missing poll would go
 * unseen.  With the points on, every software-interrupt self-IPI is held
 * back until this CPU has read its IRR bit a few times, or until the next
 * interrupt arrives here, whichever is first: always, not at random, so that
 * a request path without the poll fails every time it is tested.
 */
#include "wdm.h"
#include "kernel/debug/race.h"
#include "kernel/console/console.h"
#include "kernel/options.h"
#include "kernel/smp/pcr.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"
#include "printf.h"
#include "string.h"

#define NO_WAIT_ONE_IN      8       /* 7 of 8 draws: no wait */
#define LONG_WAIT_ONE_IN    4       /* of the waits, 1 in 4 is a long one */
#define SHORT_WAIT_PAUSES   64
#define LONG_WAIT_US        40
#define HOLD_SELF_IPI_READS 8       /* IRR reads before a held self-IPI is sent */

extern KI_RACE_SITE __kraces_start[], __kraces_end[];

volatile BOOLEAN KiRaceEnabled;
static ULONG64 KiRaceSeed;

BOOLEAN KiRaceParseSeed(const char *Value, ULONG64 *Seed)
{
    ULONG64 seed = 0;
    ULONG base = 10;

    if (Value[0] == '0' && (Value[1] == 'x' || Value[1] == 'X')) {
        base = 16;
        Value += 2;
    }
    if (*Value == '\0')
        return FALSE;
    for (; *Value; Value++) {
        ULONG digit;
        if (*Value >= '0' && *Value <= '9')
            digit = (ULONG)(*Value - '0');
        else if (base == 16 && (*Value | 0x20) >= 'a' && (*Value | 0x20) <= 'f')
            digit = (ULONG)((*Value | 0x20) - 'a' + 10);
        else
            return FALSE;
        if (digit >= base || seed > (~0ull - digit) / base)     /* not a digit; too big */
            return FALSE;
        seed = seed * base + digit;
    }
    *Seed = seed;
    return seed != 0;
}

static void apply_race(const char *value)
{
    ULONG64 seed;

    if (!KI_RACE) {
        kprintf("race: this kernel has no race points; build it with RACE=1 "
                "(e.g. make RACE=1); option ignored\n");
        return;
    }
    BOOLEAN random = value[0] == '\0' || strcmp(value, "random") == 0;

    if (random) {
        seed = rdtsc() | 1;             /* never 0 */
    } else if (!KiRaceParseSeed(value, &seed)) {
        kprintf("race: '%s' is not a seed: use race=N (1 to 2^64-1, decimal or 0x hex) "
                "or race=random; race points stay off\n", value);
        return;
    }
    KiRaceSeed = seed;
    kprintf("race: points on, seed %llu (0x%llx), %u points; replay with race=%llu\n",
            (unsigned long long)seed, (unsigned long long)seed,
            (ULONG)(__kraces_end - __kraces_start), (unsigned long long)seed);
    KiRaceEnabled = TRUE;
}
KERNEL_OPTION("race", "race=SEED|random: wait at race points (RACE=1 builds, docs/testing.md)",
              apply_race);

#if KI_RACE
/* splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", 2014): spreads nearby seeds apart; never returns 0 here. */
static ULONG64 mix(ULONG64 z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z ? z : 1;
}

static ULONG64 draw(PKPRCB Prcb)
{
    ULONG64 x = Prcb->RaceState;

    if (x == 0)
        x = mix(KiRaceSeed + Prcb->Number);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    Prcb->RaceState = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void wait_long(ULONG Microseconds)
{
    ULONG64 start = rdtsc();
    ULONG64 ticks = KiTscFrequency / 1000000 * Microseconds;

    if (ticks == 0)                     /* before calibration: count pauses */
        ticks = (ULONG64)Microseconds * 16;
    while (rdtsc() - start < ticks)
        cpu_relax();
}

VOID KiRacePoint(KI_RACE_SITE *Site)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    ULONG64 r = draw(prcb);

    Site->Hits[prcb->Number]++;
    if (r % NO_WAIT_ONE_IN != 0)
        return;
    prcb->RaceWaits++;
    r /= NO_WAIT_ONE_IN;
    if (r % LONG_WAIT_ONE_IN == 0) {
        wait_long((ULONG)((r / LONG_WAIT_ONE_IN) % (LONG_WAIT_US + 1)));
        return;
    }
    for (ULONG n = (ULONG)((r / LONG_WAIT_ONE_IN) % SHORT_WAIT_PAUSES); n > 0; n--)
        cpu_relax();
}

/* ---- The APIC latency model --------------------------------------------- */

static BOOLEAN is_software_interrupt(ULONG Vector)
{
    return Vector == KI_VECTOR_APC || Vector == KI_VECTOR_DPC;
}

BOOLEAN KiRaceHoldSelfIpi(ULONG Vector)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    if (!KiRaceEnabled || !is_software_interrupt(Vector) || prcb->RaceHeldVector != 0)
        return FALSE;
    prcb->RaceHeldReads = HOLD_SELF_IPI_READS;
    prcb->RaceHeldVector = Vector;
    return TRUE;
}

BOOLEAN KiRaceReleaseSelfIpi(ULONG Vector)
{
    PKPRCB prcb = KeGetCurrentPrcb();

    if (prcb->RaceHeldVector != Vector || --prcb->RaceHeldReads != 0)
        return FALSE;
    prcb->RaceHeldVector = 0;
    return TRUE;
}

ULONG KiRaceTakeHeldSelfIpi(VOID)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    ULONG vector = prcb->RaceHeldVector;

    prcb->RaceHeldVector = 0;
    return vector;
}

/* ---- The summary -------------------------------------------------------- */

VOID KiRaceReport(VOID)
{
    ULONG64 hits = 0, waits = 0;
    ULONG points = 0, reached = 0;
    char missed[768];
    size_t used = 0;

    if (!KiRaceEnabled)
        return;
    missed[0] = '\0';
    for (KI_RACE_SITE *site = __kraces_start; site < __kraces_end; site++) {
        ULONG64 site_hits = 0;
        for (ULONG n = 0; n < KI_RACE_MAX_CPUS; n++)
            site_hits += site->Hits[n];
        points++;
        hits += site_hits;
        if (site_hits)
            reached++;
        else if (used + 2 < sizeof(missed))
            used += ksnprintf(missed + used, sizeof(missed) - used, " %s", site->Name);
    }
    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++)
        waits += KiProcessorBlock[n].Prcb.RaceWaits;
    kprintf("# race: seed %llu, %u of %u points reached, %llu passes, %llu waits\n",
            (unsigned long long)KiRaceSeed, reached, points, (unsigned long long)hits,
            (unsigned long long)waits);
    if (reached != points)
        kprintf("# race: not reached:%s\n", missed);
}
#endif
