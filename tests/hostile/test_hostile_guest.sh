#!/usr/bin/env bash
# A hostile guest under KVM: tests/guest/hostile_guest/, a freestanding kernel booted by the
# real hvm-run with --kernel and the real devices (the read-only root disk, a volume, vsock
# with host peers, net through passt, two vCPUs), attacks virtio-mmio from inside, class by
# class (docs/threat-model.md). The VMM must survive every class (the guest gets to print
# its line, and saw nothing but the promised answers), name what it refused in its log, leave
# the host's files as they were, and end the run with 125 when the guest resets the machine,
# nothing left behind, within the calibrated timeout.
. "$(dirname "$0")/../e2e/lib.sh"
G=$BUILD/tests/guest/hostile_guest.elf
[ -e "$G" ] || { echo "missing $G: run make test-hostile (or make $G)"; exit 1; }
ROOT_IMG=$BUILD/hvm-rootfs.ext4
[ -e "$ROOT_IMG" ] || { echo "missing $ROOT_IMG: run make"; exit 1; }
calibrate
o=$WORK/o e=$WORK/e
mkdir -p $WORK/tmp $WORK/run
export TMPDIR=$WORK/tmp XDG_RUNTIME_DIR=$WORK/run XDG_CACHE_HOME=$WORK/cache

# Every class the guest runs, by area (tests/guest/hostile_guest/classes_*.c).
CLASSES="queue-size-zero queue-size-not-pow2 queue-size-above-max ring-outside-ram
	ring-over-ram-top ring-misaligned queue-ready-toggle-mid-io unoffered-features
	status-regressions config-out-of-range mmio-wrong-width mmio-unaligned queue-sel-out-of-range
	queue-reconfig-after-driver-ok resized-queue-notified
	desc-chain-loop desc-outside-ram desc-len-4g desc-index-out-of-range indirect-bad
	avail-idx-jump zero-length wrong-direction chain-longer-than-queue indirect-without-feature
	notify-storm event-idx-edges
	desc-rewrite-race rings-overlap buffer-over-rings reset-mid-io long-chains
	blk-sector-past-end blk-bad-sizes blk-bad-headers blk-write-read-only
	vsock-wrong-cid vsock-oversize vsock-bad-ops vsock-short-packet vsock-rx-buffer-bad
	vsock-rst-flood vsock-credit-abuse vsock-conn-flood
	net-tx-short net-tx-oversize net-tx-csum-bad net-rx-buffer-bad
	queue-not-ready held-rx-buffer-across-queue-reconfig net-rx-flood net-rx-burst
	mmio-string-ops random-register-writes
	unclaimed-mmio unclaimed-ports boot-timer-abuse serial-abuse serial-flood
	smp-register-race"

# The volume must be ext4 for hvm-run to attach it; the guest writes its last sector only.
vol=$WORK/vol.img
mke2fs -q -t ext4 "$vol" 4M >/dev/null 2>&1 || { bad "volume made" "mke2fs failed"; finish; exit; }
vol_size=$(stat -c %s "$vol")
vol_head=$(head -c $((vol_size - 512)) "$vol" | sha256sum)
root_sum=$(sha256sum <"$ROOT_IMG")

# The host peers of the vsock classes, where the device connects for guest port P with
# --api-socket A: A_5000 sends 256 KiB as fast as the device takes it and never reads;
# A_5001 listens with a backlog of 256 and never accepts.
api=$WORK/api.sock
python3 - "$api" <<'EOF' &
import socket, sys, time
credit = socket.socket(socket.AF_UNIX); credit.bind(sys.argv[1] + "_5000"); credit.listen(4)
backlog = socket.socket(socket.AF_UNIX); backlog.bind(sys.argv[1] + "_5001"); backlog.listen(256)
credit.setblocking(False)
conns, data = [], b"h" * 262144
while True:
    try:
        c, _ = credit.accept(); c.setblocking(False); conns.append([c, 0])
    except BlockingIOError:
        pass
    for e in conns:
        try:
            e[1] += e[0].send(data[e[1]:]) if e[1] < len(data) else 0
        except OSError:
            pass
    time.sleep(0.005)
