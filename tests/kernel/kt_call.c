/*
 * kt_call.c - the helpers of kt_call.h for the STOP tests.
 *
 * kt_call keeps a frame (push rbp) so the STOP screen's backtrace goes
 * through it, and the stack is 16-byte aligned at its call.
 */
#include "kt_call.h"
#include "kernel/thread/thread.h"

__asm__(".pushsection .text\n"
        ".globl kt_call, kt_call_returns_here\n"
        ".type kt_call, @function\n"
        "kt_call:\n"
        "    push %rbp\n"
        "    mov %rsp, %rbp\n"
        "    mov %rdi, %rax\n"
        "    mov %rsi, %r10\n"
        "    push 56(%r10)\n"          /* Args[7], the 8th argument */
        "    push 48(%r10)\n"          /* Args[6], the 7th */
        "    mov 0(%r10), %rdi\n"
        "    mov 8(%r10), %rsi\n"
        "    mov 16(%r10), %rdx\n"
        "    mov 24(%r10), %rcx\n"
        "    mov 32(%r10), %r8\n"
        "    mov 40(%r10), %r9\n"
        "    call *%rax\n"
        "kt_call_returns_here:\n"
        "    leave\n"
        "    ret\n"
        ".size kt_call, . - kt_call\n"
        ".popsection\n");

PETHREAD kt_culprit(PKSTART_ROUTINE Routine, PVOID Context)
{
    PETHREAD thread = NULL;
    NTSTATUS status = KiCreateSystemThread(Routine, Context, ~(KAFFINITY)0,
                                           KI_SYSTEM_BASE_PRIORITY, &thread);

    if (!NT_SUCCESS(status))
        ktest_fail(__FILE__, __LINE__, "KiCreateSystemThread: 0x%08x", (ULONG)status);
    return thread;
}

VOID kt_run_culprit(PETHREAD Thread)
{
    LARGE_INTEGER timeout;

    if (Thread == NULL)
        return;
    timeout.QuadPart = -(LONGLONG)KT_CULPRIT_WAIT_MS * 10000;
    KiStartThread(Thread);
    NTSTATUS status = KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, &timeout);
    if (status == STATUS_WAIT_0)
        ktest_fail(__FILE__, __LINE__, "the thread ended without a bug check");
    else
        ktest_fail(__FILE__, __LINE__, "no bug check in %u ms (wait status 0x%x)",
                   KT_CULPRIT_WAIT_MS, (ULONG)status);
    ObDereferenceObject(Thread);
}
