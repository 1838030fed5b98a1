#!/usr/bin/env python3
"""Network benchmark: TCP throughput and HTTP requests/s, hvm vs QEMU microvm, same backend.

Each VM (1 vCPU, 128 MiB) boots the Debian image with nginx-light, busybox and iperf3 that the
e2e tests use (tests/e2e/images.sh debian_nginx, cached under BUILD/test-cache) and runs
`iperf3 -s` and `nginx -g 'daemon off;'`. From the host side:
  host->guest   iperf3 -c GUEST -t T       Mbit/s the receiver counted (the guest)
  guest->host   iperf3 -c GUEST -t T -R    Mbit/s the receiver counted (the host)
                (both with --repeating-payload: no guest getrandom() of 128 KiB per test)
  HTTP          wrk -t2 -c20 -d10s --timeout 30s on nginx's default page: requests/s, and
                wrk's socket errors and non-2xx answers if any
for each backend, hvm and QEMU alike:
  passt  hvm-run -p H1:5201 -p H2:80 (hvm starts passt itself, over a socket pair); QEMU
         `-netdev stream` to a passt this script starts with the same options
         (passt -f -q -s SOCK --mtu 65520 -t H1:5201 -t H2:80 -u none); the host side is
         127.0.0.1:H, ports from 19000-19999. The guest gets the host's address and passt's
         MTU of 65520, as under hvm.
  TAP    root only: a network namespace made here holds a TAP device 10.213.7.1/24; hvm-run
         --net tap:NAME --ip 10.213.7.2/24, QEMU `-netdev tap,...,script=no`; iperf3 and wrk
         run inside the namespace; the MTU is the TAP's, 1500. QEMU runs twice here: with its
         defaults (through TAP's vnet header its virtio-net offers TSO and UFO; hvm's offers
         TSO), and as "qemu-nooffload" with those turned off (gso=off,...; the checksum
         offloads both ways and merged receive buffers stay on): the two QEMU rows show what
         segmentation offload is worth.
QEMU gets the same vmlinux, kernel command line (less hvm's virtio_mmio.device= entries, as in
bench/stdio.py), initramfs, RAM and vCPU count, and the very ext4 root disk hvm-run made for the
image (found among hvm-run's open files). How its guest starts the servers:
  agent       with a usable /dev/vhost-vsock: as under hvm, the agent mounts the root disk and
              a tmpfs overlay and configures eth0 from the boot request appended to the
              initramfs; this script is its host (HELLO, RUN over vsock port 1024, as
              bench/stdio.py) and closes the session at the end, which powers the VM off.
  sh as init  without it (the agent has no host to get its command from): the kernel mounts
              the root disk itself (rdinit= names nothing, root=/dev/vda ro) and runs busybox
              sh as init, which mounts proc, devtmpfs and tmpfs where nginx and iperf3 write,
              sets eth0's address with busybox ip, and starts the same servers in the same
              environment. The output says which was used.
Runs alternate per backend (hvm, QEMU) so drift on a shared host hits both alike; medians.
On nested PVM hosts the guest kernel runs ~1000x slower: figures are small, boots take 10-30 s.

Where something is unavailable (no passt, no QEMU, not root for TAP, no iperf3 or wrk on the
host, no Debian image) the output says so and the rest is measured. Exits 0 unless misused.
Usage: bench/net.py BUILD_DIR [RUNS]
Environment: HVM_BENCH_NET_SECONDS=T  iperf3's -t (default 5 on PVM hosts, 10 elsewhere)
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True           # no bench/__pycache__ left in the tree
import boot  # noqa: E402  (newc entries, RAM size, the root disk's serial)
import stdio  # noqa: E402  (agent protocol frames, the vsock host side, QEMU microvm flags)

NESTED = os.path.isdir("/sys/module/kvm_pvm")
QEMU = stdio.QEMU
MEM_MIB = boot.MEM_MIB
CPUS = boot.CPUS
IPERF_PORT, HTTP_PORT = 5201, 80         # guest ports
HOST_PORTS = range(19500, 19999)         # host ports this bench may take
TAP_HOST, TAP_GUEST, TAP_PREFIX = "10.213.7.1", "10.213.7.2", 24
PASST_MTU, TAP_MTU = 65520, 1500         # what hvm gives the guest: passt's, the TAP's own
BOOT_TIMEOUT = 300 if NESTED else 60     # until nginx answers
WRK = ["-t2", "-c20", "-d10s", "--timeout", "30s"]
NO_OFFLOADS = ",".join(f"{f}=off" for f in (   # all but the checksums, which hvm offers too
    "gso", "host_tso4", "host_tso6", "host_ecn", "host_ufo", "guest_tso4",
    "guest_tso6", "guest_ecn", "guest_ufo"))
# Per backend, the VMMs compared; over TAP also QEMU without TSO/UFO, to show their share.
VMMS = {"passt": ["hvm", "qemu"], "tap": ["hvm", "qemu", "qemu-nooffload"]}
GUEST_CMD = "iperf3 -s -i 0 >/dev/null 2>&1 & exec nginx -g 'daemon off;'"
# agent/process.c: DEFAULT_PATH, and env_no_avx() on PVM hosts.
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NO_AVX_ENV = [("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512BW,-AVX512CD,"
               "-AVX512DQ,-AVX512VL,-AVX_VNNI,-FMA,-FMA4,-F16C,-VAES,-VPCLMULQDQ"),
              ("OPENSSL_ia32cap", "~0x1800100000000000:~0x602d0230020"),
              ("GODEBUG", "cpu.avx=off,cpu.avx2=off")]
PROBE = ("import sys,urllib.request as u\n"
         "try: sys.exit(0 if u.urlopen(sys.argv[1], timeout=10).status == 200 else 1)\n"
         "except Exception: sys.exit(1)")


class Unavailable(Exception):
    """This measurement cannot be made here; the message says why."""


# ---- the image and the host's addresses ------------------------------------------------

def debian_image(build):
    """tests/e2e/images.sh debian_nginx: the cached rootfs directory (debootstrap on a miss)."""
    script = os.path.join(HERE, "..", "tests", "e2e", "images.sh")
    r = subprocess.run(["bash", "-c", f'. "{script}" && debian_nginx'], capture_output=True,
                       text=True, env=dict(os.environ, BUILD=build))
    path = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    if r.returncode != 0 or not os.path.isdir(path):
        raise Unavailable(f"no Debian image with nginx and iperf3 (debootstrap): "
                          f"{(r.stderr or r.stdout).strip()[-200:]}")
    return path


def host_ipv4():
    """(address/prefix, gateway) as hvm gives a guest under passt (vmm/hvm_net.c): the
    default route's interface and gateway, and that interface's IPv4 address."""
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            w = line.split()
            if w[1] == "00000000" and int(w[3], 16) & 2:
                iface, gw = w[0], socket.inet_ntoa(struct.pack("<I", int(w[2], 16)))
                break
        else:
            raise Unavailable("no IPv4 default route on the host")
    r = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", iface], capture_output=True,
                       text=True)
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+/\d+)", r.stdout)
    if not m:
        raise Unavailable(f"no IPv4 address on {iface}")
    return m.group(1), gw


def free_ports(n):
    """n host ports from HOST_PORTS that are free on 0.0.0.0 and :: right now."""
    got = []
    for port in HOST_PORTS:
        try:
            for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
                with socket.socket(fam, socket.SOCK_STREAM) as s:
                    if fam == socket.AF_INET6:
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.bind((addr, port))
        except OSError:
            continue
        got.append(port)
        if len(got) == n:
            return got
    raise Unavailable(f"no {n} free host ports in {HOST_PORTS.start}-{HOST_PORTS.stop}")


# ---- measuring from the host side --------------------------------------------------------

def wait_http(ns, url, proc, deadline, what):
    """Until nginx answers 200 at url (from inside ns when given)."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode} before nginx answered")
        if subprocess.run(ns + [sys.executable, "-c", PROBE, url]).returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError(f"{what}: nginx did not answer at {url} within {BOOT_TIMEOUT} s")


