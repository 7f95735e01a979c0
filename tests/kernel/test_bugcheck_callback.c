/*
 * test_bugcheck_callback.c - bug check callbacks (kernel/debug/bugcheck_callback.c)
 * and a bug check inside a bug check (kernel/debug/bugcheck.c): the first STOP
 * screen is the one the runner sees, the nested one is a single line after
 * it, and QEMU still leaves with the bug check status.
 */
#include "wdm.h"
#include "ktest.h"
#include "kernel/debug/bugcheck.h"

static UCHAR KtBuffer[24];
static KBUGCHECK_CALLBACK_RECORD KtRecord;
static UCHAR KtComponent[] = "ktest";

static PVOID volatile KtSeenBuffer;
static volatile ULONG KtSeenLength;
static volatile ULONG KtCalls;

static VOID recording_callback(PVOID Buffer, ULONG Length)
{
    KtSeenBuffer = Buffer;
    KtSeenLength = Length;
    KtCalls++;
}

/* Register / deregister move State as the WDK describes, and refuse a second
 * register or deregister. */
KTEST(bugcheck_callback_register_and_deregister)
{
    KeInitializeCallbackRecord(&KtRecord);
    KT_EXPECT_EQ(KtRecord.State, BufferEmpty);
    KT_ASSERT_TRUE(KeRegisterBugCheckCallback(&KtRecord, recording_callback, KtBuffer,
                                              sizeof(KtBuffer), KtComponent));
    KT_EXPECT_EQ(KtRecord.State, BufferInserted);
    KT_EXPECT_EQ(KtRecord.Buffer, KtBuffer);
    KT_EXPECT_EQ(KtRecord.Length, sizeof(KtBuffer));
    KT_EXPECT_EQ(KtRecord.Component, KtComponent);
    KT_EXPECT_TRUE(!KeRegisterBugCheckCallback(&KtRecord, recording_callback, NULL, 0, KtComponent));
    KT_EXPECT_TRUE(KeDeregisterBugCheckCallback(&KtRecord));
    KT_EXPECT_EQ(KtRecord.State, BufferEmpty);
    KT_EXPECT_TRUE(!KeDeregisterBugCheckCallback(&KtRecord));
}

/* The bug check's walk (called here directly): a registered routine gets its
 * own buffer and length and leaves the record BufferFinished; a record whose
 * fields changed behind the API (checksum) and a deregistered one are not
 * called. */
KTEST(bugcheck_callback_called_with_its_buffer)
{
    KtCalls = 0;
    KeInitializeCallbackRecord(&KtRecord);
    KT_ASSERT_TRUE(KeRegisterBugCheckCallback(&KtRecord, recording_callback, KtBuffer,
                                              sizeof(KtBuffer), KtComponent));
    KiCallBugCheckCallbacks();
    KT_EXPECT_EQ(KtCalls, 1);
    KT_EXPECT_EQ(KtSeenBuffer, KtBuffer);
    KT_EXPECT_EQ(KtSeenLength, sizeof(KtBuffer));
    KT_EXPECT_EQ(KtRecord.State, BufferFinished);

    KtRecord.State = BufferInserted;            /* as if never run */
    KtRecord.Length++;                          /* damaged: the checksum no longer matches */
    KiCallBugCheckCallbacks();
    KT_EXPECT_EQ(KtCalls, 1);
    KtRecord.Length--;
    KT_EXPECT_TRUE(KeDeregisterBugCheckCallback(&KtRecord));
    KiCallBugCheckCallbacks();
    KT_EXPECT_EQ(KtCalls, 1);
}

/* The callback bug-checks with its buffer and length as P1, P2: the nested
 * line shows both, so it also proves the callback got them. */
static VOID bugchecking_callback(PVOID Buffer, ULONG Length)
{
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, (ULONG_PTR)Buffer, Length, 0x77, 0);
}

KTEST_BUGCHECK(bugcheck_callback_nested_bug_check, MANUALLY_INITIATED_CRASH)
{
    ktest_expect_bugcheck(KT_P(1), KT_P(2), KT_P(3), KT_P(4));
    ktest_expect_line("*** nested bug check 0x000000E2 (0x%llX,0x%llX,0x77,0x0) while printing "
                      "the STOP screen", (unsigned long long)(ULONG_PTR)KtBuffer,
                      (unsigned long long)sizeof(KtBuffer));
    KeInitializeCallbackRecord(&KtRecord);
    KeRegisterBugCheckCallback(&KtRecord, bugchecking_callback, KtBuffer, sizeof(KtBuffer),
                               KtComponent);
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 1, 2, 3, 4);
}

/* A fault in the callback: a page fault at HIGH_LEVEL (the bug check's
 * IRQL) is IRQL_NOT_LESS_OR_EQUAL, reported as the nested line. */
static VOID faulting_callback(PVOID Buffer, ULONG Length)
{
    UNREFERENCED_PARAMETER(Length);
    *(volatile UCHAR *)Buffer = 1;
}

KTEST_BUGCHECK(bugcheck_callback_faults, MANUALLY_INITIATED_CRASH)
{
    ktest_expect_bugcheck(KT_P(5), KT_P(6), KT_P(7), KT_P(8));
    ktest_expect_line("*** nested bug check 0x0000000A (0x0,0xF,0x1,");
    KeInitializeCallbackRecord(&KtRecord);
    KeRegisterBugCheckCallback(&KtRecord, faulting_callback, NULL, 0, KtComponent);
    KeBugCheckEx(MANUALLY_INITIATED_CRASH, 5, 6, 7, 8);
}
