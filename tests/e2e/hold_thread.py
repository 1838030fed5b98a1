#!/usr/bin/env python3
"""Holds one thread of a running process stopped for a while, the others running: a host too
busy to schedule, say, a VMM's vsock device thread (named by prctl PR_SET_NAME).

  hold_thread.py PID NAME SECONDS [FILE TEXT]

waits (at most WAIT_S, 60 s) for PID to have a thread named NAME, and for TEXT to show in FILE
(the VMM's stderr, say) when given, then stops that thread alone (ptrace SEIZE + INTERRUPT: a
stop of one thread, not of the process), keeps it stopped for SECONDS, lets it go and prints
"held NAME (tid T) for S s". Exits 1 when there was no such thread or text, or the thread
could not be held. Needs the right to ptrace PID (root, or its owner where Yama allows).
"""
import ctypes
import os
import sys
import time

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000	# __WALL: wait for a thread, not only a child process
WAIT_S = 60

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def ptrace(request, tid):
    """ptrace(request, tid, 0, 0), raising OSError on failure."""
    if libc.ptrace(request, tid, None, None) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def poll(pid, probe, period):
    """probe()'s first true value, tried every period s while pid lives, for at most WAIT_S;
    None if pid ends or time runs out first."""
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end and os.path.exists(f"/proc/{pid}"):
        try:
            found = probe()
        except OSError:	# a thread that ended while we looked, a file not yet there
            found = None
        if found:
            return found
        time.sleep(period)
    return None


def thread_named(pid, name):
    """The tid of pid's thread named name, or None."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() == name:
                return int(tid)
    return None


def file_has(path, text):
    """Whether text shows in the file at path."""
    with open(path, errors="replace") as f:
        return text in f.read()


def main():
    if len(sys.argv) not in (4, 6):
        sys.exit("usage: hold_thread.py PID NAME SECONDS [FILE TEXT]")
    pid, name, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    tid = poll(pid, lambda: thread_named(pid, name), 0.005)
    if tid is None:
        sys.exit(f"hold_thread: process {pid}: no thread named {name}")
    if len(sys.argv) == 6 and not poll(pid, lambda: file_has(sys.argv[4], sys.argv[5]), 0.002):
        sys.exit(f"hold_thread: {sys.argv[4]}: no '{sys.argv[5]}' while process {pid} ran")
    try:
        ptrace(PTRACE_SEIZE, tid)
        ptrace(PTRACE_INTERRUPT, tid)
        os.waitpid(tid, WALL)	# it is stopped from here on
        time.sleep(secs)
        ptrace(PTRACE_DETACH, tid)
    except OSError as e:
        sys.exit(f"hold_thread: {name} (tid {tid}): {e.strerror}")
    print(f"held {name} (tid {tid}) for {secs:g} s")


if __name__ == "__main__":
    main()