def iperf(ns, addr, port, seconds, reverse):
    """Mbit/s the receiving side counted; retried while the server is not up or busy. nginx
    answering does not mean iperf3 listens yet: under passt a connection to a guest port
    nobody listens on is accepted on the host and then reset."""
    # --repeating-payload: else each side fills its 128 KiB buffer from getrandom() when a
    # test starts, which in the guest is ~1M emulated instructions of ChaCha on PVM hosts
    # (seconds), measured as network time.
    cmd = ns + ["iperf3", "-c", addr, "-p", str(port), "-t", str(seconds), "-J",
                "--repeating-payload"]
    if reverse:
        cmd.append("-R")
    err = ""
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 300)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = {"error": (r.stdout + r.stderr).strip()[-200:]}
        if r.returncode == 0 and "error" not in out:
            return out["end"]["sum_received"]["bits_per_second"] / 1e6
        err = out.get("error", "")
        time.sleep(3)
    raise RuntimeError(f"iperf3{' -R' if reverse else ''}: {err}")


def wrk(ns, url):
    """(requests/s, "errors ..." or "") from one wrk run."""
    r = subprocess.run(ns + ["wrk"] + WRK + [url], capture_output=True, text=True, timeout=300)
    m = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk: {(r.stdout + r.stderr).strip()[-200:]}")
    errs = [x.strip() for x in re.findall(r"(Socket errors:.*|Non-2xx or 3xx responses:.*)",
                                          r.stdout)]
    return float(m.group(1)), "; ".join(errs)


