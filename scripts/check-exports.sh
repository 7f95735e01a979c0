#!/bin/sh
# check-exports.sh ELF... - every public routine of the kernel's WDK API is an
# exported function: a global text symbol ("T" in nm) in each ELF given.
#
#   sh scripts/check-exports.sh build/checked/kernel.elf build/free/kernel.elf
#
# Issue 6: "every function above is an exported symbol in both builds";
# issue 4: the IRQL routines are exported functions even where the header
# inlines them (the free build's wdm/irql.h); issue 5: the DPC API.  Names the
# WDK defines as macros (KeAcquireSpinLock, KeRaiseIrql, ExAcquireSpinLock,
# ...) stay macros and are not listed.  The list below is by header, with the
# WDK's names; keep it in step with include/.
#
# Prints one line per missing or wrong symbol, then `exports: N checked, M
# missing` (N and M summed over the ELFs).  Exit status: 0 none missing, 1
# some missing, 2 usage or an unreadable ELF.  NM overrides nm.
set -u
NM=${NM:-nm}

EXPORTS='
# wdm/irql.h
KeGetCurrentIrql KfRaiseIrql KeLowerIrql KeRaiseIrqlToDpcLevel KeRaiseIrqlToSynchLevel

# wdm/processor.h
KeGetCurrentProcessorNumber KeGetCurrentProcessorNumberEx
KeQueryActiveProcessorCount KeQueryActiveProcessorCountEx KeQueryActiveProcessors
KeIpiGenericCall

# wdm/time.h
KeQueryInterruptTime KeQueryTickCount KeQueryTimeIncrement KeStallExecutionProcessor
KeQueryUnbiasedInterruptTime KeQuerySystemTime KeQuerySystemTimePrecise KeQueryPerformanceCounter

# wdm/rtl.h (RtlCopyMemory, RtlZeroMemory, ... are macros over mem*)
RtlCompareMemory

# wdm/spinlock.h: executive spin locks
KeInitializeSpinLock KeAcquireSpinLockRaiseToDpc KeReleaseSpinLock
KeAcquireSpinLockAtDpcLevel KeReleaseSpinLockFromDpcLevel
KefAcquireSpinLockAtDpcLevel KefReleaseSpinLockFromDpcLevel
KeTryToAcquireSpinLockAtDpcLevel KeTestSpinLock
KeAcquireSpinLockForDpc KeReleaseSpinLockForDpc KeAcquireSpinLockRaiseToSynch

# wdm/spinlock.h: in-stack queued spin locks
KeAcquireInStackQueuedSpinLock KeReleaseInStackQueuedSpinLock
KeAcquireInStackQueuedSpinLockAtDpcLevel KeReleaseInStackQueuedSpinLockFromDpcLevel
KeAcquireInStackQueuedSpinLockForDpc KeReleaseInStackQueuedSpinLockForDpc
KeAcquireInStackQueuedSpinLockRaiseToSynch

# wdm/spinlock.h: numbered queued spin locks
KeAcquireQueuedSpinLock KeReleaseQueuedSpinLock KeTryToAcquireQueuedSpinLock
KeAcquireQueuedSpinLockRaiseToSynch KeTryToAcquireQueuedSpinLockRaiseToSynch

# wdm/spinlock.h: reader/writer spin locks
ExAcquireSpinLockShared ExReleaseSpinLockShared
ExAcquireSpinLockExclusive ExReleaseSpinLockExclusive
ExAcquireSpinLockSharedAtDpcLevel ExReleaseSpinLockSharedFromDpcLevel
ExAcquireSpinLockExclusiveAtDpcLevel ExReleaseSpinLockExclusiveFromDpcLevel
ExTryConvertSharedSpinLockExclusive
ExTryAcquireSpinLockSharedAtDpcLevel ExTryAcquireSpinLockExclusiveAtDpcLevel

# wdm/spinlock.h: lock-guarded interlocked helpers
ExInterlockedInsertHeadList ExInterlockedInsertTailList ExInterlockedRemoveHeadList
ExInterlockedPushEntryList ExInterlockedPopEntryList
ExInterlockedAddUlong ExInterlockedAddLargeInteger

