/*
 * iointerrupt.c - interrupt objects: IoConnectInterrupt,
 * IoDisconnectInterrupt, and the dispatch that calls a device's ISR the way
 * the WDK describes it (WDK: KSERVICE_ROUTINE): "Before the system calls an
 * ISR, it acquires the interrupt's spin lock ... so the ISR cannot
 * simultaneously execute on another processor", at SynchronizeIrql.
 *
 * Each device vector (0x30..0xCF) has a chain of connected KINTERRUPTs
 * (several when the vector is shared).  The common interrupt path
 * (kernel/irql/interrupt.c) enters KiInterruptDispatch at the vector's IRQL,
 * after the EOI and with interrupts enabled; for each object on the chain
 * whose ProcessorEnableMask has this CPU it
 *     raises to SynchronizeIrql, takes *ActualLock, calls the ISR, checks it
 *     came back at SynchronizeIrql holding no lock it took (checked build),
 *     releases, lowers to the vector's IRQL,
 * and stops at the first ISR that claims a LevelSensitive interrupt (the
 * line would still be asserted if another device needed service, so it
 * comes back); a Latched (edge) interrupt is offered to every ISR, since a
 * second edge while the first is being serviced is lost.
 *
 * A vector whose interrupt comes from an I/O APIC input (set up by
 * KiGetIsaInterruptVector, our HalGetInterruptVector) is unmasked by its
 * first connect and masked again by its last disconnect; its destination is
 * the lowest-numbered processor all its objects' masks share.  A
 * level-triggered input gets its EOI after the ISRs ran (kernel/irql/interrupt.c
 * says why).
 *
 * Interrupt objects come from a static pool of KI_MAX_INTERRUPT_OBJECTS:
 * there is no allocator (STATUS_INSUFFICIENT_RESOURCES when all are in use).
 */
#include "wdm.h"
#include "kernel/irql/interrupt.h"
#include "kernel/io/iointerrupt.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/locks/lockorder.h"
#include "kernel/irql/vectors.h"
#include "arch/x86_64/ioapic.h"
#include "string.h"

#define KI_MAX_DIRQL        KI_VECTOR_IRQL(KI_VECTOR_DEVICE_LAST)       /* 12 */
#define KI_DEVICE_VECTORS   (KI_VECTOR_DEVICE_LAST - KI_VECTOR_DEVICE_FIRST + 1)

/* One device vector.  Lock guards every other field and the chain; it is
 * taken at the vector's IRQL (or above), by the dispatcher with the ISRs
 * called inside it, so a disconnect that gets it knows no ISR of the vector
 * is running anywhere.  Order: Lock, then an object's *ActualLock. */
typedef struct _KI_DEVICE_VECTOR {
    KSPIN_LOCK Lock;
    LIST_ENTRY Chain;                   /* KINTERRUPTs; Flink NULL until first used */
    BOOLEAN HasGsi;                     /* an I/O APIC input sends this vector */
    ULONG Gsi;
    KI_IOAPIC_WIRING Wiring;
    volatile ULONG Unclaimed;           /* interrupts no ISR here claimed (atomic) */
} KI_DEVICE_VECTOR;

static KI_DEVICE_VECTOR KiDeviceVectors[KI_DEVICE_VECTORS];

/* Tests: a wiring to use for an ISA IRQ instead of the MADT's.  Written at
 * PASSIVE_LEVEL while the IRQ has no ISR, read by KiGetIsaInterruptVector. */
static struct {
    BOOLEAN Set;
    KI_IOAPIC_WIRING Wiring;
} KiIsaWiringOverride[16];

/* The pool: a slot is taken by xchg on its flag, given back by a store. */
static KINTERRUPT KiInterruptPool[KI_MAX_INTERRUPT_OBJECTS];
static volatile LONG KiInterruptSlotUsed[KI_MAX_INTERRUPT_OBJECTS];

static KI_DEVICE_VECTOR *device_vector(ULONG Vector)
{
    return &KiDeviceVectors[Vector - KI_VECTOR_DEVICE_FIRST];
}

static PKINTERRUPT allocate_object(void)
{
    for (ULONG i = 0; i < KI_MAX_INTERRUPT_OBJECTS; i++)
        if (!__atomic_exchange_n(&KiInterruptSlotUsed[i], 1, __ATOMIC_ACQUIRE)) {
            memset(&KiInterruptPool[i], 0, sizeof(KiInterruptPool[i]));
            return &KiInterruptPool[i];
        }
    return NULL;
}

