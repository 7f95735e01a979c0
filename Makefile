# ntsync - an NT-style SMP synchronization teaching kernel for x86-64.
#
#   make              checked kernel -> build/checked/kernel.{elf,iso,sym,asm}
#   make CHECKED=0    free kernel    -> build/free/...
#   make RACE=1       either, with race points -> build/checked-race/ (docs/testing.md)
#   make run          boot it in QEMU (SMP=4 vCPUs), serial on this terminal
#   make run GUI=1    the same with the screen in a QEMU window (docs/console.md)
#   make test         host unit tests + every in-kernel test, checked and free,
#                     and both again with race points on (RACE=1, 2 and 8 vCPUs)
#   make test-big     the SMP tests on 32 vCPUs (part of make test)
#   make test-screen  the blue STOP screen, from a screendump (part of make test)
#   make bench        benchmarks of the free build -> build/bench/
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
CROSS ?=

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
IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
ifeq ($(IS_CLANG),1)
TARGET_FLAGS := --target=x86_64-unknown-elf
endif
# Objects of different compilers must not mix: clang builds get their own tree.
# RACE=1: the same build with race points compiled in (kernel/race.h).
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

SRCS := $(sort $(wildcard boot/*.S arch/x86_64/*.S arch/x86_64/*.c kernel/*.c lib/*.c tests/kernel/*.c tests/bench/*.c))
OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(basename $(SRCS)))

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all run debug test test-kernel test-host test-big test-run test-screen bench tools clean
all: $(BUILD)/kernel.iso

# Every object also depends on this Makefile: a changed flag rebuilds all.
$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S Makefile
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@

# Two links: the first image's text symbols become the embedded table
# (.ksyms, placed after all code), linked into the second.
$(BUILD)/ksyms-empty.S: scripts/ksyms.sh
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
	$(Q)cp $< $(BUILD)/iso/boot/kernel.elf
	$(Q)cp boot/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $@ $(BUILD)/iso > $(BUILD)/grub-mkrescue.log 2>&1 \
		|| { cat $(BUILD)/grub-mkrescue.log; exit 1; }

tools:
	$(Q)sh scripts/need.sh build

# GUI=1: a window shows the screen, and QEMU stays on the last one (the
# blue STOP screen after a bug check) instead of leaving through
# isa-debug-exit; close the window or type Ctrl-A X.
QEMU_FLAGS = -accel $(ACCEL) -cpu max -smp $(SMP) -m $(MEM) -no-reboot \
	$(if $(filter 1,$(GUI)),,-device isa-debug-exit$(,)iobase=0xf4$(,)iosize=0x04) \
	-cdrom $(BUILD)/kernel.iso -boot d \
	$(if $(ARGS),-fw_cfg name=opt/ntsync/cmdline$(,)string="$(subst $(,),$(,)$(,),$(ARGS))")
, := ,

run: all
	$(Q)sh scripts/need.sh run
	@echo "Booting $(BUILD)/kernel.iso with $(SMP) vCPUs (quit: Ctrl-A X)"
	$(Q)qemu-system-x86_64 $(QEMU_FLAGS) $(if $(filter 1,$(GUI)),,-display none) -serial mon:stdio; \
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
	$(Q)python3 scripts/check-doc-paths.py
	$(Q)sh tests/host/run.sh build/host

# A RACE=1 build boots with its race points on, seed RACE_SEED (docs/testing.md).
test-kernel: all
	$(Q)sh scripts/need.sh test
	$(Q)NM=$(NM) sh scripts/check-exports.sh $(BUILD)/kernel.elf
	$(Q)NM=$(NM) OBJDUMP=$(OBJDUMP) sh scripts/check-race-points.sh $(BUILD)/kernel.elf $(RACE)
	$(Q)python3 tests/runner.py --iso $(BUILD)/kernel.iso --smp "$(TEST_SMP)" \
		--neg-smp "$(NEG_SMP)" --accel "$(ACCEL)" --log-dir $(BUILD)/test-logs --label $(BUILD_KIND) \
		$(if $(filter 1,$(RACE)),--cmdline "race=$(RACE_SEED)")

# Benchmarks: the free build at BENCH_SMP vCPUs; tables on the terminal,
# JSON, CSV and charts in build/bench/ (docs/performance.md).
BENCH_SMP ?= 1 2 4
bench:
	$(Q)sh scripts/need.sh bench
	$(Q)$(MAKE) --no-print-directory CHECKED=0
	$(Q)NM=$(NM) OBJDUMP=$(OBJDUMP) sh scripts/check-race-points.sh build/free/kernel.elf 0
	$(Q)python3 tests/bench.py --iso build/free/kernel.iso --smp "$(BENCH_SMP)" --out build/bench \
		--accel "$(ACCEL)"

# The SMP tests once more on a big machine: every one of 32 vCPUs online.
test-big: all
	$(Q)sh scripts/need.sh test
	$(Q)python3 tests/runner.py --iso $(BUILD)/kernel.iso --smp "$(BIG_SMP)" --neg-smp "" \
		--filter 'smp_*' --accel "$(ACCEL)" --log-dir $(BUILD)/test-logs-big --label $(BUILD_KIND)

# The blue STOP screen as a person sees it: a screendump after a bug check.
test-screen: all
	$(Q)sh scripts/need.sh test
	$(Q)python3 tests/screen_test.py --iso $(BUILD)/kernel.iso --accel "$(ACCEL)"

# `make run` as the README shows it: boots to the idle loop, all vCPUs online.
test-run:
	$(Q)bash scripts/run-smoke.sh

# Everything: host unit tests, then the kernel suites of both builds, and one
# total line at the end.
test:
	$(Q)bash scripts/test-all.sh "$(MAKE) --no-print-directory"

clean:
	rm -rf build

-include $(OBJS:.o=.d)
