/*
 * bench_threads.c - what the dispatcher costs (kernel/thread/, design in kernel/thread/thread.h):
 * a thread switch on one CPU, a wake from one CPU to a thread on another,
 * and how late a KTIMER's DPC runs.
 *
 *   thread.switch.same_cpu        two threads on CPU 0 at priority 8 ping-pong
 *                                 through two synchronization events: each
 *                                 iteration is a KeSetEvent, a blocking
 *                                 KeWaitForSingleObject and a switch, twice;
 *                                 per switch; floor.self_ipi (the floor of the
 *                                 same-CPU DPC latency, bench_dpc.c)
 *   thread.wake.other_cpu         a thread on CPU 1 waits on an event; CPU 0
 *                                 stamps the TSC and sets it; the thread
 *                                 stamps the TSC when its wait returns;
 *                                 floor.ipi_one_way
 *   thread.wake.other_cpu.set_event   the KeSetEvent of the same samples, on CPU 0
 *   thread.wake.part.request_other_cpu   the IPI KiReadyThread sends, alone
 *   thread.wake.part.set_event_no_waiter  KeSetEvent + KeClearEvent, no waiter
 *   floor.clock_period            TSC ticks between two clock ticks, measured
 *   floor.clock_increment         KeQueryTimeIncrement (100 ns units)
 *   timer.periodic.lateness       a 1 ms periodic KTIMER: from the due time
 *                                 to its DPC's first instruction; floor.clock_period
 *   timer.oneshot.lateness        one-shot timers with pseudo-random relative
 *                                 due times, 1 to 3 periods: the same
 *   timer.*.lateness_interrupt_time   the same in interrupt time (100 ns),
 *                                 KeQueryInterruptTime in the DPC minus the
 *                                 due time; floor.clock_increment
 *
 * Where the due time falls in TSC ticks: interrupt time advances by one
 * increment on each of CPU 0's clock ticks (kernel/irql/clock.c), so a due
 * time D lies (I - D) increments before the tick that made the interrupt
 * time I.  The DPC reads I, and how far its CPU's local APIC timer has
 * counted down since that tick (SDM Vol. 3A, "APIC Timer": the current-count
 * register reloads from the initial count in periodic mode): lateness =
 * time since the tick + (I - D).  That holds on CPU 0 only, whose timer is
 * the one that advances interrupt time; the expiry DPC is queued by the
 * first CPU whose tick sees the due time, almost always CPU 0 right after
 * advancing it.  A sample that ran elsewhere is dropped and counted.
 *
 * Every wait for another CPU is a bare load, as in the other benchmarks
 * (docs/performance.md); a thread that must not outlive its benchmark is
 * waited for with a timeout and reported if it does not end.
 */
#include "wdm.h"
#include "kbench.h"
#include "printf.h"
#include "string.h"
#include "kernel/console/console.h"
#include "kernel/irql/clock.h"
#include "kernel/irql/interrupt.h"
#include "kernel/irql/vectors.h"
#include "kernel/smp/pcr.h"
#include "kernel/thread/thread.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"

#define KB_SETTLE_US        50          /* between wake samples: CPU 1 back in hlt */
#define KB_JOIN_MS          5000        /* a benchmark thread that takes longer is stuck */
#define KB_PERIODS          64          /* clock periods timed for floor.clock_period */
#define KB_TIMER_WAIT_MS    100         /* one sample's timer DPC: far more than it needs */

static ULONG64 KbSamples[KBENCH_SAMPLES];
static ULONG64 KbMore[KBENCH_SAMPLES];
static volatile BOOLEAN KbStop;

static void skip(const char *name, const char *reason)
{
    kprintf("BENCH-SKIP {\"name\":\"%s\",\"vcpus\":%u,\"reason\":\"%s\"}\n", name,
            KeQueryActiveProcessorCount(NULL), reason);
}

static void spin_us(ULONG64 us)
{
    ULONG64 until = kbench_begin() + KiTscFrequency * us / 1000000;

    while (kbench_begin() < until)
        ;
}

