/*
 * demo_inversion.c - demo 10: priority inversion with a KMUTEX, and why a
 * spin lock cannot have it.
 *
 * Three threads.  L (priority 4) and M (priority 12) may run only on CPU c;
 * H (priority 16) only on another CPU, h.  L takes the lock and needs
 * WORK_US of CPU time inside it.  M, CPU-bound for MEDIUM_US, has nothing
 * to do with the lock.  H wants the lock.
 *
 * KMUTEX: L holds it at PASSIVE_LEVEL, so M, readied for CPU c, preempts L
 * at once and runs its whole MEDIUM_US; L, the owner, waits on c's ready
 * queue, and H, the most urgent thread, waits for L: H is held up by M, a
 * thread of lower priority than its own (inversion).  Nothing here lends
 * H's priority to L (no priority inheritance; KiTakeMutex records the owner
 * and nothing more).  Windows lends none to a KMUTEX owner either.
 *
 * Spin lock: L holds it at DISPATCH_LEVEL, so M, readied for c, cannot run
 * until L releases (demo 9), and H, spinning on h, waits only for the rest
 * of L's hold.  The price: nothing else runs on c meanwhile, which is why a
 * spin lock is held for microseconds, and a lock held for long is a
 * dispatcher object.
 *
 * Every wait is bounded (H's by a timeout, L's for the shell's look at the
 * queues by a deadline, the joins by a timeout), so the demo ends whatever
 * the scheduler does.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/thread/thread.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/calibrate.h"
#include "string.h"

#define WORK_US         50000   /* L's critical section, in CPU time */
#define MEDIUM_US       200000  /* M's burst, wall time */
#define H_TIMEOUT_MS    2000
#define JOIN_MS         5000
#define PRIORITY_L      4
#define PRIORITY_M      12
#define PRIORITY_H      16
#define GAP_US          200     /* a longer gap in L's loop: it was not running */

static struct {
    BOOLEAN SpinLock;           /* this round's lock kind */
    KMUTEX Mutex;
    KSPIN_LOCK Lock;
    volatile LONG LHolds;
    volatile LONG Looked;       /* the shell has shown the queues: L may release */
    volatile ULONG64 LTook, LReleased, MStart, MEnd, HAsks, HGot;
    volatile NTSTATUS HStatus;
} Demo;

static ULONG64 per_us(VOID)
{
    return KiTscFrequency / 1000000 ? KiTscFrequency / 1000000 : 1;
}

/* Spin until Us of this thread's own running time have gone by: a gap
 * longer than GAP_US between two looks is time it did not run. */
static VOID work(ULONG64 Us)
{
    ULONG64 done = 0, last = rdtsc(), gap = GAP_US * per_us();

    while (done < Us * per_us()) {
        ULONG64 now = rdtsc();
        if (now - last < gap)
            done += now - last;
        last = now;
        cpu_relax();
    }
}

static VOID NTAPI low_thread(PVOID Context)
{
    KIRQL old = PASSIVE_LEVEL;

    UNREFERENCED_PARAMETER(Context);
    if (Demo.SpinLock)
        KeAcquireSpinLock(&Demo.Lock, &old);
    else
        KeWaitForSingleObject(&Demo.Mutex, Executive, KernelMode, FALSE, NULL);
    Demo.LTook = rdtsc();
    __atomic_store_n(&Demo.LHolds, 1, __ATOMIC_RELEASE);
    work(WORK_US);
    /* Not before the shell has printed its look at the queues (a vCPU can
     * be kept off the host's CPUs for milliseconds), but not for ever. */
    for (ULONG64 end = rdtsc() + 1000000 * per_us();
         !__atomic_load_n(&Demo.Looked, __ATOMIC_ACQUIRE) && rdtsc() < end;)
        cpu_relax();
    Demo.LReleased = rdtsc();
    if (Demo.SpinLock)
        KeReleaseSpinLock(&Demo.Lock, old);
    else
        KeReleaseMutex(&Demo.Mutex, FALSE);
}

static VOID NTAPI medium_thread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    Demo.MStart = rdtsc();
    ULONG64 end = Demo.MStart + MEDIUM_US * per_us();
    while (rdtsc() < end)
        cpu_relax();
    Demo.MEnd = rdtsc();
}

