#!/usr/bin/env python3
"""Stdio benchmark: host -> guest -> host throughput of `cat` through the agent protocol.

hvm: `hvm-run -i --cmd cat` with N MiB piped in and read back (checked by length). The fixed
cost (boot, power-off) is measured with an empty stdin in the same run and subtracted, so
the figure is the transfer alone. QEMU microvm would run the same agent over
`-device vhost-vsock-device`, with this script as the host side; that needs /dev/vhost-vsock
on the host, and when it is missing the QEMU column says so instead of a number.
Usage: bench/stdio.py BUILD_DIR [RUNS]   (HVM_BENCH_STDIO_MIB, default 8: the transfer
crosses emulated guest kernel code on nested hosts and moves well under 1 MiB/s there)
"""
import os
import statistics
import subprocess
import sys
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
MIB = int(os.environ.get("HVM_BENCH_STDIO_MIB", "8"))
HVM = os.path.join(BUILD, "hvm-run")
CHUNK = 1 << 16


def run_cat(nbytes):
    """Seconds for hvm-run to pipe nbytes through `cat` in the guest and back."""
    t0 = time.monotonic()
    p = subprocess.Popen([HVM, "-i", "--cmd", "cat"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        block = b"x" * CHUNK
        left = nbytes
        while left > 0:
            p.stdin.write(block[:min(left, CHUNK)])
            left -= CHUNK
        p.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    got = 0
    while True:
        data = p.stdout.read(CHUNK)
        if not data:
            break
        got += len(data)
    writer.join()
    rc = p.wait()
    secs = time.monotonic() - t0
    if rc != 0 or got != nbytes:
        sys.exit(f"hvm-run failed: exit {rc}, {got} of {nbytes} bytes back: "
                 f"{p.stderr.read().decode()[-300:]}")
    return secs


def qemu_reason():
    """Why QEMU's vhost-vsock run cannot happen here, or None when it could."""
    if not os.path.exists("/dev/vhost-vsock"):
        return "no /dev/vhost-vsock on this host (vhost_vsock module absent)"
    return "vhost-vsock host side not implemented in this script yet"


def main():
    nbytes = MIB << 20
    fixed, total = [], []
    for i in range(RUNS):
        fixed.append(run_cat(0))
        total.append(run_cat(nbytes))
        print(f"run {i + 1}/{RUNS}: empty {fixed[-1]:.2f} s, {MIB} MiB {total[-1]:.2f} s",
              file=sys.stderr)
    transfer = statistics.median(total) - statistics.median(fixed)
    rate = MIB / transfer if transfer > 0 else float("inf")
    print(f"stdio benchmark: {MIB} MiB through `cat` (stdin in, stdout out), {RUNS} runs, medians")
    print(f"  hvm   {rate:8.3f} MiB/s   (transfer {transfer:.2f} s after a "
          f"{statistics.median(fixed):.2f} s fixed cost)")
    print(f"  qemu  not measured: {qemu_reason()}; ratio hvm/qemu not available")


if __name__ == "__main__":
    main()