static PETHREAD spawn(PKSTART_ROUTINE routine, ULONG cpu, KPRIORITY priority)
{
    PETHREAD thread;

    if (!NT_SUCCESS(KiCreateSystemThread(routine, NULL, (KAFFINITY)1 << cpu, priority, &thread)))
        return NULL;
    KiStartThread(thread);
    return thread;
}

/* Wait for a benchmark thread to end and drop our reference; FALSE if it
 * did not end in time (its reference is kept: it may still run). */
static BOOLEAN join(PETHREAD thread, const char *name)
{
    LARGE_INTEGER timeout;

    if (thread == NULL)
        return FALSE;
    timeout.QuadPart = -(LONGLONG)KB_JOIN_MS * 10000;
    if (KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS) {
        kprintf("bench_threads: %s: a thread did not end in %u ms\n", name, KB_JOIN_MS);
        return FALSE;
    }
    ObDereferenceObject(thread);
    return TRUE;
}

/* ---- A switch on one CPU ------------------------------------------------- */

static KEVENT KbPing, KbPong;
static ULONG64 KbPongSwitches;

/* Sets Pong, waits on Ping: each iteration blocks once and is woken once. */
static VOID NTAPI switch_ping(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        ULONG64 t0 = kbench_begin();
        for (ULONG i = 0; i < KBENCH_BATCH; i++) {
            KeSetEvent(&KbPong, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(&KbPing, Executive, KernelMode, FALSE, NULL);
        }
        ULONG64 t1 = kbench_end();
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = (t1 - t0) / (2 * KBENCH_BATCH);
    }
    KbStop = TRUE;
    KeSetEvent(&KbPong, IO_NO_INCREMENT, FALSE);
}

static VOID NTAPI switch_pong(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (;;) {
        KeWaitForSingleObject(&KbPong, Executive, KernelMode, FALSE, NULL);
        if (KbStop)
            break;
        KeSetEvent(&KbPing, IO_NO_INCREMENT, FALSE);
    }
    KbPongSwitches = KeGetCurrentThread()->ContextSwitches;
}

/*
 * IO_NO_INCREMENT: the woken thread keeps priority 8, equal to the setter's,
 * so KeSetEvent only queues it (no preemption) and the switch happens in the
 * setter's own wait, as KiSwapThread.  Both on CPU 0: with one vCPU there is
 * no other, and the boot CPU's clock tick does the most work, so this is the
 * dearer CPU of the two.  The main thread waits for them meanwhile.
 */
KBENCH(thread_switch)
{
    char extra[48];

    KeInitializeEvent(&KbPing, SynchronizationEvent, FALSE);
    KeInitializeEvent(&KbPong, SynchronizationEvent, FALSE);
    KbStop = FALSE;
    KbPongSwitches = 0;
    PETHREAD pong = spawn(switch_pong, 0, KI_SYSTEM_BASE_PRIORITY);
    PETHREAD ping = spawn(switch_ping, 0, KI_SYSTEM_BASE_PRIORITY);
    BOOLEAN ended = join(ping, "thread_switch");
    ended = join(pong, "thread_switch") && ended;
    if (!ended)
        return;
    /* The pong thread runs once per iteration: a switch really happened each time. */
    ksnprintf(extra, sizeof(extra), "\"pong_switches\":%llu", (unsigned long long)KbPongSwitches);
    kbench_report_samples_extra("thread.switch.same_cpu", "ticks", KbSamples, KBENCH_SAMPLES,
                                "floor.self_ipi", extra);
}

/* ---- A wake on another CPU ----------------------------------------------- */

static KEVENT KbWake;
static volatile ULONG64 KbWokenAt;

static VOID NTAPI wake_waiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (;;) {
        KeWaitForSingleObject(&KbWake, Executive, KernelMode, FALSE, NULL);
        ULONG64 t = kbench_begin();
        if (KbStop)
            break;
        __atomic_store_n(&KbWokenAt, t, __ATOMIC_RELEASE);
    }
}

