#!/usr/bin/env bash
# Embedding issue, hvm-oci: the runc lifecycle on a hand-made bundle (state transitions, exec,
# kill, delete, errors), then the real engines: podman with --runtime, containerd's ctr with
# --runc-binary. Each engine runs on private storage the test starts and tears down itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
o=$WORK/o e=$WORK/e
OCI=$(cd "$BUILD" && pwd)/hvm-oci
export XDG_CACHE_HOME=$WORK/cache
if [ ! -x "$OCI" ]; then bad "hvm-oci built" "$OCI missing"; finish; exit; fi
calibrate
R="$OCI --root $WORK/state --log $WORK/oci.log --log-format json"

# status ID: the status field of `hvm-oci state ID`, or "none"
status() { $R state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo none; }
# wait_status ID WANT: until the container reaches WANT (bounded by the calibrated timeout)
wait_status() { for _ in $(seq 1 "$VM_TIMEOUT"); do [ "$(status "$1")" = "$2" ] && return 0; sleep 1; done; return 1; }
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
	timeout "$VM_TIMEOUT" $P run -d --name hvmp localhost/hvm-oci-test:1 sleep 300 >/dev/null 2>$e </dev/null
	RC=$?; expect_rc "podman run -d" 0
	timeout "$VM_TIMEOUT" $P exec hvmp sh -c 'echo podman-exec-ok; exit 6' >$o 2>$e </dev/null
	RC=$?; expect_rc "podman exec: its exit status" 6
	expect_out "podman exec: output" podman-exec-ok
	timeout "$VM_TIMEOUT" $P rm -f hvmp >/dev/null 2>$e; RC=$?
	expect_rc "podman rm -f of the running container" 0
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
