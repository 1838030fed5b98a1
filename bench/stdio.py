#!/usr/bin/env python3
"""Stdio benchmark: host -> guest -> host throughput of `cat` through the agent protocol.

Each run pipes S MiB into `/bin/sh -c cat` in a fresh VM (128 MiB, 1 vCPU) and reads it
back (length and CRC-32 checked):
  hvm   `hvm-run -i --cmd cat`, its own C host side (vmm/host_session.c)
  qemu  QEMU microvm with the same vmlinux, initramfs, boot request and kernel command line
        as bench/boot.py, plus `-device vhost-vsock-device,guest-cid=3`; this script is the
        host side of docs/agent-protocol.md: it listens on vsock port 1024, answers the
        agent's HELLO with RUN, streams STDIN frames (then the empty one, EOF), counts
        STDOUT frames, waits for EXIT and closes, which lets the agent power off.
Runs alternate (hvm, qemu, hvm, ...) like bench/boot.py.

MiB/s is measured over the transfer only: from the first output byte read on the host to
the last, over the bytes after the first read. Boot, the session set-up and power-off are
outside that window, so no 0-byte run has to be subtracted (and boot-time noise, seconds on
nested hosts, does not leak into the figure).

QEMU needs /dev/vhost-vsock (the vhost_vsock module); where it is missing, or cannot be used,
the qemu line says why and no ratio is printed; the hvm number is measured regardless.

Usage: bench/stdio.py BUILD_DIR [RUNS] [--hvm-exec]
         --hvm-exec  adds a row: hvm measured with this script's host side, through
                     `hvm-run --api-socket` and the agent's exec port (CONNECT 1025), the
                     same code the qemu row uses, so the two host sides can be compared
       bench/stdio.py --self-test   frame encoder/decoder against proto/protocol.h
Environment: HVM_BENCH_STDIO_MIB=S (default 100; 8 on nested PVM hosts, where guest kernel
code runs about 1000x slower and 100 MiB would take over half an hour at ~0.2 MiB/s).
"""
import json
import os
import re
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True           # no bench/__pycache__ left in the tree
import boot  # noqa: E402  (bench/boot.py: newc entries, RAM size, the root disk's serial)

# proto/protocol.h; self_test() checks every value against the header.
PROTO_VERSION = 2
PROTO_PORT_MAIN = 1024
PROTO_PORT_EXEC = 1025
PROTO_MAX_PAYLOAD = 64 * 1024
PROTO_HDR_SIZE = 12
PROTO_STDIN_WINDOW = 256 * 1024         # stdin sent and not yet acknowledged, at most
TYPES = ["HELLO", "RUN", "STDIN", "STDOUT", "STDERR", "SIGNAL", "RESIZE", "EXIT", "ERROR",
         "STDIN_ACK", "REFRESH"]
T = {name: i + 1 for i, name in enumerate(TYPES)}
PROTO_TYPE_MAX = len(TYPES) + 1
HDR = struct.Struct("<III")              # type, stream, len; little endian
HOST_OUTBUF = 256 * 1024                 # vmm/host_session.h: what the C host queues at most

ARGV = ["/bin/sh", "-c", "cat"]          # what `hvm-run --cmd cat` sends
MEM_MIB = boot.MEM_MIB
CPUS = boot.CPUS
GUEST_CID = 3
QEMU = "/usr/bin/qemu-system-x86_64"
NESTED = os.path.isdir("/sys/module/kvm_pvm")
BLOCK = bytes(range(256)) * 256          # 64 KiB of input, repeated


class ProtoError(RuntimeError):
    pass


def encode(ftype, stream, payload=b""):
    """One frame: the 12-byte little-endian header, then the payload."""
    if len(payload) > PROTO_MAX_PAYLOAD:
        raise ProtoError(f"payload of {len(payload)} bytes over {PROTO_MAX_PAYLOAD}")
    return HDR.pack(ftype, stream, len(payload)) + payload


