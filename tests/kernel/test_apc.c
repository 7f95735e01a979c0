/*
 * test_apc.c - kernel APCs: delivered at once to a running thread at
 * PASSIVE_LEVEL, held off at APC_LEVEL, in a guarded region, (normal ones)
 * in a critical region and while a KMUTEX is owned, and delivered on the
 * way out; to threads on other CPUs and to waiting threads, whose waits
 * go on (docs/apc.md).
 */
#include "kt_thread.h"
#include "arch/x86_64/cpu.h"

typedef struct _KT_APC_RECORD {
    volatile LONG KernelRuns, NormalRuns;
    volatile KIRQL KernelIrql, NormalIrql;
    volatile PKTHREAD KernelThread, NormalThread;
    volatile ULONG KernelCpu;
    volatile LONG Order;                /* KernelRuns/NormalRuns ordinal across records */
} KT_APC_RECORD;

static volatile LONG KtApcSequence;

static VOID NTAPI record_kernel(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *NormalContext,
                                PVOID *Argument1, PVOID *Argument2)
{
    KT_APC_RECORD *r = *Argument1;

    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(Normal);
    UNREFERENCED_PARAMETER(NormalContext);
    UNREFERENCED_PARAMETER(Argument2);
    r->KernelIrql = KeGetCurrentIrql();
    r->KernelThread = KeGetCurrentThread();
    r->KernelCpu = KeGetCurrentProcessorNumber();
    r->Order = __atomic_add_fetch(&KtApcSequence, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&r->KernelRuns, 1, __ATOMIC_SEQ_CST);
}

static VOID NTAPI record_normal(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KT_APC_RECORD *r = Argument1;

    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument2);
    r->NormalIrql = KeGetCurrentIrql();
    r->NormalThread = KeGetCurrentThread();
    r->Order = __atomic_add_fetch(&KtApcSequence, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&r->NormalRuns, 1, __ATOMIC_SEQ_CST);
}

static VOID queue(PKAPC Apc, PKTHREAD Thread, BOOLEAN Special, KT_APC_RECORD *Record)
{
    *Record = (KT_APC_RECORD){ 0 };
    KeInitializeApc(Apc, Thread, OriginalApcEnvironment, record_kernel, NULL,
                    Special ? NULL : record_normal, KernelMode, NULL);
    KT_EXPECT_EQ(KeInsertQueueApc(Apc, Record, NULL, IO_NO_INCREMENT), TRUE);
}

KTEST(apc_special_runs_at_once_in_its_thread)
{
    KAPC apc;
    KT_APC_RECORD r;

    queue(&apc, KeGetCurrentThread(), TRUE, &r);
    /* At PASSIVE_LEVEL the APC_LEVEL interrupt was taken as the insert
     * lowered IRQL: it has run by now, at APC_LEVEL, in this thread. */
    KT_EXPECT_EQ(r.KernelRuns, 1);
    KT_EXPECT_EQ(r.KernelIrql, APC_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)r.KernelThread, (ULONG_PTR)KeGetCurrentThread());
    KT_EXPECT_EQ(apc.Inserted, FALSE);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST(apc_normal_runs_kernel_then_normal_routine)
{
    KAPC apc;
    KT_APC_RECORD r;

    queue(&apc, KeGetCurrentThread(), FALSE, &r);
    KT_EXPECT_EQ(r.KernelRuns, 1);
    KT_EXPECT_EQ(r.NormalRuns, 1);
    KT_EXPECT_EQ(r.KernelIrql, APC_LEVEL);
    KT_EXPECT_EQ(r.NormalIrql, PASSIVE_LEVEL);
    KT_EXPECT_EQ((ULONG_PTR)r.NormalThread, (ULONG_PTR)KeGetCurrentThread());
}

KTEST(apc_held_off_at_apc_level_until_lowered)
{
    KAPC special, normal;
    KT_APC_RECORD rs, rn;
    KIRQL old;

    KeRaiseIrql(APC_LEVEL, &old);
    KT_EXPECT_EQ(KeAreAllApcsDisabled(), TRUE);
    queue(&special, KeGetCurrentThread(), TRUE, &rs);
    queue(&normal, KeGetCurrentThread(), FALSE, &rn);
    KeStallExecutionProcessor(2000);
    KT_EXPECT_EQ(rs.KernelRuns, 0);
    KT_EXPECT_EQ(rn.KernelRuns, 0);
    KeLowerIrql(old);                   /* both, on the way down */
    KT_EXPECT_EQ(rs.KernelRuns, 1);
    KT_EXPECT_EQ(rn.NormalRuns, 1);
    KT_EXPECT_TRUE(rs.Order < rn.Order);
}

