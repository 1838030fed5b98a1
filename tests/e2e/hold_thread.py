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


def find_thread(pid, name, wait_s):
    """The tid of pid's thread named name, once it exists; None if pid ends or wait_s passes."""
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() == name:
                        return int(tid)
        except OSError:
            if not os.path.exists(f"/proc/{pid}"):
                return None
        time.sleep(0.005)
    return None


def wait_text(path, text, pid, wait_s):
    """Whether text shows in the file at path before pid ends or wait_s passes."""
    end = time.monotonic() + wait_s
    while time.monotonic() < end and os.path.exists(f"/proc/{pid}"):
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.002)
    return False


def main():
    if len(sys.argv) not in (4, 6):
        sys.exit("usage: hold_thread.py PID NAME SECONDS [FILE TEXT]")
    pid, name, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    tid = find_thread(pid, name, WAIT_S)
    if tid is None:
        sys.exit(f"hold_thread: process {pid}: no thread named {name}")
    if len(sys.argv) == 6 and not wait_text(sys.argv[4], sys.argv[5], pid, WAIT_S):
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