def encode_json(ftype, obj):
    """A control frame; stream 0 for HELLO, 1 for the rest (what both C sides write)."""
    return encode(ftype, 0 if ftype == T["HELLO"] else 1,
                  json.dumps(obj, separators=(",", ":")).encode())


class FrameReader:
    """proto/proto.c's proto_next in Python: frames out of a byte stream read in any pieces."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def next(self):
        """(type, stream, payload) for the next whole frame, None when more bytes are needed."""
        if len(self.buf) < PROTO_HDR_SIZE:
            return None
        ftype, stream, length = HDR.unpack_from(self.buf)
        # Checked before the body arrives, like proto_next: a bad length buffers nothing more.
        if ftype == 0 or ftype >= PROTO_TYPE_MAX or length > PROTO_MAX_PAYLOAD:
            raise ProtoError(f"invalid frame: type {ftype}, length {length}")
        if len(self.buf) < PROTO_HDR_SIZE + length:
            return None
        payload = bytes(self.buf[PROTO_HDR_SIZE:PROTO_HDR_SIZE + length])
        del self.buf[:PROTO_HDR_SIZE + length]
        return ftype, stream, payload


def run_spec():
    """The RUN body tools/host_session.c builds for `hvm-run -i --cmd cat` (no image env)."""
    return {"argv": ARGV, "env": [], "tty": False, "stdin": True, "rows": 24, "cols": 80}


def expected_crc(nbytes):
    crc = 0
    for off in range(0, nbytes, len(BLOCK)):
        crc = zlib.crc32(BLOCK[:min(len(BLOCK), nbytes - off)], crc)
    return crc


class Transfer:
    """What came back: byte count, CRC-32 and when the first and last output arrived."""

    def __init__(self):
        self.got = self.first_len = self.crc = 0
        self.first = self.last = None

    def add(self, data):
        now = time.monotonic()
        if self.first is None:
            self.first, self.first_len = now, len(data)
        self.last = now
        self.got += len(data)
        self.crc = zlib.crc32(data, self.crc)

    def result(self, t0, end, nbytes, what):
        if self.got != nbytes or self.crc != expected_crc(nbytes):
            raise RuntimeError(f"{what}: {self.got} of {nbytes} bytes back"
                               f"{', content differs' if self.got == nbytes else ''}")
        span = self.last - self.first
        rate = (self.got - self.first_len) / span / (1 << 20) if span > 0 else float("inf")
        return {"rate": rate, "first": self.first - t0, "wall": end - t0}


def body_json(ftype, body):
    """A control frame's JSON object; ProtoError when it is not one."""
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        raise ProtoError(f"malformed {TYPES[ftype - 1]} body: {body[:100]!r}")
    return obj


def exit_status(body):
    """EXIT's body as hvm-run reports it: 128+N for a signal, else the status."""
    st = body_json(T["EXIT"], body)
    if isinstance(st.get("signal"), int) and 0 < st["signal"] < 128:
        return 128 + st["signal"]
    if isinstance(st.get("status"), int) and 0 <= st["status"] <= 255:
        return st["status"]
    raise ProtoError(f"malformed exit report {body!r}")


