#!/usr/bin/env bash
# Embedding issue, hvm-oci: the runc lifecycle on a hand-made bundle (state transitions, exec,
# kill, delete, pause and resume, errors), then the real engines: podman with --runtime,
# containerd's ctr with --runc-binary. Each engine runs on private storage the test starts and tears down itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
oci_setup
calibrate
R="$OCI --root $WORK/state --log $WORK/oci.log --log-format json"

# status ID: the status field of `hvm-oci state ID`, or "none"
status() { $R state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo none; }
# wait_status ID WANT: until the container reaches WANT (bounded by the calibrated timeout)
has_status() { [ "$(status "$1")" = "$2" ]; }
wait_status() { eventually has_status "$1" "$2"; }
# check NAME CMD...: ok when CMD succeeds
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }

v=$($OCI --version)
check "--version: name version X, commit, spec" \
	bash -c "grep -q '^hvm-oci version ' <<<'$v' && grep -q '^commit: ' <<<'$v' && grep -q '^spec: 1.0' <<<'$v'"
$OCI features | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["ociVersionMax"] else 1)'
RC=$?; expect_rc "features is JSON" 0

B=$WORK/bundle; mkdir -p $B; bb_rootfs $B/rootfs
for a in sleep test; do ln -sf busybox $B/rootfs/bin/$a; done
bundle() {	# bundle ARGS_JSON: config.json running ARGS_JSON in $B
	cat > $B/config.json <<JSON
{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":$1,"env":["PATH=/bin","FROM_SPEC=yes"],"cwd":"/tmp"},
 "root":{"path":"rootfs","readonly":false},"hostname":"hvmtest",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/etc/hosts","type":"bind","source":"$WORK/hosts","options":["rbind","ro"]}],
 "annotations":{"org.example/a":"b"},
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}],"resources":{"memory":{"limit":268435456}}}}
JSON
}
echo "10.1.2.3 from-the-engine" > $WORK/hosts

# ---- the lifecycle, by hand ---------------------------------------------------------------
bundle '["sh","-c","echo out-$FROM_SPEC; pwd; cat /etc/hosts; while ! test -f /tmp/done; do sleep 1; done; exit 4"]'
timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid c1 >$WORK/c1.out 2>$WORK/c1.err </dev/null
RC=$?; expect_rc "create exits 0" 0
[ "$(status c1)" = created ] && ok "state after create: created" || bad "state after create: created" "$(status c1)"
st=$($R state c1)
python3 - "$st" "$(cat $WORK/pid)" "$B" <<'EOF' && ok "state JSON: ociVersion, id, pid = pid file, bundle, annotations" || bad "state JSON" "$st"
import json, sys
s = json.loads(sys.argv[1])
assert s["ociVersion"].startswith("1.0") and s["id"] == "c1" and s["pid"] == int(sys.argv[2]) > 0
assert s["bundle"] == sys.argv[3] and s["annotations"] == {"org.example/a": "b"}
EOF
timeout "$VM_TIMEOUT" $R start c1; RC=$?; expect_rc "start exits 0" 0
[ "$(status c1)" = running ] && ok "state after start: running" || bad "state after start: running" "$(status c1)"
$R start c1 2>$e; RC=$?; expect_rc "second start fails" 125
expect_err_has "second start says why" "already running"
printf '{"args":["sh","-c","echo exec-$X; pwd"],"env":["PATH=/bin","X=ok"],"cwd":"/etc","user":{"uid":0,"gid":0}}' >$WORK/p.json
timeout "$VM_TIMEOUT" $R exec --process $WORK/p.json c1 >$o 2>$e </dev/null; RC=$?
expect_rc "exec exits 0" 0
expect_out "exec output, env and cwd from process.json" "$(printf 'exec-ok\n/etc')"
timeout "$VM_TIMEOUT" $R exec c1 sh -c 'echo >/tmp/done; exit 7' >$o 2>$e </dev/null; RC=$?
expect_rc "exec with the command after ID returns its status" 7
wait_status c1 stopped && ok "state becomes stopped when the process exits" || bad "state becomes stopped" "$(status c1)"
[ "$(cat $WORK/c1.out)" = "$(printf 'out-yes\n/tmp\n10.1.2.3 from-the-engine')" ] &&
	ok "process: args, env, cwd, /etc/hosts bind copied in" || bad "process output" "$(cat $WORK/c1.out $WORK/c1.err)"
$R kill c1 TERM 2>$e; RC=$?; expect_rc "kill of a stopped container fails" 125
$R delete c1; RC=$?; expect_rc "delete exits 0" 0
$R state c1 >/dev/null 2>$e; RC=$?; expect_rc "state of a deleted container fails" 125
expect_err_has "and says it does not exist" 'container "c1" does not exist'
grep -q '"level":"error","msg":"container \\"c1\\" does not exist"' $WORK/oci.log &&
	ok "--log-format json: the error as a JSON line" || bad "--log JSON line" "$(tail -2 $WORK/oci.log)"