static VOID NTAPI high_thread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    Demo.HAsks = rdtsc();
    if (Demo.SpinLock) {
        /* A try loop rather than KeAcquireSpinLock, so that a wait gone
         * wrong ends after H_TIMEOUT_MS instead of at the spin timeout. */
        KIRQL old = KeRaiseIrqlToDpcLevel();
        ULONG64 deadline = Demo.HAsks + (ULONG64)H_TIMEOUT_MS * 1000 * per_us();
        Demo.HStatus = STATUS_TIMEOUT;
        while (rdtsc() < deadline) {
            if (KeTryToAcquireSpinLockAtDpcLevel(&Demo.Lock)) {
                Demo.HGot = rdtsc();
                Demo.HStatus = STATUS_SUCCESS;
                KeReleaseSpinLockFromDpcLevel(&Demo.Lock);
                break;
            }
            cpu_relax();
        }
        KeLowerIrql(old);
    } else {
        LARGE_INTEGER timeout;
        timeout.QuadPart = -(LONGLONG)H_TIMEOUT_MS * 10000;
        Demo.HStatus = KeWaitForSingleObject(&Demo.Mutex, Executive, KernelMode, FALSE, &timeout);
        Demo.HGot = rdtsc();
        if (Demo.HStatus == STATUS_SUCCESS)
            KeReleaseMutex(&Demo.Mutex, FALSE);
    }
}

static PETHREAD start(PKSTART_ROUTINE Routine, ULONG Cpu, KPRIORITY Priority)
{
    PETHREAD thread;

    if (!NT_SUCCESS(KiCreateSystemThread(Routine, NULL, (KAFFINITY)1 << Cpu, Priority, &thread)))
        return NULL;
    KiStartThread(thread);
    return thread;
}

static BOOLEAN join(PETHREAD Thread, const char *Name)
{
    LARGE_INTEGER timeout;

    if (!Thread)
        return FALSE;
    timeout.QuadPart = -(LONGLONG)JOIN_MS * 10000;
    if (KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, &timeout) != STATUS_WAIT_0) {
        kprintf("   %s did not end in %u ms: left running\n", Name, JOIN_MS);
        return FALSE;
    }
    ObDereferenceObject(Thread);
    return TRUE;
}

/* Microseconds from the moment L took the lock. */
static LONG64 at(ULONG64 Tsc)
{
    return Tsc >= Demo.LTook ? (LONG64)KiShellMicroseconds(Tsc - Demo.LTook)
                             : -(LONG64)KiShellMicroseconds(Demo.LTook - Tsc);
}

