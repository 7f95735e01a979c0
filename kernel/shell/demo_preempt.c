/*
 * demo_preempt.c - demo 9: a spin lock holder is never preempted on its own
 * CPU, a mutex holder is (the experiment of tests/kernel/test_thread.c,
 * thread_spin_lock_holder_not_preempted_until_release and
 * thread_mutex_holder_preempted_at_once, with times).
 *
 * The shell's thread (priority 8, CPU 0) takes a lock, then readies a
 * priority-16 thread for its own CPU.  KiReadyThread queues it on CPU 0 and
 * requests the DISPATCH_LEVEL software interrupt there.  Holding a spin lock
 * the shell runs at DISPATCH_LEVEL, which masks that interrupt (the local
 * APIC delivers a vector only above the task priority, SDM Vol. 3A
 * "Task Priority Register"): the new thread waits the whole hold and runs at
 * the release, inside KeReleaseSpinLock's lowering of IRQL.  Holding a
 * KMUTEX the shell stays at PASSIVE_LEVEL: the interrupt is taken as soon as
 * the dispatcher lock is released, and the holder is switched out at once,
 * mutex and all.  Times are microseconds from the TSC.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/thread/thread.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/calibrate.h"

#define HOLD_US         20000   /* how long the spin lock is held */
#define TRIES           3
#define DEMO_HIGH_PRIORITY   LOW_REALTIME_PRIORITY
#define JOIN_MS         5000

static struct {
    volatile LONG Ran;
    volatile ULONG64 RanAt;             /* TSC when the high-priority thread ran */
    volatile KIRQL IrqlSeen;
} Demo;

static VOID NTAPI high_thread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    Demo.RanAt = rdtsc();
    Demo.IrqlSeen = KeGetCurrentIrql();
    __atomic_store_n(&Demo.Ran, 1, __ATOMIC_RELEASE);
}

static PETHREAD start_high(VOID)
{
    PETHREAD thread;

    Demo.Ran = 0;
    if (!NT_SUCCESS(KiCreateSystemThread(high_thread, NULL,
                                         (KAFFINITY)1 << KeGetCurrentProcessorNumber(),
                                         DEMO_HIGH_PRIORITY, &thread)))
        return NULL;
    KiStartThread(thread);
    return thread;
}

/* Wait (bounded) for the thread to end and drop our reference. */
static VOID join(PETHREAD Thread)
{
    LARGE_INTEGER timeout;

    timeout.QuadPart = -(LONGLONG)JOIN_MS * 10000;
    if (KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, &timeout) != STATUS_WAIT_0) {
        kprintf("   the thread did not end in %u ms: left running\n", JOIN_MS);
        return;
    }
    ObDereferenceObject(Thread);
}

static LONG64 us_between(ULONG64 From, ULONG64 To)
{
    return To >= From ? (LONG64)KiShellMicroseconds(To - From)
                      : -(LONG64)KiShellMicroseconds(From - To);
}

static BOOLEAN spin_lock_try(LONG64 *AfterRelease, BOOLEAN *RanWhileHeld)
{
    KSPIN_LOCK lock;
    KIRQL old;

    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    PETHREAD high = start_high();
    if (!high) {
        KeReleaseSpinLock(&lock, old);
        return FALSE;
    }
    ULONG64 end = rdtsc() + KiTscFrequency / 1000000 * HOLD_US;
    while (rdtsc() < end && !__atomic_load_n(&Demo.Ran, __ATOMIC_ACQUIRE))
        cpu_relax();
    *RanWhileHeld = __atomic_load_n(&Demo.Ran, __ATOMIC_ACQUIRE) != 0;
    ULONG64 released = rdtsc();
    KeReleaseSpinLock(&lock, old);      /* the switch happens in here */
    ULONG64 back = rdtsc();
    *AfterRelease = __atomic_load_n(&Demo.Ran, __ATOMIC_ACQUIRE) && Demo.RanAt <= back
                  ? us_between(released, Demo.RanAt) : -1;
    join(high);
    return TRUE;
}

