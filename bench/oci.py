#!/usr/bin/env python3
"""OCI runtime benchmark: wall time of `podman run --rm IMAGE true` with hvm-oci as the
runtime against the same command with crun (Debian's), on the same image.

The image is a busybox rootfs imported with `podman import` into private podman storage
(vfs driver, under a temporary directory), so the host's own containers are not touched.
Runs alternate (hvm-oci, crun, hvm-oci, ...) so drifting host load hits both alike; one
warm-up run of each is not counted (it converts the image into hvm's cache and fills the
page cache). The figure is podman's whole path: podman, conmon, the runtime, and for hvm-oci
the micro-VM's boot and power-off. On nested hosts, where the guest kernel runs ~1000x
slower, the hvm-oci side is dominated by that boot.

Usage: bench/oci.py BUILD_DIR [RUNS]
Prints one line per runtime (median and min seconds) and `ratio hvm-oci/crun`.
Where crun cannot run containers on this host, runc is the baseline and the output says so.
Where podman is missing, says so and exits 0 (a benchmark is never a test).
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

APPLETS = ["sh", "true", "echo"]


def busybox_tar(work):
    root = os.path.join(work, "rootfs")
    os.makedirs(os.path.join(root, "bin"))
    for d in ("etc", "tmp", "proc", "sys", "dev"):
        os.makedirs(os.path.join(root, d))
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    tar = os.path.join(work, "rootfs.tar")
    subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
    return tar


def timed(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    t = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    return t


def run_cmd(podman, runtime):
    # Explicit rlimits: podman's defaults exceed the hard limits of some sandboxes, and
    # runc/crun then fail in setrlimit; a VM ignores them.
    return podman + ["--runtime", runtime, "run", "--rm", "--network", "none",
                     "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                     "localhost/hvm-bench:1", "true"]


def baseline(podman, cmds):
    """crun, as the issue asks; runc where crun cannot run here (crun refuses hybrid cgroup
    hierarchies, for one). Adds the one that works to cmds after its warm-up run."""
    for name in ("crun", "runc"):
        path = shutil.which(name)
        if not path:
            continue
        try:
            timed(run_cmd(podman, path))
        except RuntimeError as e:
            print(f"oci: {name} cannot run containers here: {str(e)[-160:]}")
            continue
        cmds[name] = run_cmd(podman, path)
        return name
    raise RuntimeError("neither crun nor runc can run containers here")


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    oci = os.path.join(build, "hvm-oci")
    if not shutil.which("podman") or not os.access(oci, os.X_OK):
        print("oci: skipped: needs podman, crun (make deps) and", oci)
        return 0
    work = tempfile.mkdtemp(prefix="hvm-bench-oci.")
    podman = ["podman", "--root", os.path.join(work, "root"), "--runroot",
              os.path.join(work, "run"), "--storage-driver", "vfs"]
    env_cache = os.path.join(work, "cache")
    os.environ["XDG_CACHE_HOME"] = env_cache
    try:
        subprocess.run(podman + ["import", busybox_tar(work), "localhost/hvm-bench:1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cmds = {"hvm-oci": run_cmd(podman, oci)}
        timed(cmds["hvm-oci"])  # warm-up: converts the image into hvm's cache
        base = baseline(podman, cmds)
        times = {k: [] for k in cmds}
        for _ in range(runs):
            for k, c in cmds.items():
                times[k].append(timed(c))
        for k, ts in times.items():
            print(f"oci: podman run --rm true, {k:8s} median {statistics.median(ts):8.3f} s  "
                  f"min {min(ts):8.3f} s  ({runs} runs)")
        ratio = statistics.median(times["hvm-oci"]) / statistics.median(times[base])
        print(f"oci: ratio hvm-oci/{base} {ratio:.1f}x")
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"oci: failed: {e}")
        return 1
    finally:
        subprocess.run(podman + ["rm", "-fa"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(podman + ["rmi", "-af"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
