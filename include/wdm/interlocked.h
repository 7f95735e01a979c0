/*
 * wdm/interlocked.h - interlocked operations, memory barriers and the
 * ReadNoFence / ReadAcquire / WriteRelease families (part of <wdm.h>).
 *
 * On x64 the WDK makes these compiler intrinsics, not kernel exports
 * (WDK: InterlockedIncrement, InterlockedCompareExchange, KeMemoryBarrier,
 * ReadAcquire, WriteRelease, ...): each is an inline function here, with the
 * WDK's name and signature, and the instruction it becomes named next to it.
 *
 * What x86-64 gives for free (SDM Vol. 3A 8.2.2 "Memory Ordering in P6 and
 * More Recent Processor Families"): loads are not reordered with other
 * loads, stores not with other stores, and a store is not reordered with an
 * older load; only a store followed by a load of another address may be.
 * So an acquire load and a release store are plain `mov`s that the compiler
 * must not move ("memory" clobbers, __ATOMIC_ACQUIRE / _RELEASE), and only a
 * full barrier needs an instruction: a locked one.  Every Interlocked
 * routine is a locked instruction, hence a full barrier too.
 */
#ifndef WDM_INTERLOCKED_H
#define WDM_INTERLOCKED_H

#include "ntdef.h"

/* ---- 32-bit: LONG ------------------------------------------------------- */

FORCEINLINE LONG _InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);        /* lock xadd */
}

FORCEINLINE LONG _InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);        /* lock xadd */
}

FORCEINLINE LONG _InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);   /* xchg: locked by itself */
}

/* Returns the initial value; stores ExChange only if it equaled Comperand. */
FORCEINLINE LONG _InterlockedCompareExchange(LONG volatile *Destination, LONG ExChange,
                                             LONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);                 /* lock cmpxchg */
    return Comperand;                   /* the value found, either way */
}

FORCEINLINE LONG _InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);    /* lock xadd */
}

/* The bitwise ones return the original value (a lock cmpxchg loop when the
 * old value is used, else lock or / and / xor). */
