/*
 * test_apc_negative.c - the APC rules end in the bug checks docs/bugchecks.md
 * lists ("APCs and regions"): a thread that ends inside a critical or
 * guarded region, a region left that was not entered or entered above
 * APC_LEVEL (checked build), and APC routines that return at the wrong
 * IRQL.  Helpers: kt_call.h.
 */
#include "wdm.h"
#include "ktest.h"
#include "kt_call.h"

/* ---- A thread that ends inside a region: 0x20 ----------------------------- */

static VOID NTAPI ends_in_critical_region(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeEnterCriticalRegion();
}

/* P2: SpecialApcDisable << 16 | KernelApcDisable, as 16-bit counts: -1 = 0xFFFF. */
KTEST_BUGCHECK(apc_thread_ends_in_critical_region, KERNEL_APC_PENDING_DURING_EXIT)
{
    ktest_expect_bugcheck(KT_P(0), KT_P(0x0000FFFF), KT_P(PASSIVE_LEVEL), KT_P(0));
    KT_RUN_CULPRIT(ends_in_critical_region, NULL);
}

static VOID NTAPI ends_in_guarded_region(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeEnterGuardedRegion();
}

KTEST_BUGCHECK(apc_thread_ends_in_guarded_region, KERNEL_APC_PENDING_DURING_EXIT)
{
    ktest_expect_bugcheck(KT_P(0), KT_P(0xFFFF0000), KT_P(PASSIVE_LEVEL), KT_P(0));
    KT_RUN_CULPRIT(ends_in_guarded_region, NULL);
}

#if DBG
/* ---- Regions left unentered, or entered too high (checked build) ---------- */

KTEST_BUGCHECK(apc_leave_critical_region_not_entered, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0x3E), KT_P(0), KT_CALLER, KT_P(0));
    KT_CALL(KeLeaveCriticalRegion, 0);
}

KTEST_BUGCHECK(apc_leave_guarded_region_not_entered, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0x3E), KT_P(0), KT_CALLER, KT_P(0));
    KT_CALL(KeLeaveGuardedRegion, 0);
}

KTEST_BUGCHECK(apc_enter_critical_region_at_dispatch_level, DRIVER_VERIFIER_DETECTED_VIOLATION)
{
    ktest_expect_bugcheck(KT_P(0x11A), KT_P(DISPATCH_LEVEL), KT_CALLER, KT_P(0));
    KeRaiseIrqlToDpcLevel();
    KT_CALL(KeEnterCriticalRegion, 0);
}
#endif

/* ---- APC routines that return at the wrong IRQL: 0xC8 --------------------- */

static KAPC KtApc;

static VOID NTAPI kernel_routine_raises(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context,
                                        PVOID *Argument1, PVOID *Argument2)
{
    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(Normal);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KeRaiseIrqlToDpcLevel();            /* and returns at DISPATCH_LEVEL */
}

/* WDK: Bug Check 0xC8: P1 (current << 16) | (expected << 8) | Unique, Unique
 * 0 for a kernel routine; P2 KernelRoutine, P3 the APC, P4 NormalRoutine. */
KTEST_BUGCHECK(apc_kernel_routine_returns_at_dispatch_level, IRQL_UNEXPECTED_VALUE)
{
    ktest_expect_bugcheck(KT_P((DISPATCH_LEVEL << 16) | (APC_LEVEL << 8) | 0),
                          KT_P(kernel_routine_raises), KT_P(&KtApc), KT_P(0));
    KeInitializeApc(&KtApc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine_raises,
                    NULL, NULL, KernelMode, NULL);
    KeInsertQueueApc(&KtApc, NULL, NULL, IO_NO_INCREMENT);  /* runs at once */
}

static VOID NTAPI kernel_routine_passes(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context,
                                        PVOID *Argument1, PVOID *Argument2)
{
    UNREFERENCED_PARAMETER(Apc);
    UNREFERENCED_PARAMETER(Normal);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
}

static VOID NTAPI normal_routine_raises(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    KIRQL old;

    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument1);
    UNREFERENCED_PARAMETER(Argument2);
    KeRaiseIrql(APC_LEVEL, &old);       /* and returns at APC_LEVEL */
}

/* Unique 1: a normal routine, which must give back PASSIVE_LEVEL. */
KTEST_BUGCHECK(apc_normal_routine_returns_at_apc_level, IRQL_UNEXPECTED_VALUE)
{
    ktest_expect_bugcheck(KT_P((APC_LEVEL << 16) | (PASSIVE_LEVEL << 8) | 1),
                          KT_P(kernel_routine_passes), KT_P(&KtApc), KT_P(normal_routine_raises));
    KeInitializeApc(&KtApc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine_passes,
                    NULL, normal_routine_raises, KernelMode, NULL);
    KeInsertQueueApc(&KtApc, NULL, NULL, IO_NO_INCREMENT);
}
