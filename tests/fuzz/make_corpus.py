#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/: small valid inputs for every target,
in the layouts the harnesses document. Run it again after changing a layout; the files are
committed so that `make fuzz-smoke` needs nothing but the binaries. Regression inputs
(regress-*) found by fuzzing are kept as they are."""
import gzip, hashlib, io, json, os, struct, sys, tarfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
FUZZ_RAM = 0x2000


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


NEXT, WRITE, INDIRECT = 1, 2, 4


class Ram:
    """fuzz_dev.h's layout: queue q's avail ring at q*0x200, descriptors at +0x40."""

    def __init__(self):
        self.b = bytearray(FUZZ_RAM)

    def at(self, off, data):
        self.b[off:off + len(data)] = data

    def queue(self, q, heads, descs):
        self.at(0x200 * q, struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads))
        self.at(0x200 * q + 0x40, b"".join(descs))


# ---- virtq: byte 0 log2 size (| 0x10 EVENT_IDX), byte 1 raw size, then packed RAM ----------
def virtq_ram(n, heads, descs, extra=()):
    ram = bytearray(0x4000)
    ram[0:4 + 2 * len(heads)] = struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads)
    d = (6 + 2 * n + 2 + 15) & ~15
    ram[d:d + 16 * len(descs)] = b"".join(descs)
    for off, data in extra:
        ram[off:off + len(data)] = data
    return bytes(ram[:0x2100]).rstrip(b"\0") or b"\0"


put("virtq", "chain-read-write", bytes([4, 0]) + virtq_ram(16, [0], [desc(0x1000, 16, NEXT, 1), desc(0x1010, 100, WRITE)]))
put("virtq", "two-requests-event-idx", bytes([0x13, 0]) + virtq_ram(8, [0, 2], [
    desc(0x1000, 16, NEXT, 1), desc(0x1010, 8, WRITE), desc(0x1100, 64)]))
put("virtq", "indirect", bytes([4, 0]) + virtq_ram(16, [0], [desc(0x2000, 32, INDIRECT)],
                                                   [(0x2000, desc(0x1000, 16, NEXT, 1) + desc(0x1010, 1, WRITE))]))
put("virtq", "size-256", bytes([8, 0]) + virtq_ram(256, [255], [desc(0, 0)] * 255 + [desc(0x3000, 512, WRITE)]))

# ---- virtio_blk: one queue; header, data, status ------------------------------------------
def blk_hdr(t, sector):
    return struct.pack("<IIQ", t, 0, sector)


r = Ram()
r.at(0x600, blk_hdr(0, 1))        # T_IN sector 1
r.at(0x700, blk_hdr(1, 2))        # T_OUT sector 2
r.at(0x1000, b"w" * 512)
r.at(0x720, blk_hdr(4, 0))        # FLUSH
r.at(0x740, blk_hdr(8, 0))        # GET_ID
r.queue(0, [0, 3, 6, 8], [
    desc(0x600, 16, NEXT, 1), desc(0x800, 512, WRITE | NEXT, 2), desc(0xa00, 1, WRITE),
    desc(0x700, 16, NEXT, 4), desc(0x1000, 512, NEXT, 5), desc(0xa01, 1, WRITE),
    desc(0x720, 16, NEXT, 7), desc(0xa02, 1, WRITE),
    desc(0x740, 16, NEXT, 9), desc(0xb00, 21, WRITE)])
put("virtio_blk", "read-write-flush-getid", bytes(r.b).rstrip(b"\0"))
r = Ram()
r.at(0x600, blk_hdr(0, 127))
r.at(0x1000, desc(0x600, 16, NEXT, 1) + desc(0x800, 512, WRITE | NEXT, 2) + desc(0xa00, 1, WRITE))
r.queue(0, [0], [desc(0x1000, 48, INDIRECT)])
put("virtio_blk", "indirect-read-last-sector", bytes(r.b).rstrip(b"\0"))

# ---- virtio_net: queue 0 rx, 1 tx; tail: byte 0 even = datagrams, odd = stream ----------
MAC = bytes([0x02, 0x68, 0x76, 0x6d, 0x00, 0x01])
frame = MAC + bytes([2, 0, 0, 0, 0, 9, 0x88, 0xb5]) + bytes(range(46))
r = Ram()
r.queue(0, [0, 1], [desc(0x600, 0x600, WRITE), desc(0xc00, 0x600, WRITE)])
r.at(0x1800, bytes(12) + frame)
r.queue(1, [0], [desc(0x1800, 12 + len(frame))])
put("virtio_net", "tx-and-rx-dgram", bytes(r.b) + bytes([0]) + struct.pack("<H", len(frame)) + frame)
put("virtio_net", "tx-and-rx-stream", bytes(r.b) + bytes([1]) + struct.pack(">I", len(frame)) + frame)
r2 = Ram()
r2.queue(0, [0], [desc(0x600, 12, WRITE | NEXT, 1), desc(0x700, 1514, WRITE)])
r2.at(0x1800, bytes(12) + frame[:7])
r2.at(0x1900, frame[7:])
r2.queue(1, [0], [desc(0x1800, 19, NEXT, 1), desc(0x1900, len(frame) - 7)])
put("virtio_net", "split-buffers", bytes(r2.b) + bytes([0]) + struct.pack("<H", len(frame)) + frame)

# ---- virtio_vsock: queue 0 rx, 1 tx, 2 event; tail: [flags][first tx count][host bytes] ---
def vs_hdr(src_port, dst_port, op, length=0, flags=0, src_cid=3, dst_cid=2):
    return struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port, length, 1, op, flags, 65536, 0)


def vsock_ram(tx_packets):
    r = Ram()
    rx = []
    for s in range(4):       # header buffer + data buffer, like Linux
        rx += [desc(0x600 + 64 * s, 44, WRITE | NEXT, 2 * s + 1), desc(0x800 + 256 * s, 256, WRITE)]
    r.queue(0, [0, 2, 4, 6], rx)
    descs, heads, off = [], [], 0x1000
    for hdr, payload in tx_packets:
        heads.append(len(descs))
        r.at(off, hdr + payload)
        descs.append(desc(off, len(hdr) + len(payload)))
        off += 0x100
    r.queue(1, heads, descs)
    return bytes(r.b)


put("virtio_vsock", "guest-connects-sends-closes", vsock_ram([
    (vs_hdr(5000, 1024, 1), b""), (vs_hdr(5000, 1024, 5, 5), b"hello"),
    (vs_hdr(5000, 1024, 4, 0, 3), b""), (vs_hdr(5000, 1024, 3), b"")]))
put("virtio_vsock", "host-connects-guest-answers",
    vsock_ram([(vs_hdr(6000, 49152, 2), b""), (vs_hdr(6000, 49152, 5, 3), b"abc"),
               (vs_hdr(6000, 49152, 6), b""), (vs_hdr(6000, 49152, 7), b"")])
    + bytes([1, 0]) + b"CONNECT 6000\nhost bytes")
put("virtio_vsock", "refused-and-bad-cid", vsock_ram([
    (vs_hdr(7000, 9, 1), b""), (vs_hdr(7000, 9, 5, 1, 0, 4), b"x")]))

# ---- boot_image: an ELF vmlinux and a bzImage ----------------------------------------------
code = b"\xf4" * 16
ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2, 62, 1,
                   0x100000 + 120, 64, 0, 0, 64, 56, 1, 64, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 1, 7, 0, 0xffffffff81000000, 0x100000, 136, 0x2000, 0x1000)
put("boot_image", "vmlinux", ehdr + phdr + code)
bz = bytearray(5 * 512 + 1024)
bz[0x1f1] = 4
struct.pack_into("<H", bz, 0x1fe, 0xaa55)
bz[0x200:0x202] = b"\xeb\x66"
bz[0x202:0x206] = b"HdrS"
struct.pack_into("<H", bz, 0x206, 0x020f)
struct.pack_into("<H", bz, 0x236, 1)
struct.pack_into("<I", bz, 0x22c, 0x7fffffff)
struct.pack_into("<I", bz, 0x260, 0x10000)
put("boot_image", "bzimage", bytes(bz))

# ---- proto: byte 0 seeds the piece sizes; then frames -------------------------------------
def frame_(t, stream, body):
    return struct.pack("<III", t, stream, len(body)) + body


session = b"".join([
    frame_(1, 0, b'{"version": 1, "role": "host"}'),
    frame_(2, 1, b'{"argv": ["/bin/sh", "-c", "cat"], "stdin": true}'),
    frame_(3, 1, b"some input\n"), frame_(3, 1, b""),
    frame_(6, 1, b'{"signal": 15}'), frame_(7, 1, b'{"rows": 40, "cols": 100}'),
    frame_(4, 1, b"out"), frame_(5, 1, b"err"), frame_(8, 1, b'{"status": 0}'),
    frame_(9, 0, b'{"message": "bye"}')])
put("proto", "session", bytes([7]) + session)
put("proto", "hello-old-version", bytes([1]) + frame_(1, 0, b'{"version": 0, "role": "agent"}'))
put("proto", "partial-frame", bytes([3]) + session[:40])

# ---- run_json: byte 0 bit 0: image config records (+ flags), else a RUN/SIGNAL/RESIZE body -
put("run_json", "run-full", b"\0" + json.dumps({
    "argv": ["/bin/sh", "-c", "echo hi"], "env": ["A=1", "B=two"], "cwd": "/tmp",
    "user": "1000:1000", "tty": True, "stdin": True, "rows": 24, "cols": 80}).encode())
put("run_json", "signal", b"\0" + b'{"signal": 15}')
put("run_json", "resize", b"\0" + b'{"rows": 50, "cols": 120}')
records = b"entrypoint=/bin/sh\0cmd=-c\0cmd=echo hi\0env=PATH=/usr/bin:/bin\0workdir=/srv\0user=nobody\0"
put("run_json", "config-records", b"\x01" + records)
put("run_json", "config-records-tty-args", b"\x13" + records)
put("run_json", "config-cmd-only", b"\x0b" + b"cmd=/bin/true\0")

# ---- tar: archive bytes as the converter reads them ---------------------------------------
def tar_bytes(entries, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1000000000
            if kind == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                t.addfile(ti)
            elif kind == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue().rstrip(b"\0")     # tarfile pads to 10 KiB: keep 2 end blocks
    raw += bytes(-len(raw) % 512 + 1024)
    return gzip.compress(raw, mtime=0) if gz else raw


rootfs = [("bin", "d", None), ("bin/sh", "f", b"#!shell\n"), ("bin/ls", "h", "bin/sh"),
          ("etc", "d", None), ("etc/passwd", "f", b"root:x:0:0::/root:/bin/sh\n"),
          ("usr", "l", "/"), ("tmp/.wh.gone", "f", b""), ("opt/.wh..wh..opq", "f", b"")]
put("tar", "rootfs", tar_bytes(rootfs))
put("tar", "rootfs-gz", tar_bytes(rootfs, gz=True))
layer = tar_bytes([("hello", "f", b"hi\n")])
lhex = hashlib.sha256(layer).hexdigest()
config = json.dumps({"config": {"Entrypoint": ["/hello"], "Cmd": ["x"], "Env": ["A=1"],
                                "WorkingDir": "/", "User": "0"},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lhex]}}).encode()
chex = hashlib.sha256(config).hexdigest()
manifest = json.dumps([{"Config": chex + ".json", "RepoTags": ["x:latest"],
                        "Layers": ["blobs/sha256/" + lhex]}]).encode()
put("tar", "docker-save", tar_bytes([("manifest.json", "f", manifest), (chex + ".json", "f", config),
                                     ("blobs", "d", None), ("blobs/sha256", "d", None),
                                     ("blobs/sha256/" + lhex, "f", layer)]))
oman = json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + chex, "size": len(config)},
                   "layers": [{"digest": "sha256:" + lhex, "size": len(layer)}]}).encode()
mhex = hashlib.sha256(oman).hexdigest()
index = json.dumps({"schemaVersion": 2, "manifests": [{"digest": "sha256:" + mhex, "size": len(oman),
                    "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
put("tar", "oci-layout", tar_bytes([("oci-layout", "f", b'{"imageLayoutVersion": "1.0.0"}'),
                                    ("index.json", "f", index),
                                    ("blobs/sha256/" + chex, "f", config),
                                    ("blobs/sha256/" + mhex, "f", oman),
                                    ("blobs/sha256/" + lhex, "f", layer)]))

# ---- oci_manifest: parts split by "\n@@@@\n"; "@1".."@4" become part N's sha256 ----------
SEP = b"\n@@@@\n"
docker = [b'[{"Config": "@1.json", "Layers": ["blobs/sha256/@2"]}]',
          b'{"config": {"Entrypoint": ["/hello"], "Env": ["A=1"]}, "rootfs": {"diff_ids": ["sha256:@2"]}}',
          layer]
put("oci_manifest", "docker-save", SEP.join(docker))
oci = [b'{"schemaVersion": 2, "manifests": [{"digest": "sha256:@1", "annotations": '
       b'{"org.opencontainers.image.ref.name": "latest"}}]}',
       b'{"schemaVersion": 2, "config": {"digest": "sha256:@2"}, "layers": [{"digest": "sha256:@3"}]}',
       b'{"config": {"Cmd": ["/bin/sh"], "WorkingDir": "/srv", "User": "1:1"}, "rootfs": {"diff_ids": ["sha256:@3"]}}',
       layer]
put("oci_manifest", "oci", SEP.join(oci))
nested = [b'{"manifests": [{"digest": "sha256:@1", "platform": {"architecture": "amd64"}}]}',
          b'{"manifests": [{"digest": "sha256:@2"}]}'] + oci[1:]
nested[2] = nested[2].replace(b"@2", b"@3").replace(b"@3\"}]", b"@4\"}]")
nested[3] = nested[3].replace(b"@3", b"@4")
put("oci_manifest", "oci-nested-index", SEP.join(nested))

# ---- p9: byte 0 bit 0 read-only; then messages "len[2] type[1] tag[2] body" (no size field) ----
def p9(mtype, body, tag=1):
    m = struct.pack("<BH", mtype, tag) + body
    return struct.pack("<H", len(m)) + m


def p9s(s):
    return struct.pack("<H", len(s)) + s


P9_START = (p9(100, struct.pack("<I", 65536) + p9s(b"9P2000.L"), 0xffff) +
            p9(104, struct.pack("<II", 1, 0xffffffff) + p9s(b"root") + p9s(b"") + struct.pack("<I", 0)))
P9_WALK_IN = p9(110, struct.pack("<IIH", 1, 2, 1) + p9s(b"in"))
put("p9", "read-a-file", b"\0" + P9_START + P9_WALK_IN + p9(12, struct.pack("<II", 2, 0)) +
    p9(116, struct.pack("<IQI", 2, 0, 4096)) + p9(120, struct.pack("<I", 2)))
put("p9", "through-the-link", b"\0" + P9_START +
    p9(110, struct.pack("<IIH", 1, 3, 1) + p9s(b"link")) + p9(12, struct.pack("<II", 3, 2)) +
    p9(26, struct.pack("<IIIIIQQQQQ", 3, 9, 0o777, 0, 0, 0, 0, 0, 0, 0)) +
    p9(22, struct.pack("<I", 3)))
put("p9", "create-mkdir-rename-readdir", b"\0" + P9_START +
    p9(110, struct.pack("<IIH", 1, 4, 0)) +
    p9(14, struct.pack("<I", 4) + p9s(b"new") + struct.pack("<III", 2, 0o644, 0)) +
    p9(118, struct.pack("<IQI", 4, 0, 3) + b"abc") +
    p9(72, struct.pack("<I", 1) + p9s(b"d") + struct.pack("<II", 0o755, 0)) +
    p9(74, struct.pack("<I", 1) + p9s(b"new") + struct.pack("<I", 1) + p9s(b"renamed")) +
    p9(110, struct.pack("<IIH", 1, 5, 0)) + p9(12, struct.pack("<II", 5, 0)) +
    p9(40, struct.pack("<IQI", 5, 0, 8192)) +
    p9(76, struct.pack("<I", 1) + p9s(b"renamed") + struct.pack("<I", 0)) +
    p9(76, struct.pack("<I", 1) + p9s(b"d") + struct.pack("<I", 0x200)))
put("p9", "read-only-share", b"\1" + P9_START + P9_WALK_IN + p9(12, struct.pack("<II", 2, 1)))
