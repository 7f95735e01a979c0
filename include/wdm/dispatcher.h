/*
 * wdm/dispatcher.h - dispatcher objects, waits and timers (part of <wdm.h>):
 * KEVENT, KSEMAPHORE, KMUTEX, KTIMER, KeWaitForSingleObject and
 * KeWaitForMultipleObjects (kernel/thread/, docs/threads.md).
 *
 * Every waitable object begins with a DISPATCHER_HEADER: its type, its
 * signal state and the list of wait blocks of the threads waiting for it.
 * The x64 layouts and sizes are the WDK's (asserted below); the fields
 * after the header are the ones the WDK names.  The header's bytes after
 * Type are flags in the WDK's unions; here they are Type, Signalling, Size
 * and a reserved byte.
 */
#ifndef WDM_DISPATCHER_H
#define WDM_DISPATCHER_H

#include "ntdef.h"
#include "wdm/dpc.h"

typedef LONG KPRIORITY;

typedef struct _DISPATCHER_HEADER {
    union {
        struct {
            UCHAR Type;         /* KI_OBJECT_* (kernel/thread/thread.h) */
            UCHAR Signalling;
            UCHAR Size;         /* in LONGs */
            UCHAR Reserved1;
        };
        volatile LONG Lock;
    };
    LONG SignalState;           /* > 0: signalled (a mutex: 1 - recursion depth) */
    LIST_ENTRY WaitListHead;    /* KWAIT_BLOCKs of the waiting threads */
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;

typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _TIMER_TYPE { NotificationTimer, SynchronizationTimer } TIMER_TYPE;
typedef enum _WAIT_TYPE { WaitAll, WaitAny, WaitNotification, WaitDequeue } WAIT_TYPE;
typedef enum _KWAIT_REASON {
    Executive, FreePage, PageIn, PoolAllocation, DelayExecution, Suspended, UserRequest,
    WrExecutive, WrFreePage, WrPageIn, WrPoolAllocation, WrDelayExecution, WrSuspended,
    WrUserRequest, WrEventPair, WrQueue, WrLpcReceive, WrLpcReply, WrVirtualMemory,
    WrPageOut, WrRendezvous, MaximumWaitReason = 37
} KWAIT_REASON;

typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

typedef struct _KSEMAPHORE {
    DISPATCHER_HEADER Header;   /* SignalState = the count */
    LONG Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;

typedef struct _KMUTANT {
    DISPATCHER_HEADER Header;
    LIST_ENTRY MutantListEntry; /* on the owner's list of mutexes held */
    struct _KTHREAD *OwnerThread;
    BOOLEAN Abandoned;
    UCHAR ApcDisable;
} KMUTANT, *PKMUTANT, *PRKMUTANT, KMUTEX, *PKMUTEX, *PRKMUTEX;

typedef struct _KTIMER {
    DISPATCHER_HEADER Header;
    ULARGE_INTEGER DueTime;     /* interrupt time (100 ns) at which it expires */
    LIST_ENTRY TimerListEntry;  /* in the timer queue while set */
    struct _KDPC *Dpc;
    ULONG Processor;
    LONG Period;                /* ms; 0 = one-shot */
} KTIMER, *PKTIMER, *PRKTIMER;

/* One per object a thread waits for: on the object's wait list. */
typedef struct _KWAIT_BLOCK {
    LIST_ENTRY WaitListEntry;
    UCHAR WaitType;             /* WaitAll or WaitAny */
    volatile UCHAR BlockState;
    USHORT WaitKey;             /* the object's index: STATUS_WAIT_0 + WaitKey */
    LONG SpareLong;
    struct _KTHREAD *Thread;
    PVOID Object;
    PVOID SparePtr;
} KWAIT_BLOCK, *PKWAIT_BLOCK, *PRKWAIT_BLOCK;

#define THREAD_WAIT_OBJECTS     3       /* wait blocks built into each thread */
#define MAXIMUM_WAIT_OBJECTS    64

/* Priority increments for the waiter a set or release wakes. */
#define IO_NO_INCREMENT         0
#define EVENT_INCREMENT         1
#define SEMAPHORE_INCREMENT     1
#define MUTANT_INCREMENT        1

C_ASSERT(sizeof(DISPATCHER_HEADER) == 0x18);
C_ASSERT(offsetof(DISPATCHER_HEADER, SignalState) == 4);
C_ASSERT(offsetof(DISPATCHER_HEADER, WaitListHead) == 8);
C_ASSERT(sizeof(KEVENT) == 0x18);
C_ASSERT(sizeof(KSEMAPHORE) == 0x20);
C_ASSERT(sizeof(KMUTEX) == 0x38);
C_ASSERT(offsetof(KMUTEX, OwnerThread) == 0x28);
C_ASSERT(offsetof(KMUTEX, Abandoned) == 0x30);
C_ASSERT(sizeof(KTIMER) == 0x40);
C_ASSERT(offsetof(KTIMER, Dpc) == 0x30);
C_ASSERT(offsetof(KTIMER, Period) == 0x3C);
C_ASSERT(sizeof(KWAIT_BLOCK) == 0x30);

/* ---- Events (kernel/thread/event.c) --------------------------------------- */

/* Any IRQL.  NotificationEvent: stays set and releases every waiter;
 * SynchronizationEvent: releases one waiter and resets. */
NTKERNELAPI VOID NTAPI KeInitializeEvent(_Out_ PRKEVENT Event, _In_ EVENT_TYPE Type,
                                         _In_ BOOLEAN State);
/* <= DISPATCH_LEVEL (<= APC_LEVEL with Wait).  Returns the previous state.
 * Wait = TRUE: returns at DISPATCH_LEVEL, and a KeWaitXxx must follow at
 * once; it gives back the IRQL of the KeSetEvent call. */
NTKERNELAPI LONG NTAPI KeSetEvent(_Inout_ PRKEVENT Event, _In_ KPRIORITY Increment,
                                  _In_ BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeResetEvent(_Inout_ PRKEVENT Event);
NTKERNELAPI VOID NTAPI KeClearEvent(_Inout_ PRKEVENT Event);
NTKERNELAPI LONG NTAPI KeReadStateEvent(_In_ PRKEVENT Event);
/* Set, release what it can, reset: one atomic step (ntddk.h). */
NTKERNELAPI LONG NTAPI KePulseEvent(_Inout_ PRKEVENT Event, _In_ KPRIORITY Increment,
                                    _In_ BOOLEAN Wait);

/* ---- Semaphores (kernel/thread/semaphore.c) ------------------------------- */

NTKERNELAPI VOID NTAPI KeInitializeSemaphore(_Out_ PRKSEMAPHORE Semaphore, _In_ LONG Count,
                                             _In_ LONG Limit);
/* Count += Adjustment; returns the previous count.  Past Limit: raises
 * STATUS_SEMAPHORE_LIMIT_EXCEEDED (here: the bug check an unhandled
 * exception gets, docs/threads.md). */
NTKERNELAPI LONG NTAPI KeReleaseSemaphore(_Inout_ PRKSEMAPHORE Semaphore,
                                          _In_ KPRIORITY Increment, _In_ LONG Adjustment,
                                          _In_ BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeReadStateSemaphore(_In_ PRKSEMAPHORE Semaphore);

/* ---- Mutexes (kernel/thread/mutex.c) -------------------------------------- */

NTKERNELAPI VOID NTAPI KeInitializeMutex(_Out_ PRKMUTEX Mutex, _In_ ULONG Level);
/* Returns the previous signal state (0: now free).  A release by a thread
 * that does not own it raises STATUS_MUTANT_NOT_OWNED (here: a bug check). */
NTKERNELAPI LONG NTAPI KeReleaseMutex(_Inout_ PRKMUTEX Mutex, _In_ BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeReadStateMutex(_In_ PRKMUTEX Mutex);

/* ---- Waits (kernel/thread/wait.c) ----------------------------------------- */

/* <= APC_LEVEL; at DISPATCH_LEVEL only with *Timeout == 0.  Timeout NULL:
 * forever; < 0: relative, 100 ns units; > 0: absolute system time. */
NTKERNELAPI NTSTATUS NTAPI KeWaitForSingleObject(_In_ PVOID Object, _In_ KWAIT_REASON WaitReason,
                                                 _In_ KPROCESSOR_MODE WaitMode,
                                                 _In_ BOOLEAN Alertable,
                                                 _In_opt_ PLARGE_INTEGER Timeout);
#define KeWaitForMutexObject KeWaitForSingleObject
/* Count > THREAD_WAIT_OBJECTS needs WaitBlockArray (Count KWAIT_BLOCKs);
 * Count > MAXIMUM_WAIT_OBJECTS is bug check 0xC either way. */
NTKERNELAPI NTSTATUS NTAPI KeWaitForMultipleObjects(
    _In_ ULONG Count, _In_ PVOID Object[], _In_ WAIT_TYPE WaitType,
    _In_ KWAIT_REASON WaitReason, _In_ KPROCESSOR_MODE WaitMode, _In_ BOOLEAN Alertable,
    _In_opt_ PLARGE_INTEGER Timeout, _Out_opt_ PKWAIT_BLOCK WaitBlockArray);

/* ---- Timers (kernel/thread/timer.c) --------------------------------------- */

NTKERNELAPI VOID NTAPI KeInitializeTimer(_Out_ PKTIMER Timer);
NTKERNELAPI VOID NTAPI KeInitializeTimerEx(_Out_ PKTIMER Timer, _In_ TIMER_TYPE Type);
/* DueTime < 0: relative, 100 ns units; >= 0: absolute system time.  TRUE if
 * the timer was set already (it is cancelled first). */
NTKERNELAPI BOOLEAN NTAPI KeSetTimer(_Inout_ PKTIMER Timer, _In_ LARGE_INTEGER DueTime,
                                     _In_opt_ PKDPC Dpc);
/* Period in ms; 0 = one-shot. */
NTKERNELAPI BOOLEAN NTAPI KeSetTimerEx(_Inout_ PKTIMER Timer, _In_ LARGE_INTEGER DueTime,
                                       _In_ LONG Period, _In_opt_ PKDPC Dpc);
/* TRUE if it was set (now dequeued, its DPC removed from its queue). */
NTKERNELAPI BOOLEAN NTAPI KeCancelTimer(_Inout_ PKTIMER Timer);
NTKERNELAPI BOOLEAN NTAPI KeReadStateTimer(_In_ PKTIMER Timer);

#endif
