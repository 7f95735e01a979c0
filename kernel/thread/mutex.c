/*
 * mutex.c - KMUTEX (WDK: KeInitializeMutex, KeReleaseMutex,
 * KeReadStateMutex; acquired with KeWaitForSingleObject; docs/threads.md).
 *
 * SignalState is 1 while the mutex is free and 1 - depth while a thread
 * owns it depth times: the owner's waits are satisfied at once (recursion,
 * kernel/thread/wait.c), and only its last release frees it for a waiter.
 * Each owned mutex is on its owner's MutantListHead, so a thread that ends
 * holding one is caught (kernel/thread/thread.c).
 */
#include "wdm.h"
#include "kernel/thread/thread.h"

#define CALLER ((ULONG_PTR)__builtin_return_address(0))

VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    UNREFERENCED_PARAMETER(Level);      /* WDK: reserved */
    KiInitializeDispatcherHeader(&Mutex->Header, KI_OBJECT_MUTANT, sizeof(KMUTEX), 1);  /* free */
    Mutex->OwnerThread = NULL;
    Mutex->Abandoned = FALSE;
    Mutex->ApcDisable = 1;
}

/* A satisfied wait: one more level of ownership (dispatcher lock held). */
VOID KiTakeMutex(PKMUTEX Mutex, PKTHREAD Thread)
{
    if (--Mutex->Header.SignalState == 0) {
        Mutex->OwnerThread = Thread;
        InsertHeadList(&Thread->MutantListHead, &Mutex->MutantListEntry);
        /* WDK: while a thread owns a mutex, only special kernel APCs run.
         * Thread is this thread, or waiting for it: no one else writes it. */
        Thread->KernelApcDisable -= Mutex->ApcDisable;
    }
}

LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    PKTHREAD thread = KeGetCurrentThread();
    KIRQL old = KiLockDispatcherDatabase();
    LONG previous = Mutex->Header.SignalState;

    if (Mutex->OwnerThread != thread) {     /* WDK: raises STATUS_MUTANT_NOT_OWNED */
        KiUnlockDispatcherDatabase(old);
        KiRaiseStatus(STATUS_MUTANT_NOT_OWNED, CALLER);
    }
    BOOLEAN freed = ++Mutex->Header.SignalState == 1;
    if (freed) {
        RemoveEntryList(&Mutex->MutantListEntry);
        Mutex->OwnerThread = NULL;
        thread->KernelApcDisable += Mutex->ApcDisable;
        KiWaitTest(Mutex, MUTANT_INCREMENT);
    }
    KiUnlockDispatcherAfterSignal(old, Wait);
    if (freed && thread->KernelApcDisable == 0)
        KiCheckForKernelApcDelivery();  /* normal APCs held off while it was owned */
    return previous;
}

LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex)
{
    return __atomic_load_n(&Mutex->Header.SignalState, __ATOMIC_RELAXED);
}
