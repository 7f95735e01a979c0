/*
 * debugger_thread.c - `!thread` and `!ready`: the dispatcher database as the
 * debugger's extensions of those names show it (kernel/thread/thread.h).
 *
 * Unlike the other `!` commands, these read under the lock that guards what
 * they read, KiDispatcherLock, so a thread is never seen half moved from a
 * ready queue to a CPU.  That lock is taken at SYNCH_LEVEL by every wait,
 * every set and every switch on every CPU, so the look is kept short: the
 * fields are copied into static buffers under the lock and printed after
 * the release (printing takes the console lock and waits for the UART; no
 * CPU should spin on the dispatcher lock meanwhile).  The buffers are the
 * shell's alone: one thread runs commands.
 */
#include "kernel/shell/shell.h"
#include "kernel/console/console.h"
#include "kernel/smp/pcr.h"
#include "printf.h"
#include "string.h"
#include "kernel/thread/thread.h"

#define KI_SHELL_THREADS (KI_MAXIMUM_THREADS + MAXIMUM_PROCESSORS)
#define KI_SHELL_READY_SHOWN 16         /* per CPU, highest priority first */

typedef struct _KI_SHELL_THREAD_ROW {
    ULONG_PTR Id;                       /* Cid.UniqueThread; the CPU for an idle thread */
    PVOID Address;
    UCHAR State;
    BOOLEAN Idle;
    BOOLEAN Current;                    /* the thread running the shell */
    BOOLEAN OnCpu;                      /* its CPU's CurrentThread */
    KPRIORITY Priority, BasePriority;
    ULONG Cpu;                          /* NextProcessor */
    KAFFINITY Affinity;
    ULONG64 ContextSwitches;
    ULONG_PTR Start;                    /* start routine (KiIdleLoop for the idle threads) */
} KI_SHELL_THREAD_ROW;

static PKTHREAD KiShellThreadList[KI_SHELL_THREADS];
static KI_SHELL_THREAD_ROW KiShellThreadRows[KI_SHELL_THREADS];

/* A start routine's name ("+0x0" left out: it is always the entry). */
static const char *routine_name(char *Buffer, ULONG Size, ULONG_PTR Start)
{
    KiShellSymbol(Buffer, Size, Start, 0);
    ULONG n = (ULONG)strlen(Buffer);
    if (n > 4 && strcmp(Buffer + n - 4, "+0x0") == 0)
        Buffer[n - 4] = '\0';
    return Buffer;
}

static VOID copy_thread(KI_SHELL_THREAD_ROW *Row, PKTHREAD Thread)
{
    Row->Address = Thread;
    Row->Idle = !Thread->SystemThread;
    Row->Id = Row->Idle ? Thread->NextProcessor
                        : (ULONG_PTR)((PETHREAD)Thread)->Cid.UniqueThread;
    Row->State = Thread->State;
    Row->Current = Thread == KeGetCurrentThread();
    Row->Priority = Thread->Priority;
    Row->BasePriority = Thread->BasePriority;
    Row->Cpu = Thread->NextProcessor;
    Row->OnCpu = KiProcessorBlock[Row->Cpu].Prcb.CurrentThread == Thread;
    Row->Affinity = Thread->Affinity;
    Row->ContextSwitches = Thread->ContextSwitches;
    Row->Start = Row->Idle ? (ULONG_PTR)KiIdleLoop : (ULONG_PTR)Thread->StartRoutine;
}

static const char *state_name(const KI_SHELL_THREAD_ROW *Row)
{
    static const char *const names[] = {
        "Initialized", "Ready", "Running", "Standby", "Terminated", "Waiting",
    };
    if (Row->Idle)          /* its State stays Running; it runs when nothing else does */
        return Row->OnCpu ? "Running" : "Idle";
    return Row->State < ARRAYSIZE(names) ? names[Row->State] : "?";
}

static const char *where(const KI_SHELL_THREAD_ROW *Row)
{
    if (Row->Idle)
        return Row->OnCpu ? "runs on" : "belongs to";
    switch (Row->State) {
    case Running: return "runs on";
    case Ready:   return "queued on";
    default:      return "last ran on";
    }
}

