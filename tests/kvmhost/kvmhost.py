#!/usr/bin/env python3
"""Runs a shell command with KVM: on /dev/kvm when it is usable here, else in the KVM test host.

The test host (docs/testhost.md) is QEMU in software emulation (TCG, -cpu max emulates AMD SVM)
booting Debian's own kernel, whose kvm_amd gives a /dev/kvm inside. Its root is this machine's /
(9p, read-only, an overlay on tmpfs), so every tool and path is the same; the project checkout is
shared read-write, so what the command writes there stays. The command's stdout and stderr stream
live through two virtio-serial ports; its exit status is ours.

Usage: kvmhost.py [--build DIR] [--timeout SEC] CMD
Environment: HVM_KVMHOST=auto|always|never, HVM_KVMHOST_TIMEOUT (s, all tries together),
HVM_KVMHOST_RETRIES (fresh test hosts after one wedged, default 2), HVM_KVMHOST_MEM (MiB),
HVM_KVMHOST_CPU (QEMU's -cpu for the test host), HVM_KVMHOST_CONSOLE=1 (the test host's kernel
console on stderr, live), HVM_KVMHOST_KERNEL (boot another kernel than Debian's newest; its
modules must be the same version), HVM_KVMHOST_DEBUG=1 (a root shell in the running test host:
kvmhost.py --attach SOCKET, as it prints).
Exit: the command's status; 124 timeout; 125 the test host failed; 128+N stopped by signal N.
"""
import argparse
import ctypes
import errno
import fcntl
import glob
import hashlib
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(PROJECT, "tests", "kvmhost")
# The modules stage 1 loads to reach the machine's files and the output ports; their
# dependencies come from modprobe, in its order.
STAGE1_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay", "virtio_console")
# The caller's variables that describe the caller's process, not the command's world.
ENV_DROP = {"PWD", "OLDPWD", "SHLVL", "_", "HOSTNAME", "TMPDIR", "XDG_RUNTIME_DIR", "MAKEFLAGS",
            "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR", "MAKE_TERMIN"}
CONSOLE_TAIL = 25
# An EPYC with SVM and nested paging, not -cpu max: with max, QEMU 7.2's emulation corrupted
# nested guests under load (8 of 80 VMs triple-faulted with 20 booting at once; 0 of 60 with
# this model; docs/platform.md). nrip-save lets kvm_amd skip decoding on intercepts.
CPU_MODEL = "EPYC,+svm,+npt,+nrip-save"
# The test host's kernel saying one of its CPUs stopped answering: QEMU's emulation wedged it
# (docs/platform.md). Nothing inside can recover from that; a fresh test host can, so the
# command runs again there (HVM_KVMHOST_RETRIES times at most).
WEDGE = re.compile(rb"watchdog: BUG: soft lockup - CPU#\d+ stuck|rcu: INFO: rcu_\w+ detected stalls")
WEDGED = -1
# After a timeout: the console's last lines, which then hold the kernel's dump of blocked tasks
# and of every CPU's backtrace (sysrq w and l), the first clue to what hung.
TIMEOUT_TAIL = 150
PR_SET_PDEATHSIG = 1


class Fail(Exception):
    """A failure of the test host itself: one line, exit 125."""


def say(msg):
    sys.stderr.write("kvmhost: %s\n" % msg)
    sys.stderr.flush()