static BOOLEAN mutex_try(LONG64 *AfterReady, BOOLEAN *HeldWhenItRan)
{
    KMUTEX mutex;

    KeInitializeMutex(&mutex, 0);
    KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, NULL);
    ULONG64 readied = rdtsc();
    PETHREAD high = start_high();
    if (!high) {
        KeReleaseMutex(&mutex, FALSE);
        return FALSE;
    }
    /* Back here only after the high-priority thread ran and ended. */
    *HeldWhenItRan = __atomic_load_n(&Demo.Ran, __ATOMIC_ACQUIRE) &&
                     KeReadStateMutex(&mutex) <= 0;
    *AfterReady = __atomic_load_n(&Demo.Ran, __ATOMIC_ACQUIRE) ? us_between(readied, Demo.RanAt)
                                                               : -1;
    KeReleaseMutex(&mutex, FALSE);
    join(high);
    return TRUE;
}

VOID KiDemoPreempt(int Argc, char **Argv)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    LONG64 after[TRIES];
    BOOLEAN early[TRIES];

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    kprintf("this shell's thread (priority %d, CPU %u) takes a lock, then readies a priority-%d "
            "thread for CPU %u; %u tries each\n", KeQueryPriorityThread(KeGetCurrentThread()),
            cpu, DEMO_HIGH_PRIORITY, cpu, TRIES);

    kprintf(" spin lock (KeAcquireSpinLock: IRQL 2), held %u us after the readying:\n", HOLD_US);
    ULONG ran_early = 0;
    for (ULONG i = 0; i < TRIES; i++) {
        if (!spin_lock_try(&after[i], &early[i])) {
            kprintf("   no thread could be created\n");
            return;
        }
        ran_early += early[i];
    }
    kprintf("   ran while the lock was held: %u of %u times\n", ran_early, TRIES);
    kprintf("   ran after the release:");
    for (ULONG i = 0; i < TRIES; i++)
        if (early[i])
            kprintf(" (during the hold)");
        else if (after[i] >= 0)
            kprintf(" %lld us", (long long)after[i]);
        else
            kprintf(" (not before KeReleaseSpinLock returned)");
    kprintf(" (inside KeReleaseSpinLock, at its KeLowerIrql)\n");
    if (ran_early == 0)
        kprintf("   so the holder is not preempted: the %u us it held the lock, the readied "
                "thread waited\n", HOLD_US);
    else
        kprintf("   WRONG: the holder was preempted while it held a spin lock\n");

    kprintf(" KMUTEX (KeWaitForSingleObject: IRQL 0), held until the thread has run:\n");
    ULONG held = 0;
    for (ULONG i = 0; i < TRIES; i++) {
        if (!mutex_try(&after[i], &early[i])) {
            kprintf("   no thread could be created\n");
            return;
        }
        held += early[i];
    }
    kprintf("   ran while the mutex was held: %u of %u times\n", held, TRIES);
    kprintf("   ran after the readying:");
    for (ULONG i = 0; i < TRIES; i++)
        if (after[i] >= 0)
            kprintf(" %lld us", (long long)after[i]);
        else
            kprintf(" (not run)");
    kprintf(" (before KiStartThread returned)\n");
    if (held == TRIES)
        kprintf("   so the holder is preempted at once, and CPU %u runs the other thread while "
                "the mutex stays owned\n", cpu);
    else
        kprintf("   WRONG: the readied thread did not run while the mutex was held\n");
    kprintf("why: DISPATCH_LEVEL masks the DISPATCH_LEVEL software interrupt that switches "
            "threads; PASSIVE_LEVEL does not\n");
    KiShellDemoRead("kernel/shell/demo_preempt.c (spin_lock_try, mutex_try)");
    KiShellDemoRead("kernel/thread/scheduler.c (KiReadyThread, KiSwitchThreadIfNeeded), "
                    "kernel/dpc/dpc_queue.c (the 0x2F handler)");
    KiShellDemoRead("tests/kernel/test_thread.c (thread_spin_lock_holder_not_preempted_until_"
                    "release, thread_mutex_holder_preempted_at_once), docs/threads.md");
}
