#!/usr/bin/env python3
"""Boot benchmark: hvm vs QEMU microvm on the same vmlinux, initramfs and command line.

Runs are alternated (hvm, QEMU, hvm, ...) so drift on a shared machine hits both alike.
Both are started through hvm-exec-timer, which records CLOCK_MONOTONIC just before exec:
  exec -> first guest instruction   hvm only (its vCPU thread stamps the first KVM_RUN)
  exec -> agent ready               both: the agent's write to the boot-timer port; QEMU
                                    sees it through an isa-debugcon on that port
  VMM RSS excluding guest RAM       both, sampled when the agent is ready
Usage: bench/boot.py BUILD_DIR [RUNS]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
MEM_MIB = 128
CPUS = 1	# both VMMs; hvm-run's own default is 2 where the host has 2 CPUs
# acpi=off: only then does QEMU 7.2 append its virtio_mmio.device= entries to the command line;
# with ACPI on it describes them in ACPI tables, which the HyperKernel does not read (no disk).
MICROVM = "microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on,acpi=off"
BOOT_TIMER_PORT = 0x440          # core/layout.h PORT_BOOT_TIMER
TIMEOUT_S = 600

HVM = os.path.join(BUILD, "hvm-run")
TIMER = os.path.join(BUILD, "hvm-exec-timer")
KERNEL = os.path.join(BUILD, "vmlinux")
INITRD = os.path.join(BUILD, "hvm-initramfs.cpio")
ROOTFS = os.path.join(BUILD, "hvm-rootfs.ext4")
ROOT_SERIAL = "hvm-root"         # tools/run_request.h RUN_ROOT_SERIAL


def cpio_entry(name, mode, data=b"", ino=[100]):
    """One newc entry (the format the agent's request archive uses)."""
    ino[0] += 1
    nb = name.encode() + b"\0"
    fields = [ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0]
    out = b"070701" + b"".join(b"%08X" % f for f in fields) + nb
    out += b"\0" * (-len(out) % 4)
    return out + data + b"\0" * (-len(data) % 4)


def qemu_initrd(path):
    """The built-in initramfs plus the boot request hvm-run appends: the same root disk and
    overlay. QEMU has no vsock bridge here, so the agent reports ready and powers off."""
    base = open(INITRD, "rb").read()
    request = b"root=" + ROOT_SERIAL.encode() + b"\0overlay=1\0quiet=1\0"
    if os.path.isdir("/sys/module/kvm_pvm"):
        request += b"no_avx=1\0"
    extra = (cpio_entry("hvm", 0o040755) + cpio_entry("hvm/run", 0o100444, request)
             + cpio_entry("TRAILER!!!", 0))
    with open(path, "wb") as f:
        f.write(base + b"\0" * (-len(base) % 4) + extra)


def rss_excluding_guest(pid, guest_bytes):
    """Sum of Rss over /proc/PID/smaps minus the mapping(s) that back guest RAM."""
    total = guest = 0
    size = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(x, 16) for x in head.split("-"))
                size = hi - lo
            elif head == "Rss:":
                kib = int(line.split()[1])
                total += kib
                if guest_bytes <= size <= guest_bytes + (64 << 20):
                    guest += kib
    return total - guest


def run_hvm(work):
    metrics = os.path.join(work, "m.json")
    # --cold: a boot, like QEMU's (bench/snapshot.py measures starts from a template).
    cmd = [TIMER, HVM, "--cold", "--cpus", str(CPUS), "--memory", str(MEM_MIB),
           "--metrics-json", metrics, "--cmd", "true"]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    if r.returncode != 0:
        sys.exit(f"hvm-run failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    m = json.load(open(metrics))
    if m["origin"] != "exec":
        sys.exit("hvm-run did not pick up HVM_T0_US")
    p = m["phases_us"]
    return {"first_insn": p["first_vcpu_entry"], "ready": p["agent_ready"], "rss": m["vmm_rss_kib"]}


def run_qemu(work, cmdline, initrd):
    fifo = os.path.join(work, "dbg")
    for suffix in (".in", ".out"):
        if not os.path.exists(fifo + suffix):
            os.mkfifo(fifo + suffix)
    t0file = os.path.join(work, "t0")
    cmd = [TIMER, "/usr/bin/qemu-system-x86_64",
           "-M", MICROVM,
           "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", str(MEM_MIB), "-smp", str(CPUS),
           "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
           "-serial", "null", "-kernel", KERNEL, "-initrd", initrd, "-append", cmdline,
           "-drive", f"id=root,file={ROOTFS},format=raw,if=none,readonly=on",
           "-device", f"virtio-blk-device,drive=root,serial={ROOT_SERIAL}",
           "-chardev", f"pipe,id=dbg,path={fifo}",
           "-device", f"isa-debugcon,iobase={BOOT_TIMER_PORT:#x},chardev=dbg"]
    env = dict(os.environ, HVM_T0_FILE=t0file)
    q = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    with open(fifo + ".out", "rb", buffering=0) as dbg:
        byte = dbg.read(1)
        ready = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        rss = rss_excluding_guest(q.pid, MEM_MIB << 20) if byte else None
    if q.wait(timeout=TIMEOUT_S) != 0 or not byte:
        sys.exit(f"qemu failed ({q.returncode}): {q.stderr.read().decode()[-500:]}")
    t0 = int(open(t0file).read())
    return {"ready": ready - t0, "rss": rss}


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    cmdline = subprocess.run([HVM, "--print-cmdline"], check=True, capture_output=True,
                             text=True).stdout.strip()
    hvm, qemu = [], []
    with tempfile.TemporaryDirectory(prefix="hvm-bench.") as work:
        initrd = os.path.join(work, "initrd.cpio")
        qemu_initrd(initrd)
        for i in range(RUNS):
            hvm.append(run_hvm(work))
            qemu.append(run_qemu(work, cmdline, initrd))
            print(f"run {i + 1}/{RUNS}: hvm ready {hvm[-1]['ready'] / 1e6:.2f} s, "
                  f"qemu ready {qemu[-1]['ready'] / 1e6:.2f} s", file=sys.stderr)

    fi, hr, qr = med(hvm, "first_insn"), med(hvm, "ready"), med(qemu, "ready")
    hm, qm = med(hvm, "rss"), med(qemu, "rss")
    print(f"boot benchmark: {RUNS} alternating runs each, {MEM_MIB} MiB, {CPUS} vCPU, "
          "same vmlinux, initramfs and command line; medians")
    print(f"  exec -> first guest instruction  hvm {fi / 1000:8.2f} ms")
    print(f"  exec -> agent ready              hvm {hr / 1e6:8.2f} s   qemu {qr / 1e6:8.2f} s   "
          f"ratio hvm/qemu {hr / qr:.3f}")
    print(f"  VMM RSS excluding guest RAM      hvm {hm / 1024:8.1f} MiB qemu {qm / 1024:8.1f} MiB "
          f"ratio hvm/qemu {hm / qm:.3f}")


if __name__ == "__main__":
    main()
