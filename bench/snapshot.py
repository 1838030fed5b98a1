#!/usr/bin/env python3
"""Start-up from templates and snapshots against cold boots, as ratios measured in one run.

Every number comes from the same hvm-run binary on the same machine, runs alternated:
  exec -> agent ready         from a template vs a cold boot (goal <= 0.05x)
  hvm-run --cmd true, wall    from a template vs a cold boot (goal <= 0.2x)
  exec -> first KVM_RUN       of a restored vCPU (goal <= 5 ms; hvm-exec-timer stamps exec)
  private dirty memory        of each of 20 idle VMs from one template vs 20 cold-booted ones,
                              and their total PSS (goal <= 8 MiB private per clone)
  restore throughput          VMs started from one template per second, 1 and 2 at a time
Usage: bench/snapshot.py BUILD_DIR [RUNS]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
IDLE = int(os.environ.get("BENCH_IDLE_VMS", "20"))
TIMEOUT_S = 900
HVM = os.path.join(BUILD, "hvm-run")
TIMER = os.path.join(BUILD, "hvm-exec-timer")


def run(work, *args, cold=False):
    """One hvm-run through the exec timer; its metrics and wall time (s)."""
    metrics = os.path.join(work, "m.json")
    cmd = [TIMER, HVM] + (["--cold"] if cold else []) + ["--metrics-json", metrics] + list(args)
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    wall = time.monotonic() - t
    if r.returncode != 0:
        sys.exit(f"hvm-run failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return json.load(open(metrics)), wall


def private_and_pss(pid):
    """Private_Dirty and Pss (KiB) of a process from smaps_rollup."""
    priv = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                priv = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return priv, pss


def idle_vms(work, n, cold):
    """n VMs at once that print "up" and sleep; their memory once all are up. Largest private
    dirty KiB and total PSS KiB."""
    procs, outs = [], []
    for i in range(n):
        out = open(os.path.join(work, f"idle{i}.out"), "w+")
        args = [HVM] + (["--cold"] if cold else []) + ["--cmd", "echo up; sleep 600"]
        procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL))
        outs.append(out)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if all(open(o.name).read().strip() == "up" for o in outs):
            break
        if any(p.poll() is not None for p in procs):
            sys.exit("an idle VM ended early")
        time.sleep(0.5)
    time.sleep(2)
    mem = [private_and_pss(p.pid) for p in procs]
    for p in procs:
        p.kill()
        p.wait()
    return max(m[0] for m in mem), sum(m[1] for m in mem)


def throughput(work, parallel, count):
    """VMs from the template per second, `parallel` at a time, `count` in all."""
    t = time.monotonic()
    for _ in range(count // parallel):
        ps = [subprocess.Popen([HVM, "--cmd", "true"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) for _ in range(parallel)]
        if any(p.wait(TIMEOUT_S) != 0 for p in ps):
            sys.exit("a VM from the template failed")
    return count // parallel * parallel / (time.monotonic() - t)


def main():
    work = tempfile.mkdtemp(prefix="hvm-bench-snap.")
    os.environ["XDG_CACHE_HOME"] = work
    try:
        m, _ = run(work, "--cmd", "true")     # makes the template
        if m["start"] != "cold" or m["phases_us"].get("template_saved") is None:
            sys.exit(f"the first run did not save a template: {m}")
        cold_ready, warm_ready, cold_wall, warm_wall, first = [], [], [], [], []
        for _ in range(RUNS):
            m, w = run(work, "--cmd", "true", cold=True)
            cold_ready.append(m["phases_us"]["agent_ready"])
            cold_wall.append(w)
            m, w = run(work, "--cmd", "true")
            if m["start"] != "template":
                sys.exit(f"a run did not start from the template: {m['start']}")
            warm_ready.append(m["phases_us"]["agent_ready"])
            warm_wall.append(w)
            first.append(m["phases_us"]["first_vcpu_entry"])
        med = statistics.median
        print(f"snapshot: {RUNS} runs each, medians, alternated (cold, template, ...)")
        print(f"  exec -> agent ready   cold {med(cold_ready) / 1000:8.1f} ms   template "
              f"{med(warm_ready) / 1000:8.1f} ms   ratio {med(warm_ready) / med(cold_ready):.3f}"
              f" (goal <= 0.05)")
        print(f"  --cmd true wall       cold {med(cold_wall) * 1000:8.1f} ms   template "
              f"{med(warm_wall) * 1000:8.1f} ms   ratio {med(warm_wall) / med(cold_wall):.3f}"
              f" (goal <= 0.2)")
        print(f"  exec -> first KVM_RUN of a restored vCPU: {med(first) / 1000:.2f} ms"
              f" (goal <= 5 ms)")
        cp, cs = idle_vms(work, IDLE, cold=True)
        wp, ws = idle_vms(work, IDLE, cold=False)
        print(f"  {IDLE} idle VMs: largest private dirty cold {cp / 1024:.1f} MiB, template "
              f"{wp / 1024:.1f} MiB (goal <= 8); total PSS cold {cs / 1024:.1f} MiB, template "
              f"{ws / 1024:.1f} MiB, ratio {ws / cs:.3f}")
        for par in (1, 2):
            print(f"  restore throughput, {par} at a time: "
                  f"{throughput(work, par, 2 * RUNS):.2f} VMs/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
