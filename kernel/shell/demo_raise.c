/*
 * demo_raise.c - demo 2: why a spin lock raises IRQL to DISPATCH_LEVEL.
 *
 * A lock taken at PASSIVE_LEVEL without raising leaves its CPU open to a
 * DPC.  If that DPC wants the same lock, it spins on the holder's own CPU,
 * above the holder, which therefore never runs again to release it: the
 * CPU is lost for good (and every CPU that later wants the lock with it).
 * The broken half spins only 300 ms and gives up, to show it and go on;
 * `demo raise stop` spins as a real acquire does, until the checked build's
 * spin timeout stops the machine (0xC4 / 0x6000).  The fixed half takes the
 * lock with KeAcquireSpinLock: the DPC inserted meanwhile stays queued, as
 * DISPATCH_LEVEL masks its software interrupt, and runs when the release
 * lowers IRQL, finding the lock free.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/locks/spinlock_check.h"
#include "arch/x86_64/calibrate.h"
#include "arch/x86_64/cpu.h"
#include "string.h"

#define GIVE_UP_US 300000

static struct {
    KDPC Dpc;
    volatile LONG NaiveLock;    /* 0 free, 1 held: an xchg lock that does not raise */
    KSPIN_LOCK Lock;            /* the real one */
    volatile BOOLEAN Ran;
    volatile BOOLEAN Got;
    ULONG64 SpunUs;
    KIRQL DpcIrql;
    ULONG DpcCpu;
} Demo;

/* The broken half's DPC: spin on the naive lock, at most GIVE_UP_US. */
static VOID naive_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    ULONG64 start = rdtsc(), limit = KiTscFrequency / 1000000 * GIVE_UP_US;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    Demo.DpcCpu = KeGetCurrentProcessorNumber();
    Demo.DpcIrql = KeGetCurrentIrql();
    Demo.Got = FALSE;
    while (rdtsc() - start < limit) {
        if (!__atomic_exchange_n(&Demo.NaiveLock, 1, __ATOMIC_ACQUIRE)) {
            Demo.Got = TRUE;
            __atomic_store_n(&Demo.NaiveLock, 0, __ATOMIC_RELEASE);
            break;
        }
        cpu_relax();
    }
    Demo.SpunUs = KiShellMicroseconds(rdtsc() - start);
    Demo.Ran = TRUE;
}

/* The fixed half's DPC, and the stop variant's: a real acquire. */
static VOID real_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    ULONG64 start = rdtsc();

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    Demo.DpcCpu = KeGetCurrentProcessorNumber();
    Demo.DpcIrql = KeGetCurrentIrql();
    KeAcquireSpinLockAtDpcLevel(&Demo.Lock);
    Demo.Got = TRUE;
    KeReleaseSpinLockFromDpcLevel(&Demo.Lock);
    Demo.SpunUs = KiShellMicroseconds(rdtsc() - start);
    Demo.Ran = TRUE;
}

static VOID broken(VOID)
{
    kprintf("1. broken: CPU %u takes a lock at PASSIVE_LEVEL without raising (an xchg lock), then "
            "a DPC on the same CPU wants it\n", KeGetCurrentProcessorNumber());
    Demo.Ran = FALSE;
    KeInitializeDpc(&Demo.Dpc, naive_dpc, NULL);
    while (__atomic_exchange_n(&Demo.NaiveLock, 1, __ATOMIC_ACQUIRE))
        cpu_relax();
    kprintf("   holder: lock taken at IRQL %u; KeInsertQueueDpc ...\n", KeGetCurrentIrql());
    KeInsertQueueDpc(&Demo.Dpc, NULL, NULL);    /* at PASSIVE_LEVEL: it runs right here */
    kprintf("   DPC on CPU %u at IRQL %u spun %llu us and %s\n", Demo.DpcCpu, Demo.DpcIrql,
            (unsigned long long)Demo.SpunUs,
            Demo.Got ? "got the lock (?)" : "gave up: the holder sat beneath it on its own CPU "
                                           "and could not run to release it");
    __atomic_store_n(&Demo.NaiveLock, 0, __ATOMIC_RELEASE);
    kprintf("   holder: released only now. A real acquire never gives up: this CPU would spin "
            "for ever (try: demo raise stop)\n");
}

static VOID fixed(VOID)
{
    KIRQL old;

    kprintf("2. fixed: KeAcquireSpinLock raises to DISPATCH_LEVEL first\n");
    Demo.Ran = Demo.Got = FALSE;
    KeInitializeDpc(&Demo.Dpc, real_dpc, NULL);
    KeAcquireSpinLock(&Demo.Lock, &old);
    KeInsertQueueDpc(&Demo.Dpc, NULL, NULL);
    kprintf("   holder: IRQL %u; DPC queued; has it run? %s\n", KeGetCurrentIrql(),
            Demo.Ran ? "yes (?)" : "no: DISPATCH_LEVEL masks the DPC interrupt on this CPU");
    kprintf("   !locks while it is held:\n");
    KiShellPrintHeldLocks();
    KeReleaseSpinLock(&Demo.Lock, old);
    kprintf("   released and lowered to IRQL %u: the DPC ran on CPU %u at IRQL %u, %s in %llu us\n",
            KeGetCurrentIrql(), Demo.DpcCpu, Demo.DpcIrql,
            Demo.Got ? "found the lock free and took it" : "did NOT get it (?)",
            (unsigned long long)Demo.SpunUs);
}

static VOID stop_variant(VOID)
{
    if (!DBG) {
        kprintf("free build: no spin timeout; this would hang CPU 0 for ever. Run it in the "
                "checked build (make run without CHECKED=0)\n");
        return;
    }
#if DBG
    kprintf("demo raise stop: THIS STOPS THE MACHINE: the lock word is set by hand (no raise, "
            "no owner), then a DPC on this CPU calls KeAcquireSpinLockAtDpcLevel; after the "
            "spin timeout (1 s here, 5 s by default) the checked build stops with 0xC4, "
            "P1 = 0x6000 (spin timeout), P3 = 0xFFFFFFFF (no owner recorded: the holder never "
            "said who it is). QEMU then exits; make run boots again.\n");
    KiSpinLockTimeoutTicks = KiTscFrequency;
    KeInitializeDpc(&Demo.Dpc, real_dpc, NULL);
    Demo.Lock = 1;                      /* "held", by code that did not raise */
    KeInsertQueueDpc(&Demo.Dpc, NULL, NULL);
    kprintf("(not reached)\n");
#endif
}

VOID KiDemoRaise(int Argc, char **Argv)
{
    KeInitializeSpinLock(&Demo.Lock);
    if (Argc > 1 && strcmp(Argv[1], "stop") == 0) {
        stop_variant();
        return;
    }
    if (Argc > 1) {
        kprintf("demo raise: '%s'? (demo raise, or demo raise stop)\n", Argv[1]);
        return;
    }
    broken();
    fixed();
    KiShellDemoRead("kernel/shell/demo_raise.c (broken, fixed); kernel/locks/spinlock.c "
                    "(KeAcquireSpinLockRaiseToDpc, KeReleaseSpinLock); kernel/dpc/dpc_queue.c "
                    "(KeInsertQueueDpc); docs/spinlocks.md, docs/dpc.md");
}
