#!/usr/bin/env bash
# Snapshots, restore and templates (docs/snapshot.md): the first run of a configuration
# boots and leaves a template, later ones start from it; clones are not copies; a running VM
# saved with `hvm-run snapshot` resumes elsewhere with its files, processes and command;
# every damaged snapshot is refused with exit 125 and one line naming the file.
. "$(dirname "$0")/lib.sh"
calibrate
export XDG_CACHE_HOME=$WORK/cache	# this suite's templates only
o=$WORK/o e=$WORK/e
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2"; }
phase() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phases_us"][sys.argv[2]])' "$1" "$2"; }
templates() { find "$XDG_CACHE_HOME/hvm/templates" -mindepth 1 -maxdepth 1 -type d ! -name '.*' 2>/dev/null | wc -l; }

# ---- templates -------------------------------------------------------------------------
vm $o $e --metrics-json $WORK/m1.json --cmd 'echo one'
expect_rc "a first run exits 0" 0
expect_out "a first run prints its output" one
[ "$(jget $WORK/m1.json start)" = cold ] && [ "$(templates)" -eq 1 ] &&
	ok "a first run boots cold and leaves one template" ||
	bad "a first run boots cold and leaves one template" "start $(jget $WORK/m1.json start), $(templates) templates"
t=$(find "$XDG_CACHE_HOME/hvm/templates" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -1)
[ -n "$t" ] && [ -z "$(find "$t" -type f ! -perm 600)" ] && [ -z "$(find "$t" -name '.*')" ] &&
	ok "a template's files are 0600 and none is left half-written" ||
	bad "a template's files are 0600 and none is left half-written" "$(ls -la "$t" 2>&1 | head -5)"
vm $o $e --metrics-json $WORK/m2.json --cmd 'echo two'
expect_out "a run from the template prints its own output" two
[ "$(jget $WORK/m2.json start)" = template ] && ok "the second run starts from the template" ||
	bad "the second run starts from the template" "start $(jget $WORK/m2.json start)"
a1=$(phase $WORK/m1.json agent_ready) a2=$(phase $WORK/m2.json agent_ready)
echo "# agent ready: cold ${a1} us, from the template ${a2} us"
# The best of up to three starts: a start that other load on the machine slowed is no news.
quarter() { python3 -c "import sys; sys.exit(not (0 < $a2 < $a1 / 4))" 2>/dev/null; }
for k in 3 4; do
	quarter && break
	vm $o $e --metrics-json $WORK/m$k.json --cmd true
	a=$(phase $WORK/m$k.json agent_ready 2>/dev/null)
	echo "# agent ready from the template, again: ${a} us"
	[ -n "$a" ] && [ "$a" -lt "$a2" ] && a2=$a
done
quarter &&
	ok "from a template the agent is ready in under a quarter of a cold boot's time" ||
	bad "from a template the agent is ready in under a quarter of a cold boot's time" "$a2 vs $a1"
vm $o $e --metrics-json $WORK/m3.json --cold --cmd 'echo three'
[ "$(jget $WORK/m3.json start)" = cold ] && [ "$(cat $o)" = three ] && ok "--cold boots" ||
	bad "--cold boots" "start $(jget $WORK/m3.json start)"
# A template's boot read the shell ahead: its guest page cache holds all of it, so reading
# it whole reads no disk sector; a cold boot has read only the pages it ran.
sectors='read a b s1 x </sys/block/vda/stat; cat /bin/sh >/dev/null; read a b s2 x </sys/block/vda/stat; echo $((s2 - s1))'
vm $o $e --cmd "$sectors"; warm=$(cat $o)
vm $o $e --cold --cmd "$sectors"; cold=$(cat $o)
[ "$warm" = 0 ] && [ "${cold:-0}" -gt 0 ] 2>/dev/null &&
	ok "from a template the shell is in the page cache already (0 sectors read; $cold cold)" ||
	bad "from a template the shell is in the page cache already" "template read $warm sectors, cold $cold"
