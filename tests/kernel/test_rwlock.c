/*
 * test_rwlock.c - reader/writer spin locks (kernel/locks/rwlock.c,
 * arch/x86_64/rwlock.S): the word's encoding (bit 31 writer, bits 0..30
 * readers) through every routine, IRQL, try and convert; then readers
 * together on two CPUs, and a waiting writer holding off new readers, the
 * try form and, from a third CPU, the blocking forms.
 */
#include "kt_spinlock.h"
#include "string.h"

#define WRITER 0x80000000u

KTEST(spinlock_rw_shared_and_exclusive_encoding)
{
    EX_SPIN_LOCK lock = 0;
    KIRQL old;

    old = ExAcquireSpinLockShared(&lock);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ((ULONG)lock, 1);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
    ExReleaseSpinLockShared(&lock, old);
    KT_EXPECT_EQ((ULONG)lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

    old = ExAcquireSpinLockExclusive(&lock);
    KT_EXPECT_EQ(old, PASSIVE_LEVEL);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KT_EXPECT_EQ((ULONG)lock, WRITER);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
    ExReleaseSpinLockExclusive(&lock, old);
    KT_EXPECT_EQ((ULONG)lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

    /* From APC_LEVEL: the old level comes back. */
    KfRaiseIrql(APC_LEVEL);
    old = ExAcquireSpinLockExclusive(&lock);
    KT_EXPECT_EQ(old, APC_LEVEL);
    ExReleaseSpinLockExclusive(&lock, old);
    KT_EXPECT_EQ(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* A reader counts among other readers (bits 0..30): two readers elsewhere
 * played by the raw word. */
KTEST(spinlock_rw_readers_count)
{
    EX_SPIN_LOCK lock = 2;
    KIRQL old;

    old = ExAcquireSpinLockShared(&lock);
    KT_EXPECT_EQ((ULONG)lock, 3);
    ExReleaseSpinLockShared(&lock, old);
    KT_EXPECT_EQ((ULONG)lock, 2);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

KTEST(spinlock_rw_at_dpc_level_keeps_irql)
{
    EX_SPIN_LOCK lock = 0;
    KIRQL saved;

    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    ExAcquireSpinLockSharedAtDpcLevel(&lock);
    KT_EXPECT_EQ((ULONG)lock, 1);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    ExReleaseSpinLockSharedFromDpcLevel(&lock);
    KT_EXPECT_EQ((ULONG)lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);

    KfRaiseIrql(CLOCK_LEVEL);
    ExAcquireSpinLockExclusiveAtDpcLevel(&lock);
    KT_EXPECT_EQ((ULONG)lock, WRITER);
    KT_EXPECT_EQ(KeGetCurrentIrql(), CLOCK_LEVEL);
    ExReleaseSpinLockExclusiveFromDpcLevel(&lock);
    KT_EXPECT_EQ((ULONG)lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), CLOCK_LEVEL);
    KeLowerIrql(saved);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

KTEST(spinlock_rw_try)
{
    EX_SPIN_LOCK lock = 0;
    KIRQL saved;

    KeRaiseIrql(DISPATCH_LEVEL, &saved);
    KT_EXPECT_EQ(ExTryAcquireSpinLockExclusiveAtDpcLevel(&lock), TRUE);
    KT_EXPECT_EQ((ULONG)lock, WRITER);
    KT_EXPECT_EQ(ExTryAcquireSpinLockSharedAtDpcLevel(&lock), FALSE);       /* a writer */
    KT_EXPECT_EQ(ExTryAcquireSpinLockExclusiveAtDpcLevel(&lock), FALSE);
    KT_EXPECT_EQ((ULONG)lock, WRITER);
    ExReleaseSpinLockExclusiveFromDpcLevel(&lock);

    KT_EXPECT_EQ(ExTryAcquireSpinLockSharedAtDpcLevel(&lock), TRUE);
    KT_EXPECT_EQ((ULONG)lock, 1);
    KT_EXPECT_EQ(ExTryAcquireSpinLockExclusiveAtDpcLevel(&lock), FALSE);    /* a reader */
    KT_EXPECT_EQ((ULONG)lock, 1);
    ExReleaseSpinLockSharedFromDpcLevel(&lock);
    KT_EXPECT_EQ((ULONG)lock, 0);

    /* A writer waiting for three readers elsewhere: new readers wait, so
     * the try says no (writer preference), and the word is untouched. */
    lock = (LONG)(WRITER | 3);
    KT_EXPECT_EQ(ExTryAcquireSpinLockSharedAtDpcLevel(&lock), FALSE);
    KT_EXPECT_EQ(ExTryAcquireSpinLockExclusiveAtDpcLevel(&lock), FALSE);
    KT_EXPECT_EQ((ULONG)lock, WRITER | 3);
    lock = 3;                                   /* readers only: one more is welcome */
    KT_EXPECT_EQ(ExTryAcquireSpinLockSharedAtDpcLevel(&lock), TRUE);
    KT_EXPECT_EQ((ULONG)lock, 4);
    ExReleaseSpinLockSharedFromDpcLevel(&lock);
    KT_EXPECT_EQ((ULONG)lock, 3);

    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(saved);
}

/* Convert: only the sole reader, and only if no writer waits; then the
 * exclusive release with the shared acquire's old IRQL. */
KTEST(spinlock_rw_convert)
{
    EX_SPIN_LOCK lock = 0;
    KIRQL old;

    old = ExAcquireSpinLockShared(&lock);
    lock += 1;                                  /* another reader, elsewhere */
    KT_EXPECT_EQ(ExTryConvertSharedSpinLockExclusive(&lock), FALSE);
    KT_EXPECT_EQ((ULONG)lock, 2);               /* still shared */
    lock -= 1;
    lock |= (LONG)WRITER;                       /* a writer waiting for us */
    KT_EXPECT_EQ(ExTryConvertSharedSpinLockExclusive(&lock), FALSE);
    KT_EXPECT_EQ((ULONG)lock, WRITER | 1);
    lock &= ~(LONG)WRITER;

    KT_EXPECT_EQ(ExTryConvertSharedSpinLockExclusive(&lock), TRUE);
    KT_EXPECT_EQ((ULONG)lock, WRITER);
    KT_EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
    ExReleaseSpinLockExclusive(&lock, old);
    KT_EXPECT_EQ((ULONG)lock, 0);
    KT_EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);
    KT_EXPECT_TRUE(kt_interrupts_enabled());
}

/* ---- Two CPUs ----------------------------------------------------------- */

static struct {
    EX_SPIN_LOCK Lock;
    volatile LONG Step;
    volatile LONG Failed;
    volatile ULONG Seen;
} KtRw;

static void fail_rw(LONG why)
{
    __atomic_compare_exchange_n(&KtRw.Failed, &(LONG){ 0 }, why, FALSE, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
}

/* CPU 0 reads; CPU 1 reads too while CPU 0 is still inside (two readers at
 * once); CPU 0's convert fails (another reader); CPU 1 leaves; now it works. */
static void two_readers(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    KIRQL old;

    UNREFERENCED_PARAMETER(context);
    if (cpu == 0) {
        old = ExAcquireSpinLockShared(&KtRw.Lock);
        KtRw.Step = 1;
        if (!kt_wait_for(&KtRw.Step, 2)) {
            fail_rw(1);
        } else {
            KtRw.Seen = (ULONG)KtRw.Lock;                   /* both inside: 2 */
            if (ExTryConvertSharedSpinLockExclusive(&KtRw.Lock))
                fail_rw(2);
        }
        KtRw.Step = 3;
        if (!kt_wait_for(&KtRw.Step, 4))
            fail_rw(3);
        if (!ExTryConvertSharedSpinLockExclusive(&KtRw.Lock)) {
            fail_rw(4);
            ExReleaseSpinLockShared(&KtRw.Lock, old);
        } else {
            ExReleaseSpinLockExclusive(&KtRw.Lock, old);
        }
    } else if (cpu == 1) {
        if (!kt_wait_for(&KtRw.Step, 1))
            return;
        old = ExAcquireSpinLockShared(&KtRw.Lock);          /* must not wait for CPU 0 */
        KtRw.Step = 2;
        kt_wait_for(&KtRw.Step, 3);
        ExReleaseSpinLockShared(&KtRw.Lock, old);
        KtRw.Step = 4;
    }
}

KTEST(spinlock_rw_two_readers_on_two_cpus)
{
    KT_REQUIRE_CPUS(2);
    KtRw.Lock = 0;
    KtRw.Step = 0;
    KtRw.Failed = 0;
    KtRw.Seen = 0;
    ktest_run_on_all_cpus(two_readers, NULL);
    KT_EXPECT_EQ(KtRw.Failed, 0);
    KT_EXPECT_EQ(KtRw.Seen, 2);
    KT_EXPECT_EQ((ULONG)KtRw.Lock, 0);
}

/* CPU 0's opening: read, say so (Step 1), and wait (3 s at most) for the
 * writer to claim bit 31. */
static KIRQL read_until_writer_waits(PEX_SPIN_LOCK lock, volatile LONG *step)
{
    KIRQL old = ExAcquireSpinLockShared(lock);
    ULONG64 start = rdtsc();

    *step = 1;
    while (!((ULONG)*lock & WRITER) && rdtsc() - start < kt_ticks(3000))
        cpu_relax();
    return old;
}

/* CPU 0 reads; CPU 1 asks for the lock exclusive and waits, claiming bit 31;
 * a new reader now waits too (the try fails); CPU 0 leaves; CPU 1 is in,
 * alone. */
static void waiting_writer(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    KIRQL old;

    UNREFERENCED_PARAMETER(context);
    if (cpu == 0) {
        old = read_until_writer_waits(&KtRw.Lock, &KtRw.Step);
        KtRw.Seen = (ULONG)KtRw.Lock;                       /* writer waiting: W|1 */
        kt_pause(20000);                                    /* the writer must stay out */
        if (KtRw.Step != 1)
            fail_rw(5);
        if (ExTryAcquireSpinLockSharedAtDpcLevel(&KtRw.Lock)) {   /* a new reader */
            fail_rw(6);
            ExReleaseSpinLockSharedFromDpcLevel(&KtRw.Lock);
        }
        ExReleaseSpinLockShared(&KtRw.Lock, old);
        if (!kt_wait_for(&KtRw.Step, 2))
            fail_rw(7);
    } else if (cpu == 1) {
        if (!kt_wait_for(&KtRw.Step, 1))
            return;
        old = ExAcquireSpinLockExclusive(&KtRw.Lock);
        if ((ULONG)KtRw.Lock != WRITER)
            fail_rw(8);
        KtRw.Step = 2;
        ExReleaseSpinLockExclusive(&KtRw.Lock, old);
    }
}

KTEST(spinlock_rw_waiting_writer_blocks_new_readers)
{
    KT_REQUIRE_CPUS(2);
    KtRw.Lock = 0;
    KtRw.Step = 0;
    KtRw.Failed = 0;
    KtRw.Seen = 0;
    ktest_run_on_all_cpus(waiting_writer, NULL);
    KT_EXPECT_EQ(KtRw.Failed, 0);
    KT_EXPECT_EQ(KtRw.Seen, WRITER | 1);
    KT_EXPECT_EQ((ULONG)KtRw.Lock, 0);
}

/* ---- Three CPUs: a waiting writer goes before a blocking new reader ----
 *
 * CPU 0 reads; CPU 1 blocks in ExAcquireSpinLockExclusive (bit 31 claimed);
 * then CPU 2 blocks in ExAcquireSpinLockShared (or, at DISPATCH_LEVEL,
 * ExAcquireSpinLockSharedAtDpcLevel).  The new reader must wait for the
 * writer: while CPU 0 still reads (a long stall) CPU 2 is not in, and once
 * CPU 0 leaves, CPU 1 has the lock before CPU 2 does.  The order of entry
 * is a ticket each takes inside, so a reader that slipped in early takes
 * ticket 1 whatever the timing. */
static struct {
    EX_SPIN_LOCK Lock;
    BOOLEAN AtDpcLevel;                 /* CPU 2's form */
    volatile LONG Step;                 /* 1: CPU 0 reads, 2: writer waits, 3: reader called */
    volatile LONG Tickets;
    volatile LONG WriterTicket, ReaderTicket;
    volatile LONG ReaderInEarly;        /* CPU 2 was in while CPU 0 still read */
    volatile LONG Failed;
} KtRw3;

#define RW3_STALL_US 20000              /* CPU 0 reads this long after CPU 2 called */

static void writer_before_new_reader(void *context)
{
    ULONG cpu = KeGetCurrentProcessorNumber();
    KIRQL old;

    UNREFERENCED_PARAMETER(context);
    if (cpu == 0) {
        old = read_until_writer_waits(&KtRw3.Lock, &KtRw3.Step);
        KtRw3.Step = 2;                 /* the writer has claimed bit 31 */
        if (!kt_wait_for(&KtRw3.Step, 3))
            KtRw3.Failed = 1;
        KeStallExecutionProcessor(RW3_STALL_US);    /* CPU 2 now spins, or got in */
        KtRw3.ReaderInEarly = KtRw3.Tickets;
        ExReleaseSpinLockShared(&KtRw3.Lock, old);
    } else if (cpu == 1) {
        if (!kt_wait_for(&KtRw3.Step, 1))
            return;
        old = ExAcquireSpinLockExclusive(&KtRw3.Lock);
        KtRw3.WriterTicket = __atomic_add_fetch(&KtRw3.Tickets, 1, __ATOMIC_SEQ_CST);
        kt_pause(20000);                /* a reader let in now would be seen by the ticket */
        ExReleaseSpinLockExclusive(&KtRw3.Lock, old);
    } else if (cpu == 2) {
        if (!kt_wait_for(&KtRw3.Step, 2))
            return;
        KtRw3.Step = 3;
        if (KtRw3.AtDpcLevel) {
            old = KeRaiseIrqlToDpcLevel();
            ExAcquireSpinLockSharedAtDpcLevel(&KtRw3.Lock);
        } else {
            old = ExAcquireSpinLockShared(&KtRw3.Lock);
        }
        KtRw3.ReaderTicket = __atomic_add_fetch(&KtRw3.Tickets, 1, __ATOMIC_SEQ_CST);
        if (KtRw3.AtDpcLevel) {
            ExReleaseSpinLockSharedFromDpcLevel(&KtRw3.Lock);
            KeLowerIrql(old);
        } else {
            ExReleaseSpinLockShared(&KtRw3.Lock, old);
        }
    }
}

static void check_writer_before_new_reader(BOOLEAN at_dpc_level)
{
    KT_REQUIRE_CPUS(3);
    memset((void *)&KtRw3, 0, sizeof(KtRw3));
    KtRw3.AtDpcLevel = at_dpc_level;
    ktest_run_on_all_cpus(writer_before_new_reader, NULL);
    KT_EXPECT_EQ(KtRw3.Failed, 0);
    KT_EXPECT_EQ(KtRw3.ReaderInEarly, 0);
    KT_EXPECT_EQ(KtRw3.WriterTicket, 1);
    KT_EXPECT_EQ(KtRw3.ReaderTicket, 2);
    KT_EXPECT_EQ((ULONG)KtRw3.Lock, 0);
}

KTEST(spinlock_rw_waiting_writer_goes_before_blocking_reader)
{
    check_writer_before_new_reader(FALSE);
}

KTEST(spinlock_rw_waiting_writer_goes_before_blocking_reader_at_dpc_level)
{
    check_writer_before_new_reader(TRUE);
}
