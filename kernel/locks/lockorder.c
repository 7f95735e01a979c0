/*
 * lockorder.c - the checked build's lock-order validator (docs/validator.md).
 *
 * Two CPUs that take two locks in opposite orders deadlock only when their
 * timing meets; the order itself is wrong every time it runs.  So, like
 * Driver Verifier's deadlock detection and Linux's lockdep, every blocking
 * acquire (kernel/locks/spinlock.c, queuedlock.c, rwlock.c) tells us, before
 * it waits, which lock it takes; the locks this CPU already holds are its
 * KI_SPIN_LOCK_TRACE records (kernel/locks/spinlock_check.h).  Holding A
 * while taking B adds the edge A -> B between their *classes*; an edge that
 * closes a cycle is a deadlock in waiting: 0xC4 / 0x1001 on the spot; a
 * bug check callback prints the report, every edge of the cycle, after the
 * STOP line (on the blue screen too).
 *
 * Classes: a lock passed to KeInitializeSpinLock is classed by the place
 * that initialised it (a thousand objects initialised by one line are one
 * class); any other lock (a static, zero by C's rules; a numbered queued
 * lock; an EX_SPIN_LOCK) is its own class; an interrupt object's own lock is
 * classed by its ISR (IoConnectInterrupt), so a reused object is a new class.
 * `lockorder=address` makes every lock its own class.
 *
 * IRQL: a class taken by an interrupt handler of IRQL I and held anywhere at
 * an IRQL below I can be interrupted, on that CPU, by a handler that spins
 * on it forever: 0xC4 / KI_VERIFIER_LOCK_IRQL_INVERSION.
 *
 * Cost: a class is two hash probes, an edge already seen one; the graph is
 * searched only for a new edge.  Tables are fixed (lockorder.h); one that
 * fills turns the validator off, with a line on the console.
 *
 * GraphLock (an xchg lock of its own, taken with interrupts off, at any IRQL)
 * serialises every writer of the tables below.  Readers probe the hashes
 * without it: a slot is published last (release store) and never changes
 * or goes away afterwards, except an init record's Site, one word.
 */
#include "wdm.h"
#include "string.h"
#include "kernel/options.h"
#include "kernel/smp/pcr.h"
#include "kernel/locks/spinlock_check.h"
#include "kernel/locks/lockorder.h"
#include "kernel/console/console.h"
#include "kernel/debug/symbols.h"
#include "kernel/debug/bugcheck.h"
#include "printf.h"
#include "arch/x86_64/cpu.h"

#if DBG

#define CLASS_SLOTS (2 * KI_LOCK_ORDER_CLASSES)     /* powers of two, at most half full */
#define EDGE_SLOTS  (2 * KI_LOCK_ORDER_EDGES)
#define INIT_SLOTS  (2 * KI_LOCK_ORDER_INITS)
#define NO_IRQL     0xFF                            /* MinHoldIrql before any acquire */

typedef struct _KI_LOCK_CLASS {
    ULONG_PTR Key;              /* the initialising call site, or the lock's address */
    PVOID Lock;                 /* the first lock of the class seen */
    UCHAR Kind;                 /* how that lock was first taken, KI_LOCK_* */
    KIRQL MinHoldIrql;          /* the lowest IRQL any CPU took it at ... */
    ULONG_PTR MinHoldSite;      /* ... and where */
    KIRQL MaxInterruptIrql;     /* the highest interrupt it was taken in (0: none) ... */
    ULONG_PTR InterruptSite;    /* ... and where */
    USHORT FirstEdge;           /* edges out of it: index + 1, chained by NextOut */
} KI_LOCK_CLASS;

typedef struct _KI_LOCK_EDGE {
    USHORT From, To;            /* classes: To was taken while From was held */
    USHORT NextOut;             /* the next edge out of From, index + 1 */
    UCHAR FromKind, ToKind;
    UCHAR Cpu;
    KIRQL FromIrql, ToIrql;     /* IRQL each was taken at */
    PVOID FromLock, ToLock;     /* the locks themselves, for the report */
    ULONG_PTR FromSite, ToSite; /* where each was taken (return addresses) */
} KI_LOCK_EDGE;