echo in | timeout -k 10 "$VM_TIMEOUT" "$HVM" -i -e FOO=bar --cmd 'read x; echo $x $FOO; exit 7' >$o 2>$e
RC=$?
[ $RC -eq 7 ] && [ "$(cat $o)" = "in bar" ] && ok "stdin, environment and exit status through a template" ||
	bad "stdin, environment and exit status through a template" "exit $RC, out '$(cat $o)'"

# Clones are not copies: their own randomness, the host's clock.
vm $WORK/r1 $e --cmd 'head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"'
vm $WORK/r2 $e --cmd 'head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"'
[ -s $WORK/r1 ] && [ "$(cat $WORK/r1)" != "$(cat $WORK/r2)" ] &&
	ok "two runs from one template read different random bytes" ||
	bad "two runs from one template read different random bytes" "$(cat $WORK/r1) / $(cat $WORK/r2)"
sleep 2
vm $o $e --cmd 'date +%s'
now=$(date +%s)
python3 -c "import sys; sys.exit(not abs(int('$(cat $o)' or 0) - $now) <= 3)" &&
	ok "a run from a template has the host's time" || bad "a run from a template has the host's time" "$(cat $o) vs $now"

# A damaged template is dropped: the run boots (a warning says so) and saves a new one.
printf 'garbage' | dd of="$t/state" bs=1 seek=100 conv=notrunc 2>/dev/null
vm $o $e --metrics-json $WORK/m4.json --cmd 'echo four'
[ $RC -eq 0 ] && [ "$(cat $o)" = four ] && [ "$(jget $WORK/m4.json start)" = cold ] &&
	grep -q "template .*: unusable (snapshot .*/state: checksum mismatch .*); removed, booting cold" $e &&
	ok "a damaged template is dropped with a warning and the run boots" ||
	bad "a damaged template is dropped with a warning and the run boots" "exit $RC: $(head -c 300 $e)"
vm $o $e --metrics-json $WORK/m5.json --cmd 'echo five'
[ "$(jget $WORK/m5.json start)" = template ] && ok "... and the next run has a template again" ||
	bad "... and the next run has a template again" "start $(jget $WORK/m5.json start)"

# ---- templates of jailed runs (root only: --jail needs it) ---------------------------------
# A jailed VMM cannot rename into the templates directory: it stages its template in a
# directory of the jail's user, and the next run of the key adopts it (docs/snapshot.md).
if [ "$(id -u)" = 0 ]; then
	J=$WORK/jcache/hvm/templates
	XDG_CACHE_HOME=$WORK/jcache vm $o $e --jail --metrics-json $WORK/j1.json --cmd 'echo jailed-one'
	stage=$(find $J -mindepth 1 -maxdepth 1 -name '.jail-*' 2>/dev/null)
	[ $RC -eq 0 ] && [ "$(cat $o)" = jailed-one ] && [ "$(jget $WORK/j1.json start)" = cold ] &&
		[ -n "$stage" ] && [ -f "$stage/state" ] && [ "$(stat -c %u "$stage/state")" = 65534 ] &&
		ok "a jailed first run boots and stages its template as the jail's user" ||
		bad "a jailed first run boots and stages its template as the jail's user" \
			"exit $RC, start $(jget $WORK/j1.json start), $(ls -la $J 2>&1 | tail -3)"
	XDG_CACHE_HOME=$WORK/jcache vm $o $e --jail --metrics-json $WORK/j2.json --cmd 'echo jailed-two; hostname'
	adopted=$(find $J -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null)
	[ $RC -eq 0 ] && [ "$(head -1 $o)" = jailed-two ] && [ "$(jget $WORK/j2.json start)" = template ] &&
		[ -n "$adopted" ] && [ "$(stat -c %u%a "$adopted/state")" = 0600 ] &&
		[ -z "$(find $J -mindepth 1 -maxdepth 1 -name '.jail-*')" ] &&
		ok "the next jailed run adopts it (made root's, 0600) and starts from it" ||
		bad "the next jailed run adopts it (made root's, 0600) and starts from it" \
			"exit $RC, start $(jget $WORK/j2.json start), $(ls -la $J $adopted 2>&1 | tail -6)"
	XDG_CACHE_HOME=$WORK/jcache vm $o $e --metrics-json $WORK/j3.json --cmd 'echo free'
	[ "$(cat $o)" = free ] && [ "$(jget $WORK/j3.json start)" = template ] &&
		ok "a run without the jail starts from the same template" ||
		bad "a run without the jail starts from the same template" "start $(jget $WORK/j3.json start)"