static BOOLEAN run_round(BOOLEAN SpinLock, ULONG c, ULONG h, ULONG64 *HWait)
{
    memset((void *)&Demo, 0, sizeof(Demo));
    Demo.SpinLock = SpinLock;
    /* H spinning on the shell's own CPU (2 CPUs) keeps the shell from
     * looking until L has released: no look then, and L need not wait. */
    Demo.Looked = SpinLock && h == KeGetCurrentProcessorNumber();
    KeInitializeMutex(&Demo.Mutex, 0);
    KeInitializeSpinLock(&Demo.Lock);
    PETHREAD l = start(low_thread, c, PRIORITY_L);
    /* The shell polls with KeStallExecutionProcessor, not a timed wait:
     * the timer expiry DPC is queued on whichever CPU's clock tick finds a
     * timer due (kernel/thread/timer.c, KiTimerClockTick), and queued on
     * CPU c while L holds the spin lock there, it would not run, nor end
     * our wait, until L released. */
    for (ULONG i = 0; l && i < 10000 && !__atomic_load_n(&Demo.LHolds, __ATOMIC_ACQUIRE); i++)
        KeStallExecutionProcessor(100);
    PETHREAD m = start(medium_thread, c, PRIORITY_M);
    PETHREAD hi = start(high_thread, h, PRIORITY_H);
    /* Until H waits (in KeWaitForSingleObject for the mutex, or spinning)
     * and, with the mutex, M has taken CPU c from L: the other CPU takes
     * the DISPATCH_LEVEL interrupt when its vCPU next runs. */
    for (ULONG i = 0; hi && m && i < 10000; i++) {
        if (SpinLock ? Demo.HAsks != 0 : hi->Tcb.State == Waiting && m->Tcb.State == Running)
            break;
        KeStallExecutionProcessor(100);
    }
    if (__atomic_load_n(&Demo.LHolds, __ATOMIC_ACQUIRE) && !Demo.LReleased) {
        char *argv[] = { "!ready", NULL };
        kprintf("   !ready while L holds the lock (L = low_thread, M = medium_thread):\n");
        KiShellCmdReady(1, argv);
        if (!SpinLock) {
            argv[0] = "!thread";
            kprintf("   !thread (H = high_thread):\n");
            KiShellCmdThread(1, argv);
        }
    }
    __atomic_store_n(&Demo.Looked, 1, __ATOMIC_RELEASE);
    BOOLEAN ok = join(hi, "H") & join(m, "M") & join(l, "L");
    if (!l || !m || !hi) {
        kprintf("   no thread could be created\n");
        return FALSE;
    }
    if (!ok || !Demo.LHolds)
        return FALSE;
    *HWait = Demo.HGot > Demo.HAsks ? KiShellMicroseconds(Demo.HGot - Demo.HAsks) : 0;
    kprintf("   L took the lock at 0 us, released it at %lld us (%u us of work; L did not run "
            "the rest of the time, or waited for the look above)\n",
            (long long)at(Demo.LReleased), WORK_US);
    kprintf("   M ran from %lld to %lld us on CPU %u\n", (long long)at(Demo.MStart),
            (long long)at(Demo.MEnd), c);
    if (Demo.HStatus == STATUS_SUCCESS)
        kprintf("   H asked at %lld us, got the lock at %lld us: waited %llu us\n",
                (long long)at(Demo.HAsks), (long long)at(Demo.HGot), (unsigned long long)*HWait);
    else
        kprintf("   H asked at %lld us and gave up after %u ms (status 0x%x)\n",
                (long long)at(Demo.HAsks), H_TIMEOUT_MS, (ULONG)Demo.HStatus);
    return TRUE;
}

VOID KiDemoInversion(int Argc, char **Argv)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    ULONG64 mutex_wait = 0, spin_wait = 0;

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    if (cpus < 2) {
        kprintf("needs 2 CPUs: H must wait on another CPU than L's (make run has 4)\n");
        return;
    }
    ULONG c = cpus - 1, h = cpus - 2;
    kprintf("L (priority %u) and M (priority %u) on CPU %u, H (priority %u) on CPU %u; L holds "
            "the lock for %u us of work, M is CPU-bound for %u us, H wants the lock\n",
            PRIORITY_L, PRIORITY_M, c, PRIORITY_H, h, WORK_US, MEDIUM_US);

    kprintf(" KMUTEX (L holds it at IRQL 0: M preempts L):\n");
    if (!run_round(FALSE, c, h, &mutex_wait))
        return;
    if (Demo.MStart < Demo.LReleased && Demo.HStatus == STATUS_SUCCESS)
        kprintf("   inversion: H (priority %u) waited %llu us, %llu us more than L's %u us of "
                "work: it waited for M (priority %u)\n", PRIORITY_H,
                (unsigned long long)mutex_wait,
                (unsigned long long)(mutex_wait > WORK_US ? mutex_wait - WORK_US : 0), WORK_US,
                PRIORITY_M);
    else
        kprintf("   no inversion this time: M did not run while L held the mutex\n");

    kprintf(" spin lock (L holds it at IRQL 2: nothing preempts L on CPU %u):\n", c);
    if (!run_round(TRUE, c, h, &spin_wait))
        return;
    kprintf("   no inversion: H waited %llu us, the rest of L's hold; M began %lld us after the "
            "release\n", (unsigned long long)spin_wait,
            (long long)(at(Demo.MStart) - at(Demo.LReleased)));
    kprintf("no priority inheritance in this kernel: a KMUTEX owner keeps its own priority "
            "whoever waits for it\n");
    kprintf("Windows: none for KMUTEX either; it boosts instead: a thread starved on a ready "
            "queue for about 4 s gets priority 15 for a while, and owners of some executive locks "
            "are boosted\n");
    KiShellDemoRead("kernel/shell/demo_inversion.c (run_round, low_thread, high_thread)");
    KiShellDemoRead("kernel/thread/mutex.c (KiTakeMutex: no priority change), "
                    "kernel/thread/scheduler.c (KiReadyThread), docs/threads.md");
}
