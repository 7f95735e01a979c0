/*
 * kt_call.h - helpers for STOP tests (test_*_negative.c; tests/kernel/kt_call.c):
 * a call whose return address the test knows, and a culprit thread that
 * breaks a rule while the test thread waits for the bug check.
 */
#ifndef KT_CALL_H
#define KT_CALL_H

#include "wdm.h"
#include "ktest.h"

#define KT_CULPRIT_WAIT_MS 10000        /* generous: vCPUs share 2 host cores */

/* kt_call(Routine, Args) calls Routine(Args[0], ..., Args[7]) and returns what
 * it returns; inside Routine, __builtin_return_address(0) is
 * kt_call_returns_here.  Eight arguments, six in registers and two on the
 * stack (System V ABI), cover every routine tested; a routine that takes
 * fewer ignores the rest.  KT_CALL(KeSetEvent, (ULONG_PTR)&event, 0, FALSE):
 * the arguments left out are 0. */
ULONG_PTR kt_call(PVOID Routine, const ULONG_PTR Args[8]);
extern const char kt_call_returns_here[];
#define KT_CALL(routine, ...) kt_call((PVOID)(routine), (const ULONG_PTR[8]){ __VA_ARGS__ })
#define KT_CALLER KT_P(kt_call_returns_here)

/* A thread at the test thread's priority, on any CPU, not started yet: the
 * expectation may name it before it runs. */
PETHREAD kt_culprit(PKSTART_ROUTINE Routine, PVOID Context);
/* Start it and wait for the bug check it must cause; a culprit that ends
 * instead, or causes none in KT_CULPRIT_WAIT_MS, fails the test. */
VOID kt_run_culprit(PETHREAD Thread);
/* Create, announce, run: for the culprits whose expectation does not name them. */
#define KT_RUN_CULPRIT(routine, context) kt_run_culprit(kt_culprit((routine), (context)))

#endif