FORCEINLINE LONG _InterlockedOr(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG _InterlockedAnd(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG _InterlockedXor(LONG volatile *Destination, LONG Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}

/* ---- 64-bit: LONG64 ----------------------------------------------------- */

FORCEINLINE LONG64 _InterlockedIncrement64(LONG64 volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG64 _InterlockedDecrement64(LONG64 volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG64 _InterlockedExchange64(LONG64 volatile *Target, LONG64 Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG64 _InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 ExChange,
                                                 LONG64 Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}

FORCEINLINE LONG64 _InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG64 _InterlockedOr64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_or(Destination, Value, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG64 _InterlockedAnd64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_and(Destination, Value, __ATOMIC_SEQ_CST);
}

FORCEINLINE LONG64 _InterlockedXor64(LONG64 volatile *Destination, LONG64 Value)
{
    return __atomic_fetch_xor(Destination, Value, __ATOMIC_SEQ_CST);
}

/* InterlockedAdd returns the new value (InterlockedExchangeAdd the old one). */
FORCEINLINE LONG _InterlockedAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);    /* lock xadd, then add */
}

FORCEINLINE LONG64 _InterlockedAdd64(LONG64 volatile *Addend, LONG64 Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);
}

/* Set or clear bit Offset and return what it was (lock bts / lock btr). */
FORCEINLINE BOOLEAN _interlockedbittestandset(LONG volatile *Base, LONG Offset)
{
    LONG mask = (LONG)(1u << (Offset & 31));

    return (__atomic_fetch_or(&Base[Offset >> 5], mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

FORCEINLINE BOOLEAN _interlockedbittestandreset(LONG volatile *Base, LONG Offset)
{
    LONG mask = (LONG)(1u << (Offset & 31));

    return (__atomic_fetch_and(&Base[Offset >> 5], ~mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

FORCEINLINE BOOLEAN _interlockedbittestandset64(LONG64 volatile *Base, LONG64 Offset)
{
    LONG64 mask = (LONG64)(1ull << (Offset & 63));

    return (__atomic_fetch_or(&Base[Offset >> 6], mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

FORCEINLINE BOOLEAN _interlockedbittestandreset64(LONG64 volatile *Base, LONG64 Offset)
{
    LONG64 mask = (LONG64)(1ull << (Offset & 63));

    return (__atomic_fetch_and(&Base[Offset >> 6], ~mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

/* ---- Pointers ----------------------------------------------------------- */

FORCEINLINE PVOID _InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

FORCEINLINE PVOID _InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID ExChange,
                                                     PVOID Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}

/* The WDK's names for them (wdm.h maps each to its intrinsic the same way). */
#define InterlockedIncrement _InterlockedIncrement
#define InterlockedDecrement _InterlockedDecrement
#define InterlockedExchange _InterlockedExchange
#define InterlockedCompareExchange _InterlockedCompareExchange
#define InterlockedExchangeAdd _InterlockedExchangeAdd
#define InterlockedOr _InterlockedOr
#define InterlockedAnd _InterlockedAnd
#define InterlockedXor _InterlockedXor
#define InterlockedIncrement64 _InterlockedIncrement64
#define InterlockedDecrement64 _InterlockedDecrement64
#define InterlockedExchange64 _InterlockedExchange64
#define InterlockedCompareExchange64 _InterlockedCompareExchange64
#define InterlockedExchangeAdd64 _InterlockedExchangeAdd64
#define InterlockedOr64 _InterlockedOr64
#define InterlockedAnd64 _InterlockedAnd64
#define InterlockedXor64 _InterlockedXor64
#define InterlockedAdd _InterlockedAdd
#define InterlockedAdd64 _InterlockedAdd64
#define InterlockedBitTestAndSet _interlockedbittestandset
#define InterlockedBitTestAndReset _interlockedbittestandreset
#define InterlockedBitTestAndSet64 _interlockedbittestandset64
#define InterlockedBitTestAndReset64 _interlockedbittestandreset64
#define InterlockedExchangePointer _InterlockedExchangePointer
#define InterlockedCompareExchangePointer _InterlockedCompareExchangePointer

/* ---- Barriers ----------------------------------------------------------- */

/* A full barrier: no load or store moves across it, in the compiler or the
 * CPU.  x64 WDK: a locked OR of zero into the stack, cheaper than mfence and
 * as strong for ordinary (write-back) memory. */
FORCEINLINE VOID KeMemoryBarrier(VOID)
{
    __asm__ volatile("lock orl $0, (%%rsp)" : : : "memory", "cc");
}

/* The compiler may not move memory accesses across it; the CPU's own
 * ordering (above) is all there is at run time. */
FORCEINLINE VOID KeMemoryBarrierWithoutFence(VOID)
{
    __asm__ volatile("" : : : "memory");
}

/* The same under the names WDK code also uses (winnt.h / wdm.h on x64). */
#define MemoryBarrier() KeMemoryBarrier()
#define _ReadWriteBarrier() KeMemoryBarrierWithoutFence()
/* A spin-wait loop's hint: pause (SDM Vol. 2B, PAUSE). */
#define YieldProcessor() __asm__ volatile("pause" : : : "memory")

/* ---- Plain, acquire and release accesses -------------------------------- */

/* NoFence: one access of the full width (no tearing), in no particular
 * order with the others.  Acquire: no later access moves before it.
 * Release: no earlier access moves after it.  On x64 all three are one mov;
 * only the compiler's freedom differs. */
#define KI_DEFINE_ACCESS(suffix, type)                                               \
    FORCEINLINE type ReadNoFence##suffix(type const volatile *Source)                \
    {                                                                                \
        return __atomic_load_n(Source, __ATOMIC_RELAXED);                            \
    }                                                                                \
    FORCEINLINE type ReadAcquire##suffix(type const volatile *Source)                \
    {                                                                                \
        return __atomic_load_n(Source, __ATOMIC_ACQUIRE);                            \
    }                                                                                \
    FORCEINLINE VOID WriteNoFence##suffix(type volatile *Destination, type Value)    \
    {                                                                                \
        __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);                      \
    }                                                                                \
    FORCEINLINE VOID WriteRelease##suffix(type volatile *Destination, type Value)    \
    {                                                                                \
        __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);                      \
    }

KI_DEFINE_ACCESS(8, CHAR)
KI_DEFINE_ACCESS(16, SHORT)
KI_DEFINE_ACCESS(, LONG)
KI_DEFINE_ACCESS(64, LONG64)

FORCEINLINE PVOID ReadPointerNoFence(PVOID const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_RELAXED);
}

FORCEINLINE PVOID ReadPointerAcquire(PVOID const volatile *Source)
{
    return __atomic_load_n(Source, __ATOMIC_ACQUIRE);
}

FORCEINLINE VOID WritePointerNoFence(PVOID volatile *Destination, PVOID Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELAXED);
}

FORCEINLINE VOID WritePointerRelease(PVOID volatile *Destination, PVOID Value)
{
    __atomic_store_n(Destination, Value, __ATOMIC_RELEASE);
}

#endif
