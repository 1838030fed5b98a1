#!/usr/bin/env python3
"""Load at scale: many VMs in sequence and at once, inside one libhvm process and as separate
hvm-run processes, and what each phase leaves behind.

  libhvm    tests/load/embed_load: SEQ cold boots in sequence, batches of 2, 4, ... up to CONC
            at once, then more in sequence; its fds, threads, RSS and heap after each VM must
            stay flat (tests/load/flat.py, the same verdict as tests/e2e/test_load.sh)
  hvm-run   SEQ cold runs in sequence, CONC at once, then CLONES idle clones of one template
            at once and the memory each of them costs
After every phase: no process of ours left, nothing new in /tmp, nothing but templates new in
the cache. Prints boots per minute per phase and a verdict line per check; exits 1 when a VM
failed or something was left behind. Counts: LOAD_SEQ (200), LOAD_CONC (20), LOAD_CLONES (100);
LOAD_PHASES picks phases to run again alone (default: libhvm,sequence,at-once,clones).
Usage: bench/load.py BUILD_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snapshot import private_and_pss  # noqa: E402  (Private_Dirty and Pss of one process)

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SEQ = int(os.environ.get("LOAD_SEQ", "200"))
CONC = int(os.environ.get("LOAD_CONC", "20"))
CLONES = int(os.environ.get("LOAD_CLONES", "100"))
HVM = os.path.abspath(os.path.join(BUILD, "hvm-run"))
EMBED = os.path.abspath(os.path.join(BUILD, "tests", "load", "embed_load"))
FLAT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "load", "flat.py")
# Per VM: a batch at once on a few emulating CPUs takes far longer than one boot.
VM_TIMEOUT_S = 900
failures = []


def verdict(ok, what, detail=""):
    print(f"  {'ok ' if ok else 'BAD'} {what}" + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(what)


def ours():
    """Pids of hvm processes (hvm-run, embed_load, passt) now running, but for this one."""
    found = set()
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            exe = os.readlink(f"/proc/{p}/exe")
            comm = open(f"/proc/{p}/comm").read().strip()
        except OSError:
            continue
        if exe in (HVM, EMBED) or comm == "passt":
            found.add(int(p))
    return found


def snapshot_state(cache):
    """What a phase must not leave behind: processes, hvm's /tmp entries, cache files. (Only
    /tmp names with "hvm" in them: the test host's /tmp also shows the machine's own.)"""
    files = set()
    for d, _, names in os.walk(cache):
        files |= {os.path.relpath(os.path.join(d, n), cache) for n in names}
    return ours(), {t for t in os.listdir("/tmp") if "hvm" in t}, files


def left_behind(phase, before, cache):
    """One verdict: the phase's processes, /tmp entries and cache files (but templates) gone."""
    procs, tmp, files = snapshot_state(cache)
    new_files = {f for f in files - before[2] if not f.startswith("hvm/templates/")}
    left = [f"process {p}" for p in procs - before[0]] + [f"/tmp/{t}" for t in tmp - before[1]]
    left += [f"cache {f}" for f in new_files]
    verdict(not left, f"{phase}: nothing left behind", ", ".join(sorted(left)[:8]))


def per_minute(n, seconds):
    """n events in seconds, per minute."""
    return n * 60.0 / seconds if seconds > 0 else 0.0


