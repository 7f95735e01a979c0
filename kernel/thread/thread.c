/*
 * thread.c - creating threads, starting them, ending them, and the object
 * they live in (WDK: PsCreateSystemThread, PsTerminateSystemThread,
 * PsGetCurrentThreadId; docs/threads.md).
 *
 * Thread objects come from a fixed pool of KI_MAXIMUM_THREADS slots, each
 * with a 16 KiB kernel stack and an unmapped guard page below it
 * (kernel/smp/stackguard.h).  A thread's references: one its own while it
 * runs, one per handle, one per ObReferenceObjectByHandle.  Its slot goes
 * back to the pool when the last is dropped; the thread's own is dropped on
 * its way out, before its last switch, so the slot's next owner waits for
 * SwapBusy to clear: only then is the old stack no longer in use.
 */
#include "wdm.h"
#include "kernel/thread/thread.h"
#include "kernel/ob/object.h"
#include "kernel/debug/race.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/smp/smp.h"
#include "kernel/irql/interrupt.h"
#include "kernel/smp/stackguard.h"
#include "arch/x86_64/cpu.h"
#include "string.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))
#define KI_SYSTEM_PROCESS_ID ((HANDLE)4)    /* the System process, as in Windows */
#define KI_INITIAL_RFLAGS 0x2               /* bit 1 is always set; IF off until started */

typedef struct _KI_THREAD_OBJECT {
    OBJECT_HEADER Header;
    ETHREAD Thread;
} KI_THREAD_OBJECT;
C_ASSERT(offsetof(KI_THREAD_OBJECT, Thread) == sizeof(OBJECT_HEADER));

static KI_THREAD_OBJECT KiThreadObjects[KI_MAXIMUM_THREADS];
static KI_GUARDED_STACK(KI_THREAD_STACK_SIZE) KiThreadStacks[KI_MAXIMUM_THREADS];
static ETHREAD KiIdleThreads[MAXIMUM_PROCESSORS];

/* Free slots, a stack of indexes.  KiThreadPoolLock (DISPATCH_LEVEL) guards it. */
static KSPIN_LOCK KiThreadPoolLock;
static ULONG KiFreeSlots[KI_MAXIMUM_THREADS];
static ULONG KiFreeSlotCount;
static BOOLEAN KiPoolReady;
static volatile LONG64 KiNextThreadId = 4;

static OBJECT_TYPE KiThreadObjectType = { "Thread", KiDeleteThread };
static POBJECT_TYPE KiThreadTypePointer = &KiThreadObjectType;
POBJECT_TYPE *PsThreadType = &KiThreadTypePointer;

ULONG KiThreadSlot(PKTHREAD Thread)
{
    return (ULONG)(CONTAINING_RECORD(Thread, KI_THREAD_OBJECT, Thread.Tcb) - KiThreadObjects);
}

PVOID KiThreadStackGuard(ULONG Slot)
{
    return KiThreadStacks[Slot].Guard;
}

static BOOLEAN take_slot(PULONG Slot)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&KiThreadPoolLock);
    BOOLEAN taken = FALSE;

    if (!KiPoolReady) {                 /* first use: every slot is free */
        for (ULONG i = 0; i < KI_MAXIMUM_THREADS; i++)
            KiFreeSlots[i] = KI_MAXIMUM_THREADS - 1 - i;
        KiFreeSlotCount = KI_MAXIMUM_THREADS;
        KiPoolReady = TRUE;
    }
    if (KiFreeSlotCount) {
        *Slot = KiFreeSlots[--KiFreeSlotCount];
        taken = TRUE;
    }
    KeReleaseSpinLock(&KiThreadPoolLock, old);
    return taken;
}

VOID KiDeleteThread(PVOID Object)
{
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&KiThreadPoolLock);

    KiFreeSlots[KiFreeSlotCount++] = KiThreadSlot(Object);
    KeReleaseSpinLock(&KiThreadPoolLock, old);
}