static KSPIN_LOCK GraphLock;
static KI_LOCK_CLASS Classes[KI_LOCK_ORDER_CLASSES];
static volatile USHORT ClassSlots[CLASS_SLOTS];     /* class index + 1, 0 = empty */
static ULONG ClassCount;
static KI_LOCK_EDGE Edges[KI_LOCK_ORDER_EDGES];
static volatile USHORT EdgeSlots[EDGE_SLOTS];       /* edge index + 1, 0 = empty */
static ULONG EdgeCount;
static struct {
    volatile ULONG_PTR Lock;    /* 0 = empty */
    volatile ULONG_PTR Site;    /* the last KeInitializeSpinLock of it */
} Inits[INIT_SLOTS];
static ULONG InitCount;
/* The graph search's scratch, under GraphLock. */
static UCHAR Visited[KI_LOCK_ORDER_CLASSES];
static USHORT Via[KI_LOCK_ORDER_CLASSES];           /* the edge that reached a class */
static USHORT Queue[KI_LOCK_ORDER_CLASSES];

static volatile BOOLEAN Enabled = TRUE;
static BOOLEAN PerAddress;      /* lockorder=address */
static BOOLEAN DumpAtEnd;       /* lockorder=dump */
static volatile BOOLEAN ReportOnly;     /* print a cycle's report and go on (the shell's demo) */
static ULONG Reports;           /* cycles reported that way */

static ULONG hash(ULONG_PTR Key, ULONG Slots)
{
    return (ULONG)((Key * 0x9E3779B97F4A7C15ull) >> 32) & (Slots - 1);
}

/* GraphLock: its own test-and-test-and-set loop, not a kernel spin lock
 * routine, which would come back here to be validated. */
static ULONG64 graph_lock(void)
{
    ULONG64 flags = interrupts_save_disable();   /* an ISR may take locks too */

    while (__atomic_exchange_n(&GraphLock, 1, __ATOMIC_ACQUIRE))      /* xchg */
        while (__atomic_load_n(&GraphLock, __ATOMIC_RELAXED))
            cpu_relax();
    return flags;
}

static void graph_unlock(ULONG64 Flags)
{
    __atomic_store_n(&GraphLock, 0, __ATOMIC_RELEASE);               /* mov */
    restore_rflags(Flags);
}

/* A table is full: stop learning rather than grow (lockorder.h, the bounds). */
static void turn_off(const char *Table)
{
    if (Enabled)
        kprintf("lockorder: the %s table is full; the validator is off from here\n", Table);
    Enabled = FALSE;
}

/* ---- Classes ------------------------------------------------------------ */

VOID KiLockOrderForEachInit(VOID (*Visit)(ULONG_PTR Lock, ULONG_PTR Site))
{
    for (ULONG s = 0; s < INIT_SLOTS; s++)
        if (Inits[s].Lock)
            Visit(Inits[s].Lock, Inits[s].Site);
}

VOID KiLockOrderInitialize(PVOID Lock, ULONG_PTR Caller)
{
    ULONG64 flags = graph_lock();
    ULONG s = hash((ULONG_PTR)Lock, INIT_SLOTS);

    while (Inits[s].Lock && Inits[s].Lock != (ULONG_PTR)Lock)
        s = (s + 1) & (INIT_SLOTS - 1);
    Inits[s].Site = Caller;             /* a lock initialised again, elsewhere: the new place */
    if (!Inits[s].Lock && InitCount < KI_LOCK_ORDER_INITS) {
        InitCount++;
        __atomic_store_n(&Inits[s].Lock, (ULONG_PTR)Lock, __ATOMIC_RELEASE);
    }
    graph_unlock(flags);
}