def measure(ns, addr, iperf_port, http_port, seconds, tools, out):
    """All measurements against one running VM, into out (metric -> value)."""
    if "iperf3" in tools:
        out["host->guest"] = iperf(ns, addr, iperf_port, seconds, False)
        out["guest->host"] = iperf(ns, addr, iperf_port, seconds, True)
    if "wrk" in tools:
        out["HTTP"], out["HTTP errors"] = wrk(ns, f"http://{addr}:{http_port}/")


# ---- hvm -------------------------------------------------------------------------------

def root_disk_of(pid):
    """The image's ext4 the running hvm-run has open (its cache entry's rootfs.ext4)."""
    fds = f"/proc/{pid}/fd"
    for fd in os.listdir(fds):
        try:
            target = os.readlink(os.path.join(fds, fd))
        except OSError:
            continue
        if target.endswith("/rootfs.ext4") and os.path.isfile(target):
            return target
    return None


def stop(p, grace):
    """SIGTERM, then SIGKILL after grace seconds."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_hvm(ctx, backend, out):
    """One hvm VM with the servers; measures, then stops it. Returns the root disk's path."""
    hvm = [os.path.join(ctx["build"], "hvm-run"), "--image", ctx["image"], "--cpus", str(CPUS),
           "--memory", str(MEM_MIB), "--timeout", "1800"]
    if backend == "passt":
        hp_iperf, hp_http = free_ports(2)
        ns, addr = [], "127.0.0.1"
        hvm += ["-p", f"{hp_iperf}:{IPERF_PORT}", "-p", f"{hp_http}:{HTTP_PORT}"]
    else:
        ns, addr, hp_iperf, hp_http = ctx["ns"], TAP_GUEST, IPERF_PORT, HTTP_PORT
        hvm += ["--net", f"tap:{ctx['tap']}", "--ip", f"{TAP_GUEST}/{TAP_PREFIX}",
                "--gateway", TAP_HOST]
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(ns + hvm + ["--cmd", GUEST_CMD], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err, env=ctx["env"])
    try:
        wait_http(ns, f"http://{addr}:{hp_http}/", p, time.monotonic() + BOOT_TIMEOUT, "hvm-run")
        disk = root_disk_of(p.pid)
        measure(ns, addr, hp_iperf, hp_http, ctx["seconds"], ctx["tools"], out)
        return disk
    except RuntimeError as e:
        stop(p, 5)
        err.seek(0)
        raise RuntimeError(f"{e}; hvm-run: {err.read().decode(errors='replace').strip()[-300:]}")
    finally:
        stop(p, 20)
        err.close()