def session(sock, nbytes, deadline):
    """Plays the host side of one agent session on a connected socket: HELLO, RUN once the
    agent's HELLO arrived, nbytes of stdin as STDIN frames and then the empty one, STDOUT
    counted, until EXIT. Returns (exit status as hvm-run reports it, Transfer, stderr)."""
    sock.setblocking(False)
    out = bytearray(encode_json(T["HELLO"], {"version": PROTO_VERSION, "role": "host"}))
    full = memoryview(encode(T["STDIN"], 1, BLOCK))
    rd, xfer, err = FrameReader(), Transfer(), bytearray()
    hello, left, eof_sent, status, inflight = False, nbytes, False, None, 0
    while status is None:
        # Like the C host: stdin is framed only while a whole frame fits the output buffer
        # and the agent's window (what it has not acknowledged yet) has room for it.
        while (hello and not eof_sent and len(out) + len(full) <= HOST_OUTBUF and
               inflight + min(left, len(BLOCK)) <= PROTO_STDIN_WINDOW):
            if left >= len(BLOCK):
                out += full
            else:
                out += encode(T["STDIN"], 1, BLOCK[:left])
                out += encode(T["STDIN"], 1)    # empty: EOF
                eof_sent = True
            inflight += min(left, len(BLOCK))
            left -= min(left, len(BLOCK))
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise RuntimeError("session timed out")
        r, w, _ = select.select([sock], [sock] if out else [], [], timeout)
        if w:
            try:
                del out[:sock.send(out)]
            except BlockingIOError:
                pass
        if not r:
            continue
        data = sock.recv(256 * 1024)
        if not data:
            raise RuntimeError("agent closed the connection"
                               f"{' in the middle of a frame' if rd.buf else ' without EXIT'}")
        rd.feed(data)
        while status is None and (frame := rd.next()) is not None:
            ftype, _, body = frame
            if ftype == T["HELLO"]:
                version = body_json(ftype, body).get("version")
                if version != PROTO_VERSION:
                    raise ProtoError(f"agent speaks version {version}, this script {PROTO_VERSION}")
                hello = True
                out += encode_json(T["RUN"], run_spec())
            elif ftype == T["STDIN_ACK"]:
                acked = body_json(ftype, body).get("bytes")
                if not isinstance(acked, int) or not 0 < acked <= inflight:
                    raise ProtoError(f"malformed STDIN_ACK {body!r}")
                inflight -= acked
            elif ftype == T["STDOUT"]:
                xfer.add(body)
            elif ftype == T["STDERR"]:
                err += body
            elif ftype == T["EXIT"]:
                status = exit_status(body)
            elif ftype == T["ERROR"]:
                raise ProtoError(f"agent: {body_json(ftype, body).get('message')}")
            else:
                raise ProtoError(f"frame type {ftype} is not for the host")
    return status, xfer, err.decode(errors="replace")


# ---- hvm ------------------------------------------------------------------------------

