/*
 * timer.c - KTIMER and the timer queue (WDK: KeInitializeTimer(Ex),
 * KeSetTimer(Ex), KeCancelTimer, KeReadStateTimer; docs/threads.md,
 * "Timers").
 *
 * Set timers sit on one list sorted by due time (interrupt time, 100 ns),
 * guarded by the dispatcher lock.  KiNextTimerDue mirrors the head's due
 * time so that every CPU's clock tick can compare it with the interrupt
 * time without the lock (one 64-bit load) and, when it has passed, queue
 * the expiry DPC: the clock interrupt does at CLOCK_LEVEL only what cannot
 * wait, as Windows' does.  The DPC takes the lock, signals each expired
 * timer (releasing its waiters: a thread's wait timeout is its own timer),
 * sets a periodic one again, and queues the timers' DPCs after dropping the
 * lock: a timer's DPC runs on the CPU that expired it.
 *
 * A sorted list keeps the teaching simple (insertion walks it); Windows
 * hashes due times into a 256-entry timer table instead.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/debug/race.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))
#define KI_EXPIRE_BATCH 16              /* timer DPCs queued per pass of the lock */
#define KI_TIMER_PATIENCE 4             /* ticks an expiry waits for a CPU below DISPATCH_LEVEL */

static LIST_ENTRY KiTimerListHead = { &KiTimerListHead, &KiTimerListHead };
static volatile ULONG64 KiNextTimerDue = ~0ull;     /* none set */
static KDPC KiTimerExpireDpc;

VOID NTAPI KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    KiInitializeDispatcherHeader(&Timer->Header,
                                 Type == SynchronizationTimer ? KI_OBJECT_SYNCHRONIZATION_TIMER
                                                              : KI_OBJECT_NOTIFICATION_TIMER,
                                 sizeof(KTIMER), 0);
    Timer->DueTime.QuadPart = 0;
    Timer->TimerListEntry.Flink = Timer->TimerListEntry.Blink = NULL;  /* not set */
    Timer->Dpc = NULL;
    Timer->Processor = 0;
    Timer->Period = 0;
}

VOID NTAPI KeInitializeTimer(PKTIMER Timer)
{
    KeInitializeTimerEx(Timer, NotificationTimer);
}

static BOOLEAN is_set(PKTIMER Timer)
{
    return Timer->TimerListEntry.Flink != NULL;
}

static VOID update_next_due(VOID)
{
    ULONG64 due = IsListEmpty(&KiTimerListHead)
        ? ~0ull
        : CONTAINING_RECORD(KiTimerListHead.Flink, KTIMER, TimerListEntry)->DueTime.QuadPart;
    __atomic_store_n(&KiNextTimerDue, due, __ATOMIC_RELEASE);
}

ULONG64 KiDueInterruptTime(LONGLONG DueTime)
{
    ULONG64 now = KeQueryInterruptTime();
    LARGE_INTEGER system;

    if (DueTime < 0)
        return now + (ULONG64)-DueTime;
    /* Absolute: system time; the distance from now in either clock is the same. */
    KeQuerySystemTime(&system);
    return DueTime <= system.QuadPart ? now : now + (ULONG64)(DueTime - system.QuadPart);
}

BOOLEAN KiInsertTimer(PKTIMER Timer, ULONG64 Due)
{
    PLIST_ENTRY entry = KiTimerListHead.Flink;

    Timer->DueTime.QuadPart = Due;
    if (Due <= KeQueryInterruptTime())
        return FALSE;
    while (entry != &KiTimerListHead &&
           CONTAINING_RECORD(entry, KTIMER, TimerListEntry)->DueTime.QuadPart <= Due)
        entry = entry->Flink;
    InsertTailList(entry, &Timer->TimerListEntry);    /* before entry: the list stays sorted */
    update_next_due();
    return TRUE;
}

VOID KiRemoveTimer(PKTIMER Timer)
{
    if (!is_set(Timer))
        return;
    RemoveEntryList(&Timer->TimerListEntry);
    Timer->TimerListEntry.Flink = Timer->TimerListEntry.Blink = NULL;
    update_next_due();
}

/* An expired timer: signalled, its waiters released, a periodic one set
 * again.  Returns the DPC to queue, if any.  Dispatcher lock held. */