static void free_object(PKINTERRUPT Interrupt)
{
    ULONG i = (ULONG)(Interrupt - KiInterruptPool);

    memset(Interrupt, 0, sizeof(*Interrupt));       /* Type 0: a stale pointer shows */
    __atomic_store_n(&KiInterruptSlotUsed[i], 0, __ATOMIC_RELEASE);
}

static BOOLEAN is_pool_object(PKINTERRUPT Interrupt)
{
    return Interrupt >= KiInterruptPool && Interrupt < KiInterruptPool + KI_MAX_INTERRUPT_OBJECTS &&
           ((ULONG_PTR)Interrupt - (ULONG_PTR)KiInterruptPool) % sizeof(KINTERRUPT) == 0;
}

static ULONG lowest_processor(KAFFINITY Set)
{
    return (ULONG)__builtin_ctzll(Set);
}

/* Call one ISR the WDK way; entered and left at the vector's IRQL. */
static BOOLEAN call_service_routine(PKINTERRUPT Interrupt, KIRQL VectorIrql)
{
    KIRQL synchronize = Interrupt->SynchronizeIrql;

    if (synchronize > VectorIrql)
        KfRaiseIrql(synchronize);
    /* Recorded as taken by the ISR: a 0x0F for lowering under it names it. */
    KiAcquireInterruptSpinLock(Interrupt->ActualLock, VectorIrql,
                               (ULONG_PTR)Interrupt->ServiceRoutine);
    Interrupt->DispatchCount++;
    ULONG held = DBG ? KiHeldSpinLockCount() : 0;
    BOOLEAN claimed = Interrupt->ServiceRoutine(Interrupt, Interrupt->ServiceContext);
    if (DBG)        /* a lock the ISR kept: caught here, not by the next innocent taker */
        KiCheckNoLockKept(held, (PVOID)Interrupt->ServiceRoutine);
    KIRQL found = KeGetCurrentIrql();
    if (DBG && found != synchronize)
        /* WDK: Bug Check 0xC8, "Unique" 3: P2 the ISR, P3 the KINTERRUPT. */
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE,
                     ((ULONG_PTR)found << 16) | ((ULONG_PTR)synchronize << 8) | 3,
                     (ULONG_PTR)Interrupt->ServiceRoutine, (ULONG_PTR)Interrupt, Interrupt->Vector);
    if (claimed)
        Interrupt->ServiceCount++;
    KiReleaseInterruptSpinLock(Interrupt->ActualLock, (ULONG_PTR)Interrupt->ServiceRoutine);
    KeLowerIrql(VectorIrql);
    return claimed;
}

/* The handler of every connected device vector (kernel/irql/interrupt.h). */
static VOID KiInterruptDispatch(PKTRAP_FRAME TrapFrame, PVOID Context)
{
    KI_DEVICE_VECTOR *v = Context;
    KAFFINITY self = (KAFFINITY)1 << KeGetCurrentPrcb()->Number;
    KIRQL irql = KeGetCurrentIrql();
    BOOLEAN claimed = FALSE;

    UNREFERENCED_PARAMETER(TrapFrame);
    KeAcquireSpinLockAtDpcLevel(&v->Lock);
    for (PLIST_ENTRY e = v->Chain.Flink; e != &v->Chain; e = e->Flink) {
        PKINTERRUPT i = CONTAINING_RECORD(e, KINTERRUPT, InterruptListEntry);
        if (!(i->ProcessorEnableMask & self))
            continue;
        if (call_service_routine(i, irql)) {
            claimed = TRUE;
            if (i->Mode == LevelSensitive)
                break;
        }
    }
    KeReleaseSpinLockFromDpcLevel(&v->Lock);
    if (!claimed)
        __atomic_fetch_add(&v->Unclaimed, 1, __ATOMIC_RELAXED);
}

/* With v->Lock held: the processors every object on the chain accepts. */
static KAFFINITY common_processors(KI_DEVICE_VECTOR *v)
{
    KAFFINITY common = ~(KAFFINITY)0;

    for (PLIST_ENTRY e = v->Chain.Flink; e != &v->Chain; e = e->Flink)
        common &= CONTAINING_RECORD(e, KINTERRUPT, InterruptListEntry)->ProcessorEnableMask;
    return common;
}

