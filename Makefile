# hvm: one Makefile for the VMM library, the front ends, the guest agent, the kernel and tests.
# `make V=1` shows the commands.

# make SANITIZE=1 (ASan and UBSan, see the end) builds in build-san unless BUILD is given:
# make does not rebuild objects when only SANITIZE changes, so the two never share a
# directory. The kernel is never sanitized: it comes from the cache under build/kernel then.
ifeq ($(SANITIZE)$(origin BUILD),1undefined)
BUILD   := build-san
KERNEL_CACHE := build
endif
BUILD   ?= build
KERNEL_CACHE ?= $(BUILD)
CC      ?= gcc
AGENT_CC ?= musl-gcc
VERSION := 0.1.0
BENCH_RUNS ?= 5

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -DHVM_VERSION='"$(VERSION)"' -MMD -MP
LDFLAGS ?=
LDLIBS  := -lseccomp -lz -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

# image/convert*.c parse untrusted archives: they live in the hvm-image helper process only,
# which hvm-run runs on a cache miss. The rest of image/ (cache lookup, hashing) is library.
IMAGE_LIB_SRC := $(filter-out image/convert%,$(wildcard image/*.c))
CONVERT_SRC := $(wildcard image/convert*.c) tools/hvm-image.c
CONVERT_LIBS := -larchive -lcjson -lz
# libhvm (include/hvm.h): everything a program embedding hvm needs, cJSON included.
LIB_SRC := $(wildcard core/*.c) $(wildcard boot/*.c) $(wildcard devices/*.c) $(IMAGE_LIB_SRC) \
	   $(wildcard proto/*.c) $(wildcard vmm/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj-pic/%.o) $(BUILD)/obj-pic/cjson.o
# hvm-run is a front end over the public API only.
RUN_SRC := tools/hvm-run.c tools/run_flags.c tools/run_exec.c tools/run_tty.c tools/run_net.c \
	   tools/run_pull.c tools/run_check.c tools/check_kvm.c tools/check_host.c
RUN_OBJ := $(RUN_SRC:%.c=$(BUILD)/obj/%.o)
# hvm-oci, the OCI runtime; the parts that need no VM are also linked into the unit tests.
OCI_UNIT_SRC := tools/oci_cli.c tools/oci_spec.c tools/oci_state.c tools/oci_log.c tools/oci_files.c \
	tools/oci_validate.c tools/oci_names.c tools/oci_hooks.c agent/hook.c \
	tools/oci_settings.c tools/oci_cgroup_res.c tools/oci_update.c
OCI_UNIT_OBJ := $(OCI_UNIT_SRC:%.c=$(BUILD)/obj/%.o)
OCI_SRC := tools/hvm-oci.c tools/oci_vm.c tools/oci_exec.c tools/oci_console.c tools/oci_cgroup.c \
	tools/oci_cgroup_stats.c tools/oci_cgroup_cmd.c $(OCI_UNIT_SRC)

BUSYBOX := /bin/busybox
KERNEL_INPUTS := kernel/build.sh kernel/hyperkernel.config $(wildcard kernel/patches/*.patch)

.SECONDARY:
.PHONY: all deps kernel install test test-man test-layers test-unit test-kvm test-e2e test-hostile bench clean distclean run-default \
	bench-load fuzz fuzz-smoke fuzz-deps kvmhost test-kvmhost test-kvm-here test-e2e-here test-kvm-e2e test-images
all: $(BUILD)/hvm-run $(BUILD)/hvm-image $(BUILD)/hvm-oci $(BUILD)/libhvm.a $(BUILD)/libhvm.so \
     $(BUILD)/examples/run_two $(BUILD)/hvm-agent \
     $(BUILD)/hvm-initramfs.cpio $(BUILD)/hvm-rootfs.ext4 $(BUILD)/vmlinux $(BUILD)/hvm-exec-timer

# Installs the Debian packages that are missing (build, kernel, runtime and benchmark groups).
deps:
	$(Q)sh mk/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libhvm.a: $(LIB_OBJ) $(BUILD)/obj/cjson.o
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The shared library exports include/hvm.h's functions only (HVM_API, vmm/hvm_export.h).
$(BUILD)/obj-pic/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC PIC  $<")
	$(Q)$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(BUILD)/obj-pic/cjson.o: $(BUILD)/cjson/cJSON.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c89 -O2 -fPIC -fvisibility=hidden -I$(BUILD)/cjson/cjson -c -o $@ $<

$(BUILD)/libhvm.so: $(LIB_PIC_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,-soname,libhvm.so -Wl,--no-undefined -o $@ $^ $(LDLIBS)

# The example embeds libhvm.so, found next to its directory; it points HVM_DATA_DIR there.
$(BUILD)/examples/run_two: examples/run_two.c include/hvm.h $(BUILD)/libhvm.so
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(BUILD) -lhvm -Wl,-rpath,'$$ORIGIN/..'

# Static: no dynamic loader at exec, ~0.2 ms less from exec to the first guest instruction.
# Debian ships cJSON only as a shared library, so its source package is compiled in.
$(BUILD)/hvm-run: $(RUN_OBJ) $(BUILD)/libhvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(RUN_STATIC) -o $@ $^ $(LDLIBS)

# hvm-oci is what podman and containerd exec for every container operation: static too.
$(BUILD)/hvm-oci: $(OCI_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/libhvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(RUN_STATIC) -o $@ $^ $(LDLIBS)

$(BUILD)/cjson/cJSON.c: mk/cjson.sh
	$(Q)sh mk/cjson.sh $(BUILD)/cjson

$(BUILD)/obj/cjson.o: $(BUILD)/cjson/cJSON.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c89 -O2 -I$(BUILD)/cjson/cjson -c -o $@ $<

$(BUILD)/obj/agent/cjson.o: $(BUILD)/cjson/cJSON.c
	@mkdir -p $(dir $@)
	$(Q)$(AGENT_CC) -std=c89 -Os -I$(BUILD)/cjson/cjson -c -o $@ $<

# musl has no Linux uapi headers of its own: give the agent just those.
$(BUILD)/agent-include/.stamp:
	@mkdir -p $(dir $@)
	$(Q)ln -sfn /usr/include/linux $(dir $@)linux && \
	    ln -sfn /usr/include/x86_64-linux-gnu/asm $(dir $@)asm && \
	    ln -sfn /usr/include/asm-generic $(dir $@)asm-generic && touch $@

$(BUILD)/hvm-image: $(CONVERT_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/libhvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CONVERT_LIBS) $(LDLIBS)

$(BUILD)/hvm-exec-timer: $(BUILD)/obj/bench/exec_timer.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

# The agent is PID 1 in the guest: static, and small because the guest kernel copies every
# byte of the initramfs with emulated instructions on nested hosts.
AGENT_SRC := $(wildcard agent/*.c) $(wildcard proto/*.c) core/mkdir_p.c
$(BUILD)/hvm-agent: $(AGENT_SRC) $(wildcard agent/*.h) $(wildcard proto/*.h) core/layout.h \
		   core/mkdir_p.h \
		   $(BUILD)/obj/agent/cjson.o \
		   $(BUILD)/agent-include/.stamp
	@mkdir -p $(BUILD)
	@$(if $(Q),echo "  AGENT   $@")
	$(Q)$(AGENT_CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -Os -static -s -I$(BUILD)/cjson \
	    -I$(BUILD)/agent-include -o $@ $(AGENT_SRC) $(BUILD)/obj/agent/cjson.o

$(BUILD)/mkinitramfs: $(BUILD)/obj/tools/mkinitramfs.o $(BUILD)/obj/boot/cpio.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

# The initramfs holds only the agent: every byte of it is copied by emulated guest code.
$(BUILD)/hvm-initramfs.cpio: $(BUILD)/mkinitramfs $(BUILD)/hvm-agent
	@$(if $(Q),echo "  CPIO    $@")
	$(Q)$(BUILD)/mkinitramfs $@ $(BUILD)/hvm-agent

# The embedded default image (busybox), used when no --image is given.
$(BUILD)/hvm-rootfs.ext4: mk/rootfs.sh $(BUSYBOX)
	@$(if $(Q),echo "  ROOTFS  $@")
	$(Q)sh mk/rootfs.sh $(BUSYBOX) $@

# The HyperKernel: built once, cached under $(KERNEL_CACHE)/kernel by a hash of its inputs.
$(BUILD)/vmlinux: $(KERNEL_INPUTS)
	@mkdir -p $(BUILD)
	$(Q)sh kernel/build.sh $(KERNEL_CACHE) $@
kernel: $(BUILD)/vmlinux

# ---- make install [PREFIX=/usr/local] [DESTDIR=...] ----------------------------------------
# hvm-run and hvm-oci find the kernel, initramfs and default image in BINDIR/../lib/hvm
# (vmm/hvm_base.c, hvm_data_path); hvm-image sits next to them in bin, and is linked into lib/hvm
# too, so that HVM_DATA_DIR=PREFIX/lib/hvm is all a program embedding libhvm needs.
PREFIX  ?= /usr/local
BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib
DATADIR := $(LIBDIR)/hvm
MANDIR  := $(DESTDIR)$(PREFIX)/share/man
MAN_PAGES := $(wildcard man/*.[1-8])
install: all
	install -d $(BINDIR) $(DATADIR) $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(BUILD)/hvm-run $(BUILD)/hvm-oci $(BUILD)/hvm-image $(BINDIR)/
	install -m 644 $(BUILD)/vmlinux $(BUILD)/hvm-initramfs.cpio $(BUILD)/hvm-rootfs.ext4 $(DATADIR)/
	ln -sf ../../bin/hvm-image $(DATADIR)/hvm-image
	install -m 644 $(BUILD)/libhvm.a $(LIBDIR)/
	install -m 755 $(BUILD)/libhvm.so $(LIBDIR)/
	install -m 644 include/hvm.h $(DESTDIR)$(PREFIX)/include/
	for m in $(MAN_PAGES); do s=$${m##*.}; install -d $(MANDIR)/man$$s && \
		install -m 644 $$m $(MANDIR)/man$$s/ || exit 1; done
	install -m 644 completion/hvm.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hvm-run
	ln -sf hvm-run $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hvm-oci

# ---- KVM where there is none: the test host (tests/kvmhost/, docs/testhost.md) -----------
# `make kvmhost CMD='...'` runs CMD from the project root with KVM: on /dev/kvm when it is usable
# here, else inside a QEMU (TCG) VM whose own KVM runs hvm; HVM_KVMHOST=auto|always|never.
# exec: make's SIGTERM reaches the runner itself, which then ends QEMU.
KVMHOST = exec python3 tests/kvmhost/kvmhost.py --build $(BUILD)
# A make inside the test host gets this one's variables, but not MAKEFLAGS (its jobserver fds).
KVMHOST_MAKE := $(MAKE) --no-print-directory SANITIZE=$(SANITIZE) \
	$(if $(filter command line,$(origin BUILD)),BUILD=$(BUILD))
kvmhost: $(BUILD)/mkinitramfs
	@test -n "$$CMD" || { echo "usage: make kvmhost CMD='shell command'" >&2; exit 2; }
	$(Q)$(KVMHOST) "$$CMD"

# The README's first command: dependencies, everything built, the default image run once.
DEFAULT_CMD := echo "hello from $$(uname -sr) in an hvm micro-VM"; grep -c ^processor /proc/cpuinfo
run-default: all $(BUILD)/mkinitramfs
	$(Q)HVM_DEFAULT_CMD='$(DEFAULT_CMD)' $(KVMHOST) '$(BUILD)/hvm-run --cmd "$$HVM_DEFAULT_CMD"'

# ---- tests --------------------------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
KVM_SRC  := $(wildcard tests/kvm/test_*.c)
KVM_BIN  := $(KVM_SRC:tests/kvm/%.c=$(BUILD)/tests/kvm/%)
TEST_LIBS := $(filter-out $(BUILD)/obj/tools/hvm-run.o,$(RUN_OBJ)) \
	     $(filter-out $(BUILD)/obj/tools/hvm-image.o,$(CONVERT_SRC:%.c=$(BUILD)/obj/%.o)) \
	     $(OCI_UNIT_OBJ) $(BUILD)/libhvm.a

# The agent's session code, built for the host: its side of the stdin window is unit-tested.
$(BUILD)/tests/unit/test_agent_session: $(addprefix $(BUILD)/obj/agent/,session.o process.o user.o refresh.o \
	process_settings.o hook.o devices.o userns.o)

# Programs the e2e tests run inside the guest: static musl, like the agent.
GUEST_TEST_SRC := $(wildcard tests/guest/*.c)
GUEST_TEST_BIN := $(GUEST_TEST_SRC:tests/guest/%.c=$(BUILD)/tests/guest/%)
$(BUILD)/tests/guest/%: tests/guest/%.c proto/protocol.h $(BUILD)/agent-include/.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(AGENT_CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -Os -static -I$(BUILD)/agent-include -o $@ $<

# Raw guest kernels for the fault tests (booted with --kernel): freestanding, loaded at 16 MiB.
GUEST_TEST_BIN += $(patsubst tests/guest/%.S,$(BUILD)/tests/guest/%.elf,$(wildcard tests/guest/*.S))
$(BUILD)/tests/guest/%.elf: tests/guest/%.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,-Ttext=0x1000000 -Wl,-e,_start -Wl,--build-id=none -o $@ $<

# The hostile guest kernel (tests/hostile/test_hostile_guest.sh): freestanding C in its own
# directory, so the static-musl rule above does not take it. No SSE (the boot CPU state has
# no OSFXSR), no red zone (no IDT either, but the habit costs nothing), no libc, no PIE.
HOSTILE_GUEST_SRC := $(wildcard tests/guest/hostile_guest/*.c)
GUEST_TEST_BIN += $(BUILD)/tests/guest/hostile_guest.elf
$(BUILD)/tests/guest/hostile_guest.elf: $(HOSTILE_GUEST_SRC) $(wildcard tests/guest/hostile_guest/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -ffreestanding -fno-builtin -fno-pie -no-pie \
		-fno-stack-protector -fno-asynchronous-unwind-tables -mno-red-zone \
		-mgeneral-regs-only -nostdlib -static -Wl,-Ttext-segment=0x1000000 -Wl,-e,_start \
		-Wl,--build-id=none -o $@ $(HOSTILE_GUEST_SRC)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CONVERT_LIBS) $(LDLIBS)

# deps first: on a fresh machine `make test` alone must work (it installs only what is missing).
# The suites that need KVM run in one `make kvmhost` (one test host boot for all of them).
test: deps
	$(Q)$(MAKE) --no-print-directory test-unit test-man test-hostile test-kvmhost test-kvm-e2e fuzz-smoke

# The stdio bench speaks the agent protocol itself: its frame table is checked against the
# header here, where drift shows, not first in `make bench`.
test-unit: test-layers $(UNIT_BIN)
	$(Q)sh tests/run.sh unit $(UNIT_BIN)
	$(Q)python3 bench/stdio.py --self-test

# Every #include between folders points to a lower layer, and docs/architecture.md shows the
# arrows there are (mk/layers.sh).
test-layers:
	$(Q)sh mk/layers.sh --doc

# The man pages lint clean, and hvm-run(1) and `hvm-run --help` list the same flags; bash
# completion offers what each tool's --help lists.
test-man: $(BUILD)/hvm-run $(BUILD)/hvm-oci
	$(Q)sh tests/man.sh $(BUILD)
	$(Q)bash tests/completion.sh $(BUILD)

# The test host itself, forced on, so it is tested where /dev/kvm works too.
test-kvmhost: $(BUILD)/mkinitramfs
	$(Q)BUILD=$(BUILD) bash tests/kvmhost/test_kvmhost.sh

# The KVM suites: each target builds here what its tests run (nothing compiles in the test
# host, where the compiler is emulated too), then runs the *-here target through kvmhost.
# -k inside: every KVM suite runs even after one failed.
# The load test's long-lived program embedding libhvm.
LOAD_BIN := $(BUILD)/tests/load/embed_load
# Runs a command on a host that refuses user namespaces (seccomp, as Docker's default profile).
NO_USERNS_BIN := $(BUILD)/tests/e2e/no_userns
$(NO_USERNS_BIN): $(BUILD)/obj/tests/e2e/no_userns.o
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^
KVM_TEST_DEPS := $(KVM_BIN) $(BUILD)/vmlinux $(BUILD)/hvm-initramfs.cpio $(BUILD)/hvm-rootfs.ext4 \
		 $(BUILD)/hvm-image $(BUILD)/mkinitramfs
E2E_TEST_DEPS := all $(GUEST_TEST_BIN) $(LOAD_BIN) $(NO_USERNS_BIN) $(BUILD)/mkinitramfs
test-kvm: $(KVM_TEST_DEPS)
	$(Q)$(KVMHOST) '$(KVMHOST_MAKE) test-kvm-here'
# Where the e2e suites note each one's end, so that a fresh test host after a wedged one goes
# on from the next suite (tests/e2e/run.sh); emptied for every new run.
E2E_RESUME := $(abspath $(BUILD))/e2e-resume
test-e2e: $(E2E_TEST_DEPS) test-images
	$(Q)rm -rf $(E2E_RESUME); HVM_E2E_RESUME=$(E2E_RESUME) $(KVMHOST) '$(KVMHOST_MAKE) test-e2e-here'
test-kvm-e2e: $(KVM_TEST_DEPS) $(E2E_TEST_DEPS) test-images
	$(Q)rm -rf $(E2E_RESUME); HVM_E2E_RESUME=$(E2E_RESUME) \
		$(KVMHOST) '$(KVMHOST_MAKE) -k test-kvm-here test-e2e-here'

# test_api boots the real kernel, agent and image through libhvm: they are built first.
test-kvm-here: $(KVM_TEST_DEPS)
	$(Q)sh tests/run.sh kvm $(KVM_BIN)

# `make test-hostile`, both hostile suites. First the host-side driver: real devices attacked
# through their registers, no KVM needed;
# one line per attack class (docs/threat-model.md), then the total over every program, each
# of which runs even after another failed (tests/hostile/run.sh).
# One program per device or area (tests/hostile/hostile_*.c); each links the shared guest driver
# (hdrv), class runner (hrun) and device fixtures.
HOSTILE_BIN := $(addprefix $(BUILD)/tests/hostile/hostile_,transport desc blk net vsock serial)
HOSTILE_LIB := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out tests/hostile/hostile_%,$(wildcard tests/hostile/*.c)))
$(HOSTILE_BIN): $(BUILD)/tests/hostile/%: $(BUILD)/obj/tests/hostile/%.o $(HOSTILE_LIB) $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CONVERT_LIBS) $(LDLIBS)
# Then the hostile guest under KVM (tests/hostile/test_hostile_guest.sh), through the test host
# where there is no /dev/kvm; both run even when the first failed.
HOSTILE_GUEST_DEPS := all $(BUILD)/tests/guest/hostile_guest.elf $(BUILD)/mkinitramfs
test-hostile: $(HOSTILE_BIN) $(HOSTILE_GUEST_DEPS)
	$(Q)rc=0; sh tests/hostile/run.sh $(HOSTILE_BIN) || rc=1; \
	($(KVMHOST) 'BUILD=$(BUILD) bash tests/hostile/test_hostile_guest.sh') || rc=1; exit $$rc

test-e2e-here: $(E2E_TEST_DEPS)
	$(Q)sh tests/e2e/run.sh $(BUILD)

# The Debian root file systems the e2e tests boot (debootstrap, cached under $(BUILD)/test-cache),
# made here before the test host starts: it has no network.
test-images: deps
	$(Q)BUILD=$(BUILD) bash tests/e2e/prepare.sh

# The guest micro-cost program bench/guest.py runs in a VM: static musl, like the agent.
$(BUILD)/bench/guest_ops: bench/guest_ops.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUEST   $@")
	$(Q)$(AGENT_CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -O2 -static -o $@ $<

bench: all $(BUILD)/mkinitramfs $(BUILD)/bench/guest_ops test-images
	$(Q)$(KVMHOST) 'set -e; for b in guest boot snapshot stdio oci net volumes; do python3 bench/$$b.py $(BUILD) $(BENCH_RUNS); done'

# Load at scale (bench/load.py): LOAD_SEQ in sequence, LOAD_CONC at once, LOAD_CLONES clones at
# once, in one libhvm process and as hvm-runs; what each phase leaves behind. Not in make test.
bench-load: all $(LOAD_BIN)
	$(Q)$(KVMHOST) 'python3 -u bench/load.py $(BUILD)'

clean:
	rm -rf $(BUILD)/obj $(BUILD)/obj-pic $(BUILD)/tests $(BUILD)/hvm-run $(BUILD)/hvm-oci $(BUILD)/libhvm.a \
	       $(BUILD)/libhvm.so $(BUILD)/examples $(BUILD)/hvm-agent \
	       $(BUILD)/mkinitramfs $(BUILD)/hvm-initramfs.cpio $(BUILD)/hvm-rootfs.ext4 \
	       $(BUILD)/hvm-exec-timer $(BUILD)/hvm-image

# Also drops the cached kernel builds.
distclean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/obj-pic -name '*.d' 2>/dev/null)

# ---- fuzzing: libFuzzer targets in tests/fuzz/ (clang; `sh mk/deps.sh fuzz`) -------------
# Everything is rebuilt with clang, ASan and UBSan into $(BUILD)/fuzz/; `make fuzz` gives each
# target FUZZ_TIME seconds, `make fuzz-smoke` (part of `make test`) 30 s, one at a time.
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 300
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -DHVM_VERSION='"$(VERSION)"' -MMD -MP \
	       -Wno-gnu-variable-sized-type-not-at-end -Wno-string-concatenation \
	       -Wno-format-nonliteral -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	       -fsanitize=fuzzer-no-link
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LIB_OBJ := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRC) \
		$(filter-out tools/hvm-run.c,$(RUN_SRC)) $(filter-out tools/hvm-image.c,$(CONVERT_SRC)) \
		$(OCI_UNIT_SRC))

# clang and its fuzzer runtime are installed first (only if missing), so `make fuzz-smoke`
# works alone on a fresh machine; order-only, so it never forces a rebuild.
fuzz-deps:
	$(Q)sh mk/deps.sh fuzz

$(BUILD)/fuzz/obj/%.o: %.c | fuzz-deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# SHA-256 gets no coverage feedback: no input steers it toward a digest it cannot forge, and
# its instrumented compares took half of fuzz_tar's time. ASan and UBSan still check it.
$(BUILD)/fuzz/obj/image/sha256.o: FUZZ_CFLAGS := $(filter-out -fsanitize=fuzzer-no-link,$(FUZZ_CFLAGS))

$(BUILD)/fuzz/libhvm-fuzz.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BIN): $(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(BUILD)/fuzz/libhvm-fuzz.a | fuzz-deps
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(CONVERT_LIBS) $(LDLIBS)

fuzz: $(FUZZ_BIN)
	$(Q)sh tests/fuzz/run.sh $(FUZZ_TIME) $(BUILD)/fuzz/artifacts $(FUZZ_BIN)

fuzz-smoke: $(FUZZ_BIN)
	$(Q)sh tests/fuzz/run.sh 30 $(BUILD)/fuzz/artifacts $(FUZZ_BIN)

-include $(shell find $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)

# ---- make SANITIZE=1 ...: the host side built with ASan and UBSan (gcc) ------------------
# `make SANITIZE=1 test` runs the whole suite so. Its BUILD is build-san (see the top): an
# explicit BUILD= must not be the normal build's either. ASan cannot link -static, so hvm-run
# and hvm-oci are dynamic then. The agent, guest programs and kernel are never sanitized.
# core/seccomp.c allows the calls of the ASan and LSan runtimes in this build only.
RUN_STATIC := $(if $(filter 1,$(SANITIZE)),,-static)
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