# `run` is create + start + wait: the container's status is its own
bundle '["sh","-c","exit 3"]'
timeout "$VM_TIMEOUT" $OCI --root $WORK/state run --bundle $B r1 >$o 2>$e </dev/null; RC=$?
expect_rc "run returns the container's exit status" 3

# Warm starts: the containers above left a template of this configuration (staged by their
# jailed VMM, adopted by the next); another host name shares it, and the container has its own.
bundle '["sh","-c","cat /proc/sys/kernel/hostname"]'
sed -i 's/"hostname":"hvmtest"/"hostname":"second-name"/' $B/config.json
timeout "$VM_TIMEOUT" $OCI --root $WORK/state run --bundle $B r2 >$o 2>$e </dev/null; RC=$?
[ $RC -eq 0 ] && [ "$(cat $o)" = second-name ] &&
	[ -n "$(find $XDG_CACHE_HOME/hvm/templates -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null)" ] &&
	ok "containers share a template of their configuration, each with its own host name" ||
	bad "containers share a template of their configuration, each with its own host name" \
		"exit $RC, out '$(cat $o)': $(ls -a $XDG_CACHE_HOME/hvm/templates 2>&1 | tr '\n' ' ')"

# kill: by name before start (no VM boots), by number while running; delete --force
bundle '["sleep","300"]'
timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid c3 >/dev/null 2>&1 </dev/null
$R create --bundle $B c3 2>$e; RC=$?; expect_rc "create with a used id fails" 125
expect_err_has "and says so" "container with id exists: c3"
$R kill c3 SIGTERM; RC=$?; expect_rc "kill SIGTERM of a created container" 0
wait_status c3 stopped && ok "a killed created container is stopped" || bad "killed created container stopped" "$(status c3)"
$R delete c3
timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid c2 >/dev/null 2>&1 </dev/null && timeout "$VM_TIMEOUT" $R start c2
$R delete c2 2>$e; RC=$?; expect_rc "delete of a running container fails" 125
$R kill c2 9; RC=$?; expect_rc "kill 9 exits 0" 0
wait_status c2 stopped && ok "kill 9 stops the VM" || bad "kill 9 stops the VM" "$(status c2)"
$R delete c2
timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid c4 >/dev/null 2>&1 </dev/null && timeout "$VM_TIMEOUT" $R start c4
$R delete --force c4; RC=$?; expect_rc "delete --force of a running container" 0
[ "$(status c4)" = none ] && ok "and it is gone" || bad "delete --force removes it" "$(status c4)"
$R delete --force never-existed; RC=$?; expect_rc "delete --force of nothing succeeds (as runc)" 0

# ---- pause and resume ---------------------------------------------------------------------
# A counter printed every 0.3 s: it stops while the VM is paused and goes on after resume.
# lines FILE: how many lines FILE has; grows FILE N: until FILE has more than N lines.
lines() { wc -l <"$1"; }
more_lines() { [ "$(lines "$1")" -gt "$2" ]; }
grows() { eventually more_lines "$1" "$2"; }
# started ID OUT: a counter container ID created and started, its output in OUT.
COUNTER='i=0; while :; do echo $i; i=$((i+1)); sleep 0.3; done'
started() {
	timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid "$1" >"$2" 2>"$2.err" </dev/null &&
		timeout "$VM_TIMEOUT" $R start "$1"
}
bundle "[\"sh\",\"-c\",\"$COUNTER\"]"
started p1 $WORK/p1.out; RC=$?; expect_rc "pause: a counter container started" 0
grows $WORK/p1.out 2 && ok "the counter counts" || bad "the counter counts" "$(head -c 300 $WORK/p1.out)"
$R pause p1 2>$e; RC=$?; expect_rc "pause exits 0" 0
[ "$(status p1)" = paused ] && ok "state after pause: paused" || bad "state after pause: paused" "$(status p1)"
$R list | grep -Eq '^p1 +[0-9]+ +paused ' && ok "list shows it paused" || bad "list shows it paused" "$($R list)"
sleep 1; n=$(lines $WORK/p1.out); sleep 3
[ "$(lines $WORK/p1.out)" = "$n" ] && ok "paused: no output for 3 s" ||
	bad "paused: no output for 3 s" "$n lines, then $(lines $WORK/p1.out)"
