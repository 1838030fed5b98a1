#!/usr/bin/env python3
"""Guest micro-costs: what one getpid, one fork, one page fault and one 4 MiB memcpy cost inside
an hvm guest here (bench/guest_ops.c, median of RUNS fresh VMs, 128 MiB, 1 vCPU).

These are the numbers that tell platforms apart (docs/platform.md): on nested PVM the guest
kernel's instructions are emulated (system calls and faults ~1000x slower, user code native); in
the KVM test host everything is emulated by QEMU's TCG, more evenly. There is no QEMU row: the
guest's own instructions cost the same under any VMM on one platform (bench/boot.py shows it).

Usage: bench/guest.py BUILD_DIR [RUNS]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

KEYS = ("getpid_ns", "fork_us", "page_fault_ns", "memcpy_4mib_us")


def platform():
    if os.path.isdir("/sys/module/kvm_pvm"):
        return "nested PVM"
    with open("/proc/cpuinfo") as f:
        return "KVM test host (TCG)" if "QEMU" in f.read() else "KVM"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    prog = os.path.join(build, "bench", "guest_ops")
    with tempfile.TemporaryDirectory(prefix="hvm-bench-guest.") as work:
        tree = os.path.join(work, "t")
        os.mkdir(tree)
        shutil.copy(prog, tree)
        disk = os.path.join(work, "t.img")
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", tree, disk, "8M"], check=True,
                       stdout=subprocess.DEVNULL)
        rows = []
        for _ in range(runs):
            r = subprocess.run([os.path.join(build, "hvm-run"), "--cpus", "1", "-v",
                                disk + ":/t:ro", "--", "/t/guest_ops"],
                               capture_output=True, timeout=600)
            if r.returncode != 0:
                sys.exit("guest_ops failed (%d): %s" % (r.returncode, r.stderr.decode()[-400:]))
            rows.append(json.loads(r.stdout))
    print("guest micro-costs on %s, median of %d VMs:" % (platform(), runs))
    for key in KEYS:
        print("  %-16s %12.1f" % (key, statistics.median(row[key] for row in rows)))


if __name__ == "__main__":
    main()