/*
 * CPU 1 is idle (halted) when the event is set, as the target of
 * floor.ipi_one_way is: KeSetEvent readies the waiter on CPU 1 and sends
 * it the DISPATCH_LEVEL software interrupt as an IPI, whose handler
 * switches from the idle thread to the waiter.  The floor is that IPI
 * alone; the rest is the dispatcher lock, the wait's unlinking, the switch
 * and the wait's return on CPU 1.
 */
KBENCH(thread_wake)
{
    if (KeQueryActiveProcessorCount(NULL) < 2) {
        skip("thread.wake.other_cpu", "needs a second CPU");
        return;
    }
    KeInitializeEvent(&KbWake, SynchronizationEvent, FALSE);
    KbStop = FALSE;
    PETHREAD waiter = spawn(wake_waiter, 1, KI_SYSTEM_BASE_PRIORITY);
    if (waiter == NULL)
        return;
    PKTHREAD tcb = &waiter->Tcb;
    PKPRCB cpu1 = &KiProcessorBlock[1].Prcb;
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        /* Blocked on KbWake again, switched out (Waiting is set under the
         * dispatcher lock before the switch: a vCPU the host deschedules
         * there keeps the lock, and our KeSetEvent would time that), CPU 1
         * in its idle thread; then back in hlt. */
        while (__atomic_load_n(&tcb->State, __ATOMIC_ACQUIRE) != Waiting ||
               __atomic_load_n(&tcb->SwapBusy, __ATOMIC_ACQUIRE) ||
               __atomic_load_n(&cpu1->CurrentThread, __ATOMIC_ACQUIRE) != cpu1->IdleThread)
            ;
        spin_us(KB_SETTLE_US);
        KbWokenAt = 0;
        ULONG64 t0 = kbench_begin();
        KeSetEvent(&KbWake, IO_NO_INCREMENT, FALSE);
        ULONG64 t1 = kbench_end();
        while (__atomic_load_n(&KbWokenAt, __ATOMIC_ACQUIRE) == 0)
            ;
        if (s >= KBENCH_WARMUP) {
            KbSamples[s - KBENCH_WARMUP] = KbWokenAt - t0;
            KbMore[s - KBENCH_WARMUP] = t1 - t0;
        }
    }
    KbStop = TRUE;
    KeSetEvent(&KbWake, IO_NO_INCREMENT, FALSE);
    if (!join(waiter, "thread_wake"))
        return;
    kbench_report("thread.wake.other_cpu", "ticks", KbSamples, KBENCH_SAMPLES,
                  "floor.ipi_one_way");
    kbench_report("thread.wake.other_cpu.set_event", "ticks", KbMore, KBENCH_SAMPLES, NULL);

    /* Where the setter's time goes: the request to CPU 1 alone (the IPI
     * KiReadyThread sends, CPU 1 idle and nothing for it to run), and a
     * KeSetEvent that releases no one (the dispatcher lock's round trip). */
    for (ULONG s = 0; s < KBENCH_WARMUP + KBENCH_SAMPLES; s++) {
        spin_us(KB_SETTLE_US);
        ULONG64 t0 = kbench_begin();
        KiRequestSoftwareInterruptOn(1, DISPATCH_LEVEL);
        ULONG64 t1 = kbench_end();
        if (s >= KBENCH_WARMUP)
            KbSamples[s - KBENCH_WARMUP] = t1 - t0;
    }
    kbench_report("thread.wake.part.request_other_cpu", "ticks", KbSamples, KBENCH_SAMPLES, NULL);
    KBENCH_TIME(KbSamples, {
        KeSetEvent(&KbWake, IO_NO_INCREMENT, FALSE);
        KeClearEvent(&KbWake);
    });
    kbench_report("thread.wake.part.set_event_no_waiter", "ticks", KbSamples, KBENCH_SAMPLES,
                  NULL);
}

/* ---- Timer DPC lateness -------------------------------------------------- */