NTSTATUS NTAPI IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                                  PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector,
                                  KIRQL Irql, KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                  BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                                  BOOLEAN FloatingSave)
{
    KAFFINITY online = KeQueryActiveProcessors();

    if (!InterruptObject || !ServiceRoutine)
        return STATUS_INVALID_PARAMETER;
    if (Vector < KI_VECTOR_DEVICE_FIRST || Vector > KI_VECTOR_DEVICE_LAST)
        return STATUS_INVALID_PARAMETER;
    if (Irql != KI_VECTOR_IRQL(Vector))             /* the APIC decides: class = IRQL */
        return STATUS_INVALID_PARAMETER;
    if (SynchronizeIrql < Irql || SynchronizeIrql > KI_MAX_DIRQL)
        return STATUS_INVALID_PARAMETER;
    if (InterruptMode != LevelSensitive && InterruptMode != Latched)
        return STATUS_INVALID_PARAMETER;
    if (ProcessorEnableMask == 0 || (ProcessorEnableMask & ~online))
        return STATUS_INVALID_PARAMETER;
    if (FloatingSave)                               /* WDK: FALSE on x86 and x64 */
        return STATUS_INVALID_PARAMETER;

    PKINTERRUPT i = allocate_object();
    if (!i)
        return STATUS_INSUFFICIENT_RESOURCES;
    i->Type = KI_INTERRUPT_OBJECT_TYPE;     /* InterruptObject (the parameter hides it) */
    i->Size = sizeof(KINTERRUPT);
    i->ServiceRoutine = ServiceRoutine;
    i->ServiceContext = ServiceContext;
    i->SpinLock = 0;                                /* KeInitializeSpinLock */
    i->ActualLock = SpinLock ? SpinLock : &i->SpinLock;
    if (DBG)        /* classed by ISR and level: a reused lock or object, a new class */
        KiLockOrderInitialize(i->ActualLock, KI_LOCK_ORDER_ISR_KEY(ServiceRoutine, SynchronizeIrql));
    i->Vector = Vector;
    i->Irql = Irql;
    i->SynchronizeIrql = SynchronizeIrql;
    i->FloatingSave = FALSE;
    i->ShareVector = ShareVector ? TRUE : FALSE;
    i->Mode = InterruptMode;
    i->Polarity = InterruptPolarityUnknown;
    i->ProcessorEnableMask = ProcessorEnableMask;
    i->Number = (CCHAR)lowest_processor(ProcessorEnableMask);

    KI_DEVICE_VECTOR *v = device_vector(Vector);
    NTSTATUS status = STATUS_SUCCESS;
    KIRQL old = KfRaiseIrql(Irql);                  /* no interrupt of this vector here now */
    KeAcquireSpinLockAtDpcLevel(&v->Lock);
    if (!v->Chain.Flink)
        InitializeListHead(&v->Chain);
    for (PLIST_ENTRY e = v->Chain.Flink; e != &v->Chain; e = e->Flink) {
        PKINTERRUPT other = CONTAINING_RECORD(e, KINTERRUPT, InterruptListEntry);
        if (!other->ShareVector || !i->ShareVector || other->Mode != i->Mode)
            status = STATUS_INVALID_PARAMETER;      /* as KeConnectInterrupt refusing */
    }
    KAFFINITY common = common_processors(v) & ProcessorEnableMask;
    if (NT_SUCCESS(status) && v->HasGsi && common == 0)
        status = STATUS_INVALID_PARAMETER;          /* one line, one destination */
    if (NT_SUCCESS(status)) {
        /* The handler before the object, the object before the unmask: the
         * first interrupt finds all three in place. */
        KiSetInterruptHandler(Vector, KiInterruptDispatch, v);
        InsertTailList(&v->Chain, &i->InterruptListEntry);
        i->Connected = TRUE;
        if (v->HasGsi) {
            ULONG target = lowest_processor(common);
            i->Number = (CCHAR)target;
            i->Polarity = v->Wiring.ActiveLow ? InterruptActiveLow : InterruptActiveHigh;
            KiIoApicSetDestination(v->Gsi, KiProcessorBlock[target].Prcb.ApicId);
            KiIoApicUnmask(v->Gsi);
        }
    }
    KeReleaseSpinLockFromDpcLevel(&v->Lock);
    KeLowerIrql(old);

    if (!NT_SUCCESS(status)) {
        free_object(i);
        return status;
    }
    *InterruptObject = i;
    return STATUS_SUCCESS;
}