static ULONG_PTR class_key(PVOID Lock)
{
    if (PerAddress)
        return (ULONG_PTR)Lock;
    for (ULONG s = hash((ULONG_PTR)Lock, INIT_SLOTS);; s = (s + 1) & (INIT_SLOTS - 1)) {
        ULONG_PTR lock = __atomic_load_n(&Inits[s].Lock, __ATOMIC_ACQUIRE);
        if (lock == (ULONG_PTR)Lock)
            return Inits[s].Site;
        if (!lock)
            return (ULONG_PTR)Lock;     /* never initialised: its own class */
    }
}

/* The class of Key, or -1; *Slot is where it would be published. */
static LONG find_class(ULONG_PTR Key, ULONG *Slot)
{
    for (ULONG s = hash(Key, CLASS_SLOTS);; s = (s + 1) & (CLASS_SLOTS - 1)) {
        USHORT c = __atomic_load_n(&ClassSlots[s], __ATOMIC_ACQUIRE);
        if (!c) {
            *Slot = s;
            return -1;
        }
        if (Classes[c - 1].Key == Key)
            return c - 1;
    }
}

/* Lock's class, made on first sight; -1 once the table is full. */
static LONG class_of(PVOID Lock, UCHAR Kind)
{
    ULONG_PTR key = class_key(Lock);
    ULONG slot;
    LONG c = find_class(key, &slot);

    if (c >= 0)
        return c;
    ULONG64 flags = graph_lock();
    c = find_class(key, &slot);         /* another CPU may have made it meanwhile */
    if (c < 0 && ClassCount == KI_LOCK_ORDER_CLASSES) {
        turn_off("class");
    } else if (c < 0) {
        c = (LONG)ClassCount++;
        KI_LOCK_CLASS *k = &Classes[c];
        k->Key = key;
        k->Lock = Lock;
        k->Kind = Kind;
        k->MinHoldIrql = NO_IRQL;
        __atomic_store_n(&ClassSlots[slot], (USHORT)(c + 1), __ATOMIC_RELEASE);
    }
    graph_unlock(flags);
    return c;
}

/* ---- Reports ------------------------------------------------------------ */

static const char *const KindNames[] = {
    "?", "executive", "in-stack queued", "numbered queued", "reader/writer (shared)",
    "reader/writer (exclusive)", "interrupt", "ExInterlocked", "DPC queue",
};

/* Every line the validator prints, whole.  A report is printed by a bug
 * check callback, after the STOP line and on the blue screen, where the
 * console lock may be held by a frozen CPU for ever: then without it. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[200];
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (KiBugCheckInProgress())
        KiConsoleWriteUnlocked(line);
    else
        kprintf("%s", line);
}

/* A return address as "name+0xoffset" (the call is the byte before it). */
static const char *site_text(char *Buffer, ULONG Size, ULONG_PTR Site)
{
    ULONG_PTR offset;
    const char *name = Site ? KiLookupSymbol(Site - 1, &offset) : NULL;

    if (name)
        ksnprintf(Buffer, Size, "%s+0x%llx", name, (unsigned long long)offset + 1);
    else
        ksnprintf(Buffer, Size, "0x%llx", (unsigned long long)Site);
    return Buffer;
}

/* "executive lock 0x... (class: initialised by f)": the lock itself, and
 * its class when that is not the lock alone. */
static const char *lock_text(char *Buffer, ULONG Size, PVOID Lock, UCHAR Kind, USHORT C)
{
    const KI_LOCK_CLASS *k = &Classes[C];
    ULONG_PTR offset;
    /* The key is a return address inside the initialising function, or an
     * interrupt object's ISR itself: the function containing it either way. */
    const char *name = KiLookupSymbol(KI_LOCK_ORDER_KEY_ADDRESS(k->Key), &offset);

    if (k->Key == (ULONG_PTR)Lock)
        ksnprintf(Buffer, Size, "%s lock %p", KindNames[Kind], Lock);
    else
        ksnprintf(Buffer, Size, "%s lock %p (class: initialised by %s)", KindNames[Kind], Lock,
                  name ? name : "?");
    return Buffer;
}