# ---- QEMU ------------------------------------------------------------------------------

def vsock_usable():
    """None when QEMU's guest can have the agent (vhost-vsock and AF_VSOCK), else why not."""
    if not os.path.exists("/dev/vhost-vsock"):
        return "no /dev/vhost-vsock on this host"
    if not os.access("/dev/vhost-vsock", os.R_OK | os.W_OK):
        return "/dev/vhost-vsock is not readable and writable for this user"
    try:
        socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()
    except (AttributeError, OSError) as e:
        return f"AF_VSOCK sockets unavailable: {e}"
    return None


def initrd(ctx, path, net):
    """The built initramfs; for the agent plus the boot request hvm-run appends
    (vmm/hvm_request.c: root, overlay, eth0, hostname, quiet, no_avx)."""
    base = open(os.path.join(ctx["build"], "hvm-initramfs.cpio"), "rb").read()
    extra = b""
    if ctx["agent"]:
        addr, gw, mtu = net
        recs = [("root", boot.ROOT_SERIAL), ("overlay", "1"), ("net.addr", addr),
                ("net.gw", gw), ("net.mtu", str(mtu)), ("hostname", "hvm"), ("quiet", "1")]
        if NESTED:
            recs.append(("no_avx", "1"))
        request = b"".join(f"{k}={v}\0".encode() for k, v in recs)
        extra = boot.cpio_entry("hvm", 0o040755) + boot.cpio_entry("hvm/run", 0o100444, request)
    else:
        extra = boot.cpio_entry("root", 0o040700)   # where the kernel mounts root= itself
    with open(path, "wb") as f:
        f.write(base + b"\0" * (-len(base) % 4) + extra + boot.cpio_entry("TRAILER!!!", 0))


def sh_init_cmdline(cmdline, net):
    """Kernel command line for busybox sh as init: the servers after the same set-up the
    agent does (kernel file systems, writable places, eth0, environment). The script is one
    double-quoted init argument, so it holds no double quote."""
    addr, gw, mtu = net
    env = [("PATH", GUEST_PATH), ("HOME", "/root")] + (NO_AVX_ENV if NESTED else [])
    script = ("export " + " ".join(f"{k}={v}" for k, v in env) + "; "
              "busybox mount -t proc proc /proc; busybox mount -t sysfs sys /sys; "
              "busybox mount -t devtmpfs dev /dev; "
              "for d in /tmp /run /var/lib/nginx /var/log/nginx; do "
              "busybox mount -t tmpfs tmpfs $d; done; "
              f"busybox ip link set lo up; busybox ip link set eth0 mtu {mtu} up; "
              f"busybox ip addr add {addr} dev eth0; busybox ip route add default via {gw}; "
              + GUEST_CMD.replace("exec ", ""))
    assert '"' not in script
    # Not `init=... -- ARGS`: QEMU appends its virtio_mmio.device= entries to the command
    # line, and after `--` they would be init's arguments instead of the kernel's. Unknown
    # words reach init as arguments, unknown KEY=VALUE as its environment, and a value may hold
    # any character but `"`; only a bare word with a dot is dropped (taken for a module's).
    return (f"{cmdline} rdinit=/hvm-bench-no-agent root=/dev/vda ro rootfstype=ext4 rootwait "
            f'init=/bin/busybox sh -c "eval $HVM_BENCH" HVM_BENCH="{script}"')


def start_passt(work, hp_iperf, hp_http):
    """passt for QEMU, with hvm's options (devices/net_passt.c) but a socket file."""
    sdir = os.path.join(work, "passt")
    os.makedirs(sdir, mode=0o700, exist_ok=True)
    sock = os.path.join(sdir, "sock")
    argv = ["passt", "-f", "-q", "-1", "-s", sock, "--mtu", str(PASST_MTU),
            "-t", f"{hp_iperf}:{IPERF_PORT}", "-t", f"{hp_http}:{HTTP_PORT}", "-u", "none"]
    if os.geteuid() == 0:
        # passt becomes nobody before it binds the socket (and says "bound" even when that
        # failed): the directory must be nobody's, and the one above it searchable.
        os.chown(sdir, 65534, 65534)
        os.chmod(work, 0o711)
        argv += ["--runas", "65534:65534"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock):
        if p.poll() is not None or time.monotonic() > deadline:
            stop(p, 2)
            text = p.stderr.read().decode(errors="replace").splitlines()
            text = [t for t in text if t.strip() and "to syslog" not in t]
            raise RuntimeError(f"passt: {' | '.join(text)[-200:]}")
        time.sleep(0.05)
    return p, sock