EOF
PEERS=$!

# The host connections the guest asks for on its console ("host, connect [N clients ]to
# vsock port P", tests/guest/hostile_guest/classes_rx.c and classes_vsock.c): made through
# the api socket as any host program would, while the guest's receive queue is missing or was
# resized, or N at once; kept open to the end. Each request met ("P" or "P xN", or the error)
# goes to $WORK/connects.
python3 - "$api" "$e" "$WORK/connects" <<'EOF' &
import re, socket, sys, time
api, log, out = sys.argv[1:]
seen, held = 0, []
while True:
    try:
        with open(log, "rb") as f:
            f.seek(seen)
            data = f.read()
    except OSError:
        data = b""
    whole = data.rfind(b"\n") + 1
    for m in re.finditer(rb"hostile-guest: host, connect (?:(\d+) clients )?to vsock port (\d+)\n",
                         data[:whole]):
        count, port = int(m.group(1) or 1), m.group(2)
        made = []
        try:
            for _ in range(count):
                s = socket.socket(socket.AF_UNIX)
                held.append(s)
                s.connect(api)
                made.append(s)
            for s in made:      # all connected first: the device sees them at once
                try:
                    s.sendall(b"CONNECT " + port + b"\n")
                except OSError:
                    pass        # past the device's limit: closed on us, as it should
            note = port.decode() + ("" if count == 1 else " x%d" % count)
        except OSError as err:
            note = "failed after %d: %s" % (len(made), err)
        with open(out, "a") as f:
            f.write(note + "\n")
    seen += whole
    time.sleep(0.01)
EOF
CONNECTER=$!
trap 'kill $PEERS $CONNECTER 2>/dev/null; rm -rf "$WORK"' EXIT
eventually test -S "${api}_5001" || { bad "vsock host peers listen" "python3 failed"; finish; exit; }

# CPU ticks of each of hvm-run's threads, "TID TICKS" a line (utime + stime, /proc's fields
# 14 and 15).
thread_ticks() {
	for t in /proc/$1/task/*; do
		read -r l <"$t/stat" 2>/dev/null || continue
		set -- ${l##*) }
		echo "${t##*/} $((${12} + ${13}))"
	done
}

# --cold: no template of a raw kernel; --console: the guest's UART on stderr, as it runs;
# --net user: a virtio-net device (through passt, a dependency: make deps); --cpus 2: the
# guest starts the second vCPU itself, for its last class.
# -e marks the command line, so a leftover process can be found by it.
start=$(date +%s)
"$HVM" -e HOSTILE_TEST=$WORK --cold --console --cpus 2 --memory 128 --net user \
	--api-socket "$api" \
	--kernel "$G" -v "$vol:/d" --cmd true >"$o" 2>"$e" </dev/null &
PID=$!
t=0 idle0= idle1=
while kill -0 $PID 2>/dev/null && [ $t -lt $((VM_TIMEOUT * 10)) ]; do
	# net-rx-flood's idle second, after passt's 300 answers met no receive buffer: every
	# thread's CPU at its start and end.
	if [ -z "$idle0" ] && grep -qas '^net-rx-flood: idle for 1 s' "$e"; then
		idle0=$(thread_ticks $PID)
	elif [ -n "$idle0" ] && [ -z "$idle1" ] && grep -qas '^net-rx-flood: idle over' "$e"; then
		idle1=$(thread_ticks $PID)
	fi
	sleep 0.1; t=$((t + 1))