fi

# ---- a snapshot of a running VM, restored elsewhere ---------------------------------------
# kill_timed PID: SIGKILL to a `timeout ... hvm-run` in the background and to the hvm-run under
# it, which timeout cannot pass SIGKILL on to (it would run on, orphaned); waits for it.
kill_timed() { pkill -KILL -P "$1"; kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
S1=$WORK/a1.sock S2=$WORK/a2.sock
timeout -k 10 "$VM_TIMEOUT" "$HVM" --api-socket $S1 --cold --cmd \
	'echo state-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d " \n") > /tmp/s; cat /tmp/s; sleep 600' \
	>$WORK/run1.out 2>$WORK/run1.err </dev/null &
p1=$!
wait_for $WORK/run1.out state-
vm $o $e snapshot --api-socket $S1 $WORK/snap
expect_rc "hvm-run snapshot of a running VM exits 0" 0
kill -0 $p1 2>/dev/null && ok "the VM runs on after its snapshot" || bad "the VM runs on after its snapshot"
[ -n "$(find $WORK/snap -type f)" ] && [ -z "$(find $WORK/snap -type f ! -perm 600)" ] &&
	ok "snapshot files are 0600" || bad "snapshot files are 0600" "$(ls -la $WORK/snap)"
kill_timed $p1
timeout -k 10 "$VM_TIMEOUT" "$HVM" --restore $WORK/snap --api-socket $S2 --metrics-json $WORK/mr.json \
	>$WORK/run2.out 2>$WORK/run2.err </dev/null &
pid=$!
eventually test -S $S2.ctl
timeout -k 10 "$VM_TIMEOUT" "$HVM" exec --api-socket $S2 --cmd \
	'cat /tmp/s; for p in /proc/[0-9]*; do tr "\0" " " <$p/cmdline; echo; done | grep -q "^sleep 600" && echo sleeping' >$o 2>$e
[ "$(head -1 $o)" = "$(head -1 $WORK/run1.out)" ] && [ "$(sed -n 2p $o)" = sleeping ] &&
	ok "the restored VM has its files and its processes" ||
	bad "the restored VM has its files and its processes" "'$(cat $o)' vs '$(head -1 $WORK/run1.out)': $(head -c 200 $e)"
signal_vm TERM
[ $RC -eq 143 ] && ok "the restored command's end (SIGTERM) is this run's exit status: 143" ||
	bad "the restored command's end (SIGTERM) is this run's exit status: 143" "exit $RC: $(head -c 300 $WORK/run2.err)"
[ "$(jget $WORK/mr.json start)" = restore ] && ok "metrics say the run was a restore" ||
	bad "metrics say the run was a restore" "$(head -c 200 $WORK/mr.json)"

# snapshot --stop: the VM ends once saved (its hvm-run exits 0); the command goes on elsewhere.
timeout -k 10 "$VM_TIMEOUT" "$HVM" --api-socket $S1 --cold --cmd 'echo up; read x; echo got-$x' \
	-i >$WORK/run3.out 2>$WORK/run3.err < <(sleep 600) &
pid=$!
wait_for $WORK/run3.out up
vm $o $e snapshot --api-socket $S1 --stop $WORK/snap2
wait $pid; RC3=$?
[ $RC -eq 0 ] && [ $RC3 -eq 0 ] && ok "snapshot --stop saves the VM and ends it (exit 0)" ||
	bad "snapshot --stop saves the VM and ends it (exit 0)" "snapshot $RC, run $RC3: $(head -c 200 $e)"
echo hello | timeout -k 10 "$VM_TIMEOUT" "$HVM" --restore $WORK/snap2 -i >$o 2>$e
RC=$?
[ $RC -eq 0 ] && [ "$(cat $o)" = got-hello ] && ok "the restored command reads this run's stdin" ||
	bad "the restored command reads this run's stdin" "exit $RC, out '$(cat $o)': $(head -c 200 $e)"

# ---- bad input ----------------------------------------------------------------------------
refused() {	# NAME PATTERN: the restore of $WORK/bad exits 125 with PATTERN on stderr
	vm $o $e --restore $WORK/bad
	[ $RC -eq 125 ] && grep -q -- "$2" $e && [ "$(wc -l <$e)" -le 2 ] && ok "$1" ||
		bad "$1" "exit $RC: $(head -c 300 $e)"
}
for f in state memory; do
	rm -rf $WORK/bad; cp -a $WORK/snap $WORK/bad
	truncate -s $(($(stat -c %s $WORK/bad/$f) / 2)) $WORK/bad/$f
	refused "a truncated $f file is refused" "bad/$f: truncated"
done
rm -rf $WORK/bad; cp -a $WORK/snap $WORK/bad
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0xff; open(p,'wb').write(b)" $WORK/bad/state
refused "a corrupted state file is refused" "bad/state: checksum mismatch"
rm -rf $WORK/bad; cp -a $WORK/snap $WORK/bad
printf '\x07\x00\x00\x00' | dd of=$WORK/bad/state bs=1 seek=8 conv=notrunc 2>/dev/null
refused "a snapshot of another format version is refused" "format version 7; this hvm reads version"
rm -rf $WORK/bad; cp -a $WORK/snap $WORK/bad; cp $WORK/snap2/memory $WORK/bad/memory
refused "a memory file of another snapshot is refused" "bad/memory: belongs to another snapshot"
rm -rf $WORK/bad; mkdir $WORK/bad
refused "an empty directory is refused" "bad/state: No such file or directory"
rm -rf $WORK/bad
refused "a missing directory is refused" "bad: No such file or directory"
vm $o $e --restore $WORK/snap --cmd true
expect_rc "--restore with a command is refused" 125

# A snapshot whose disk changed: a volume written after the snapshot.
timeout -k 10 "$VM_TIMEOUT" "$HVM" --api-socket $S1 --cold -v $WORK/vol.img:/data --cmd 'echo up; sleep 600' \
	>$WORK/run4.out 2>$WORK/run4.err </dev/null &
pid=$!
wait_for $WORK/run4.out up
vm $o $e snapshot --api-socket $S1 --stop $WORK/snap3
wait $pid
truncate -s +1M $WORK/vol.img
rm -rf $WORK/bad; cp -a $WORK/snap3 $WORK/bad
refused "a snapshot whose disk changed is refused, naming the disk" "disk $WORK/vol.img changed since the snapshot"

# Snapshot requests that cannot work: nothing changes, the VM runs on.
timeout -k 10 "$VM_TIMEOUT" "$HVM" --api-socket $S1 --cold --cmd 'echo up; sleep 600' \
	>$WORK/run5.out 2>$WORK/run5.err </dev/null &
p1=$!
wait_for $WORK/run5.out up
vm $o $e snapshot --api-socket $S1 /proc/hvm-no-such-dir
[ $RC -eq 125 ] && kill -0 $p1 2>/dev/null && ok "a snapshot into an unusable directory fails (125); the VM runs on" ||
	bad "a snapshot into an unusable directory fails (125); the VM runs on" "exit $RC: $(head -c 200 $e)"
mkdir -p $WORK/ro && chmod 500 $WORK/ro
if [ "$(id -u)" -ne 0 ]; then
	vm $o $e snapshot --api-socket $S1 $WORK/ro
	[ $RC -eq 125 ] && [ -z "$(ls -A $WORK/ro)" ] && ok "a snapshot into a read-only directory fails and writes nothing" ||
		bad "a snapshot into a read-only directory fails and writes nothing" "exit $RC"
fi
vm $o $e snapshot --api-socket $WORK/none.sock $WORK/snap4
[ $RC -eq 125 ] && grep -q "none.sock.ctl" $e && ok "a snapshot of no VM names the socket" ||
	bad "a snapshot of no VM names the socket" "exit $RC: $(head -c 200 $e)"
kill_timed $p1
finish