static PKDPC expire(PKTIMER Timer, ULONG64 Now)
{
    Timer->Header.SignalState = 1;
    KiWaitTest(Timer, 0);
    if (Timer->Period > 0) {
        ULONG64 period = (ULONG64)Timer->Period * 10000;
        ULONG64 next = Timer->DueTime.QuadPart + period;
        if (next <= Now)                /* the clock fell behind: no burst of catch-up */
            next = Now + period;
        KiInsertTimer(Timer, next);
    }
    KI_RACE_POINT("timer.expired");
    return Timer->Dpc;
}

/* WDK: a timer DPC's system arguments are the low and high halves of the
 * system time at which the expiry was processed. */
static VOID queue_timer_dpcs(PKDPC Dpcs[], ULONG Count)
{
    LARGE_INTEGER now;

    KeQuerySystemTime(&now);
    for (ULONG i = 0; i < Count; i++)
        KeInsertQueueDpc(Dpcs[i], (PVOID)(ULONG_PTR)now.LowPart, (PVOID)(ULONG_PTR)now.HighPart);
}

static VOID expire_timers(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    PKDPC dpcs[KI_EXPIRE_BATCH];
    ULONG count;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    do {
        count = 0;
        KIRQL old = KiLockDispatcherDatabase();
        ULONG64 now = KeQueryInterruptTime();
        while (count < KI_EXPIRE_BATCH && !IsListEmpty(&KiTimerListHead)) {
            PKTIMER timer = CONTAINING_RECORD(KiTimerListHead.Flink, KTIMER, TimerListEntry);
            if (timer->DueTime.QuadPart > now)
                break;
            KiRemoveTimer(timer);
            PKDPC dpc = expire(timer, now);
            if (dpc)
                dpcs[count++] = dpc;
        }
        KiUnlockDispatcherDatabase(old);
        queue_timer_dpcs(dpcs, count);
    } while (count == KI_EXPIRE_BATCH);
}

VOID KiTimerClockTick(KIRQL Interrupted)
{
    ULONG64 now = KeQueryInterruptTime();
    ULONG64 due = __atomic_load_n(&KiNextTimerDue, __ATOMIC_ACQUIRE);

    /* The one expiry DPC goes to a CPU that will run it as soon as the tick
     * returns: not one at DISPATCH_LEVEL or above, which may hold a spin lock
     * for long and keep every timer in the system waiting; unless the timers
     * are overdue by KI_TIMER_PATIENCE ticks (every CPU busy up there). */
    if (now >= due && (Interrupted < DISPATCH_LEVEL ||
                       now - due >= (ULONG64)KI_TIMER_PATIENCE * KeQueryTimeIncrement()))
        KeInsertQueueDpc(&KiTimerExpireDpc, NULL, NULL);    /* FALSE if already queued */
}

VOID KiInitializeTimers(VOID)
{
    KeInitializeDpc(&KiTimerExpireDpc, expire_timers, NULL);
    KeSetImportanceDpc(&KiTimerExpireDpc, HighImportance);
}

BOOLEAN NTAPI KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    if (Period < 0)
        KiRaiseStatus(STATUS_INVALID_PARAMETER, CALLER);
    ULONG64 due = KiDueInterruptTime(DueTime.QuadPart);
    KIRQL old = KiLockDispatcherDatabase();
    BOOLEAN was_set = is_set(Timer);
    PKDPC previous_dpc = Timer->Dpc, fire = NULL;

    KiRemoveTimer(Timer);
    Timer->Header.SignalState = 0;
    Timer->Dpc = Dpc;
    Timer->Period = Period;
    if (!KiInsertTimer(Timer, due))     /* already due: expires at once */
        fire = expire(Timer, KeQueryInterruptTime());
    KiUnlockDispatcherDatabase(old);
    if (was_set && previous_dpc)        /* WDK: a set timer is cancelled first, its DPC too */
        KeRemoveQueueDpc(previous_dpc);
    if (fire)
        queue_timer_dpcs(&fire, 1);
    return was_set;
}

BOOLEAN NTAPI KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
    return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

BOOLEAN NTAPI KeCancelTimer(PKTIMER Timer)
{
    KIRQL old = KiLockDispatcherDatabase();
    BOOLEAN was_set = is_set(Timer);

    KiRemoveTimer(Timer);
    KiUnlockDispatcherDatabase(old);
    if (was_set && Timer->Dpc)
        KeRemoveQueueDpc(Timer->Dpc);
    return was_set;
}

BOOLEAN NTAPI KeReadStateTimer(PKTIMER Timer)
{
    return __atomic_load_n(&Timer->Header.SignalState, __ATOMIC_RELAXED) != 0;
}
