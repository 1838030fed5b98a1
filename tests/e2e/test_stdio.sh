#!/usr/bin/env bash
# vsock/agent issue: byte-exact separate streams, stdin and EOF, exit codes, signals, -t,
# a second process in a running VM, and a guest program that breaks the protocol.
. "$(dirname "$0")/lib.sh"
o=$WORK/o e=$WORK/e
calibrate
# Bulk data crosses emulated guest kernel code: allow many boots' worth of time for it.
BULK_TIMEOUT=$((VM_TIMEOUT * 8))
sha() { sha256sum | cut -d' ' -f1; }

timeout "$BULK_TIMEOUT" "$HVM" --cmd 'head -c 104857600 /dev/zero | tr "\0" a; head -c 10485760 /dev/zero | tr "\0" b >&2' >$o 2>$e </dev/null
RC=$?
expect_rc "100 MiB stdout + 10 MiB stderr exits 0" 0
[ "$(sha <$o)" = "$(head -c 104857600 /dev/zero | tr '\0' a | sha)" ] && ok "100 MiB stdout byte-exact" ||
	bad "100 MiB stdout byte-exact" "$(wc -c <$o) bytes"
[ "$(sha <$e)" = "$(head -c 10485760 /dev/zero | tr '\0' b | sha)" ] && ok "10 MiB stderr byte-exact, nothing else in it" ||
	bad "10 MiB stderr byte-exact, nothing else in it" "$(wc -c <$e) bytes: $(grep -a hvm $e | head -3)"

head -c 5000000 /dev/urandom >$WORK/in
timeout "$BULK_TIMEOUT" "$HVM" -i --cmd 'sha256sum' <$WORK/in >$o 2>$e; RC=$?
expect_rc "stdin through sha256sum exits 0" 0
[ "$(cut -d' ' -f1 <$o)" = "$(sha <$WORK/in)" ] && ok "stdin arrives byte-exact" || bad "stdin arrives byte-exact" "$(cat $o)"
printf 'one\ntwo\n' | timeout "$VM_TIMEOUT" "$HVM" -i --cmd 'cat; echo after-eof' >$o 2>$e; RC=$?
expect_out "stdin EOF ends cat" "$(printf 'one\ntwo\nafter-eof')"
vm $o $e --cmd 'cat; echo no-stdin-is-eof'
expect_out "without -i stdin is empty" no-stdin-is-eof

for c in 0 1 42 255; do vm $o $e --cmd "exit $c"; expect_rc "exit $c" $c; done

# CPU-bound user code runs natively on PVM hosts and never enters the guest kernel by itself:
# the sleep must still wake beside a spinner, and SIGTERM still reach the foreground one.
"$HVM" --cmd 'while :; do :; done & sleep 1; echo ready; while :; do :; done' >$o 2>$e </dev/null &
pid=$!
wait_for $o ready && ok "a sleep wakes beside a spinning process" || bad "a sleep wakes beside a spinning process"
start=$(date +%s)
signal_vm TERM
expect_rc "SIGTERM kills a spinning process: 143" 143
el=$(($(date +%s) - start))
[ $el -le $secs ] && ok "spinning process: stopped within a boot's time (${el}s)" ||
	bad "spinning process: stopped within a boot's time" "${el}s, boot ${secs}s"

"$HVM" --cmd 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 1; done' >$o 2>$e </dev/null &
pid=$!
wait_for $o ready; kill -TERM $pid; wait $pid; RC=$?
grep -q got-term $o && ok "SIGTERM reaches the guest trap" || bad "SIGTERM reaches the guest trap" "$(cat $o $e)"
expect_rc "the trap's exit status comes back" 3

"$HVM" --cmd 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 1; done' >$o 2>$e </dev/null &
pid=$!
wait_for $o ready; kill -USR1 $pid; wait_for $o got-usr1 && ok "SIGUSR1 forwarded" || bad "SIGUSR1 forwarded"
kill -INT $pid; wait $pid; RC=$?
expect_rc "SIGINT kills the loop: 130" 130
sleep 1; [ -z "$(pgrep -P $$ -f hvm-run)" ] && ok "no hvm-run left behind" || bad "no hvm-run left behind"