static VOID initialize_header(PKTHREAD Thread)
{
    /* Size: a KTHREAD is larger than a byte of LONGs can say; 255 = "large". */
    KiInitializeDispatcherHeader(&Thread->Header, KI_OBJECT_THREAD, 255 * sizeof(LONG), 0);
    KeInitializeTimerEx(&Thread->Timer, NotificationTimer);
    InitializeListHead(&Thread->MutantListHead);
    InitializeListHead(&Thread->KernelApcListHead);
}

/* The stack KiSwapContext pops for a thread's first run (arch/x86_64/context.S):
 * R15..R12, RBX = the thread, RBP, RFLAGS, then the return address. */
static VOID build_initial_stack(PKTHREAD Thread, PUCHAR Top)
{
    ULONG64 *sp = (ULONG64 *)Top;

    *--sp = 0;                          /* keeps the frame below 16-byte aligned */
    *--sp = (ULONG64)KiThreadStartup;
    *--sp = KI_INITIAL_RFLAGS;
    *--sp = 0;                          /* RBP: ends the STOP screen's backtrace */
    *--sp = (ULONG64)Thread;            /* RBX */
    for (int i = 0; i < 4; i++)
        *--sp = 0;                      /* R12-R15 */
    Thread->KernelStack = (ULONG_PTR)sp;
}

NTSTATUS KiCreateSystemThread(PKSTART_ROUTINE StartRoutine, PVOID StartContext,
                              KAFFINITY Affinity, KPRIORITY Priority, PETHREAD *Thread)
{
    ULONG slot;

    if ((Affinity & KiActiveProcessorSet()) == 0)
        return STATUS_INVALID_PARAMETER;    /* no online CPU could ever run it */
    if (!take_slot(&slot))
        return STATUS_INSUFFICIENT_RESOURCES;
    KI_THREAD_OBJECT *object = &KiThreadObjects[slot];
    /* The slot's last thread may still be saving its registers on the way out. */
    while (__atomic_load_n(&object->Thread.Tcb.SwapBusy, __ATOMIC_ACQUIRE))
        cpu_relax();
    memset(object, 0, sizeof(*object));
    object->Header.PointerCount = 2;    /* its own while it runs, and the caller's */
    object->Header.Type = &KiThreadObjectType;

    PETHREAD ethread = &object->Thread;
    PKTHREAD thread = &ethread->Tcb;
    initialize_header(thread);
    thread->State = Initialized;
    thread->Priority = thread->BasePriority = Priority;
    thread->Quantum = KI_QUANTUM_TICKS;
    thread->UserAffinity = thread->Affinity = Affinity & KiActiveProcessorSet();
    thread->NextProcessor = KeGetCurrentProcessorNumber();
    thread->StartRoutine = StartRoutine;
    thread->StartContext = StartContext;
    thread->StackBase = &KiThreadStacks[slot].Stack[KI_THREAD_STACK_SIZE];
    thread->StackLimit = &KiThreadStacks[slot].Stack[0];
    thread->SystemThread = TRUE;
    thread->ApcQueueable = TRUE;
    build_initial_stack(thread, thread->StackBase);
    ethread->Cid.UniqueProcess = KI_SYSTEM_PROCESS_ID;
    ethread->Cid.UniqueThread = (HANDLE)__atomic_add_fetch(&KiNextThreadId, 4, __ATOMIC_RELAXED);
    *Thread = ethread;
    return STATUS_SUCCESS;
}

VOID KiStartThread(PETHREAD Thread)
{
    KIRQL old = KiLockDispatcherDatabase();

    KiReadyThread(&Thread->Tcb);
    KiUnlockDispatcherDatabase(old);
}

NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                    PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                    PVOID StartContext)
{
    PETHREAD thread;

    /* WDK: these attributes are not allowed; only the System process here. */
    if (ObjectAttributes &&
        (ObjectAttributes->Attributes & (OBJ_PERMANENT | OBJ_EXCLUSIVE | OBJ_OPENIF)))
        return STATUS_INVALID_PARAMETER;
    if (ProcessHandle != NULL)
        return STATUS_INVALID_HANDLE;
    NTSTATUS status = KiCreateSystemThread(StartRoutine, StartContext, ~(KAFFINITY)0,
                                           KI_SYSTEM_BASE_PRIORITY, &thread);
    if (!NT_SUCCESS(status))
        return status;
    HANDLE handle = ObpCreateHandle(thread, DesiredAccess);     /* takes the caller's reference */
    if (handle == NULL) {
        ObfDereferenceObject(thread);   /* it never ran: both references go */
        ObfDereferenceObject(thread);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    *ThreadHandle = handle;
    if (ClientId)
        *ClientId = thread->Cid;
    KiStartThread(thread);
    return STATUS_SUCCESS;
}

/* The checks of a thread's end, then its last switch (never returns). */
static DECLSPEC_NORETURN VOID exit_thread(PKTHREAD Thread, NTSTATUS Status, PVOID Routine)
{
    if (DBG)    /* first: a kept spin lock is why IRQL would be raised */
        KiCheckNoLockKept(0, Routine);
    KIRQL irql = KeGetCurrentIrql();
    if (irql != PASSIVE_LEVEL)
        /* WDK: Bug Check 0x20: P1 the APC (none), P2 the thread's APC-disable
         * counts (below), P3 the IRQL, P4 0. */
        KeBugCheckEx(KERNEL_APC_PENDING_DURING_EXIT, 0, Thread->CombinedApcDisable, irql, 0);
    if (!IsListEmpty(&Thread->MutantListHead))
        /* WDK: Bug Check 0x4000008A: P1 the thread, P2 the mutex it holds. */
        KeBugCheckEx(THREAD_TERMINATE_HELD_MUTEX, (ULONG_PTR)Thread,
                     (ULONG_PTR)CONTAINING_RECORD(Thread->MutantListHead.Flink, KMUTEX,
                                                  MutantListEntry), 0, 0);
    if (Thread->CombinedApcDisable != 0)
        /* WDK: Bug Check 0x20 for a thread that ends inside a critical or
         * guarded region: P2 the APC-disable counts (SpecialApcDisable << 16
         * | KernelApcDisable, as 0x1 reports them), P3 the IRQL. */
        KeBugCheckEx(KERNEL_APC_PENDING_DURING_EXIT, 0, Thread->CombinedApcDisable, irql, 0);
    KiRundownApcs(Thread);              /* none may be queued from here on */
    ((PETHREAD)Thread)->ExitStatus = Status;

    KeRaiseIrqlToDpcLevel();
    KiLockDispatcherDatabase();
    Thread->State = Terminated;
    Thread->Header.SignalState = 1;     /* a thread object is signalled once it has ended */
    KiWaitTest(Thread, 0);
    KiSwapThread(Thread, KeGetCurrentPrcb());   /* drops its own reference; no return */
    __builtin_unreachable();
}

/* From KiThreadStartup (arch/x86_64/context.S): at DISPATCH_LEVEL with
 * interrupts off, as the previous thread switched away. */
DECLSPEC_NORETURN VOID KiStartSystemThread(PKTHREAD Thread)
{
    KI_SPIN_LOCK_TRACE *locks = &KeGetCurrentPrcb()->SpinLockTrace;

    if (DBG) {                          /* a new thread's lock-order context: its own, empty */
        locks->ContextBase = locks->Count;
        locks->ContextIrql = 0;
    }
    if (Thread->KernelApcPending)       /* queued before it first ran */
        KiRequestSoftwareInterrupt(APC_LEVEL);
    sti();
    KeLowerIrql(PASSIVE_LEVEL);         /* WDK: system threads start at PASSIVE_LEVEL */
    Thread->StartRoutine(Thread->StartContext);
    exit_thread(Thread, STATUS_SUCCESS, (PVOID)Thread->StartRoutine);
}

NTSTATUS NTAPI PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    PKTHREAD thread = KeGetCurrentThread();

    if (thread == NULL || !thread->SystemThread || KeIsExecutingDpc())
        return STATUS_INVALID_PARAMETER;    /* an idle thread or a DPC is no system thread */
    exit_thread(thread, ExitStatus, (PVOID)CALLER);
}

