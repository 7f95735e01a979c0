/*
 * calibrate.c - how fast the TSC and the local APIC timer run, measured
 * against a clock of known rate: the 8254 PIT (1.193182 MHz).
 *
 * PIT channel 2 is the one whose output can be read back (port 0x61 bit 5,
 * OSDev "Programmable Interval Timer"): program it for a one-shot count in
 * mode 0, open its gate, and wait for OUT2 to rise.  Meanwhile read the TSC
 * and let the APIC timer count down from its maximum.  CPUID leaf 0x15
 * would give the TSC rate directly, but QEMU's TCG does not report it, and
 * the APIC timer needs measuring anyway.
 */
#include "wdm.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"

#define PIT_HZ              1193182
#define PIT_CHANNEL2        0x42
#define PIT_COMMAND         0x43
#define   PIT_CH2_ONESHOT_LOHI 0xB0     /* channel 2, lobyte/hibyte, mode 0 */
#define PORT_B              0x61
#define   PORT_B_GATE2      0x01
#define   PORT_B_SPEAKER    0x02
#define   PORT_B_OUT2       0x20
#define CALIBRATION_MS      20

ULONG64 KiTscFrequency;
ULONG64 KiApicTimerFrequency;

void KiCalibrateTimers(void)
{
    ULONG count = PIT_HZ * CALIBRATION_MS / 1000;
    uint64_t flags = interrupts_save_disable();

    outb(PORT_B, (inb(PORT_B) & ~PORT_B_SPEAKER) & ~PORT_B_GATE2);
    outb(PIT_COMMAND, PIT_CH2_ONESHOT_LOHI);
    outb(PIT_CHANNEL2, count & 0xFF);
    outb(PIT_CHANNEL2, count >> 8);

    KiApicWrite(APIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_BY_16);
    KiApicWrite(APIC_LVT_TIMER, APIC_LVT_MASKED);
    outb(PORT_B, inb(PORT_B) | PORT_B_GATE2);          /* the count starts now */
    uint64_t tsc_start = rdtsc();
    KiApicWrite(APIC_TIMER_INITIAL, 0xFFFFFFFF);
    while (!(inb(PORT_B) & PORT_B_OUT2))
        ;
    uint64_t tsc_end = rdtsc();
    ULONG apic_elapsed = 0xFFFFFFFF - KiApicRead(APIC_TIMER_CURRENT);
    KiApicWrite(APIC_TIMER_INITIAL, 0);
    restore_rflags(flags);

    KiTscFrequency = (tsc_end - tsc_start) * 1000 / CALIBRATION_MS;
    KiApicTimerFrequency = (ULONG64)apic_elapsed * 1000 / CALIBRATION_MS;
}
