#!/usr/bin/env python3
"""Whether embed_load's report lines (tests/load/embed_load.c) show a flat process.

Usage: flat.py REPORT [HEAP_SLACK_KIB [RSS_SLACK_KIB]]. Prints the resources at the start,
after the first VM, after the batches and at the end, then each phase's growth; exits 1 with
what grew when fds or threads differ from the start after any VM, or heap or RSS grew past
their slack over a sequential phase's last quarter. Used by tests/e2e/test_load.sh and
bench/load.py.
"""
import sys
rows = [l.split() for l in open(sys.argv[1]) if " fds " in l]
slack = {"heap_kib": int(sys.argv[2]) if len(sys.argv) > 2 else 16,
         "rss_kib": int(sys.argv[3]) if len(sys.argv) > 3 else 1024}
f = lambda r, k: int(r[r.index(k) + 1])
start = rows[0]
seq = [r for r in rows if r[0] == "sequential"]
conc = [r for r in rows if r[0] == "concurrent"]
again = [r for r in rows if r[0] == "again"]
for name, r in (("start", start), ("after VM 1", seq[0]), ("after the batches", (conc or [start])[-1]), ("end", rows[-1])):
    print("%s: fds %d threads %d rss %d KiB heap %d KiB"
          % (name, f(r, "fds"), f(r, "threads"), f(r, "rss_kib"), f(r, "heap_kib")))
bad = [" ".join(r) for r in rows if f(r, "fds") != f(start, "fds") or f(r, "threads") != f(start, "threads")]
for phase, base, later in (("sequential", seq[0], seq[1:]), ("again", conc[-1] if conc else start, again)):
    if not later:
        bad.append("no VM ran in the %s phase" % phase)
        continue
    for k in ("heap_kib", "rss_kib"):
        # A leak grows with every VM, so it shows in the phase's last quarter; a transient
        # spike (a huge page the kernel gave a thread's arena, then split) does not last.
        tail = later[-max(1, len(later) // 4):]
        grow = min(f(r, k) for r in tail) - f(base, k)
        peak = max(f(r, k) for r in later) - f(base, k)
        print("%s phase: %s %+d KiB over %d VMs (allowed %d; peak %+d)"
              % (phase, k[:-4], grow, len(later), slack[k], peak))
        if grow > slack[k]:
            bad.append("%s grew %d KiB in the %s phase" % (k[:-4], grow, phase))
print("\n".join(bad))
sys.exit(1 if bad else 0)