KTEST(apc_guarded_region_holds_every_kernel_apc)
{
    KAPC special, normal;
    KT_APC_RECORD rs, rn;

    KeEnterGuardedRegion();
    KT_EXPECT_EQ(KeAreApcsDisabled(), TRUE);
    KT_EXPECT_EQ(KeAreAllApcsDisabled(), TRUE);
    queue(&normal, KeGetCurrentThread(), FALSE, &rn);   /* normal first: special still goes first */
    queue(&special, KeGetCurrentThread(), TRUE, &rs);
    KT_EXPECT_EQ(rs.KernelRuns + rn.KernelRuns, 0);
    KeLeaveGuardedRegion();
    KT_EXPECT_EQ(KeAreApcsDisabled(), FALSE);
    KT_EXPECT_EQ(rs.KernelRuns, 1);
    KT_EXPECT_EQ(rn.NormalRuns, 1);
    KT_EXPECT_TRUE(rs.Order < rn.Order);
}

KTEST(apc_critical_region_holds_only_normal_apcs)
{
    KAPC special, normal;
    KT_APC_RECORD rs, rn;

    KeEnterCriticalRegion();
    KeEnterCriticalRegion();            /* they nest */
    KT_EXPECT_EQ(KeAreApcsDisabled(), TRUE);
    KT_EXPECT_EQ(KeAreAllApcsDisabled(), FALSE);
    queue(&normal, KeGetCurrentThread(), FALSE, &rn);
    queue(&special, KeGetCurrentThread(), TRUE, &rs);
    KT_EXPECT_EQ(rs.KernelRuns, 1);     /* special: at once */
    KT_EXPECT_EQ(rn.KernelRuns, 0);
    KeLeaveCriticalRegion();
    KT_EXPECT_EQ(rn.KernelRuns, 0);     /* still one level in */
    KeLeaveCriticalRegion();
    KT_EXPECT_EQ(rn.NormalRuns, 1);
}

KTEST(apc_mutex_owner_gets_only_special_apcs)
{
    KMUTEX mutex;
    KAPC special, normal;
    KT_APC_RECORD rs, rn;

    KeInitializeMutex(&mutex, 0);
    KeWaitForSingleObject(&mutex, Executive, KernelMode, FALSE, NULL);
    KT_EXPECT_EQ(KeAreApcsDisabled(), TRUE);
    queue(&normal, KeGetCurrentThread(), FALSE, &rn);
    queue(&special, KeGetCurrentThread(), TRUE, &rs);
    KT_EXPECT_EQ(rs.KernelRuns, 1);
    KT_EXPECT_EQ(rn.KernelRuns, 0);
    KeReleaseMutex(&mutex, FALSE);
    KT_EXPECT_EQ(rn.NormalRuns, 1);
    KT_EXPECT_EQ(KeAreApcsDisabled(), FALSE);
}

KTEST(apc_inserted_twice_is_refused)
{
    KAPC apc;
    KT_APC_RECORD r;

    KeEnterGuardedRegion();
    queue(&apc, KeGetCurrentThread(), TRUE, &r);
    KT_EXPECT_EQ(KeInsertQueueApc(&apc, &r, NULL, IO_NO_INCREMENT), FALSE);
    KeLeaveGuardedRegion();
    KT_EXPECT_EQ(r.KernelRuns, 1);
}

/* A thread on another CPU, spinning at PASSIVE_LEVEL: an APC interrupts it
 * there (an IPI), in its own context. */
static volatile LONG KtSpinStop;

static VOID NTAPI spin_until_stopped(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    while (!__atomic_load_n(&KtSpinStop, __ATOMIC_ACQUIRE))
        cpu_relax();
}

KTEST(apc_to_a_thread_running_on_another_cpu)
{
    KT_REQUIRE_CPUS(2);
    KAPC apc;
    KT_APC_RECORD r;
    ULONG cpu = kt_last_cpu();

    KtSpinStop = 0;
    PETHREAD thread = kt_start(spin_until_stopped, NULL, (KAFFINITY)1 << cpu, 8);
    while (((PKTHREAD)thread)->State != Running)
        KeStallExecutionProcessor(100);
    queue(&apc, (PKTHREAD)thread, FALSE, &r);
    for (ULONG ms = 0; ms < 5000 && r.NormalRuns == 0; ms++)
        KeStallExecutionProcessor(1000);
    KT_EXPECT_EQ(r.NormalRuns, 1);
    KT_EXPECT_EQ((ULONG_PTR)r.KernelThread, (ULONG_PTR)thread);
    KT_EXPECT_EQ((ULONG_PTR)r.NormalThread, (ULONG_PTR)thread);
    KT_EXPECT_EQ(r.KernelCpu, cpu);
    KtSpinStop = 1;
    kt_join(thread);
}