def libhvm_phase(work, cache):
    """embed_load: sequence, batches up to CONC at once, sequence again; flat resources."""
    before = snapshot_state(cache)
    report = os.path.join(work, "embed.out")
    again = max(3, SEQ // 4)
    env = dict(os.environ, HVM_DATA_DIR=os.path.abspath(BUILD))
    stamps = {}
    t0 = time.monotonic()
    with open(report, "w") as out:
        p = subprocess.Popen([EMBED, str(SEQ), str(CONC), "1000000", str(VM_TIMEOUT_S),
                              str(again)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, text=True)
        for line in p.stdout:
            out.write(line)
            phase = line.split()[0]
            stamps.setdefault(phase, [time.monotonic(), 0, 0])
            stamps[phase][1] = time.monotonic()
            words = line.split()
            count = int(words[1]) if phase == "concurrent" else 1
            stamps[phase][2] += count if " output ok " in line else 0
        err = p.stderr.read()
        rc = p.wait()
    print(f"libhvm, one process (embed_load, {time.monotonic() - t0:.0f} s):")
    start = t0
    for phase in ("sequential", "concurrent", "again"):
        if phase in stamps:
            first, last, ok = stamps[phase]
            print(f"  {phase:10} {ok:4} VMs ok, {per_minute(ok, last - start):7.1f} boots/min")
            start = last
    verdict(rc == 0, f"libhvm: {SEQ} in sequence, up to {CONC} at once, {again} again, all ran",
            f"exit {rc}; {err.strip()[-300:]}")
    flat = subprocess.run([sys.executable, FLAT, report], capture_output=True, text=True)
    print("".join("    " + line + "\n" for line in flat.stdout.splitlines() if line), end="")
    verdict(flat.returncode == 0, "libhvm: fds, threads, RSS and heap flat",
            flat.stdout.strip().splitlines()[-1] if flat.stdout.strip() else flat.stderr[-200:])
    left_behind("libhvm", before, cache)


def hvm_run(*args):
    """An hvm-run of args, its output piped."""
    return subprocess.Popen([HVM, "--timeout", str(VM_TIMEOUT_S)] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p, want):
    """Whether p exited 0 printing exactly want; and why not."""
    out, err = p.communicate(timeout=VM_TIMEOUT_S + 60)
    return p.returncode == 0 and out == want, f"exit {p.returncode}: {err.strip()[-200:]}"


def runs_in_sequence(cache):
    """SEQ cold hvm-runs one after another."""
    before, bad = snapshot_state(cache), []
    t = time.monotonic()
    for i in range(SEQ):
        ok, why = finish(hvm_run("--cold", "--cmd", f"echo vm-{i}"), f"vm-{i}\n")
        if not ok:
            bad.append(f"vm-{i} {why}")
    t = time.monotonic() - t
    print(f"  sequence   {SEQ - len(bad):4} VMs ok, {per_minute(SEQ - len(bad), t):7.1f} boots/min")
    verdict(not bad, f"hvm-run: {SEQ} in sequence, each exited 0 with its output",
            f"{len(bad)} failed; first: {bad[0] if bad else ''}")
    left_behind("hvm-run in sequence", before, cache)


def runs_at_once(cache):
    """CONC cold hvm-runs started together."""
    before = snapshot_state(cache)
    t = time.monotonic()
    procs = [hvm_run("--cold", "--cmd", f"echo vm-{i}") for i in range(CONC)]
    bad = [f"vm-{i} {why}" for i, (ok, why) in
           enumerate(finish(p, f"vm-{i}\n") for i, p in enumerate(procs)) if not ok]
    t = time.monotonic() - t
    print(f"  at once    {CONC - len(bad):4} VMs ok, {per_minute(CONC - len(bad), t):7.1f} boots/min")
    verdict(not bad, f"hvm-run: {CONC} at once, each exited 0 with its output",
            f"{len(bad)} failed; first: {bad[0] if bad else ''}")
    left_behind("hvm-run at once", before, cache)


def clones_at_once(work, cache):
    """CLONES idle VMs from one template at once: time until all are up, memory of each."""
    ok, why = finish(hvm_run("--cmd", "true"), "")	# the template, if none yet
    verdict(ok, "hvm-run: the template run", why)
    before = snapshot_state(cache)
    outs, errs, procs = [], [], []
    t = time.monotonic()
    for i in range(CLONES):
        outs.append(os.path.join(work, f"clone{i}.out"))
        errs.append(os.path.join(work, f"clone{i}.err"))
        # Idle far longer than the wait for the slowest: one that ends early is a failure.
        with open(outs[-1], "w") as o, open(errs[-1], "w") as e:
            procs.append(subprocess.Popen([HVM, "--cmd", f"echo up; sleep {VM_TIMEOUT_S * 4}"],
                                          stdout=o, stderr=e))
    up = 0
    while time.monotonic() - t < VM_TIMEOUT_S and any(p.poll() is None for p in procs):
        up = sum(open(o).read() == "up\n" for o in outs)
        if up == CLONES:
            break
        time.sleep(0.5)
    t = time.monotonic() - t
    time.sleep(2)
    mem = [private_and_pss(p.pid) for p in procs if p.poll() is None]
    ended = [f"clone{i} exit {p.returncode}: {open(errs[i]).read().strip()[-200:]}"
             for i, p in enumerate(procs) if p.poll() is not None]
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()
    print(f"  clones     {up:4} VMs up at once, {per_minute(up, t):7.1f} starts/min")
    if mem:
        priv = sorted(m[0] for m in mem)
        print(f"  memory per idle clone: private dirty median {priv[len(priv) // 2] / 1024:.1f} "
              f"MiB, largest {priv[-1] / 1024:.1f} MiB; PSS {sum(m[1] for m in mem) / len(mem) / 1024:.1f} "
              f"MiB each, {sum(m[1] for m in mem) / 1024:.0f} MiB for all {len(mem)}")
    verdict(up == CLONES, f"hvm-run: {CLONES} clones of one template up at once", f"{up} up")
    verdict(not ended, f"hvm-run: {CLONES} clones stayed up until killed",
            f"{len(ended)} ended early; first: {ended[0] if ended else ''}")
    time.sleep(1)	# killed VMMs: their processes are reaped, their files go with them
    left_behind("clones", before, cache)


# The phases (LOAD_PHASES names), in the order they run; each takes the work dir and cache.
PHASES = {"libhvm": libhvm_phase,
          "sequence": lambda work, cache: runs_in_sequence(cache),
          "at-once": lambda work, cache: runs_at_once(cache),
          "clones": clones_at_once}


def main():
    chosen = os.environ.get("LOAD_PHASES", ",".join(PHASES)).split(",")
    unknown = set(chosen) - set(PHASES)
    if unknown:
        sys.exit(f"bench/load.py: LOAD_PHASES: no phase {', '.join(sorted(unknown))}")
    for path in (HVM, EMBED):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench/load.py: {path}: missing (make bench-load builds it)")
    work = tempfile.mkdtemp(prefix="hvm-bench-load.")
    cache = os.path.join(work, "cache")
    os.makedirs(cache)
    os.environ["XDG_CACHE_HOME"] = cache
    print(f"load: {SEQ} in sequence, {CONC} at once, {CLONES} clones at once; "
          f"{os.cpu_count()} CPUs; phases {','.join(chosen)}")
    try:
        for name, run in PHASES.items():	# in this order, whatever the order asked
            if name == "sequence":
                print("hvm-run, one process per VM:")
            if name in chosen:
                run(work, cache)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load: {len(failures)} check(s) failed" if failures else "load: every check passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