VOID NTAPI IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
    PKINTERRUPT i = InterruptObject;

    if (!i || !is_pool_object(i) || i->Type != KI_INTERRUPT_OBJECT_TYPE || !i->Connected)
        return;                                     /* not a connected object of ours */

    KI_DEVICE_VECTOR *v = device_vector(i->Vector);
    KIRQL old = KfRaiseIrql(i->Irql);
    KeAcquireSpinLockAtDpcLevel(&v->Lock);          /* waits out a running ISR */
    RemoveEntryList(&i->InterruptListEntry);
    i->Connected = FALSE;
    if (DBG)        /* the lock word may live on as something else: its own class again */
        KiLockOrderInitialize(i->ActualLock, (ULONG_PTR)i->ActualLock);
    if (v->HasGsi) {
        if (IsListEmpty(&v->Chain))
            KiIoApicMask(v->Gsi);
        else
            KiIoApicSetDestination(v->Gsi, KiProcessorBlock[lowest_processor(common_processors(v))]
                                               .Prcb.ApicId);
    }
    KeReleaseSpinLockFromDpcLevel(&v->Lock);
    KeLowerIrql(old);
    /* The handler stays installed: an interrupt already pending somewhere
     * finds an empty chain and is counted as unclaimed. */
    free_object(i);
}

ULONG KiGetIsaInterruptVector(ULONG IsaIrq, PKIRQL Irql, PKAFFINITY Affinity,
                              KINTERRUPT_MODE *Mode)
{
    ULONG gsi;
    KI_IOAPIC_WIRING wiring;

    if (!KiIoApicIsaIrqToGsi(IsaIrq, &gsi, &wiring) || !KiIoApicHasGsi(gsi))
        return 0;
    if (KiIsaWiringOverride[IsaIrq].Set)
        wiring = KiIsaWiringOverride[IsaIrq].Wiring;

    ULONG vector = KI_ISA_IRQ_VECTOR(IsaIrq);
    KI_DEVICE_VECTOR *v = device_vector(vector);
    KIRQL old = KfRaiseIrql(KI_VECTOR_IRQL(vector));
    KeAcquireSpinLockAtDpcLevel(&v->Lock);
    if (!v->Chain.Flink || IsListEmpty(&v->Chain)) {    /* no ISR: (re)program, masked */
        KiIoApicProgram(gsi, vector, wiring, KiProcessorBlock[0].Prcb.ApicId, TRUE);
        KiSetInterruptLevelTriggered(vector, wiring.LevelTriggered);
        v->Gsi = gsi;
        v->Wiring = wiring;
        v->HasGsi = TRUE;
    }
    wiring = v->Wiring;                             /* connected: it keeps its wiring */
    KeReleaseSpinLockFromDpcLevel(&v->Lock);
    KeLowerIrql(old);

    *Irql = KI_VECTOR_IRQL(vector);
    *Affinity = KeQueryActiveProcessors();
    *Mode = wiring.LevelTriggered ? LevelSensitive : Latched;
    return vector;
}

VOID KiOverrideIsaInterruptWiring(ULONG IsaIrq, const KI_IOAPIC_WIRING *Wiring)
{
    KiIsaWiringOverride[IsaIrq].Set = Wiring != NULL;
    if (Wiring)
        KiIsaWiringOverride[IsaIrq].Wiring = *Wiring;
}

BOOLEAN KiGetVectorGsi(ULONG Vector, PULONG Gsi)
{
    if (Vector < KI_VECTOR_DEVICE_FIRST || Vector > KI_VECTOR_DEVICE_LAST ||
        !device_vector(Vector)->HasGsi)
        return FALSE;
    *Gsi = device_vector(Vector)->Gsi;
    return TRUE;
}

ULONG KiGetUnclaimedInterruptCount(ULONG Vector)
{
    if (Vector < KI_VECTOR_DEVICE_FIRST || Vector > KI_VECTOR_DEVICE_LAST)
        return 0;
    return __atomic_load_n(&device_vector(Vector)->Unclaimed, __ATOMIC_RELAXED);
}

ULONG KiGetInterruptObjectsInUse(void)
{
    ULONG n = 0;

    for (ULONG i = 0; i < KI_MAX_INTERRUPT_OBJECTS; i++)
        n += __atomic_load_n(&KiInterruptSlotUsed[i], __ATOMIC_RELAXED) != 0;
    return n;
}

static BOOLEAN set_stopping(PVOID Context)
{
    *(BOOLEAN *)Context = TRUE;
    return TRUE;
}

VOID KiDisconnectInterruptAndDpc(PKINTERRUPT Interrupt, BOOLEAN *Stopping)
{
    KeSynchronizeExecution(Interrupt, set_stopping, Stopping);
    KeFlushQueuedDpcs();
    IoDisconnectInterrupt(Interrupt);
}
