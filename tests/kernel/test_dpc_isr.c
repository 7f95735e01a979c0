/*
 * test_dpc_isr.c - the ISR-to-DPC pattern end to end: a connected ISR at
 * its DIRQL queues the driver's DPC (untargeted: the ISR's CPU), which runs
 * there at DISPATCH_LEVEL only after the ISR has returned (docs/dpc.md).
 */
#include "test_dpc.h"
#include "string.h"
#include "arch/x86_64/apic.h"

#define KT_DPC_ISR_VECTOR 0x7B          /* DIRQL 7; 0x?B is clear of the other tests' vectors */
#define KT_DEVICE_STATUS  0x5A          /* what "the device" told the ISR */

static struct {
    KDPC Dpc;
    volatile ULONG IsrCalls, IsrCpu, IsrDone;
    volatile KIRQL IsrIrql;
    volatile LONG DpcRuns;
    volatile ULONG DpcCpu, DpcSawIsrDone;
    volatile KIRQL DpcIrql;
    PVOID volatile DpcStatus;
} KtDevice;

static BOOLEAN kt_device_isr(PKINTERRUPT Interrupt, PVOID ServiceContext)
{
    UNREFERENCED_PARAMETER(Interrupt);
    UNREFERENCED_PARAMETER(ServiceContext);
    KtDevice.IsrCpu = KeGetCurrentProcessorNumber();
    KtDevice.IsrIrql = KeGetCurrentIrql();
    KtDevice.IsrCalls++;
    /* Hand the rest of the work, and what the device said, to the DPC. */
    KeInsertQueueDpc(&KtDevice.Dpc, (PVOID)KT_DEVICE_STATUS, NULL);
    KtDevice.IsrDone = 1;               /* the DPC cannot have run yet: DIRQL masks 0x2F */
    return TRUE;
}

static VOID kt_device_dpc(PKDPC Dpc, PVOID Context, PVOID Argument1, PVOID Argument2)
{
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Argument2);
    KtDevice.DpcCpu = KeGetCurrentProcessorNumber();
    KtDevice.DpcIrql = KeGetCurrentIrql();
    KtDevice.DpcSawIsrDone = KtDevice.IsrDone;
    KtDevice.DpcStatus = Argument1;
    __atomic_fetch_add(&KtDevice.DpcRuns, 1, __ATOMIC_RELEASE);
}

KTEST(dpc_queued_by_isr_runs_after_it_on_its_cpu)
{
    ULONG count = KeQueryActiveProcessorCount(NULL);

    for (ULONG n = 0; n < count; n++) {
        PKINTERRUPT interrupt;

        memset((void *)&KtDevice, 0, sizeof(KtDevice));
        KeInitializeDpc(&KtDevice.Dpc, kt_device_dpc, NULL);
        KT_ASSERT_EQ(IoConnectInterrupt(&interrupt, kt_device_isr, NULL, NULL, KT_DPC_ISR_VECTOR,
                                        KT_DPC_ISR_VECTOR >> 4, KT_DPC_ISR_VECTOR >> 4, Latched,
                                        FALSE, (KAFFINITY)1 << n, FALSE),
                     STATUS_SUCCESS);
        KiApicSendIpi(KiProcessorBlock[n].Prcb.ApicId, ICR_FIXED | ICR_ASSERT | KT_DPC_ISR_VECTOR);
        BOOLEAN ran = kt_wait_at_least(&KtDevice.DpcRuns, 1);
        IoDisconnectInterrupt(interrupt);
        KT_ASSERT_TRUE(ran);
        KT_EXPECT_EQ(KtDevice.IsrCalls, 1);
        KT_EXPECT_EQ(KtDevice.IsrCpu, n);
        KT_EXPECT_EQ(KtDevice.IsrIrql, KT_DPC_ISR_VECTOR >> 4);
        KT_EXPECT_EQ(KtDevice.DpcCpu, n);
        KT_EXPECT_EQ(KtDevice.DpcIrql, DISPATCH_LEVEL);
        KT_EXPECT_EQ(KtDevice.DpcSawIsrDone, 1);
        KT_EXPECT_EQ(KtDevice.DpcStatus, KT_DEVICE_STATUS);
    }
}