def hvm_cat(hvm, nbytes, timeout_s):
    """`hvm-run -i --cmd cat` with nbytes on stdin, read back through a pipe."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen([hvm, "--cpus", str(CPUS), "--memory", str(MEM_MIB),
                              "--timeout", str(timeout_s), "-i",
                              "--cmd", "cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=err)

        def feed():
            try:
                for off in range(0, nbytes, len(BLOCK)):
                    p.stdin.write(BLOCK[:min(len(BLOCK), nbytes - off)])
                p.stdin.close()
            except BrokenPipeError:
                pass            # hvm-run died; its status says why

        writer = threading.Thread(target=feed)
        writer.start()
        xfer = Transfer()
        while data := os.read(p.stdout.fileno(), 1 << 20):
            xfer.add(data)
        writer.join()
        rc = p.wait()
        end = time.monotonic()
        err.seek(0)
        if rc != 0:
            raise RuntimeError(f"hvm-run exited {rc}: {err.read().decode()[-500:]}")
    return xfer.result(t0, end, nbytes, "hvm")


def bridge_connect(path, port, deadline):
    """A session to the guest's port through hvm's vsock bridge (docs/vsock.md, CONNECT);
    retried until the agent listens or the deadline passes."""
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.sendall(b"CONNECT %d\n" % port)
            s.settimeout(30)
            line = b""
            while not line.endswith(b"\n") and (c := s.recv(1)):
                line += c       # byte by byte: what follows the line is the agent's stream
            if line.startswith(b"OK "):
                return s
        except OSError:
            pass
        s.close()
        time.sleep(0.5)
    raise RuntimeError(f"{path}: the agent's port {port} never answered")


def hvm_exec_cat(hvm, nbytes, timeout_s, work):
    """This script's host side against hvm: a VM whose boot command waits for our stdin to
    close, and `cat` in it through the exec port."""
    api = os.path.join(work, "api")
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen([hvm, "--cpus", str(CPUS), "--memory", str(MEM_MIB),
                              "--timeout", str(timeout_s), "-i",
                              "--api-socket", api, "--cmd", "cat >/dev/null"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        try:
            sock = bridge_connect(api, PROTO_PORT_EXEC, t0 + timeout_s)
            status, xfer, stderr = session(sock, nbytes, t0 + timeout_s)
            sock.close()
            end = time.monotonic()
        finally:
            p.stdin.close()     # the boot command ends, the VM powers off
            rc = p.wait()
        err.seek(0)
        if status != 0 or rc != 0:
            raise RuntimeError(f"hvm exec: cat exited {status}, hvm-run {rc}: {stderr[-300:]}"
                               f"{err.read().decode()[-500:]}")
    return xfer.result(t0, end, nbytes, "hvm exec")


# ---- QEMU -----------------------------------------------------------------------------

def qemu_unavailable():
    """Why the QEMU run cannot happen on this host, or None when it can be tried."""
    if not os.path.exists(QEMU):
        return f"no {QEMU} on this host"
    if not os.path.exists("/dev/vhost-vsock"):
        return "no /dev/vhost-vsock on this host"
    if not os.access("/dev/vhost-vsock", os.R_OK | os.W_OK):
        return "/dev/vhost-vsock is not readable and writable for this user"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "no usable /dev/kvm"
    if not hasattr(socket, "AF_VSOCK"):
        return "this Python has no AF_VSOCK"
    try:
        socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()
    except OSError as e:
        return f"AF_VSOCK sockets unavailable: {e.strerror}"
    return None


def qemu_initrd(build, path):
    """As bench/boot.py: the built initramfs plus the boot request hvm-run would append (root
    disk by serial, overlay, quiet; no_avx on PVM hosts). boot.qemu_initrd reads boot.py's
    own argv-derived paths, so the archive is composed here from its pieces."""
    base = open(os.path.join(build, "hvm-initramfs.cpio"), "rb").read()
    request = b"root=" + boot.ROOT_SERIAL.encode() + b"\0overlay=1\0quiet=1\0"
    if NESTED:
        request += b"no_avx=1\0"
    extra = (boot.cpio_entry("hvm", 0o040755) + boot.cpio_entry("hvm/run", 0o100444, request)
             + boot.cpio_entry("TRAILER!!!", 0))
    with open(path, "wb") as f:
        f.write(base + b"\0" * (-len(base) % 4) + extra)


def qemu_cmdline(hvm):
    """hvm's kernel command line; QEMU microvm announces its own virtio-mmio devices."""
    words = subprocess.run([hvm, "--print-cmdline"], check=True, capture_output=True,
                           text=True).stdout.split()
    return " ".join(w for w in words if not w.startswith("virtio_mmio.device="))


def qemu_argv(build, cmdline, initrd, console):
    """bench/boot.py's QEMU microvm, without its boot-timer port, with vhost-vsock."""
    return [QEMU, "-M", boot.MICROVM,
            "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", str(MEM_MIB), "-smp", str(CPUS),
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", f"file:{console}", "-kernel", os.path.join(build, "vmlinux"),
            "-initrd", initrd, "-append", cmdline,
            "-drive", f"id=root,file={os.path.join(build, 'hvm-rootfs.ext4')},format=raw,if=none,"
            "readonly=on",
            "-device", f"virtio-blk-device,drive=root,serial={boot.ROOT_SERIAL}",
            "-device", f"vhost-vsock-device,guest-cid={GUEST_CID}"]