$R pause p1 2>$e; RC=$?; expect_rc "pause of a paused container fails" 125
expect_err_has "and says why" "cannot pause container p1 that is not running: paused"
timeout "$VM_TIMEOUT" $R exec p1 sh -c 'echo ran' >$o 2>$e </dev/null; RC=$?
expect_rc "exec in a paused container fails" 125
expect_err_has "and says why, as runc" "cannot exec in a paused container"
[ ! -s $o ] && ok "and nothing ran" || bad "exec in a paused container ran nothing" "$(cat $o)"
$R start p1 2>$e; RC=$?; expect_rc "start of a paused container fails" 125
$R resume p1 2>$e; RC=$?; expect_rc "resume exits 0" 0
[ "$(status p1)" = running ] && ok "state after resume: running" || bad "state after resume: running" "$(status p1)"
n=$(lines $WORK/p1.out)
grows $WORK/p1.out $((n + 2)) && ok "resumed: the counter goes on" || bad "resumed: the counter goes on" "still $n lines"
prev=-1 gap=0
while read -r v; do [ "$v" -eq $((prev + 1)) ] || gap=1; prev=$v; done <$WORK/p1.out
[ "$gap" = 0 ] && ok "from where it was: no number lost or repeated" || bad "counter continuous" "$(tr '\n' ' ' <$WORK/p1.out)"
$R resume p1 2>$e; RC=$?; expect_rc "resume of a running container fails" 125
expect_err_has "and says why" "cannot resume container p1 that is not paused: running"
# a signal other than SIGKILL waits for the resume, as with runc's frozen cgroup
$R pause p1 && $R kill p1 TERM; RC=$?; expect_rc "kill TERM of a paused container is accepted" 0
sleep 3
[ "$(status p1)" = paused ] && ok "the TERM waits while paused" || bad "the TERM waits while paused" "$(status p1)"
$R resume p1; RC=$?; expect_rc "resume with a TERM waiting" 0
wait_status p1 stopped && ok "the TERM arrives on resume" || bad "the TERM arrives on resume" "$(status p1)"
$R delete p1
started p2 $WORK/p2.out && $R pause p2; RC=$?; expect_rc "pause of a second counter container" 0
$R kill p2 KILL; RC=$?; expect_rc "kill KILL of a paused container" 0
wait_status p2 stopped && ok "kill KILL stops a paused VM" || bad "kill KILL stops a paused VM" "$(status p2)"
$R delete p2
started p3 $WORK/p3.out && $R pause p3; RC=$?; expect_rc "pause of a third counter container" 0
$R delete p3 2>$e; RC=$?; expect_rc "delete of a paused container fails" 125
timeout "$VM_TIMEOUT" $R delete --force p3; RC=$?; expect_rc "delete --force of a paused container" 0
[ "$(status p3)" = none ] && ok "and it is gone" || bad "delete --force removes a paused one" "$(status p3)"

# ---- podman -------------------------------------------------------------------------------
# Private storage (vfs: no mounts left behind), the image imported from a tarball.
P="podman --root $WORK/podman/root --runroot $WORK/podman/run --storage-driver vfs --runtime $OCI"
if command -v podman >/dev/null; then
	bb_rootfs $WORK/img; ln -sf busybox $WORK/img/bin/sleep; ln -sf busybox $WORK/img/bin/test
	(cd $WORK/img && tar -cf $WORK/img.tar .)
	$P import $WORK/img.tar localhost/hvm-oci-test:1 >/dev/null 2>$e; RC=$?
	expect_rc "podman import" 0
	timeout "$VM_TIMEOUT" $P run --rm localhost/hvm-oci-test:1 sh -c 'echo podman-ok; exit 5' >$o 2>$e </dev/null
	RC=$?; expect_rc "podman run --rm: the container's exit status" 5
	expect_out "podman run --rm: output" podman-ok
	timeout "$VM_TIMEOUT" $P run --rm -t localhost/hvm-oci-test:1 sh -c 'test -t 1 && echo on-a-tty' >$o 2>$e </dev/null
	RC=$?; expect_rc "podman run -t (console socket) exits 0" 0
	grep -q on-a-tty $o && ok "podman run -t: the process has a terminal" || bad "podman run -t" "$(cat $o $e)"
	timeout "$VM_TIMEOUT" $P run -d --log-driver k8s-file --name hvmp localhost/hvm-oci-test:1 \
		sh -c "$COUNTER" >/dev/null 2>$e </dev/null
	RC=$?; expect_rc "podman run -d" 0
	timeout "$VM_TIMEOUT" $P exec hvmp sh -c 'echo podman-exec-ok; exit 6' >$o 2>$e </dev/null
	RC=$?; expect_rc "podman exec: its exit status" 6
	expect_out "podman exec: output" podman-exec-ok
	# podman stats reads the cgroup podman named in cgroupsPath, which the VMM joined (#18)
	$P stats --no-stream --format json hvmp >$o 2>$e; RC=$?; expect_rc "podman stats" 0
	python3 - $o <<'PY' && ok "podman stats: the VM's memory and pids, non-zero" || bad "podman stats" "$(head -c 400 $o)"
