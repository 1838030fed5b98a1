#!/usr/bin/env python3
"""Volume benchmark: a host directory shared over 9p (docs/volumes.md) against a virtio-blk
disk volume (ext4) and the root's tmpfs overlay, in one VM each run (128 MiB, 2 vCPUs).

In the guest, for each of /share, /disk and /root-tmp:
  write   dd of S MiB in 512 KiB blocks, fsync'ed at the end          MiB/s
  read    dd of that file back, page cache dropped first              MiB/s
  create, stat, unlink   of K empty files, one shell builtin each     files/s
Times come from /proc/uptime (10 ms resolution): S and K are sized so each step takes long
enough. The median of RUNS runs is printed, and the share's ratio to the disk.

Not measured yet: QEMU microvm with -virtfs on the same directory. It needs the guest
kernel's virtio transport for 9p (CONFIG_NET_9P_VIRTIO), which the HyperKernel leaves out.

Usage: bench/volumes.py BUILD_DIR [RUNS]
Environment: HVM_BENCH_VOL_MIB=S (default 64; 8 on nested PVM hosts), HVM_BENCH_VOL_FILES=K
(default 500; 100 on nested PVM hosts).
"""
import os
import statistics
import subprocess
import sys
import tempfile

NESTED = os.path.isdir("/sys/module/kvm_pvm")
MIB = int(os.environ.get("HVM_BENCH_VOL_MIB", 8 if NESTED else 64))
FILES = int(os.environ.get("HVM_BENCH_VOL_FILES", 100 if NESTED else 500))

GUEST = r"""
t() { read u _ </proc/uptime; echo $u; }
rate() { awk -v a=$1 -v b=$2 -v n=$3 'BEGIN { d = b - a; if (d < 0.01) d = 0.01; printf "%.1f", n / d }'; }
for d in /share /disk /root-tmp; do
  mkdir -p $d/b && cd $d/b || exit 1
  s=$(t); dd if=/dev/zero of=f bs=512k count=$((MIB * 2)) conv=fsync 2>/dev/null; e=$(t)
  echo "$d write $(rate $s $e $MIB)"
  sync; echo 3 >/proc/sys/vm/drop_caches
  s=$(t); dd if=f of=/dev/null bs=512k 2>/dev/null; e=$(t)
  echo "$d read $(rate $s $e $MIB)"
  rm f
  s=$(t); i=0; while [ $i -lt $FILES ]; do : >s$i; i=$((i + 1)); done; e=$(t)
  echo "$d create $(rate $s $e $FILES)"
  s=$(t); i=0; while [ $i -lt $FILES ]; do [ -e s$i ] || exit 1; i=$((i + 1)); done; e=$(t)
  echo "$d stat $(rate $s $e $FILES)"
  s=$(t); i=0; while [ $i -lt $FILES ]; do rm s$i; i=$((i + 1)); done; e=$(t)
  echo "$d unlink $(rate $s $e $FILES)"
  cd / && rmdir $d/b
done
"""


def one_run(build, work):
    """{(place, op): rate} from one VM."""
    cmd = [os.path.join(build, "hvm-run"), "--cold", "-v", f"{work}/share:/share",
           "-v", f"{work}/disk.img:/disk", "--volume-size", str(MIB * 2 + 64),
           "-e", f"MIB={MIB}", "-e", f"FILES={FILES}", "--cmd", GUEST]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=True).stdout
    rates = {}
    for line in out.splitlines():
        place, op, rate = line.split()
        rates[(place, op)] = float(rate)
    return rates


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory(prefix="hvm-bench-vol.") as work:
        os.mkdir(f"{work}/share")
        results = [one_run(build, work) for _ in range(runs)]
    print(f"volumes: {MIB} MiB sequential, {FILES} small files, median of {runs} runs")
    for op, unit in (("write", "MiB/s"), ("read", "MiB/s"), ("create", "files/s"),
                     ("stat", "files/s"), ("unlink", "files/s")):
        med = {p: statistics.median(r[(p, op)] for r in results)
               for p in ("/share", "/disk", "/root-tmp")}
        print(f"  {op:7} share {med['/share']:9.1f}  disk {med['/disk']:9.1f}  "
              f"tmpfs {med['/root-tmp']:9.1f} {unit}   share/disk {med['/share'] / med['/disk']:.2f}")


if __name__ == "__main__":
    main()
