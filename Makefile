# ntsync - an NT-style SMP synchronization teaching kernel for x86-64.
#
#   make              checked kernel -> build/checked/kernel.{elf,iso,sym,asm}
#   make CHECKED=0    free kernel    -> build/free/...
#   make RACE=1       either, with race points -> build/checked-race/ (docs/testing.md)
#   make run          boot it in QEMU (SMP=4 vCPUs), serial on this terminal;
#                     FIRMWARE=uefi boots the same ISO under OVMF instead of the BIOS;
#                     GUI=1 shows the screen in a QEMU window (docs/console.md)
#   make test         host unit tests + every in-kernel test, checked and free,
#                     and both again with race points on (RACE=1: checked at 8, free at 4 vCPUs)
#   make test-big     the SMP tests on 32 vCPUs (part of make test)
#   make test-uefi    the SMP and IRQL tests booted under OVMF (part of make test)
#   make test-calibrate  the TSC against the HPET, the PM timer and the PIT (part of make test)
#   make test-threaded-off  the threaded DPC tests with threaded_dpcs=off (part of make test)
#   make test-screen  the screen console and the blue STOP screen, on screendumps (part of make test)
#   make bench        benchmarks of the free build -> build/bench/
#   make mutants      break the kernel on purpose (tests/mutants/), check the tests notice
#   make soak         the concurrency tests in a loop with fresh race seeds (DURATION=10m)
#   make trace TEST=<glob>  boot those tests with trace=all at 4 vCPUs ->
#                     build/trace/<glob>.{json,svg,png,txt} (docs/tracing.md)
#   make test-trace   one traced boot, checked against the kernel's counts (part of make test)
#   make test-shell   the shell over the serial port and the PS/2 keyboard, docs/tour.md's doc test (part of make test)
#   make debug        QEMU halted with a gdb stub, and gdb attached
#   make V=1 ...      show full commands
#
# Missing tools are installed with apt-get when possible (scripts/need.sh).

SHELL := /bin/bash
CHECKED ?= 1
RACE ?= 0
GUI ?= 0
SMP ?= 4
TEST_SMP ?= 1 2 4 8
NEG_SMP ?= 2
BIG_SMP ?= 32
ACCEL ?= tcg,thread=multi
ARGS ?=
RACE_SEED ?= 20261206
MEM ?= 256M
FIRMWARE ?= bios
OVMF_CODE ?= /usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS ?= /usr/share/OVMF/OVMF_VARS_4M.fd
# On a host that is not x86-64 the kernel needs the x86-64 cross toolchain
# (scripts/need.sh installs it); x86_64 and amd64 are the same machine.
HOST_ARCH := $(shell uname -m)
CROSS ?= $(if $(filter x86_64 amd64,$(HOST_ARCH)),,x86_64-linux-gnu-)

ifeq ($(CHECKED),0)
BUILD_KIND := free
else
BUILD_KIND := checked
endif

# The compiler: host gcc by default, $(CROSS)gcc for a cross toolchain, or
# CC=clang, which cross-compiles with --target.  ?= doesn't work for CC
# (make predefines it), hence the origin test.
ifeq ($(origin CC),default)
CC := $(CROSS)gcc
endif
LD := $(CROSS)ld
NM := $(CROSS)nm
OBJDUMP := $(CROSS)objdump
OBJCOPY := $(CROSS)objcopy
NPROC := $(shell nproc 2>/dev/null || echo 2)     # make test builds with this many jobs
IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
ifeq ($(IS_CLANG),1)
TARGET_FLAGS := --target=x86_64-unknown-elf
endif
# Objects of different compilers must not mix: clang builds get their own tree.
# RACE=1: the same build with race points compiled in (kernel/debug/race.h).
ifeq ($(RACE),1)
BUILD_KIND := $(BUILD_KIND)-race
endif
BUILD := build/$(BUILD_KIND)$(if $(IS_CLANG),-clang)

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS := $(TARGET_FLAGS) -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie -mcmodel=small \
	-mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-80387 \
	-fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-optimize-sibling-calls \
	-fno-asynchronous-unwind-tables -fno-strict-aliasing \
	-Iinclude -I. -DDBG=$(if $(filter 0,$(CHECKED)),0,1) -DKI_RACE=$(if $(filter 1,$(RACE)),1,0) \
	-DKERNEL_VERSION='"$(VERSION)"' -MMD -MP
ASFLAGS := $(TARGET_FLAGS) -g -Iinclude -I. -D__ASSEMBLER__ -DDBG=$(if $(filter 0,$(CHECKED)),0,1) \
	-DKI_RACE=$(if $(filter 1,$(RACE)),1,0) -MMD -MP
LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld

SRCS := $(sort $(wildcard boot/*.S arch/x86_64/*.S arch/x86_64/*.c kernel/*.c kernel/*/*.c lib/*.c tests/kernel/*.c tests/bench/*.c))
OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(basename $(SRCS)))

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all run debug test test-kernel test-host test-big test-uefi test-calibrate test-threaded-off test-screen test-run test-shell bench mutants soak trace test-trace tools clean
all: $(BUILD)/kernel.iso

# Every object also depends on this Makefile: a changed flag rebuilds all.
# `tools` (need.sh) runs first: a missing compiler is one line from need.sh,
# not make's "gcc: command not found ... Error 127".
$(BUILD)/obj/%.o: %.c Makefile | tools
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S Makefile | tools
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@

# Two links: the first image's text symbols become the embedded table
# (.ksyms, placed after all code), linked into the second.
$(BUILD)/ksyms-empty.S: scripts/ksyms.sh | tools
	@mkdir -p $(@D)
	$(Q)sh scripts/ksyms.sh > $@
$(BUILD)/kernel.pass1.elf: $(OBJS) $(BUILD)/ksyms-empty.o linker.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(LDFLAGS) -o $@ $(OBJS) $(BUILD)/ksyms-empty.o
$(BUILD)/ksyms.S: $(BUILD)/kernel.pass1.elf scripts/ksyms.sh
	$(Q)NM=$(NM) sh scripts/ksyms.sh $< > $@
$(BUILD)/%.o: $(BUILD)/%.S
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@
$(BUILD)/kernel.elf: $(OBJS) $(BUILD)/ksyms.o linker.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(LDFLAGS) -o $@ $(OBJS) $(BUILD)/ksyms.o
	$(Q)$(NM) -n $@ > $(BUILD)/kernel.sym
	$(Q)$(OBJDUMP) -d -S $@ > $(BUILD)/kernel.asm
	$(Q)cmp -s <($(NM) -n $@ | grep -i ' t ') <($(NM) -n $(BUILD)/kernel.pass1.elf | grep -i ' t ') \
		|| { echo "error: code moved between the two links (see linker.ld)"; exit 1; }

$(BUILD)/kernel.iso: $(BUILD)/kernel.elf boot/grub.cfg | tools
	@$(if $(Q),echo "  ISO     $@")
	$(Q)grub-file --is-x86-multiboot2 $< || { echo "error: $< is not a Multiboot2 kernel"; exit 1; }
	$(Q)rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub
	$(Q)$(OBJCOPY) --strip-debug $< $(BUILD)/iso/boot/kernel.elf   # GRUB reads less: boots faster
	$(Q)cp boot/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $@ $(BUILD)/iso > $(BUILD)/grub-mkrescue.log 2>&1 \
		|| { cat $(BUILD)/grub-mkrescue.log; exit 1; }

tools:
	$(Q)CC='$(CC)' CROSS='$(CROSS)' sh scripts/need.sh build

# UEFI: OVMF's code read-only, and its variable store from a copy in the
# build directory, where the firmware may write its boot entries.
UEFI_FLAGS = -drive if=pflash,format=raw,readonly=on,file=$(OVMF_CODE) \
	-drive if=pflash,format=raw,file=$(BUILD)/ovmf-vars.fd
$(BUILD)/ovmf-vars.fd:
	$(Q)sh scripts/need.sh uefi
	$(Q)mkdir -p $(@D) && cp $(OVMF_VARS) $@

# GUI=1: a window shows the screen, and QEMU stays on the last one (the
# blue STOP screen after a bug check) instead of leaving through
# isa-debug-exit; close the window or type Ctrl-A X.
QEMU_FLAGS = -accel $(ACCEL) -cpu max -smp $(SMP) -m $(MEM) -no-reboot \
	$(if $(filter 1,$(GUI)),,-device isa-debug-exit$(,)iobase=0xf4$(,)iosize=0x04) \
	-cdrom $(BUILD)/kernel.iso -boot d \
	$(if $(filter uefi,$(FIRMWARE)),$(UEFI_FLAGS)) \
	$(if $(ARGS),-fw_cfg name=opt/ntsync/cmdline$(,)string="$(subst $(,),$(,)$(,),$(ARGS))")
, := ,
ifeq ($(filter bios uefi,$(FIRMWARE)),)
$(error FIRMWARE=$(FIRMWARE): use FIRMWARE=bios (the default) or FIRMWARE=uefi)
endif

run: all $(if $(filter uefi,$(FIRMWARE)),$(BUILD)/ovmf-vars.fd)
	$(Q)sh scripts/need.sh $(if $(filter 1,$(GUI)),gui,run)
	@echo "Booting $(BUILD)/kernel.iso with $(SMP) vCPUs (quit: Ctrl-A X)"
	$(Q)qemu-system-x86_64 $(QEMU_FLAGS) $(if $(filter 1,$(GUI)),,-display none) -serial mon:stdio \
		-debugcon file:$(BUILD)/trace.bin; \
		status=$$?; [ $$status -eq 0 -o $$status -eq 33 ] || echo "QEMU exited with status $$status"

# gdb starts QEMU itself, its stub on a pipe (-gdb stdio): no port to race
# for, and quitting gdb ends QEMU.  The kernel's serial output goes to a file.
debug: all
	$(Q)sh scripts/need.sh debug
	@echo "gdb stops at KiSystemStartup; serial output: $(BUILD)/debug-serial.log"
	$(Q)gdb -q -ex 'set architecture i386:x86-64' \
		-ex 'target remote | exec qemu-system-x86_64 $(QEMU_FLAGS) -display none -serial file:$(BUILD)/debug-serial.log -gdb stdio -S' \
		-x scripts/gdbinit $(BUILD)/kernel.elf

test-host:
	$(Q)sh scripts/need.sh test
	$(Q)python3 -m unittest -q tests/test_runner_selftest.py
	$(Q)python3 -m unittest -q tests/test_trace.py
	$(Q)python3 scripts/check-doc-paths.py
	$(Q)sh scripts/need.sh mutants
	$(Q)python3 scripts/mutants.py --check-apply
	$(Q)sh scripts/test-need.sh
	$(Q)sh tests/host/run.sh build/host

# A RACE=1 build boots with its race points on, seed RACE_SEED (docs/testing.md).
test-kernel: all
	$(Q)sh scripts/need.sh test
	$(Q)NM=$(NM) sh scripts/check-exports.sh $(BUILD)/kernel.elf
	$(Q)NM=$(NM) OBJDUMP=$(OBJDUMP) sh scripts/check-race-points.sh $(BUILD)/kernel.elf $(RACE)
	$(Q)python3 tests/runner.py --iso $(BUILD)/kernel.iso --smp "$(TEST_SMP)" \
		--neg-smp "$(NEG_SMP)" --neg-kernel $(BUILD)/kernel.elf \
		--accel "$(ACCEL)" --log-dir $(BUILD)/test-logs --label $(BUILD_KIND) \
		$(if $(filter 1,$(RACE)),--cmdline "race=$(RACE_SEED)")

# Benchmarks: the free build at BENCH_SMP vCPUs, and the checked build's
# lock-order validator on / off at 1 vCPU; tables on the terminal,
# JSON, CSV and charts in build/bench/ (docs/performance.md).
BENCH_SMP ?= 1 2 4
bench:
	$(Q)sh scripts/need.sh bench
	$(Q)$(MAKE) --no-print-directory CHECKED=0
	$(Q)$(MAKE) --no-print-directory CHECKED=1
	$(Q)NM=$(NM) OBJDUMP=$(OBJDUMP) sh scripts/check-race-points.sh build/free/kernel.elf 0
	$(Q)python3 tests/bench.py --iso build/free/kernel.iso --smp "$(BENCH_SMP)" --out build/bench \
		--accel "$(ACCEL)" --checked-iso build/checked/kernel.iso

# Mutation testing (docs/testing.md): each patch of tests/mutants/ (or those
# named by MUTANTS=<glob,...>, or GROUP=ci) applied to a copy of the work tree
# in build/mutants/src, RACE=1 kernels rebuilt, its tests booted with
# race=SEED (random unless given); fails if a mutant survives.
MUTANTS ?= *
GROUP ?=
SEED ?=
mutants:
	$(Q)sh scripts/need.sh mutants
	$(Q)python3 scripts/mutants.py --mutants '$(MUTANTS)' --group '$(GROUP)' --seed '$(SEED)'

# Soak: the RACE=1 checked and free kernels booted in turn for DURATION
# (s/m/h) at SMP vCPUs, the concurrency tests with a fresh race seed each boot.
DURATION ?= 10m
soak:
	$(Q)sh scripts/need.sh test
	$(Q)$(MAKE) --no-print-directory RACE=1
	$(Q)$(MAKE) --no-print-directory RACE=1 CHECKED=0
	$(Q)python3 scripts/soak.py --duration '$(DURATION)' --smp '$(SMP)' --accel '$(ACCEL)'

# The tracer (docs/tracing.md): TEST's tests booted with trace=all at
# TRACE_SMP vCPUs, the rings dumped through QEMU's debug console port and
# drawn by scripts/trace.py.  The checked build unless CHECKED=0: both trace
# their lock paths.  WINDOW=FROM,TO (us) narrows the SVG.
TRACE_SMP ?= 4
TEST ?= spinlock_stress_*
WINDOW ?=
trace: all
	$(Q)sh scripts/need.sh trace
	$(Q)python3 scripts/trace_boot.py --iso $(BUILD)/kernel.iso --symbols $(BUILD)/kernel.sym \
		--filter '$(TEST)' --smp '$(TRACE_SMP)' --accel "$(ACCEL)" $(if $(WINDOW),--window '$(WINDOW)')

# One traced boot, an MCS lock, DPCs and a thread ping-pong between two CPUs,
# held against the kernel's own counts.
test-trace: all
	$(Q)sh scripts/need.sh trace
	$(Q)python3 scripts/trace_boot.py --iso $(BUILD)/kernel.iso --symbols $(BUILD)/kernel.sym \
		--filter 'spinlock_stress_in_stack_queued,dpc_targeted_*,wait_cross_cpu_ping_pong' --smp 4 \
		--accel "$(ACCEL)" --check

# The SMP tests once more on a big machine: every one of 32 vCPUs online.
test-big: all
	$(Q)sh scripts/need.sh test
	$(Q)python3 tests/runner.py --iso $(BUILD)/kernel.iso --smp "$(BIG_SMP)" --neg-smp "" \
		--filter 'smp_*' --accel "$(ACCEL)" --log-dir $(BUILD)/test-logs-big --label $(BUILD_KIND)

# The calibration tests with the TSC measured against each reference in
# turn, forced with calibrate= (arch/x86_64/calibrate.c): one boot each.
CALIBRATE ?= hpet pmtimer pit
test-calibrate: all
	$(Q)sh scripts/need.sh test
	$(Q)for reference in $(CALIBRATE); do \
		python3 tests/runner.py --iso $(BUILD)/kernel.iso --smp 1 --neg-smp "" \
		--filter 'calibrate_*' --accel "$(ACCEL)" --cmdline calibrate=$$reference \
		--log-dir $(BUILD)/test-logs-calibrate-$$reference \
		--label "$(BUILD_KIND) calibrate=$$reference" || exit 1; done

# The threaded DPC and ForDpc tests with threaded_dpcs=off: threaded DPCs
# then run as ordinary DPCs, as on Windows (kernel/dpc/dpc_thread.c).
test-threaded-off: all
	$(Q)sh scripts/need.sh test
	$(Q)python3 tests/runner.py --iso $(BUILD)/kernel.iso --smp 2 --neg-smp "" \
		--filter 'dpc_threaded_*,dpc_*for_dpc*,spinlock_for_dpc_*' --accel "$(ACCEL)" \
		--cmdline threaded_dpcs=off --log-dir $(BUILD)/test-logs-threaded-off \
		--label "$(BUILD_KIND) threaded_dpcs=off"

# The SMP and IRQL tests once more under UEFI firmware, at 4 vCPUs: the same
# ISO through GRUB's x86_64-efi platform.  Each boot gets a throw-away view
# of the variable store (snapshot=on), so parallel boots share the one copy.
test-uefi: all $(BUILD)/ovmf-vars.fd
	$(Q)sh scripts/need.sh test
	$(Q)python3 tests/runner.py --iso $(BUILD)/kernel.iso --smp 4 --neg-smp "" \
		--filter 'smp_*,irql_*' --accel "$(ACCEL)" --log-dir $(BUILD)/test-logs-uefi \
		--label $(BUILD_KIND)-uefi --extra-qemu-args "$(UEFI_FLAGS),snapshot=on"

# The blue STOP screen as a person sees it: a screendump after a bug check.
test-screen: all
	$(Q)sh scripts/need.sh test
	$(Q)python3 tests/screen_test.py --iso $(BUILD)/kernel.iso --accel "$(ACCEL)"

# The shell (kernel/shell/) typed at over the serial port, docs/tour.md's
# commands first: one boot of the checked kernel at 4 vCPUs, one short boot
# of the free kernel at 2, one short boot typed at on the PS/2 keyboard.
test-shell:
	$(Q)sh scripts/need.sh test
	$(Q)$(MAKE) --no-print-directory CHECKED=1
	$(Q)$(MAKE) --no-print-directory CHECKED=0
	$(Q)python3 tests/shell_test.py --iso build/checked/kernel.iso --free-iso build/free/kernel.iso \
		--accel "$(ACCEL)" --log-dir build/checked/test-logs-shell

# `make run` as the README shows it: boots to the idle loop, all vCPUs online.
test-run:
	$(Q)bash scripts/run-smoke.sh

# Everything: host unit tests, then the kernel suites of both builds, and one
# total line at the end.
test:
	$(Q)bash scripts/test-all.sh "$(MAKE) -j$(NPROC) --no-print-directory"

clean:
	rm -rf build

-include $(OBJS:.o=.d)