def kvm_usable():
    """(True, why) when /dev/kvm opens and makes a VM; (False, why) otherwise."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return False, "/dev/kvm: %s" % e.strerror
    try:
        api = fcntl.ioctl(fd, 0xAE00)  # KVM_GET_API_VERSION
        if api != 12:
            return False, "/dev/kvm: KVM API %d, not 12" % api
        os.close(fcntl.ioctl(fd, 0xAE01, 0))  # KVM_CREATE_VM
        return True, "/dev/kvm makes VMs"
    except OSError as e:
        return False, "/dev/kvm: KVM_CREATE_VM: %s" % e.strerror
    finally:
        os.close(fd)


def choose_path():
    """Says once which path is taken and why; True for the test host."""
    mode = os.environ.get("HVM_KVMHOST", "auto")
    if mode not in ("auto", "always", "never"):
        raise Fail("HVM_KVMHOST=%s: want auto, always or never" % mode)
    usable, why = kvm_usable()
    if mode == "never" or (mode == "auto" and usable):
        say("running directly (%s; HVM_KVMHOST=%s)" % (why, mode))
        return False
    say("running in the KVM test host (%s; HVM_KVMHOST=%s)" % (why, mode))
    return True


def host_kernel():
    """The newest Debian kernel here with a vmlinuz and kvm_amd: (version, vmlinuz path)."""
    found = []
    for moddir in glob.glob("/lib/modules/*"):
        kver = os.path.basename(moddir)
        vmlinuz = "/boot/vmlinuz-" + kver
        if os.path.exists(vmlinuz) and glob.glob(moddir + "/kernel/arch/x86/kvm/kvm-amd.ko*"):
            found.append(kver)
    if not found:
        raise Fail("no kernel with kvm_amd in /lib/modules and /boot: install linux-image-amd64 "
                   "(make deps)")
    kver = max(found, key=lambda v: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", v)])
    return kver, "/boot/vmlinuz-" + kver


def module_files(kver):
    """The .ko files stage 1 insmods, dependencies first, each once."""
    files = []
    for mod in STAGE1_MODULES:
        try:
            out = subprocess.run(["modprobe", "-S", kver, "--show-depends", mod], check=True,
                                 capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise Fail("modprobe --show-depends %s for %s: %s" % (mod, kver, e))
        for line in out.splitlines():
            words = line.split()
            if words[:1] == ["insmod"] and words[1] not in files:
                files.append(words[1])
    return files


def initramfs(build, kver):
    """Builds (once per input) the stage 1 initramfs with the project's cpio writer; its path."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    mods = module_files(kver)
    key = hashlib.sha256()
    for path in [os.path.join(HERE, "init"), os.path.join(HERE, "stage2"), busybox] + mods:
        with open(path, "rb") as f:
            key.update(path.encode() + b"\0" + f.read())
    outdir = os.path.join(build, "kvmhost")
    out = os.path.join(outdir, "initramfs-%s-%s.cpio" % (kver, key.hexdigest()[:16]))
    if os.path.exists(out):
        return out
    mkinitramfs = os.path.join(build, "mkinitramfs")
    if not os.access(mkinitramfs, os.X_OK):
        raise Fail("%s: missing (make %s)" % (mkinitramfs, mkinitramfs))
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="initramfs.", dir=outdir) as tree:
        os.makedirs(tree + "/bin")
        os.makedirs(tree + "/mod")
        shutil.copy(busybox, tree + "/bin/busybox")
        names = []
        for path in mods:
            if not path.endswith(".ko"):
                raise Fail("%s: compressed modules are not supported" % path)
            shutil.copy(path, tree + "/mod/")
            names.append(os.path.basename(path)[:-3])
        with open(tree + "/modules", "w") as f:
            f.write("\n".join(names) + "\n")
        for script in ("init", "stage2"):
            shutil.copy(os.path.join(HERE, script), tree + "/" + script)
            os.chmod(tree + "/" + script, 0o755)
        subprocess.run([mkinitramfs, "--tree", out, tree], check=True)
    for old in glob.glob(os.path.join(outdir, "initramfs-*.cpio")):
        if old != out:
            os.unlink(old)
    return out