done
kill -0 $PID 2>/dev/null && kill -KILL $PID
wait $PID; RC=$?
secs=$(($(date +%s) - start))
# HOSTILE_GUEST_LOG=FILE keeps the run's stderr (the guest's lines and the VMM's log).
[ -z "${HOSTILE_GUEST_LOG:-}" ] || cp "$e" "$HOSTILE_GUEST_LOG"
kill $PEERS $CONNECTER 2>/dev/null
echo "# hostile guest ran ${secs}s (limit ${VM_TIMEOUT}s)"

# The VMM's log lines come whole but may land inside a guest line (the UART is byte by byte):
# the guest's text is stderr without them, the log is them alone.
sed -z 's/hvm: [a-z]*: [^\n]*\n//g' "$e" >$WORK/guest
grep -o 'hvm: [a-z]*: .*' "$e" >$WORK/log

# ---- the run's end ------------------------------------------------------------------
expect_rc "ends with 125 (the guest reset the machine without an exit status)" 125
[ "$RC" -lt 124 ] || [ "$RC" -eq 125 ] && ok "no crash signal, no timeout (exit $RC)" ||
	bad "no crash signal, no timeout" "exit $RC"
[ $secs -lt "$VM_TIMEOUT" ] && ok "finished within the calibrated timeout (${secs}s)" ||
	bad "finished within the calibrated timeout" "${secs}s"
[ "$(grep -c 'the guest stopped (guest reset) without reporting an exit status' $e)" -eq 1 ] &&
	ok "stderr names the guest's reset once" || bad "stderr names the guest's reset once" "$(tail -c 400 $e)"
sleep 0.2
left=$(pgrep -f -- "HOSTILE_TEST=$WORK" | tr '\n' ' ')
left+=$(grep -c "@hvm-$PID-" /proc/net/unix | grep -v '^0$')
left+=$(find $WORK/tmp $WORK/run -mindepth 1 | tr '\n' ' ')
# passt is hvm-run's child, reaped by it: a wedged one would have been named in the log.
left+=$(grep -o 'passt (pid [0-9]*): still running.*' $e)
[ -e "$api" ] || [ -e "${api}_1024" ] && left+="$api (its api sockets) "
[ -z "$left" ] && ok "nothing left behind" || bad "nothing left behind" "$left"

# ---- each class, as the guest saw it ------------------------------------------------
grep -q '^device 2: id 19 ' $WORK/guest && grep -q '^device 3: id 1 ' $WORK/guest &&
	ok "the guest found root disk, volume, vsock and net" ||
	bad "the guest found root disk, volume, vsock and net" "$(grep -m5 -e '^device' -e missing $WORK/guest)"
# Each class of LIST as the guest saw it (its text in FILE): a "done" line and no unexpected
# answer; counted into n and survived. A class LIST does not know would go unchecked: every
# "done" in FILE must be listed. Usage: check_classes FILE LIST WHICH_BOOT
n=0 survived=0
check_classes() {
	local file=$1 list=$2 boot=$3 c unknown
	for c in $list; do
		n=$((n + 1))
		if ! grep -qF "class $c: done" "$file"; then
			bad "class $c: the VMM survived it" "no 'done' line; last guest output: $(tail -c 300 "$file")"
		elif grep -qF "class $c: unexpected" "$file"; then
			bad "class $c: the VMM answered as promised" "$(grep -F "class $c: unexpected" "$file" | head -3)"
		else
			ok "class $c: survived, answered as promised"
			survived=$((survived + 1))
		fi
	done
	unknown=$(sed -n 's/^.*class \([a-z0-9-]*\): done$/\1/p' "$file" | grep -vxF -f <(tr -s ' \t\n' '\n' <<<"$list"))
	[ -z "$unknown" ] && ok "$boot: every class the guest ran is checked ($(wc -w <<<"$list"))" ||
		bad "$boot: every class the guest ran is checked" "$unknown"
}
check_classes $WORK/guest "$CLASSES" "first boot"
grep -q 'hostile-guest: all classes done' $WORK/guest && ok "the guest got through all classes" ||
	bad "the guest got through all classes" "$(tail -c 300 $WORK/guest)"