struct kb_timer_run {
    KTIMER Timer;
    KDPC Dpc;
    KEVENT Done;
    LONG64 Period;                      /* 100 ns; 0 for a one-shot */
    ULONG64 NextDue;                    /* periodic: the due time of the next expiry */
    ULONG Taken, Wanted;
    ULONG OtherCpu;                     /* samples dropped: the DPC ran on another CPU */
    ULONG LateTicks;                    /* samples a whole clock period or more late */
    ULONG64 RequestedAt;                /* one-shot: TSC when KeSetTimer was called */
    ULONG64 RequestedTicks;             /* ... and the relative due time in TSC ticks */
    ULONG Early;                        /* one-shots run before RequestedAt + RequestedTicks */
};

static ULONG KbApicInitial;             /* the clock's initial count (kernel/irql/clock.c) */

/* TSC ticks from Due to now, and interrupt-time units; CPU 0 only. */
static void lateness(ULONG64 Due, ULONG64 *Ticks, ULONG64 *InterruptTime, ULONG64 *Now)
{
    cli();                              /* the count and interrupt time of the same tick */
    ULONG64 now = kbench_begin();
    ULONG64 it = KeQueryInterruptTime();
    ULONG count = KiApicRead(APIC_TIMER_CURRENT);
    /* Reloaded but not taken yet: the tick that will advance `it` is behind us. */
    ULONG64 since = KbApicInitial - count + (KiApicIsPending(KI_VECTOR_CLOCK) ? KbApicInitial : 0);
    sti();
    ULONG64 late_it = it >= Due ? it - Due : 0;
    *InterruptTime = late_it;
    *Ticks = since * KiTscFrequency / KiApicTimerFrequency + late_it * KiTscFrequency / 10000000;
    *Now = now;
}

static VOID NTAPI timer_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    struct kb_timer_run *r = Context;
    ULONG64 due = r->Period ? r->NextDue : (ULONG64)r->Timer.DueTime.QuadPart;
    ULONG64 ticks, it, now;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    lateness(due, &ticks, &it, &now);
    if (r->Period)                      /* set again before this DPC was queued (timer.c) */
        r->NextDue = (ULONG64)r->Timer.DueTime.QuadPart;
    if (r->Taken >= r->Wanted)
        return;
    if (KeGetCurrentProcessorNumber() != 0) {
        r->OtherCpu++;
    } else {
        if (it >= (ULONG64)KeQueryTimeIncrement())
            r->LateTicks++;
        if (!r->Period && now < r->RequestedAt + r->RequestedTicks)
            r->Early++;
        if (r->Taken >= KBENCH_WARMUP) {
            KbSamples[r->Taken - KBENCH_WARMUP] = ticks;
            KbMore[r->Taken - KBENCH_WARMUP] = it;
        }
        r->Taken++;
    }
    if (r->Period == 0 || r->Taken >= r->Wanted)
        KeSetEvent(&r->Done, IO_NO_INCREMENT, FALSE);
}

/* Wait until interrupt time moves: just after a tick of CPU 0 (its handler done). */
static ULONG64 next_tick(ULONG64 *InterruptTime)
{
    ULONG64 it = KeQueryInterruptTime();

    while (KeQueryInterruptTime() == it)
        ;
    *InterruptTime = KeQueryInterruptTime();
    return kbench_begin();
}

static void report_timer(const char *kind, struct kb_timer_run *r)
{
    char metric[64], extra[96];
    ULONG n = r->Taken > KBENCH_WARMUP ? r->Taken - KBENCH_WARMUP : 0;

    ksnprintf(extra, sizeof(extra), "\"late_ticks\":%u,\"other_cpu\":%u%s", r->LateTicks,
              r->OtherCpu, r->Period ? "" : ",\"early_vs_request\":");
    if (!r->Period) {
        size_t used = strlen(extra);
        ksnprintf(extra + used, sizeof(extra) - used, "%u", r->Early);
    }
    ksnprintf(metric, sizeof(metric), "timer.%s.lateness", kind);
    kbench_report_samples_extra(metric, "ticks", KbSamples, n, "floor.clock_period", extra);
    ksnprintf(metric, sizeof(metric), "timer.%s.lateness_interrupt_time", kind);
    kbench_report(metric, "100ns", KbMore, n, "floor.clock_increment");
}