static void print_edge(const KI_LOCK_EDGE *E)
{
    char lock[120], site[80];

    say("  CPU %u held %s\n", E->Cpu, lock_text(lock, sizeof(lock), E->FromLock, E->FromKind, E->From));
    say("    taken at IRQL %u at %s\n", E->FromIrql, site_text(site, sizeof(site), E->FromSite));
    say("  then took %s\n", lock_text(lock, sizeof(lock), E->ToLock, E->ToKind, E->To));
    say("    at IRQL %u at %s\n", E->ToIrql, site_text(site, sizeof(site), E->ToSite));
}

/* The one report of a boot, kept for the bug check callback that prints it. */
static struct {
    ULONG_PTR Subcode;          /* KI_VERIFIER_* */
    KI_LOCK_EDGE New;           /* 0x1001: the order that closed the cycle ... */
    ULONG PathLength;
    USHORT Path[KI_LOCK_ORDER_CLASSES];    /* ... and the earlier edges, last first */
    USHORT Class;               /* 0x6004: the class */
    ULONG Cpu;
} Report;
static KBUGCHECK_CALLBACK_RECORD ReportRecord;

static void print_cycle(void)
{
    say("lockorder: possible deadlock: a lock order that closes a cycle\n");
    say("this order, now:\n");
    print_edge(&Report.New);
    say("the opposite order, learned earlier:\n");
    for (ULONG n = Report.PathLength; n; n--)
        print_edge(&Edges[Report.Path[n - 1]]);
    say("CPUs each in one of these orders at once would wait for each other for ever\n");
}

static void print_irql_inversion(void)
{
    const KI_LOCK_CLASS *k = &Classes[Report.Class];
    char lock[120], site[80];

    say("lockorder: a lock an interrupt takes is held where that interrupt can arrive\n");
    say("  %s\n", lock_text(lock, sizeof(lock), k->Lock, k->Kind, Report.Class));
    say("  taken by an interrupt of IRQL %u at %s\n", k->MaxInterruptIrql,
        site_text(site, sizeof(site), k->InterruptSite));
    say("  held at IRQL %u at %s\n", k->MinHoldIrql, site_text(site, sizeof(site), k->MinHoldSite));
    say("the interrupt can arrive on the CPU that holds it there and spin on it for ever "
        "(found on CPU %u)\n", Report.Cpu);
}

static VOID NTAPI print_report(PVOID Buffer, ULONG Length)
{
    UNREFERENCED_PARAMETER(Buffer);
    UNREFERENCED_PARAMETER(Length);
    if (Report.Subcode == KI_VERIFIER_DEADLOCK_DETECTED)
        print_cycle();
    else
        print_irql_inversion();
}

/* Under GraphLock, Report filled: stop learning (no other CPU may report or
 * change what this one prints), have the report printed after the STOP
 * line, and bug-check. */
DECLSPEC_NORETURN static void stop(ULONG64 Flags, PVOID Lock, ULONG_PTR P3, ULONG_PTR Caller)
{
    Enabled = FALSE;
    graph_unlock(Flags);
    KeInitializeCallbackRecord(&ReportRecord);
    KeRegisterBugCheckCallback(&ReportRecord, print_report, NULL, 0, (PUCHAR)"lockorder");
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Report.Subcode, (ULONG_PTR)Lock, P3, Caller);
}

/* ---- The graph ---------------------------------------------------------- */

static LONG find_edge(USHORT From, USHORT To, ULONG *Slot)
{
    for (ULONG s = hash(((ULONG_PTR)From << 16) | To, EDGE_SLOTS);;
         s = (s + 1) & (EDGE_SLOTS - 1)) {
        USHORT e = __atomic_load_n(&EdgeSlots[s], __ATOMIC_ACQUIRE);
        if (!e) {
            *Slot = s;
            return -1;
        }
        if (Edges[e - 1].From == From && Edges[e - 1].To == To)
            return e - 1;
    }
}