for s in "root disk" volume vsock net; do
	grep -qF "sanity: $s ok" $WORK/guest && ok "after every class: $s serves" ||
		bad "after every class: $s serves" "$(grep sanity $WORK/guest)"
done

# serial-flood's 4096 numbered lines of 64 bytes: each delivered once, in order, whole.
grep -ax 'sf [0-9]\{4\} x\{55\}' $WORK/guest | cut -c4-7 |
	awk 'int($1) != NR - 1 { bad = 1 } END { exit bad || NR != 4096 }' &&
	ok "serial-flood: every byte of 256 KiB on the console once, in order" ||
	bad "serial-flood: every byte of 256 KiB on the console once, in order" \
		"$(grep -ac '^sf ' $WORK/guest) lines"
# The host connections the guest asked for were made: vsock-conn-flood's 136 at once and one
# more, queue-not-ready's two, held-rx-buffer-across-queue-reconfig's one.
[ "$(cat $WORK/connects 2>/dev/null)" = "$(printf '9 x136\n9\n9\n9\n9')" ] &&
	ok "the guest's host vsock connections were made" ||
	bad "the guest's host vsock connections were made" "$(cat $WORK/connects 2>/dev/null)"
# No VMM thread but the one spinning vCPU used CPU in net-rx-flood's idle second: the device
# dropped passt's answers instead of spinning on them.
if [ -n "$idle0" ] && [ -n "$idle1" ]; then
	busy=$(join <(sort <<<"$idle0") <(sort <<<"$idle1") | awk '{ print $3 - $2 }' | sort -rn |
		tail -n +2 | awk '{ s += $1 } END { print s * 10 }')
	[ "$busy" -lt 200 ] && ok "net-rx-flood: the VMM idle after the flood (${busy} ms of CPU besides the vCPU)" ||
		bad "net-rx-flood: the VMM idle after the flood" "${busy} ms of CPU besides the vCPU"
else
	bad "net-rx-flood: the VMM idle after the flood" "its idle second was not seen"
fi

# ---- what the VMM said it refused -------------------------------------------------------
for l in "virtio-blk queue 0: queue size is 0, too large or not a power of two; queue disabled until the driver resets the device" \
	"virtio-blk queue 0: ring outside guest RAM" "virtio-blk queue 0: misaligned ring" \
	"virtio-blk queue 0: descriptor index out of range or chain loops" \
	"virtio-blk queue 0: buffer outside guest RAM" \
	"virtio-blk queue 0: available index ran more than a queue ahead" \
	"virtio-blk queue 0: nested indirect table" "virtio-blk queue 0: indirect descriptor with NEXT set" \
	"virtio-blk queue 0: indirect table size is 0, not a multiple of 16 or too large" \
	"virtio-blk queue 0: indirect table outside guest RAM" \
	"virtio-blk queue 0: readable buffer after a writable one" \
	"to host port 2147422772: wrong cid; answering RST" \
	"virtio-vsock: rx buffer smaller than a packet header" \
	"to host port 5000: data beyond the credit we gave; resetting it" \
	"virtio-net: transmit: frame shorter than its headers" \
	"virtio-net: transmit: frame larger than the MTU allows" \
	"virtio-net queue 1: buffer outside guest RAM" \
	"virtio-net: receive buffer smaller than the header"; do
	grep -qF -- "$l" $WORK/log && ok "log names: $l" || bad "log names: $l" "$(head -c 300 $WORK/log)"
done
nb=$(grep -c 'hvm: warn: virtio-blk: device needs reset' $WORK/log)
nv=$(grep -c 'hvm: warn: virtio-vsock: device needs reset' $WORK/log)
# At least one per refused queue or chain the guest made above (blk), and per bad rx buffer.
[ "$nb" -ge 40 ] && ok "virtio-blk went NEEDS_RESET with a log line each time ($nb)" ||
	bad "virtio-blk went NEEDS_RESET with a log line each time" "$nb lines"