/* A waiting thread runs a kernel APC inside its wait, and waits on. */
static KEVENT KtWaitGate;
static volatile NTSTATUS KtWaitStatus;

static VOID NTAPI wait_on_gate(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KtWaitStatus = KeWaitForSingleObject(&KtWaitGate, Executive, KernelMode, FALSE, NULL);
}

KTEST(apc_to_a_waiting_thread_runs_and_the_wait_goes_on)
{
    KAPC apc;
    KT_APC_RECORD r;
    LARGE_INTEGER ms = kt_ms(3);

    KeInitializeEvent(&KtWaitGate, NotificationEvent, FALSE);
    KtWaitStatus = STATUS_PENDING;
    PETHREAD thread = kt_start(wait_on_gate, NULL, kt_all_cpus(), 8);
    KT_ASSERT_TRUE(kt_wait_until_waiting(thread));
    queue(&apc, (PKTHREAD)thread, FALSE, &r);
    for (ULONG i = 0; i < 2000 && r.NormalRuns == 0; i++)
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    KT_EXPECT_EQ(r.NormalRuns, 1);
    KT_EXPECT_EQ((ULONG_PTR)r.NormalThread, (ULONG_PTR)thread);
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
    KT_EXPECT_EQ(KtWaitStatus, STATUS_PENDING);     /* back in its wait */
    KeSetEvent(&KtWaitGate, IO_NO_INCREMENT, FALSE);
    kt_join(thread);
    KT_EXPECT_EQ(KtWaitStatus, STATUS_WAIT_0);
}

/* Many APCs to threads on every CPU that wait and run by turns: each APC
 * runs exactly once, in its own thread. */
#define KT_APC_THREADS 8
#define KT_APC_EACH 40
static KAPC KtApcs[KT_APC_THREADS][KT_APC_EACH];
static KT_APC_RECORD KtApcRecords[KT_APC_THREADS][KT_APC_EACH];
static volatile LONG KtApcStop;

static VOID NTAPI wait_and_spin(PVOID Context)
{
    LARGE_INTEGER tick = kt_ms(1);

    UNREFERENCED_PARAMETER(Context);
    for (ULONG round = 0; !__atomic_load_n(&KtApcStop, __ATOMIC_ACQUIRE); round++) {
        if (round & 1)
            KeDelayExecutionThread(KernelMode, FALSE, &tick);
        else
            KeStallExecutionProcessor(300);
    }
}

KTEST(apc_many_to_threads_on_every_cpu_each_runs_once)
{
    PETHREAD threads[KT_APC_THREADS];

    KtApcStop = 0;
    for (ULONG t = 0; t < KT_APC_THREADS; t++)
        threads[t] = kt_start(wait_and_spin, NULL, kt_all_cpus(), 8);
    for (ULONG i = 0; i < KT_APC_EACH; i++)
        for (ULONG t = 0; t < KT_APC_THREADS; t++)
            queue(&KtApcs[t][i], (PKTHREAD)threads[t], i & 1, &KtApcRecords[t][i]);
    ULONG done = 0;
    for (ULONG ms = 0; ms < 20000 && done < KT_APC_THREADS * KT_APC_EACH; ms++) {
        KeStallExecutionProcessor(1000);
        done = 0;
        for (ULONG t = 0; t < KT_APC_THREADS; t++)
            for (ULONG i = 0; i < KT_APC_EACH; i++)
                done += KtApcRecords[t][i].KernelRuns;
    }
    KtApcStop = 1;
    for (ULONG t = 0; t < KT_APC_THREADS; t++)
        kt_join(threads[t]);
    for (ULONG t = 0; t < KT_APC_THREADS; t++)
        for (ULONG i = 0; i < KT_APC_EACH; i++) {
            KT_APC_RECORD *r = &KtApcRecords[t][i];
            KT_EXPECT_EQ(r->KernelRuns, 1);
            KT_EXPECT_EQ(r->NormalRuns, (i & 1) ? 0 : 1);
            KT_EXPECT_EQ((ULONG_PTR)r->KernelThread, (ULONG_PTR)threads[t]);
        }
}