PETHREAD NTAPI PsGetCurrentThread(VOID)
{
    return (PETHREAD)KeGetCurrentThread();     /* an ETHREAD begins with its KTHREAD */
}

HANDLE NTAPI PsGetCurrentThreadId(VOID)
{
    return ((PETHREAD)KeGetCurrentThread())->Cid.UniqueThread;
}

BOOLEAN KiThreadsRunning(VOID)
{
    return KeGetCurrentPrcb()->CurrentThread != NULL;
}

/*
 * Which slots hold a live thread.  PointerCount is no test: the object
 * manager drops it, and KiCreateSystemThread sets it, without the
 * dispatcher lock, and a terminated thread keeps its slot while someone
 * still holds a reference, its slot free to be reused the moment the last
 * one goes.  State is the test: a thread leaves Initialized only in
 * KiReadyThread and reaches Terminated only in exit_thread, both under the
 * dispatcher lock, and its own reference is dropped only after Terminated
 * (on its last switch).  So under the lock, a slot whose State is Ready,
 * Running, Standby or Waiting holds a started thread that has not ended,
 * with its own reference: it stays until the lock is released.  A free
 * slot's State is Terminated (or Initialized, never used or being built:
 * its memset writes the one byte to 0), so it is never taken for one.
 */
ULONG KiEnumerateThreads(PKTHREAD *Threads, ULONG Max)
{
    ULONG count = 0;

    for (ULONG n = 0; n < MAXIMUM_PROCESSORS; n++) {
        if (!(KiActiveProcessorSet() & ((KAFFINITY)1 << n)) || !KiIdleThreads[n].Tcb.StackBase)
            continue;
        if (count < Max)
            Threads[count] = &KiIdleThreads[n].Tcb;
        count++;
    }
    for (ULONG i = 0; i < KI_MAXIMUM_THREADS; i++) {
        PKTHREAD thread = &KiThreadObjects[i].Thread.Tcb;
        UCHAR state = thread->State;
        if (state == Initialized || state == Terminated)
            continue;
        if (count < Max)
            Threads[count] = thread;
        count++;
    }
    return count;
}

VOID KiInitializeIdleThread(PVOID StackTop)
{
    PKPRCB prcb = KeGetCurrentPrcb();
    PKTHREAD thread = &KiIdleThreads[prcb->Number].Tcb;

    for (ULONG p = 0; p < 32; p++)
        InitializeListHead(&prcb->DispatcherReadyListHead[p]);
    initialize_header(thread);
    thread->State = Running;
    thread->Priority = thread->BasePriority = LOW_PRIORITY;
    thread->Affinity = thread->UserAffinity = (KAFFINITY)1 << prcb->Number;
    thread->NextProcessor = prcb->Number;
    thread->StackBase = StackTop;
    thread->StackLimit = (PUCHAR)StackTop - KI_THREAD_STACK_SIZE;
    prcb->IdleThread = thread;
    prcb->CurrentThread = thread;
}

DECLSPEC_NORETURN VOID KiRaiseStatus(NTSTATUS Status, ULONG_PTR Address)
{
    /* WDK: Bug Check 0x7E (P1 the exception code, P2 its address) for an
     * exception in a system thread; 0x1E for one anywhere else. */
    PKTHREAD thread = KeGetCurrentThread();

    if (thread && thread->SystemThread && !KeIsExecutingDpc() &&
        KeGetCurrentIrql() <= DISPATCH_LEVEL)
        KeBugCheckEx(SYSTEM_THREAD_EXCEPTION_NOT_HANDLED, (ULONG)Status, Address, 0, 0);
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG)Status, Address, 0, 0);
}