# A signal queued behind a full window of stdin that the process never reads still gets through.
head -c 3000000 /dev/zero >$WORK/unread
"$HVM" -i --cmd 'head -c 300000 >/dev/null; exec sleep 100000' <$WORK/unread >$o 2>$e &
pid=$!
# stdin_read_past N: hvm-run has read more than N bytes of its stdin.
stdin_read_past() { local p; p=$(awk '/^pos:/{print $2}' /proc/$pid/fdinfo/0 2>/dev/null); [ "${p:-0}" -ge "$1" ]; }
# 300000 read by head, then a pipe's 64 KiB and most of the 256 KiB window wait in the guest.
eventually stdin_read_past 550000
signal_vm TERM
expect_rc "SIGTERM passes unread stdin: 143" 143

if command -v script >/dev/null; then
	COLUMNS=97 LINES=31 timeout "$VM_TIMEOUT" script -qec "stty cols 97 rows 31; $HVM -t -i --cmd 'tty; stty size'" /dev/null >$o 2>&1 </dev/null
	grep -q '/dev/pts/' $o && ok "-t gives a pty" || bad "-t gives a pty" "$(cat $o)"
	grep -q '31 97' $o && ok "-t window size matches" || bad "-t window size matches" "$(cat $o)"
fi

# A second process in a running VM, through the API socket.
"$HVM" --api-socket $WORK/api --cmd 'echo ready; exec sleep 100000' >$o 2>$e </dev/null &
pid=$!
wait_for $o ready
timeout "$VM_TIMEOUT" "$HVM" exec --api-socket $WORK/api --cmd 'echo from-exec; echo to-err >&2; exit 5' >$WORK/xo 2>$WORK/xe </dev/null
RC=$?
expect_rc "exec: its own exit status" 5
[ "$(cat $WORK/xo)" = from-exec ] && ok "exec: its own stdout" || bad "exec: its own stdout" "$(cat $WORK/xo)"
grep -q to-err $WORK/xe && ok "exec: its own stderr" || bad "exec: its own stderr"
kill -TERM $pid; wait $pid; RC=$?
expect_rc "the main process still ends the VM: 143" 143
timeout 10 "$HVM" exec --api-socket $WORK/api --cmd true >/dev/null 2>$WORK/xe; RC=$?
expect_rc "exec into a stopped VM fails with 125" 125

# A non-blocking stdout (inherited O_NONBLOCK) whose reader is slow: a full pipe is waited on,
# not taken for a reader that is gone, so not a byte is lost.
python3 - "$HVM" "$VM_TIMEOUT" >$o 2>$e <<'EOF'
import fcntl, os, select, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
cmd = "dd if=/dev/zero bs=64k count=4 2>/dev/null | tr '\\0' x"
p = subprocess.Popen(["timeout", sys.argv[2], sys.argv[1], "--cmd", cmd], stdout=w, stdin=subprocess.DEVNULL)
os.close(w)
select.select([r], [], [])	# the first bytes are out: the guest writes 256 KiB into a 64 KiB pipe
time.sleep(10)
data = b""
while (b := os.read(r, 65536)):
	data += b
ok = p.wait() == 0 and data == b"x" * 262144
print("complete" if ok else "lost: exit %d, %d bytes" % (p.returncode, len(data)))
EOF
[ "$(cat $o)" = complete ] && ok "non-blocking stdout, slow reader: no output lost" ||
	bad "non-blocking stdout, slow reader: no output lost" "$(cat $o $e)"

# Protocol abuse from inside the guest: the host ends each session; the VM and command go on.
guest_disk bad_frames
vm $o $e -v $WORK/t.img:/t:ro --cmd '/t/bad_frames; echo vm-still-fine'
expect_rc "command exits 0 after protocol abuse" 0
for c in oversized truncated unknown-type wrong-direction wrong-version; do
	grep -q "^$c: closed" $o && ok "host ends a session sending $c frames" || bad "host ends a session sending $c frames" "$(cat $o)"
done
grep -q vm-still-fine $o && ok "the VM keeps running" || bad "the VM keeps running"
grep -q 'invalid frame' $e && ok "host names the invalid frame" || bad "host names the invalid frame" "$(cat $e)"
grep -q 'protocol version 99' $e && ok "host names the version mismatch" || bad "host names the version mismatch" "$(cat $e)"
finish