[ "$nv" -ge 2 ] && ok "virtio-vsock went NEEDS_RESET with a log line ($nv)" ||
	bad "virtio-vsock went NEEDS_RESET with a log line" "$nv lines"
[ "$(grep -c 'hvm: warn: virtio-net: device needs reset' $WORK/log)" -ge 1 ] &&
	ok "virtio-net went NEEDS_RESET with a log line" || bad "virtio-net went NEEDS_RESET with a log line"
! grep -q 'hvm: error:' $WORK/log && ok "no error in the VMM's log" || bad "no error in the VMM's log" "$(grep 'hvm: error:' $WORK/log | head -3)"

# ---- a second, short boot: RAM above the MMIO hole ---------------------------------------
# With --memory 3200 low RAM ends where the hole starts (3 GiB) and 128 MiB follow at 4 GiB,
# mapped right after low RAM on the host; the guest runs only the classes that need it
# (hostile.areas=high-ram on its command line). No net, one vCPU: the boot costs little.
HIGH_CLASSES="addr-in-mmio-hole-with-high-ram"
vm $WORK/o2 $WORK/e2 -e HOSTILE_TEST=$WORK --cold --console --cpus 1 --memory 3200 \
	--append hostile.areas=high-ram --kernel "$G" -v "$vol:/d" --cmd true
[ -z "${HOSTILE_GUEST_LOG:-}" ] || cp $WORK/e2 "$HOSTILE_GUEST_LOG.high-ram"
sed -z 's/hvm: [a-z]*: [^\n]*\n//g' $WORK/e2 >$WORK/guest2
[ "$RC" -eq 125 ] && ok "high-RAM boot: ends with 125" || bad "high-RAM boot: ends with 125" "exit $RC: $(tail -c 300 $WORK/e2)"
check_classes $WORK/guest2 "$HIGH_CLASSES" "high-RAM boot"
for s in "root disk" volume vsock; do
	grep -qF "sanity: $s ok" $WORK/guest2 && ok "high-RAM boot: $s serves after its class" ||
		bad "high-RAM boot: $s serves after its class" "$(grep sanity $WORK/guest2)"
done
[ "$(grep -c 'hvm: warn: virtio-blk queue 0: buffer outside guest RAM' $WORK/e2)" -ge 3 ] &&
	ok "high-RAM boot: log names the 3 buffers in or across the hole" ||
	bad "high-RAM boot: log names the 3 buffers in or across the hole" "$(grep -c 'outside guest RAM' $WORK/e2)"
! grep -q 'hvm: error:' $WORK/e2 && ok "high-RAM boot: no error in the VMM's log" ||
	bad "high-RAM boot: no error in the VMM's log" "$(grep 'hvm: error:' $WORK/e2 | head -3)"

# ---- the host's files -----------------------------------------------------------------
[ "$(sha256sum <"$ROOT_IMG")" = "$root_sum" ] && ok "the read-only root image is unchanged" ||
	bad "the read-only root image is unchanged"
[ "$(stat -c %s "$vol")" -eq "$vol_size" ] && ok "the volume did not grow or shrink" ||
	bad "the volume did not grow or shrink" "$(stat -c %s "$vol") bytes, was $vol_size"
[ "$(head -c $((vol_size - 512)) "$vol" | sha256sum)" = "$vol_head" ] &&
	ok "the volume is unchanged but for the last sector" || bad "the volume is unchanged but for the last sector"
tail -c 512 "$vol" | grep -qa 'hostile-guest: last sector' && ok "the guest's write reached the last sector" ||
	bad "the guest's write reached the last sector"
echo "# hostile guest under KVM: $n classes, $survived survived, $((n - survived)) failed"
finish