class AgentHost:
    """This script as the agent's host for QEMU: HELLO, RUN of GUEST_CMD, then it only reads
    (and drops) what the agent sends until close() ends the session."""

    def __init__(self, deadline):
        self.lsock = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        try:
            self.lsock.bind((socket.VMADDR_CID_ANY, stdio.PROTO_PORT_MAIN))
        except OSError as e:
            self.lsock.close()
            raise RuntimeError(f"vsock port {stdio.PROTO_PORT_MAIN}: {e.strerror}")
        self.lsock.listen(1)
        self.deadline, self.conn, self.reader, self.error = deadline, None, None, None

    def start(self, q):
        self.reader = threading.Thread(target=self._serve, args=(q,), daemon=True)
        self.reader.start()

    def _serve(self, q):
        try:
            self.conn = stdio.accept_agent(self.lsock, q, self.deadline)
            self.conn.sendall(stdio.encode_json(stdio.T["HELLO"], {
                "version": stdio.PROTO_VERSION, "role": "host"}))
            rd = stdio.FrameReader()
            while data := self.conn.recv(65536):
                rd.feed(data)
                while (frame := rd.next()) is not None:
                    ftype, _, body = frame
                    if ftype == stdio.T["HELLO"]:
                        self.conn.sendall(stdio.encode_json(stdio.T["RUN"], {
                            "argv": ["/bin/sh", "-c", GUEST_CMD], "env": [], "tty": False,
                            "stdin": False, "rows": 24, "cols": 80}))
                    elif ftype in (stdio.T["ERROR"], stdio.T["EXIT"]):
                        self.error = f"agent: {stdio.TYPES[ftype - 1]} {body[:200]!r}"
        except (OSError, RuntimeError, stdio.ProtoError) as e:
            self.error = self.error or str(e)

    def close(self):
        for s in (self.conn, self.lsock):
            if s:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def run_qemu(ctx, backend, out, offloads=True):
    """One QEMU microvm VM with the servers on the same backend; measures, then stops it.
    offloads=False turns off the receive checksum and segmentation offloads QEMU's virtio-net
    offers when TAP gives it a vnet header, leaving the features hvm's device offers."""
    work = ctx["work"]
    cons = os.path.join(work, "console.log")
    rd = os.path.join(work, "initrd.cpio")
    net = (ctx["host_net"] + (PASST_MTU,) if backend == "passt"
           else (f"{TAP_GUEST}/{TAP_PREFIX}", TAP_HOST, TAP_MTU))
    initrd(ctx, rd, net)
    cmdline = ctx["cmdline"] if ctx["agent"] else sh_init_cmdline(ctx["cmdline"], net)
    argv = [QEMU, "-M", boot.MICROVM,
            "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", str(MEM_MIB), "-smp", str(CPUS),
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", f"file:{cons}", "-kernel", os.path.join(ctx["build"], "vmlinux"),
            "-initrd", rd, "-append", cmdline,
            "-drive", f"id=root,file={ctx['disk']},format=raw,if=none,readonly=on",
            "-device", f"virtio-blk-device,drive=root,serial={boot.ROOT_SERIAL}"]
    if ctx["agent"]:
        argv += ["-device", f"vhost-vsock-device,guest-cid={stdio.GUEST_CID}"]
    passt = host = None
    if backend == "passt":
        hp_iperf, hp_http = free_ports(2)
        ns, addr = [], "127.0.0.1"
        passt, sock = start_passt(work, hp_iperf, hp_http)
        argv += ["-netdev", f"stream,id=n0,server=off,addr.type=unix,addr.path={sock}"]
    else:
        ns, addr, hp_iperf, hp_http = ctx["ns"], TAP_GUEST, IPERF_PORT, HTTP_PORT
        argv += ["-netdev", f"tap,id=n0,ifname={ctx['tap']},script=no,downscript=no"]
    argv += ["-device", "virtio-net-device,netdev=n0" + ("" if offloads else "," + NO_OFFLOADS)]
    err = tempfile.TemporaryFile()
    q = None
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        if ctx["agent"]:
            host = AgentHost(deadline + 600)
        q = subprocess.Popen(ns + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=err)
        if host:
            host.start(q)
        wait_http(ns, f"http://{addr}:{hp_http}/", q, deadline, "qemu")
        measure(ns, addr, hp_iperf, hp_http, ctx["seconds"], ctx["tools"], out)
    except RuntimeError as e:
        err.seek(0)
        tail = open(cons, errors="replace").read()[-400:] if os.path.exists(cons) else ""
        why = host.error if host and host.error else ""
        raise RuntimeError(f"{e}; {why} qemu: {err.read().decode(errors='replace').strip()[-300:]}"
                           f" console: {tail.strip()}")
    finally:
        if host:
            host.close()        # the agent powers off
        if q:
            stop(q, 10 if host else 0)
        if passt:
            stop(passt, 2)
        err.close()