VOID KiShellCmdThread(int Argc, char **Argv)
{
    char routine[64];

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    KIRQL old = KiLockDispatcherDatabase();
    ULONG total = KiEnumerateThreads(KiShellThreadList, KI_SHELL_THREADS);
    ULONG shown = total < KI_SHELL_THREADS ? total : KI_SHELL_THREADS;
    for (ULONG i = 0; i < shown; i++)
        copy_thread(&KiShellThreadRows[i], KiShellThreadList[i]);
    KiUnlockDispatcherDatabase(old);

    kprintf("%u threads (read under the dispatcher lock; * = this shell's own thread):\n", total);
    kprintf("   id      state       pri/base  where           switches  start routine\n");
    for (ULONG i = 0; i < shown; i++) {
        const KI_SHELL_THREAD_ROW *r = &KiShellThreadRows[i];
        char id[16];
        if (r->Idle)
            ksnprintf(id, sizeof(id), "idle %u", (ULONG)r->Id);
        else
            ksnprintf(id, sizeof(id), "0x%llx", (unsigned long long)r->Id);
        kprintf(" %c %-7s %-11s %3d/%-3d   %-11s %-3u %9llu  %s\n", r->Current ? '*' : ' ', id,
                state_name(r), r->Priority, r->BasePriority, where(r), r->Cpu,
                (unsigned long long)r->ContextSwitches,
                routine_name(routine, sizeof(routine), r->Start));
    }
    kprintf("(KTHREAD: kernel/thread/thread.h; the list: KiEnumerateThreads, "
            "kernel/thread/thread.c)\n");
}

/* ---- !ready -------------------------------------------------------------- */

typedef struct _KI_SHELL_READY_CPU {
    KI_SHELL_THREAD_ROW Running;
    ULONG Queued;                       /* threads on its ready queues */
    ULONG Shown;
    KI_SHELL_THREAD_ROW Ready[KI_SHELL_READY_SHOWN];
} KI_SHELL_READY_CPU;

static KI_SHELL_READY_CPU KiShellReady[MAXIMUM_PROCESSORS];

VOID KiShellCmdReady(int Argc, char **Argv)
{
    ULONG cpus = KeQueryActiveProcessorCount(NULL);
    char routine[64];

    UNREFERENCED_PARAMETER(Argc);
    UNREFERENCED_PARAMETER(Argv);
    KIRQL old = KiLockDispatcherDatabase();
    for (ULONG n = 0; n < cpus; n++) {
        PKPRCB prcb = &KiProcessorBlock[n].Prcb;
        KI_SHELL_READY_CPU *c = &KiShellReady[n];
        c->Queued = c->Shown = 0;
        copy_thread(&c->Running, prcb->CurrentThread);
        for (LONG p = 31; p >= 0; p--) {
            if (!(prcb->ReadySummary & (1u << p)))
                continue;
            PLIST_ENTRY head = &prcb->DispatcherReadyListHead[p];
            for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
                if (c->Shown < KI_SHELL_READY_SHOWN)
                    copy_thread(&c->Ready[c->Shown++], CONTAINING_RECORD(e, KTHREAD,
                                                                         ReadyListEntry));
                c->Queued++;
            }
        }
    }
    KiUnlockDispatcherDatabase(old);

    kprintf("per CPU: the thread it runs, then its ready queue by priority, first to run first\n");
    for (ULONG n = 0; n < cpus; n++) {
        KI_SHELL_READY_CPU *c = &KiShellReady[n];
        const KI_SHELL_THREAD_ROW *r = &c->Running;
        if (r->Idle)
            kprintf("  cpu %u: runs its idle thread; %u ready\n", n, c->Queued);
        else
            kprintf("  cpu %u: runs 0x%llx (priority %d, %s)%s; %u ready\n", n,
                    (unsigned long long)r->Id, r->Priority,
                    routine_name(routine, sizeof(routine), r->Start),
                    r->Current ? " = this shell" : "", c->Queued);
        for (ULONG i = 0; i < c->Shown; i++) {
            r = &c->Ready[i];
            kprintf("         priority %2d: 0x%llx (base %d, %s)\n", r->Priority,
                    (unsigned long long)r->Id, r->BasePriority,
                    routine_name(routine, sizeof(routine), r->Start));
        }
        if (c->Queued > c->Shown)
            kprintf("         ... and %u more\n", c->Queued - c->Shown);
    }
    kprintf("(KPRCB.DispatcherReadyListHead and ReadySummary; KiReadyThread, KiSelectNextThread: "
            "kernel/thread/scheduler.c)\n");
}