static struct kb_timer_run KbTimerRun;

/*
 * The floor: one clock period in TSC ticks, as this boot's clock runs it
 * (the APIC timer and the TSC are calibrated separately); then a 1 ms
 * periodic timer; then one-shots due a pseudo-random 1 to 3 periods from
 * the request, so that the due time falls anywhere within a period (as in
 * bench_dpc.c's settle: a due time at a fixed phase would measure that
 * phase).  The main thread waits meanwhile: CPU 0 halts between ticks.
 */
KBENCH(timer_lateness)
{
    struct kb_timer_run *r = &KbTimerRun;
    ULONG64 it, lcg = 12345;
    LARGE_INTEGER due, timeout;
    ULONG increment = KeQueryTimeIncrement();

    KbApicInitial = KiApicRead(APIC_TIMER_INITIAL);
    ULONG64 t = next_tick(&it);
    for (ULONG i = 0; i < KB_PERIODS; i++) {
        ULONG64 t1 = next_tick(&it);
        KbSamples[i] = t1 - t;
        t = t1;
    }
    kbench_report("floor.clock_period", "ticks", KbSamples, KB_PERIODS, NULL);
    kbench_report_value("floor.clock_increment", "100ns", increment, NULL);

    timeout.QuadPart = -(LONGLONG)KB_TIMER_WAIT_MS * 10000 * (KBENCH_WARMUP + KBENCH_SAMPLES);
    memset(r, 0, sizeof(*r));
    KeInitializeTimerEx(&r->Timer, NotificationTimer);
    KeInitializeDpc(&r->Dpc, timer_dpc, r);
    KeInitializeEvent(&r->Done, NotificationEvent, FALSE);
    r->Period = 10000;                  /* 1 ms, in 100 ns */
    r->Wanted = KBENCH_WARMUP + KBENCH_SAMPLES;
    next_tick(&it);                     /* a whole period before the first expiry */
    due.QuadPart = -r->Period;
    KeSetTimerEx(&r->Timer, due, 1, &r->Dpc);
    r->NextDue = (ULONG64)r->Timer.DueTime.QuadPart;
    if (KeWaitForSingleObject(&r->Done, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS)
        kprintf("bench_threads: the periodic timer ran %u of %u times\n", r->Taken, r->Wanted);
    KeCancelTimer(&r->Timer);
    KeFlushQueuedDpcs();
    report_timer("periodic", r);

    memset(r, 0, sizeof(*r));
    KeInitializeTimerEx(&r->Timer, NotificationTimer);
    KeInitializeDpc(&r->Dpc, timer_dpc, r);
    KeInitializeEvent(&r->Done, SynchronizationEvent, FALSE);
    r->Wanted = KBENCH_WARMUP + KBENCH_SAMPLES;
    timeout.QuadPart = -(LONGLONG)KB_TIMER_WAIT_MS * 10000;
    while (r->Taken < r->Wanted && r->OtherCpu <= KBENCH_SAMPLES) {
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;   /* Knuth's MMIX LCG */
        LONG64 relative = increment + (LONG64)((lcg >> 33) % (2 * increment));
        due.QuadPart = -relative;
        r->RequestedTicks = (ULONG64)relative * KiTscFrequency / 10000000;
        r->RequestedAt = kbench_begin();
        KeSetTimer(&r->Timer, due, &r->Dpc);
        if (KeWaitForSingleObject(&r->Done, Executive, KernelMode, FALSE, &timeout) !=
            STATUS_SUCCESS) {
            kprintf("bench_threads: a one-shot timer's DPC did not run in %u ms\n",
                    KB_TIMER_WAIT_MS);
            KeCancelTimer(&r->Timer);
            break;
        }
    }
    KeFlushQueuedDpcs();
    report_timer("oneshot", r);
}