def accept_agent(lsock, q, deadline):
    """The agent's connection from our guest; anything else is turned away."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or q.poll() is not None:
            state = "exited" if q.returncode is not None else "still running"
            raise RuntimeError(f"the agent never connected to vsock port {PROTO_PORT_MAIN} "
                               f"(qemu {state})")
        if select.select([lsock], [], [], min(left, 1.0))[0]:
            conn, (cid, _) = lsock.accept()
            if cid == GUEST_CID:
                return conn
            conn.close()


def qemu_cat(build, cmdline, initrd, nbytes, timeout_s, work):
    """QEMU microvm with vhost-vsock; this script is the agent's host."""
    console = os.path.join(work, "console.log")
    lsock = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    try:
        lsock.bind((socket.VMADDR_CID_ANY, PROTO_PORT_MAIN))
    except OSError as e:
        lsock.close()
        raise RuntimeError(f"vsock port {PROTO_PORT_MAIN}: {e.strerror} (another VM's host?)")
    lsock.listen(1)
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    with tempfile.TemporaryFile() as err:
        q = subprocess.Popen(qemu_argv(build, cmdline, initrd, console), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        try:
            conn = accept_agent(lsock, q, deadline)
            status, xfer, stderr = session(conn, nbytes, deadline)
            end = time.monotonic()
            conn.close()        # the agent waits for this before it powers off
            rc = q.wait(timeout=max(1, deadline - time.monotonic()))
        except (RuntimeError, ProtoError, subprocess.TimeoutExpired, OSError) as e:
            q.kill()
            q.wait()
            err.seek(0)
            tail = open(console, errors="replace").read()[-800:] if os.path.exists(console) else ""
            raise RuntimeError(f"qemu: {e}\n{err.read().decode()[-500:]}{tail}") from None
        finally:
            lsock.close()
    if status != 0 or rc != 0:
        raise RuntimeError(f"qemu: cat exited {status}, qemu {rc}: {stderr[-300:]}")
    return xfer.result(t0, end, nbytes, "qemu")


# ---- self test ------------------------------------------------------------------------

def self_test():
    """The constants and frame layout above against proto/protocol.h; exits loudly on drift."""
    text = open(os.path.join(HERE, "..", "proto", "protocol.h")).read()

    def define(name):
        expr = re.search(rf"#define {name}\s+\(?([0-9 *]+)\)?", text).group(1)
        value = 1
        for factor in expr.split("*"):
            value *= int(factor)
        return value

    checks = [("PROTO_VERSION", PROTO_VERSION), ("PROTO_PORT_MAIN", PROTO_PORT_MAIN),
              ("PROTO_PORT_EXEC", PROTO_PORT_EXEC), ("PROTO_MAX_PAYLOAD", PROTO_MAX_PAYLOAD),
              ("PROTO_HDR_SIZE", PROTO_HDR_SIZE), ("PROTO_STDIN_WINDOW", PROTO_STDIN_WINDOW)]
    for name, mine in checks:
        assert define(name) == mine, f"{name}: protocol.h {define(name)}, bench {mine}"
    body = re.search(r"enum proto_type \{(.*?)\n\};", text, re.S).group(1)
    names = re.findall(r"^\s*PROTO_(\w+)", body, re.M)
    assert re.search(r"PROTO_HELLO = 1,", body), "enum proto_type no longer starts at 1"
    assert names == TYPES + ["TYPE_MAX"], f"enum proto_type: {names}"
    assert HDR.size == PROTO_HDR_SIZE

    run = encode(T["RUN"], 1, b'{"argv":["cat"]}')
    assert run[:12] == bytes.fromhex("02000000 01000000 10000000"), run[:12].hex()
    assert encode(T["STDIN"], 1) == bytes.fromhex("03000000 01000000 00000000")
    rd = FrameReader()
    for byte in run[:-1]:       # a frame in 1-byte pieces is whole only with its last byte
        rd.feed(bytes([byte]))
        assert rd.next() is None
    rd.feed(run[-1:] + encode(T["STDIN"], 1))
    assert rd.next() == (T["RUN"], 1, b'{"argv":["cat"]}')
    assert rd.next() == (T["STDIN"], 1, b"") and rd.next() is None
    rd.feed(encode(T["STDOUT"], 1, bytes(PROTO_MAX_PAYLOAD)))
    assert rd.next()[2] == bytes(PROTO_MAX_PAYLOAD)
    for bad in (HDR.pack(0, 1, 0), HDR.pack(PROTO_TYPE_MAX, 1, 0),
                HDR.pack(T["STDOUT"], 1, PROTO_MAX_PAYLOAD + 1)):
        rd = FrameReader()
        rd.feed(bad)    # the header alone is enough to reject it
        try:
            rd.next()
            raise AssertionError(f"accepted {bad.hex()}")
        except ProtoError:
            pass
    try:
        encode(T["STDIN"], 1, bytes(PROTO_MAX_PAYLOAD + 1))
        raise AssertionError("encoded an oversized frame")
    except ProtoError:
        pass
    hello = encode_json(T["HELLO"], {"version": PROTO_VERSION, "role": "host"})
    assert hello == HDR.pack(1, 0, 27) + b'{"version":2,"role":"host"}'
    assert exit_status(b'{"status":3}') == 3 and exit_status(b'{"signal":9}') == 137
    for bad in (b'{"status":256}', b'{"signal":0}', b"[]", b"{"):
        try:
            exit_status(bad)
            raise AssertionError(f"accepted EXIT {bad!r}")
        except ProtoError:
            pass
    # The RUN frame docs/agent-protocol.md dumps: `hvm-run -i --cmd cat`, default image.
    assert encode_json(T["RUN"], run_spec()).hex() == (
        "020000000100000055000000" + b'{"argv":["/bin/sh","-c","cat"],"env":[],"tty":false,'
        b'"stdin":true,"rows":24,"cols":80}'.hex())


# ---- main -----------------------------------------------------------------------------

def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    self_test()
    if "--self-test" in sys.argv:
        print("stdio bench self-test: frames match proto/protocol.h")
        return
    build = args[0] if args else "build"
    runs = int(args[1]) if len(args) > 1 else 3
    mib = int(os.environ.get("HVM_BENCH_STDIO_MIB", "8" if NESTED else "100"))
    if mib < 1:
        sys.exit("HVM_BENCH_STDIO_MIB must be at least 1")
    nbytes = mib << 20
    hvm = os.path.join(build, "hvm-run")
    timeout_s = 300 + (30 if NESTED else 1) * mib
    why_not = qemu_unavailable()
    rows = {"hvm": [], "hvm exec": [], "qemu": []}

    with tempfile.TemporaryDirectory(prefix="hvm-bench.") as work:
        initrd = os.path.join(work, "initrd.cpio")
        if not why_not:
            qemu_initrd(build, initrd)
            cmdline = qemu_cmdline(hvm)
        try:
            for i in range(runs):
                rows["hvm"].append(hvm_cat(hvm, nbytes, timeout_s))
                if "--hvm-exec" in sys.argv:
                    rows["hvm exec"].append(hvm_exec_cat(hvm, nbytes, timeout_s, work))
                if not why_not:
                    rows["qemu"].append(qemu_cat(build, cmdline, initrd, nbytes, timeout_s, work))
                print(f"run {i + 1}/{runs}: " + ", ".join(
                    f"{k} {v[-1]['rate']:.3f} MiB/s" for k, v in rows.items() if v),
                    file=sys.stderr)
        except (RuntimeError, OSError) as e:
            sys.exit(f"stdio bench: {e}")

    def med(k, key):
        return statistics.median(r[key] for r in rows[k])

    print(f"stdio benchmark: {mib} MiB through `cat` (stdin in, stdout out), {runs} runs each, "
          f"{MEM_MIB} MiB, {CPUS} vCPU; MiB/s from the first output byte to the last; medians")
    for k in ("hvm", "hvm exec", "qemu"):
        if rows[k]:
            print(f"  {k:<9} {med(k, 'rate'):9.3f} MiB/s   (first output after "
                  f"{med(k, 'first'):.2f} s, whole run {med(k, 'wall'):.2f} s)")
    if why_not:
        print(f"  qemu: {why_not}; ratio not measured")
    else:
        print(f"  ratio hvm/qemu {med('hvm', 'rate') / med('qemu', 'rate'):.3f}")
        if rows["hvm exec"]:
            print(f"  ratio hvm exec/qemu (same host side) "
                  f"{med('hvm exec', 'rate') / med('qemu', 'rate'):.3f}")


if __name__ == "__main__":
    main()