/* Breadth first from To: does an earlier order lead back to From?  Via[]
 * then holds the shortest such path, walked back from From. */
static BOOLEAN reaches(USHORT To, USHORT From)
{
    ULONG head = 0, tail = 0;

    memset(Visited, 0, ClassCount);
    Visited[To] = 1;
    Queue[tail++] = To;
    while (head < tail) {
        USHORT c = Queue[head++];
        for (USHORT e = Classes[c].FirstEdge; e; e = Edges[e - 1].NextOut) {
            USHORT next = Edges[e - 1].To;
            if (Visited[next])
                continue;
            Visited[next] = 1;
            Via[next] = (USHORT)(e - 1);
            if (next == From)
                return TRUE;
            Queue[tail++] = next;
        }
    }
    return FALSE;
}

/* Held was taken before Lock on this CPU: learn From -> To, unless it closes
 * a cycle. */
static void add_edge(const KI_HELD_SPIN_LOCK *Held, USHORT From, USHORT To, PVOID Lock,
                     UCHAR Kind, KIRQL Irql, ULONG_PTR Caller)
{
    ULONG slot;
    ULONG64 flags = graph_lock();

    if (Enabled && find_edge(From, To, &slot) < 0) {   /* off: a report is on its way */
        KI_LOCK_EDGE e = {
            .From = From, .To = To, .NextOut = Classes[From].FirstEdge,
            .FromKind = Held->Kind, .ToKind = Kind, .Cpu = (UCHAR)KeGetCurrentProcessorNumber(),
            .FromIrql = Held->HoldIrql, .ToIrql = Irql, .FromLock = Held->Lock, .ToLock = Lock,
            .FromSite = Held->Caller, .ToSite = Caller,
        };
        if (reaches(To, From)) {
            Report.Subcode = KI_VERIFIER_DEADLOCK_DETECTED;
            Report.New = e;
            Report.PathLength = 0;      /* Via[] walked back from From to To */
            for (USHORT c = From; c != To; c = Edges[Via[c]].From)
                Report.Path[Report.PathLength++] = Via[c];
            if (ReportOnly) {
                /* The edge stays unlearned: the same order is reported again
                 * next time.  Printed after the unlock (the console may wait). */
                Reports++;
                graph_unlock(flags);
                print_cycle();
                say("lockorder: report only (the shell's demo): no bug check this time\n");
                return;
            }
            stop(flags, Lock, (ULONG_PTR)Held->Lock, Caller);
        }
        if (EdgeCount == KI_LOCK_ORDER_EDGES) {
            turn_off("edge");
        } else {
            Edges[EdgeCount] = e;
            Classes[From].FirstEdge = (USHORT)(++EdgeCount);
            __atomic_store_n(&EdgeSlots[slot], (USHORT)EdgeCount, __ATOMIC_RELEASE);
        }
    }
    graph_unlock(flags);
}

/* ---- IRQL --------------------------------------------------------------- */

static void check_irql(USHORT C, PVOID Lock, KIRQL Irql, KIRQL Interrupt, ULONG_PTR Caller)
{
    KI_LOCK_CLASS *k = &Classes[C];

    if (Irql >= k->MinHoldIrql && Interrupt <= k->MaxInterruptIrql)
        return;                         /* nothing new: the usual case */
    ULONG64 flags = graph_lock();
    if (!Enabled) {                     /* a report is on its way: what it prints stays */
        graph_unlock(flags);
        return;
    }
    if (Irql < k->MinHoldIrql) {
        k->MinHoldIrql = Irql;
        k->MinHoldSite = Caller;
    }
    if (Interrupt > k->MaxInterruptIrql) {
        k->MaxInterruptIrql = Interrupt;
        k->InterruptSite = Caller;
    }
    if (k->MinHoldIrql < k->MaxInterruptIrql) {
        Report.Subcode = KI_VERIFIER_LOCK_IRQL_INVERSION;
        Report.Class = C;
        Report.Cpu = KeGetCurrentProcessorNumber();
        stop(flags, Lock, ((ULONG_PTR)k->MinHoldIrql << 8) | k->MaxInterruptIrql, Caller);
    }
    graph_unlock(flags);
}

