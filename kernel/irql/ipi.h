/*
 * ipi.h - requests between processors on the IPI vector (kernel/irql/ipi.c).
 */
#ifndef KERNEL_IPI_H
#define KERNEL_IPI_H

#include "ntdef.h"

/* Request bits, ORed into the target's KPRCB.IpiRequests before the IPI. */
#define KI_IPI_PING         0x1     /* count it (tests of delivery) */
#define KI_IPI_WAKE         0x2     /* leave hlt: idle work is waiting */
#define KI_IPI_GENERIC_CALL 0x4     /* join the current KeIpiGenericCall */

void KiInitializeIpi(void);

/* Post Requests to every CPU in Targets and interrupt them (vector 0xE1,
 * IPI_LEVEL).  Uses the APIC's shorthands when Targets is everyone, everyone
 * else, or this CPU alone; otherwise one IPI per target.  Any IRQL. */
void KiRequestIpi(KAFFINITY Targets, LONG Requests);

#endif
