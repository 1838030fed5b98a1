# hvm: one Makefile for the VMM library, the front ends, the guest agent, the kernel and tests.
# `make V=1` shows the commands.

BUILD   ?= build
CC      ?= gcc
AGENT_CC ?= musl-gcc
VERSION := 0.1.0
BENCH_RUNS ?= 5

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -DHVM_VERSION='"$(VERSION)"' -MMD -MP
LDFLAGS ?=
LDLIBS  := -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard vmm/*.c) $(wildcard boot/*.c) $(wildcard devices/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
RUN_SRC := tools/hvm-run.c tools/run_flags.c tools/run_metrics.c tools/console_demux.c
RUN_OBJ := $(RUN_SRC:%.c=$(BUILD)/obj/%.o)

BUSYBOX := /bin/busybox
KERNEL_INPUTS := kernel/build.sh kernel/hyperkernel.config $(wildcard kernel/patches/*.patch)

.SECONDARY:
.PHONY: all deps kernel test test-unit test-kvm test-e2e bench clean distclean run-default
all: $(BUILD)/hvm-run $(BUILD)/libhvm.a $(BUILD)/hvm-agent $(BUILD)/hvm-initramfs.cpio $(BUILD)/busybox.applets \
     $(BUILD)/vmlinux $(BUILD)/hvm-exec-timer

# Installs the Debian packages that are missing (build, kernel, runtime and benchmark groups).
deps:
	$(Q)sh mk/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libhvm.a: $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# Static: no dynamic loader at exec, ~0.2 ms less from exec to the first guest instruction.
$(BUILD)/hvm-run: $(RUN_OBJ) $(BUILD)/libhvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -static -o $@ $^ $(LDLIBS)

$(BUILD)/hvm-exec-timer: $(BUILD)/obj/bench/exec_timer.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

# The agent is PID 1 in the guest: static, and small because the guest kernel copies every
# byte of the initramfs with emulated instructions on nested hosts.
$(BUILD)/hvm-agent: agent/agent.c agent/console_frame.h boot/layout.h
	@mkdir -p $(BUILD)
	@$(if $(Q),echo "  AGENT   $@")
	$(Q)$(AGENT_CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -Os -static -s -o $@ agent/agent.c

$(BUILD)/mkinitramfs: $(BUILD)/obj/tools/mkinitramfs.o $(BUILD)/obj/boot/cpio.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/busybox.applets: $(BUSYBOX)
	@mkdir -p $(BUILD)
	$(Q)$(BUSYBOX) --list > $@.tmp && mv $@.tmp $@

$(BUILD)/hvm-initramfs.cpio: $(BUILD)/mkinitramfs $(BUILD)/hvm-agent $(BUSYBOX) $(BUILD)/busybox.applets
	@$(if $(Q),echo "  CPIO    $@")
	$(Q)$(BUILD)/mkinitramfs $@ $(BUILD)/hvm-agent $(BUSYBOX) $(BUILD)/busybox.applets

# The HyperKernel: built once, cached under $(BUILD)/kernel by a hash of its inputs.
$(BUILD)/vmlinux: $(KERNEL_INPUTS)
	@mkdir -p $(BUILD)
	$(Q)sh kernel/build.sh $(BUILD) $@
kernel: $(BUILD)/vmlinux

# The README's first command: dependencies, everything built, the default image run once.
run-default: all
	$(BUILD)/hvm-run --cmd 'echo "hello from $$(uname -sr) in an hvm micro-VM"; cat /proc/cpuinfo | grep -c ^processor'

# ---- tests --------------------------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
KVM_SRC  := $(wildcard tests/kvm/test_*.c)
KVM_BIN  := $(KVM_SRC:tests/kvm/%.c=$(BUILD)/tests/kvm/%)
TEST_LIBS := $(BUILD)/libhvm.a $(BUILD)/obj/tools/run_flags.o $(BUILD)/obj/tools/console_demux.o

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# deps first: on a fresh machine `make test` alone must work (it installs only what is missing).
test: deps
	$(Q)$(MAKE) --no-print-directory test-unit test-kvm test-e2e

test-unit: $(UNIT_BIN)
	$(Q)sh tests/run.sh unit $(UNIT_BIN)

test-kvm: $(KVM_BIN)
	$(Q)sh tests/run.sh kvm $(KVM_BIN)

test-e2e: all
	$(Q)sh tests/e2e/run.sh $(BUILD)

bench: all
	$(Q)python3 bench/boot.py $(BUILD) $(BENCH_RUNS)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(BUILD)/hvm-run $(BUILD)/libhvm.a $(BUILD)/hvm-agent \
	       $(BUILD)/mkinitramfs $(BUILD)/hvm-initramfs.cpio $(BUILD)/busybox.applets \
	       $(BUILD)/hvm-exec-timer

# Also drops the cached kernel builds.
distclean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