# wdm/spinlock.h: the I/O cancel and VPB locks
IoAcquireCancelSpinLock IoReleaseCancelSpinLock IoAcquireVpbSpinLock IoReleaseVpbSpinLock

# wdm/interrupt.h
IoConnectInterrupt IoDisconnectInterrupt
KeAcquireInterruptSpinLock KeReleaseInterruptSpinLock KeSynchronizeExecution

# wdm/dpc.h
KeInitializeDpc KeInitializeThreadedDpc KeSetImportanceDpc
KeSetTargetProcessorDpc KeSetTargetProcessorDpcEx
KeInsertQueueDpc KeRemoveQueueDpc KeIsExecutingDpc KeFlushQueuedDpcs
KeGenericCallDpc KeSignalCallDpcDone KeSignalCallDpcSynchronize
KeQueryDpcWatchdogInformation

# wdm/dispatcher.h
KeInitializeEvent KeSetEvent KeResetEvent KeClearEvent KeReadStateEvent KePulseEvent
KeInitializeSemaphore KeReleaseSemaphore KeReadStateSemaphore
KeInitializeMutex KeReleaseMutex KeReadStateMutex
KeWaitForSingleObject KeWaitForMultipleObjects
KeInitializeTimer KeInitializeTimerEx KeSetTimer KeSetTimerEx KeCancelTimer KeReadStateTimer

# wdm/thread.h (KeGetCurrentThread is inline, as in the WDK x64 header)
PsCreateSystemThread PsTerminateSystemThread PsGetCurrentThread PsGetCurrentThreadId
KeSetPriorityThread KeQueryPriorityThread KeSetBasePriorityThread
KeSetSystemAffinityThreadEx KeRevertToUserAffinityThreadEx KeDelayExecutionThread
ObReferenceObjectByHandle ObfReferenceObject ObfDereferenceObject ZwClose

# wdm/apc.h
KeEnterCriticalRegion KeLeaveCriticalRegion KeEnterGuardedRegion KeLeaveGuardedRegion
KeAreApcsDisabled KeAreAllApcsDisabled KeInitializeApc KeInsertQueueApc

# wdm/bugcheck.h (KeInitializeCallbackRecord is a macro, as in the WDK)
KeRegisterBugCheckCallback KeDeregisterBugCheckCallback

# wdm/mutex.h
ExInitializeFastMutex ExAcquireFastMutex ExReleaseFastMutex ExTryToAcquireFastMutex
ExAcquireFastMutexUnsafe ExReleaseFastMutexUnsafe
KeInitializeGuardedMutex KeAcquireGuardedMutex KeReleaseGuardedMutex
KeTryToAcquireGuardedMutex KeAcquireGuardedMutexUnsafe KeReleaseGuardedMutexUnsafe

# wdm.h
KeBugCheckEx KeBugCheck DbgPrint
'

if [ $# -eq 0 ]; then
    echo "usage: $0 ELF..." >&2
    exit 2
fi

checked=0
missing=0
for elf in "$@"; do
    if ! symbols=$("$NM" "$elf"); then
        echo "exports: cannot read $elf with $NM" >&2
        exit 2
    fi
    # nm's lines ("address type name", or "type name" when undefined) marked
    # with S, then the list.  One line per listed name that is not a T
    # symbol, with its header and what nm shows instead (t local, W weak,
    # U referenced but never defined); last, "names bad".
    result=$({ printf '%s\n' "$symbols" | sed 's/^/S /'; printf '%s\n' "$EXPORTS"; } | awk -v elf="$elf" '
        $1 == "S" { type[$NF] = $(NF - 1); next }
        /^#/ { header = substr($0, 3); next }
        {
            for (i = 1; i <= NF; i++) {
                names++
                if (type[$i] == "T")
                    continue
                bad++
                if (type[$i] == "")
                    why = "not in the symbol table"
                else
                    why = "nm type " type[$i] ", not T"
                printf "exports: %s: missing %s (%s): %s\n", elf, $i, header, why
            }
        }
        END { printf "%d %d\n", names, bad }')
    printf '%s\n' "$result" | sed '$d'
    counts=$(printf '%s\n' "$result" | tail -n 1)
    checked=$((checked + ${counts% *}))
    missing=$((missing + ${counts#* }))
done

echo "exports: $checked checked, $missing missing"
[ "$missing" -eq 0 ]
