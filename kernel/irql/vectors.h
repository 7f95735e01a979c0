/*
 * vectors.h - the interrupt vector map.  A vector's IRQL is its top four
 * bits (vector >> 4): the local APIC delivers a vector only when its class
 * exceeds the task priority, and CR8 is that priority (SDM Vol. 3A 11.8.3.1).
 * docs/irql.md has the table with what each one is for.
 */
#ifndef KERNEL_VECTORS_H
#define KERNEL_VECTORS_H

#define KI_VECTOR_APC           0x1F    /* APC_LEVEL software interrupt */
#define KI_VECTOR_DPC           0x2F    /* DISPATCH_LEVEL software interrupt */
#define KI_VECTOR_DEVICE_FIRST  0x30    /* device interrupts: IRQL 3 .. 12 */
#define KI_VECTOR_DEVICE_LAST   0xCF
#define KI_VECTOR_BENCH_ISR     0x9E    /* DIRQL 9: the KINTERRUPT of the interrupt spin
                                         * lock benchmarks (tests/bench/); never sent */
#define KI_VECTOR_SHELL_DEVICE  0x6A    /* DIRQL 6: the shell's `demo isr-dpc` device (kernel/shell/) */
#define KI_VECTOR_BENCH         0xCD    /* IPI latency floors (tests/bench/) */
#define KI_VECTOR_CLOCK         0xD1    /* CLOCK_LEVEL: the local APIC timer */
#define KI_VECTOR_SPURIOUS      0xDF    /* APIC spurious: no EOI, no handler */
#define KI_VECTOR_IPI           0xE1    /* IPI_LEVEL: requests between CPUs */
#define KI_VECTOR_APIC_ERROR    0xE2
#define KI_VECTOR_SHELL_SAMPLE  0xFA    /* HIGH_LEVEL class: the shell's !irql look at a CPU */
#define KI_VECTOR_PROFILE       0xFD    /* PROFILE_LEVEL / HIGH_LEVEL */

/* One vector per level for the IRQL tests (tests/kernel/test_irql.c):
 * 0x1F for APC_LEVEL (the only class-1 vector outside the exception range),
 * then 0x2C, 0x3C, ..., 0xFC. */
#define KI_VECTOR_IRQL_TEST(level) ((level) == 1 ? KI_VECTOR_APC : (((level) << 4) | 0xC))

#define KI_VECTOR_IRQL(v)       ((KIRQL)((v) >> 4))

#endif