import json, sys
s = json.load(open(sys.argv[1]))
s = s[0] if isinstance(s, list) else s
assert int(s["pids"]) > 0 and not s["mem_usage"].startswith("0B"), s
PY
	# podman top lists the processes in the container's PID namespace: the jailed VMM's
	$P top hvmp pid comm >$o 2>$e; RC=$?; expect_rc "podman top" 0
	awk 'NR > 1 && $1 ~ /^[0-9]+$/ && $2 == "hvm-oci"' $o | grep -q . &&
		ok "podman top: the VMM's process" || bad "podman top: the VMM's process" "$(head -c 300 $o)"
	# podman pause/unpause run the runtime's pause/resume: the counter stops and goes on
	# plog_grows N: until podman's log of hvmp (in $WORK/pl) has more than N lines
	plog_more() { $P logs hvmp >$WORK/pl 2>/dev/null; more_lines $WORK/pl "$1"; }
	plog_grows() { eventually plog_more "$1"; }
	plog_grows 2
	$P pause hvmp >/dev/null 2>$e; RC=$?; expect_rc "podman pause" 0
	[ "$($P inspect -f '{{.State.Status}}' hvmp)" = paused ] && ok "podman: the container is paused" ||
		bad "podman: the container is paused" "$($P inspect -f '{{.State.Status}}' hvmp)"
	sleep 1; $P logs hvmp >$WORK/pl 2>/dev/null; n=$(lines $WORK/pl); sleep 3; $P logs hvmp >$WORK/pl 2>/dev/null
	[ "$n" -gt 2 ] && [ "$(lines $WORK/pl)" = "$n" ] && ok "podman pause: no output for 3 s" ||
		bad "podman pause: no output for 3 s" "$n lines, then $(lines $WORK/pl)"
	$P unpause hvmp >/dev/null 2>$e; RC=$?; expect_rc "podman unpause" 0
	plog_grows $((n + 2)) && ok "podman unpause: the counter goes on" ||
		bad "podman unpause: the counter goes on" "still $(lines $WORK/pl) lines"
	# rm -f of a paused container: podman resumes it first on cgroup v1, not on v2; either way it ends
	$P pause hvmp >/dev/null 2>$e; RC=$?; expect_rc "podman pause, again" 0
	vmpid=$($P inspect -f '{{.State.Pid}}' hvmp)
	timeout "$VM_TIMEOUT" $P rm -f hvmp >/dev/null 2>$e; RC=$?
	expect_rc "podman rm -f of the paused container" 0
	[ -z "$($P ps -aq)" ] && [ "${vmpid:-0}" -gt 0 ] && gone "$vmpid" &&
		ok "podman rm -f: container and VM gone" || bad "podman rm -f: container and VM gone" "pid $vmpid; $($P ps -a)"
	$P rm -fa >/dev/null 2>&1; $P rmi -af >/dev/null 2>&1
else
	bad "podman installed (make deps)"
fi

# ---- containerd ---------------------------------------------------------------------------
if command -v containerd >/dev/null && command -v ctr >/dev/null; then
	S=$WORK/ctrd; mkdir -p $S
	printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s/sock"\n' \
		$S $S $S > $S/config.toml
	containerd --config $S/config.toml >$S/log 2>&1 & cpid=$!
	for _ in $(seq 1 60); do [ -S $S/sock ] && break; sleep 0.5; done
	C="ctr --address $S/sock"
	docker_save_tar $WORK/ds.tar $WORK/ds
	$C image import --base-name docker.io/library/hvm-oci-test $WORK/ds.tar >/dev/null 2>$e; RC=$?
	expect_rc "ctr image import" 0
	ref=$($C image ls -q | head -1)
	timeout "$VM_TIMEOUT" $C run --rm --runc-binary "$OCI" "$ref" hvmctr cat /data/new.txt >$o 2>$e </dev/null
	RC=$?; expect_rc "ctr run --rm --runc-binary hvm-oci exits 0" 0
	expect_out "ctr run: the image's layers in the guest" from-layer-2
	timeout "$VM_TIMEOUT" $C run --rm --runc-binary "$OCI" "$ref" hvmctr2 sh -c 'exit 9' >$o 2>$e </dev/null
	RC=$?; expect_rc "ctr run: the container's exit status" 9
	kill $cpid; wait $cpid 2>/dev/null
	umount -R $S/root 2>/dev/null
else
	bad "containerd installed (make deps)"
fi
finish