def memory_mib():
    """Half the machine's memory, at most 16 GiB, unless HVM_KVMHOST_MEM says otherwise."""
    if os.environ.get("HVM_KVMHOST_MEM"):
        return int(os.environ["HVM_KVMHOST_MEM"])
    with open("/proc/meminfo") as f:
        total_kib = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    return max(1024, min(16384, total_kib // 2048))


def write_control(ctl, cmd, project):
    """The command, the caller's environment and the project root, for stage 2."""
    with open(os.path.join(ctl, "cmd"), "w") as f:
        f.write(cmd)
    with open(os.path.join(ctl, "project"), "w") as f:
        f.write(project)
    with open(os.path.join(ctl, "env.sh"), "w") as f:
        for name, value in sorted(os.environ.items()):
            if name not in ENV_DROP and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                f.write("export %s=%s\n" % (name, shlex.quote(value)))
        # Tests that load the machine scale to what the test host's emulation sustains.
        f.write("export HVM_IN_KVMHOST=1\n")


def qemu_argv(kver, vmlinuz, initrd, tmp, ctl, project):
    ports = []
    for name in ("stdout", "stderr"):
        ports += ["-chardev", "pipe,id=%s,path=%s/%s" % (name, tmp, name),
                  "-device", "virtserialport,chardev=%s,name=kvmhost.%s" % (name, name)]
    if os.environ.get("HVM_KVMHOST_DEBUG") == "1":
        ports += ["-chardev", "socket,id=debug,path=%s/debug.sock,server=on,wait=off" % tmp,
                  "-device", "virtserialport,chardev=debug,name=kvmhost.debug"]
        say("debug shell: python3 tests/kvmhost/kvmhost.py --attach %s/debug.sock" % tmp)
    share = "local,security_model=passthrough,multidevs=remap"
    return ["qemu-system-x86_64", "-M", "q35", "-accel", "tcg,thread=multi,tb-size=1024",
            "-cpu", os.environ.get("HVM_KVMHOST_CPU", CPU_MODEL),
            "-smp", str(len(os.sched_getaffinity(0))), "-m", str(memory_mib()),
            "-nographic", "-no-reboot", "-nic", "none",
            "-monitor", "unix:%s/monitor.sock,server=on,wait=off" % tmp,
            "-serial", "file:%s/console" % tmp,
            "-kernel", vmlinuz, "-initrd", initrd,
            # kvm.nx_huge_pages=never: no kvm-nx-lpage-recovery thread per VM. Under TCG that
            # thread was seen stuck on one CPU with a kworker on the other (soft lockups
            # of minutes): the whole test host stalled, its VMs with it.
            "-append", "console=ttyS0 quiet panic=-1 mitigations=off sysrq_always_enabled "
                       "kvm.nx_huge_pages=never",
            "-fsdev", "%s,id=hostroot,path=/,readonly=on" % share,
            "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
            "-fsdev", "%s,id=project,path=%s" % (share, project),
            "-device", "virtio-9p-pci,fsdev=project,mount_tag=project",
            "-fsdev", "local,security_model=none,id=ctl,path=%s" % ctl,
            "-device", "virtio-9p-pci,fsdev=ctl,mount_tag=kvmhostctl",
            "-device", "virtio-serial-pci"] + ports


class Relay:
    """Copies what a FIFO QEMU writes to one of our fds, as it comes."""

    def __init__(self, path, dest):
        os.mkfifo(path + ".out")
        os.mkfifo(path + ".in")
        self.fd = os.open(path + ".out", os.O_RDONLY | os.O_NONBLOCK)
        # QEMU opens both ends read-write; ours keeps its input end from reading EOF.
        self.hold = os.open(path + ".in", os.O_RDWR)
        self.dest = dest

    def pump(self):
        """Forwards what is there; False at EOF."""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return True
            if not data:
                return False
            view = memoryview(data)
            while view:
                view = view[os.write(self.dest, view):]

    def close(self):
        os.close(self.fd)
        os.close(self.hold)


class Stop(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def on_signal(signum, _frame):
    raise Stop(signum)


def console_tail(tmp, count=CONSOLE_TAIL):
    try:
        with open(os.path.join(tmp, "console"), "rb") as f:
            lines = f.read().decode(errors="replace").replace("\r", "").splitlines()
    except OSError:
        return "(no console output)"
    return "\n".join("  | " + line for line in lines[-count:]) or "  (empty)"


def dump_tasks(tmp):
    """Asks the test host's kernel, through a key press on its monitor, for its blocked tasks
    and every CPU's backtrace; they land on the console. Works while its user space is stuck."""
    try:
        with socket.socket(socket.AF_UNIX) as mon:
            mon.settimeout(5)
            mon.connect(os.path.join(tmp, "monitor.sock"))
            for key in ("w", "l"):
                mon.sendall(b"sendkey alt-sysrq-%s\n" % key.encode())
                time.sleep(3)
    except OSError as e:
        say("monitor: %s (no task dump)" % e)


def stop_qemu(qemu):
    if qemu.poll() is None:
        qemu.terminate()
        try:
            qemu.wait(5)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()


def run_in_test_host(cmd, build, timeout):
    """Runs cmd in a test host, in a fresh one again after one wedged; its status."""
    retries = int(os.environ.get("HVM_KVMHOST_RETRIES", "2"))
    deadline = time.monotonic() + timeout
    for attempt in range(retries + 1):
        status = run_once(cmd, build, max(1, int(deadline - time.monotonic())))
        if status != WEDGED:
            return status
        if attempt < retries:
            say("starting a fresh test host for the same command (%d of %d more)" %
                (attempt + 1, retries))
    raise Fail("the test host wedged %d times (HVM_KVMHOST_RETRIES=%d)" % (retries + 1, retries))


def run_once(cmd, build, timeout):
    for tool in ("qemu-system-x86_64", "modprobe"):
        if not shutil.which(tool):
            raise Fail("%s: not installed (make deps)" % tool)
    kver, vmlinuz = host_kernel()
    vmlinuz = os.environ.get("HVM_KVMHOST_KERNEL") or vmlinuz
    initrd = initramfs(build, kver)
    tmp = tempfile.mkdtemp(prefix="kvmhost.")
    qemu = None
    relays = []
    try:
        ctl = os.path.join(tmp, "ctl")
        os.mkdir(ctl)
        write_control(ctl, cmd, PROJECT)
        relays = [Relay(os.path.join(tmp, "stdout"), 1), Relay(os.path.join(tmp, "stderr"), 2)]
        argv = qemu_argv(kver, vmlinuz, initrd, tmp, ctl, PROJECT)
        libc = ctypes.CDLL(None, use_errno=True)
        log = open(os.path.join(tmp, "qemu.log"), "wb")
        qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                preexec_fn=lambda: libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL))
        log.close()
        status = supervise(qemu, relays, tmp, timeout)
        if status is not None:
            return status
        return verdict(ctl, tmp, qemu.returncode)
    finally:
        if qemu is not None:
            stop_qemu(qemu)
        for r in relays:
            r.close()
        shutil.rmtree(tmp, ignore_errors=True)


class ConsoleWatch:
    """The test host's console, read as it grows: echoed when asked, searched for WEDGE."""

    def __init__(self, tmp):
        self.file = open(os.path.join(tmp, "console"), "a+b")
        self.file.seek(0)
        self.echo = os.environ.get("HVM_KVMHOST_CONSOLE") == "1"
        self.last = b""  # the unfinished last line, kept for the next search

    def wedged(self):
        data = self.file.read()
        if self.echo and data:
            sys.stderr.buffer.write(data)
            sys.stderr.flush()
        text = self.last + data
        self.last = text[text.rfind(b"\n") + 1:]
        return WEDGE.search(text) is not None


def supervise(qemu, relays, tmp, timeout):
    """Streams output until QEMU exits (None), the timeout ends it (124) or its kernel reports
    a wedged CPU (WEDGED)."""
    deadline = time.monotonic() + timeout
    console = ConsoleWatch(tmp)
    while qemu.poll() is None:
        if time.monotonic() > deadline:
            dump_tasks(tmp)
            stop_qemu(qemu)
            say("the command ran past %d s (HVM_KVMHOST_TIMEOUT); stopped the test host; "
                "its console ends:\n%s" % (timeout, console_tail(tmp, TIMEOUT_TAIL)))
            return 124
        select.select([r.fd for r in relays], [], [], 0.25)
        for r in relays:
            r.pump()
        if console.wedged():
            stop_qemu(qemu)
            say("the test host wedged: its kernel reports a CPU that stopped answering (the "
                "emulator's fault, docs/platform.md); its console ends:\n%s" % console_tail(tmp))
            return WEDGED
    for r in relays:
        while r.pump():
            pass
    return None


def verdict(ctl, tmp, qemu_rc):
    """The command's exit status, or Fail with why the test host did not give one."""
    def read(name):
        try:
            with open(os.path.join(ctl, name)) as f:
                return f.read().strip()
        except OSError:
            return None

    rc = read("rc")
    if rc is not None and rc.isdigit():
        return int(rc)
    if read("error"):
        raise Fail("test host: %s" % read("error"))
    with open(os.path.join(tmp, "qemu.log"), "rb") as f:
        qlog = f.read().decode(errors="replace").strip()
    what = "stopped before the command finished" if read("state") else "did not boot"
    raise Fail("test host %s (QEMU exit %d%s); its console ends:\n%s" % (
        what, qemu_rc, ": " + qlog.splitlines()[-1] if qlog else "", console_tail(tmp)))


def attach(path):
    """Our stdin to the test host's debug shell, its output to our stdout, until EOF."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    while True:
        ready = select.select([sock, 0], [], [])[0]
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                return 0
            os.write(1, data)
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                time.sleep(2)  # the answer to the last command
                sock.setblocking(False)
                try:
                    os.write(1, sock.recv(1 << 20))
                except BlockingIOError:
                    pass
                return 0
            sock.sendall(data)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--attach":
        return attach(sys.argv[2])
    ap = argparse.ArgumentParser(description="Run a shell command with KVM (docs/testhost.md).")
    ap.add_argument("--build", default=os.path.join(PROJECT, "build"))
    ap.add_argument("--timeout", type=int,
                    default=int(os.environ.get("HVM_KVMHOST_TIMEOUT", "4800")))
    ap.add_argument("cmd")
    args = ap.parse_args()
    if not args.cmd.strip():
        say("no command (make kvmhost CMD='...')")
        return 125
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # our caller gone (make killed): we go too
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        if not choose_path():
            os.chdir(PROJECT)
            os.execv("/bin/sh", ["/bin/sh", "-c", args.cmd])
        return run_in_test_host(args.cmd, os.path.abspath(args.build), args.timeout)
    except Fail as e:
        say(str(e))
        return 125
    except Stop as e:
        say("stopped by signal %d; the test host is gone" % e.signum)
        return 128 + e.signum
    except BrokenPipeError:
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