/* ---- The hooks ---------------------------------------------------------- */

VOID KiLockOrderAcquire(PVOID Lock, UCHAR Kind, ULONG_PTR Caller)
{
    if (!Enabled)
        return;
    /* Our records below Count stay put: an ISR here adds and drops its own above. */
    KI_SPIN_LOCK_TRACE *trace = &KeGetCurrentPrcb()->SpinLockTrace;
    /* Interrupts off (the ExInterlocked and DPC queue locks): no interrupt
     * can reach this CPU while it holds the lock, as if at HIGH_LEVEL. */
    KIRQL irql = (read_rflags() & RFLAGS_IF) ? KeGetCurrentIrql() : HIGH_LEVEL;
    LONG c = class_of(Lock, Kind);

    if (c < 0)
        return;
    check_irql((USHORT)c, Lock, irql, trace->ContextIrql, Caller);
    for (ULONG i = trace->ContextBase; i < trace->Count; i++) {
        const KI_HELD_SPIN_LOCK *held = &trace->Held[i];
        LONG h = class_of(held->Lock, held->Kind);
        ULONG slot;

        if (h < 0)
            return;
        /* Two locks of one class nested (objects of one kind): no order
         * between them can be learned from classes (docs/validator.md). */
        if (h != c && find_edge((USHORT)h, (USHORT)c, &slot) < 0)
            add_edge(held, (USHORT)h, (USHORT)c, Lock, Kind, irql, Caller);
    }
}

ULONG KiLockOrderEnterInterrupt(KIRQL Irql)
{
    KI_SPIN_LOCK_TRACE *trace = &KeGetCurrentPrcb()->SpinLockTrace;
    ULONG saved = (trace->ContextBase << 8) | trace->ContextIrql;

    trace->ContextBase = trace->Count;
    trace->ContextIrql = Irql;
    return saved;
}

VOID KiLockOrderLeaveInterrupt(ULONG Saved)
{
    KI_SPIN_LOCK_TRACE *trace = &KeGetCurrentPrcb()->SpinLockTrace;

    trace->ContextBase = Saved >> 8;
    trace->ContextIrql = (KIRQL)Saved;
}

/* ---- What has been learned ---------------------------------------------- */

VOID KiLockOrderQuery(KI_LOCK_ORDER_STATS *Stats)
{
    Stats->Classes = ClassCount;
    Stats->Edges = EdgeCount;
    Stats->Inits = InitCount;
    Stats->Enabled = Enabled;
    Stats->Reports = Reports;
}

VOID KiLockOrderSetReportOnly(BOOLEAN On)
{
    ReportOnly = On;
}

VOID KiLockOrderDumpGraph(VOID)
{
    ULONG64 flags = graph_lock();

    say("lockorder: %u classes, %u edges, %u initialised locks%s\n", ClassCount, EdgeCount,
        InitCount, Enabled ? "" : " (off)");
    for (ULONG e = 0; e < EdgeCount; e++)
        print_edge(&Edges[e]);
    graph_unlock(flags);
}

VOID KiLockOrderAtEnd(VOID)
{
    if (DumpAtEnd)
        KiLockOrderDumpGraph();
}

static void apply_lockorder(const char *Value)
{
    if (strcmp(Value, "off") == 0)
        Enabled = FALSE;
    else if (strcmp(Value, "address") == 0)
        PerAddress = TRUE;
    else if (strcmp(Value, "dump") == 0)
        DumpAtEnd = TRUE;
    else
        kprintf("warning: lockorder=%s: expected off, address or dump\n", Value);
}
KERNEL_OPTION("lockorder", "checked build: off, address (a class per lock), dump (the graph "
              "at the end of the tests)", apply_lockorder);

#endif