# ---- TAP ---------------------------------------------------------------------------------

def tap_setup():
    """A namespace with a TAP device for the VMs; (ns prefix, tap name, namespace name)."""
    if os.geteuid() != 0:
        raise Unavailable("TAP needs root here (a TAP device and a network namespace)")
    if not os.path.exists("/dev/net/tun") or not shutil.which("ip"):
        raise Unavailable("TAP needs /dev/net/tun and ip(8)")
    name, tap = f"hvmbench{os.getpid()}", "hvmbtap0"
    cmds = [["ip", "netns", "add", name],
            ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
            ["ip", "netns", "exec", name, "ip", "tuntap", "add", "dev", tap, "mode", "tap"],
            ["ip", "netns", "exec", name, "ip", "addr", "add", f"{TAP_HOST}/{TAP_PREFIX}",
             "dev", tap],
            ["ip", "netns", "exec", name, "ip", "link", "set", tap, "up"]]
    for c in cmds:
        r = subprocess.run(c, capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            raise Unavailable(f"TAP set-up: {' '.join(c)}: {r.stderr.strip()}")
    return ["ip", "netns", "exec", name], tap, name


# ---- main --------------------------------------------------------------------------------

UNITS = {"host->guest": "Mbit/s", "guest->host": "Mbit/s", "HTTP": "req/s"}


def main():
    args = sys.argv[1:]
    if len(args) > 2 or any(a.startswith("-") for a in args):
        sys.exit("usage: bench/net.py BUILD_DIR [RUNS]")
    build = os.path.abspath(args[0] if args else "build")
    runs = int(args[1]) if len(args) > 1 else 3
    seconds = int(os.environ.get("HVM_BENCH_NET_SECONDS", "5" if NESTED else "10"))
    if runs < 1 or seconds < 1:
        sys.exit("bench/net.py: RUNS and HVM_BENCH_NET_SECONDS must be at least 1")
    notes = []
    tools = [t for t in ("iperf3", "wrk") if shutil.which(t)]
    notes += [f"no {t} on the host: its figures are not measured" for t in ("iperf3", "wrk")
              if t not in tools]
    head = (f"network benchmark: {runs} alternating run(s) each, {MEM_MIB} MiB, {CPUS} vCPU, "
            f"iperf3 -t {seconds}, wrk {' '.join(WRK)}; medians")
    try:
        image = debian_image(build)
    except Unavailable as e:
        print(head)
        print(f"  not measured: {e}")
        return
    ctx = {"build": build, "image": image, "seconds": seconds, "tools": tools,
           # hvm's image cache for this bench, kept in BUILD: converted once, not in ~/.cache.
           "env": dict(os.environ, XDG_CACHE_HOME=os.path.join(build, "bench-cache")),
           "disk": None, "agent": False}
    qemu_why = None if os.path.exists(QEMU) else f"no {QEMU} on this host"
    if not qemu_why:
        ctx["cmdline"] = stdio.qemu_cmdline(os.path.join(build, "hvm-run"))
        vsock_why = vsock_usable()
        ctx["agent"] = vsock_why is None
        if vsock_why:
            notes.append(f"qemu ran busybox sh as init, not the agent: {vsock_why}, and the agent "
                         f"gets its command over vsock (see the docstring)")
    results = {}     # (backend, vmm) -> metric -> [values]
    backends = []
    if shutil.which("passt"):
        backends.append("passt")
    else:
        notes.append("passt: not measured: no passt on the host (Debian package 'passt')")
    tap_ns = None
    try:
        ctx["ns"], ctx["tap"], tap_ns = tap_setup()
        backends.append("tap")
    except Unavailable as e:
        notes.append(f"tap: not measured: {e}")
    try:
        ctx["host_net"] = host_ipv4()
    except Unavailable as e:
        ctx["host_net"] = None
        if "passt" in backends and not qemu_why:
            notes.append(f"passt qemu: not measured: {e}")
    try:
        with tempfile.TemporaryDirectory(prefix="hvm-bench-net.") as work:
            ctx["work"] = work
            for backend in backends:
                failed = set()
                for i in range(runs):
                    for vmm in VMMS[backend]:
                        if vmm in failed:
                            continue
                        if vmm != "hvm" and (qemu_why or not ctx["disk"] or
                                              (backend == "passt" and not ctx["host_net"])):
                            continue
                        row = {}
                        try:
                            if vmm == "hvm":
                                disk = run_hvm(ctx, backend, row)
                                ctx["disk"] = ctx["disk"] or disk
                                if not ctx["disk"]:
                                    qemu_why = "hvm-run's root disk was not found among its files"
                            else:
                                run_qemu(ctx, backend, row, offloads=vmm == "qemu")
                        except (RuntimeError, Unavailable, OSError,
                                subprocess.TimeoutExpired) as e:
                            failed.add(vmm)
                            why = " ".join(str(e).split())    # one line
                            notes.append(f"{backend} {vmm}: failed: {why}")
                            print(f"{backend} {vmm}: failed: {why}", file=sys.stderr)
                        for k, v in row.items():
                            results.setdefault((backend, vmm), {}).setdefault(k, []).append(v)
                        print(f"run {i + 1}/{runs} {backend} {vmm}: " + ", ".join(
                            f"{k} {v:.3f} {UNITS[k]}" for k, v in row.items() if k in UNITS),
                            file=sys.stderr)
    finally:
        if tap_ns:
            subprocess.run(["ip", "netns", "del", tap_ns], capture_output=True)

    print(head)
    if not qemu_why:
        print("  qemu: same vmlinux, RAM, vCPUs, kernel command line and root disk as hvm; "
              + ("same initramfs and boot request (the agent)" if ctx["agent"] else
                 "busybox sh as init in place of the agent (root=/dev/vda and the script added "
                 "to the command line)"))
    for backend in backends:
        for metric in ("host->guest", "guest->host", "HTTP"):
            vals = {vmm: statistics.median(results[(backend, vmm)][metric])
                    for vmm in VMMS[backend] if metric in results.get((backend, vmm), {})}
            for vmm, v in vals.items():
                line = f"  {backend:<5} {metric:<11} {vmm:<14} {v:9.3f} {UNITS[metric]}"
                if vmm != "hvm" and "hvm" in vals and v > 0:
                    line += f"   ratio hvm/{vmm} {vals['hvm'] / v:.3f}"
                print(line)
            if metric == "HTTP":
                for vmm in VMMS[backend]:
                    errs = [e for e in results.get((backend, vmm), {}).get("HTTP errors", []) if e]
                    if errs:
                        print(f"  {backend:<5} HTTP {vmm} wrk reported: {errs[-1]}")
    if qemu_why:
        print(f"  qemu: not measured: {qemu_why}")
    for n in notes:
        print(f"  {n}")


if __name__ == "__main__":
    main()
