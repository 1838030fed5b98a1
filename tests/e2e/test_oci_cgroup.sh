#!/usr/bin/env bash
# Issue #18, cgroups: hvm-oci makes linux.cgroupsPath, its VMM (every thread and child
# process) joins it before the VM starts, linux.resources are in its files; update changes
# them, events --stats and ps read them, delete removes the cgroup, a path that cannot be made
# fails create with exit 1 and nothing left. runc on the same resources is the reference where
# it is installed. Works on cgroup v2 (the test host) and v1/hybrid (a host's /sys/fs/cgroup).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
oci_setup
if [ "$(id -u)" != 0 ]; then echo "# not root: no cgroup to make"; finish; exit; fi
calibrate
R="$OCI --root $WORK/state --log $WORK/oci.log --log-format json"
TOP=/hvm-e2e-$$	# our parent cgroup; the containers' are below it
V2=0; [ -f /sys/fs/cgroup/cgroup.controllers ] && V2=1
echo "# cgroup v2 only: $V2"
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }
status() { $R state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo none; }
has_status() { [ "$(status "$1")" = "$2" ]; }
pid_of() { $R state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }
# cgdir CTL PATH: where PATH's files of controller CTL are
cgdir() { if [ $V2 = 1 ]; then echo /sys/fs/cgroup$2; else echo /sys/fs/cgroup/$1$2; fi; }
# cgval CTL V1FILE V2FILE PATH: the value the container's cgroup shows
cgval() { if [ $V2 = 1 ]; then cat /sys/fs/cgroup$4/$3; else cat /sys/fs/cgroup/$1$4/$2; fi 2>/dev/null; }
# in_cgroup PID PATH: every hierarchy line of /proc/PID/cgroup names PATH
in_cgroup() { [ -r /proc/$1/cgroup ] && ! grep -v ":$2\$" /proc/$1/cgroup | grep -q .; }
# all_in PID PATH: every thread of PID and of its child processes is in PATH
all_in() {
	local p t n=0
	for p in $1 $(pgrep -P "$1"); do
		for t in /proc/$p/task/*; do in_cgroup "${t#/proc/}" "$2" || return 1; n=$((n + 1)); done
	done
	[ $n -gt 1 ]
}
# no_cgroup PATH: PATH exists in no hierarchy
no_cgroup() { local d; for d in /sys/fs/cgroup$1 /sys/fs/cgroup/*$1; do [ -d "$d" ] && return 1; done; return 0; }
cleanup() { for d in /sys/fs/cgroup/*$TOP /sys/fs/cgroup$TOP /sys/fs/cgroup/*/hvme2e.slice /sys/fs/cgroup/hvme2e.slice; do
	[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done; }
trap 'cleanup; rm -rf "$WORK"' EXIT

B=$WORK/bundle; mkdir -p $B $WORK/data; bb_rootfs $B/rootfs
for a in sleep test grep; do ln -sf busybox $B/rootfs/bin/$a; done
RES='{"memory":{"limit":268435456},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},"pids":{"limit":200},"blockIO":{"weight":300}}'
bundle() {	# bundle CGROUPS_PATH
	cat > $B/config.json <<JSON
{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":["sh","-c","while ! test -f /tmp/done; do sleep 1; done"],"env":["PATH=/bin"],"cwd":"/"},
 "root":{"path":"rootfs"},"hostname":"cg",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/data","type":"bind","source":"$WORK/data","options":["rbind"]}],
 "linux":{"cgroupsPath":"$1","namespaces":[{"type":"pid"},{"type":"mount"}],"resources":$RES}}
JSON
}

# ---- create joins, resources applied --------------------------------------------------------
CG=$TOP/c1
bundle $CG
timeout "$VM_TIMEOUT" $R create --bundle $B c1 >$o 2>$e </dev/null; RC=$?
expect_rc "create with linux.cgroupsPath exits 0" 0
pid=$(pid_of c1 2>/dev/null)
check "the supervisor is in $CG in every hierarchy" in_cgroup "$pid" "$CG"
timeout "$VM_TIMEOUT" $R start c1 >$o 2>$e; RC=$?; expect_rc "start exits 0" 0
eventually all_in "$pid" "$CG"
check "every thread of the VMM and of its children (vCPUs, I/O, share server) is in $CG" all_in "$pid" "$CG"
[ -n "$(pgrep -P "$pid")" ] && ok "the VMM has a child process (the /data share server)" || bad "the VMM has a child process"
check "memory limit in the cgroup" [ "$(cgval memory memory.limit_in_bytes memory.max $CG)" = 268435456 ]
if [ $V2 = 1 ]; then
	check "cpu.max: quota and period" [ "$(cgval cpu - cpu.max $CG)" = "50000 100000" ]
	check "cpu.weight: runc's mapping of shares 512" [ "$(cgval cpu - cpu.weight $CG)" = 20 ]
else
	check "cpu.cfs_quota_us" [ "$(cgval cpu cpu.cfs_quota_us - $CG)" = 50000 ]
	check "cpu.shares" [ "$(cgval cpu cpu.shares - $CG)" = 512 ]
fi
check "cpuset.cpus" [ "$(cgval cpuset cpuset.cpus cpuset.cpus $CG)" = 0 ]
check "pids.max" [ "$(cgval pids pids.max pids.max $CG)" = 200 ]
timeout "$VM_TIMEOUT" $R exec c1 sh -c 'grep MemTotal /proc/meminfo' >$o 2>$e </dev/null
kb=$(awk '{print $2}' $o)
check "guest RAM below the 256 MiB limit, the VMM's share left out ($kb kB)" test "${kb:-0}" -gt 0 -a "${kb:-0}" -le $((224 * 1024))

# ---- update, events --stats, ps ------------------------------------------------------------
$R update --memory 300m --pids-limit 50 c1 >$o 2>$e; RC=$?; expect_rc "update --memory --pids-limit exits 0" 0
check "update: memory limit now 300 MiB" [ "$(cgval memory memory.limit_in_bytes memory.max $CG)" = 314572800 ]
check "update: pids.max now 50" [ "$(cgval pids pids.max pids.max $CG)" = 50 ]
echo '{"pids":{"limit":60},"cpu":{"quota":-1}}' | $R update -r - c1 >$o 2>$e; RC=$?
expect_rc "update -r - exits 0" 0
check "update -r: pids.max now 60" [ "$(cgval pids pids.max pids.max $CG)" = 60 ]
if [ $V2 = 1 ]; then check "update -r: cpu.max quota lifted" [ "$(cgval cpu - cpu.max $CG)" = "max 100000" ]
else check "update -r: cfs quota lifted" [ "$(cgval cpu cpu.cfs_quota_us - $CG)" = -1 ]; fi
$R update --memory lots c1 >$o 2>$e; RC=$?; expect_rc "update --memory lots: exit 1" 1
expect_err_has "update names the flag" "invalid value for --memory: lots"
$R update --memory 100m c1 >$o 2>$e; RC=$?
expect_rc "update --memory below guest RAM + the VMM's 32 MiB: exit 1, as libhvm refuses at start" 1
check "... and the memory limit stays" [ "$(cgval memory memory.limit_in_bytes memory.max $CG)" = 314572800 ]
$R events --stats c1 >$o 2>$e; RC=$?; expect_rc "events --stats exits 0" 0
python3 - "$(cat $o)" <<'PY' && ok "events --stats: runc's shape, non-zero cpu, memory, pids" || bad "events --stats" "$(cat $o)"
import json, sys
d = json.loads(sys.argv[1])
assert d["type"] == "stats" and d["id"] == "c1"
s = d["data"]
assert s["cpu"]["usage"]["total"] > 0 and s["memory"]["usage"]["usage"] > 0
assert s["memory"]["usage"]["limit"] == 314572800 and s["pids"]["current"] > 0
PY
$R ps --format json c1 >$o 2>$e; RC=$?; expect_rc "ps --format json exits 0" 0
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); sys.exit(0 if int(sys.argv[2]) in p else 1)' $o "$pid" &&
	ok "ps --format json lists the VMM's pid" || bad "ps --format json lists the VMM's pid" "$(cat $o) / $pid"
$R ps c1 >$o 2>$e; RC=$?; expect_rc "ps exits 0" 0
check "ps: ps -ef's header and the VMM's line" bash -c "head -1 $o | grep -q PID && awk '{print \$2}' $o | grep -qx $pid"

# ---- delete removes it ---------------------------------------------------------------------
$R kill c1 KILL; eventually has_status c1 stopped
$R delete c1 >$o 2>$e; RC=$?; expect_rc "delete exits 0" 0
check "delete removed $CG in every hierarchy" no_cgroup "$CG"
$R events --stats c1 >$o 2>$e; RC=$?; expect_rc "events --stats of a deleted container fails" 125

# ---- refusals: nothing left ----------------------------------------------------------------
bundle /cgroup.procs/bad
$R create --bundle $B bad >$o 2>$e </dev/null; RC=$?
expect_rc "a cgroupsPath that cannot be made: create exits 1" 1
check "one line 'linux.cgroupsPath: PATH: why'" bash -c "[ \$(wc -l < $e) = 1 ] && grep -q '^hvm-oci: linux.cgroupsPath: /cgroup.procs/bad: ' $e"
check "no state left" [ ! -e $WORK/state/bad ]
check "no cgroup left" no_cgroup /cgroup.procs/bad
bundle hvme2e.slice:hvm:c2
$R create --bundle $B c2 >$o 2>$e </dev/null; RC=$?
expect_rc "slice:prefix:name without --systemd-cgroup: exit 1" 1
check "... and no state left" [ ! -e $WORK/state/c2 ]

# ---- systemd's form, mapped as runc's fs driver does ----------------------------------------
timeout "$VM_TIMEOUT" $R --systemd-cgroup create --bundle $B c2 >$o 2>$e </dev/null; RC=$?
expect_rc "--systemd-cgroup create with slice:prefix:name exits 0" 0
check "the VMM is in /hvme2e.slice/hvm-c2.scope" in_cgroup "$(pid_of c2 2>/dev/null)" /hvme2e.slice/hvm-c2.scope
$R delete --force c2 >$o 2>$e; RC=$?; expect_rc "delete --force exits 0" 0
check "the scope is gone" no_cgroup /hvme2e.slice/hvm-c2.scope

# ---- runc on the same resources: the same file values ---------------------------------------
if command -v runc >/dev/null; then
	RB=$WORK/runc; mkdir -p $RB
	(cd $RB && runc spec) && python3 - $RB/config.json "$TOP/r1" "$RES" "$B/rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[4], "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "600"]
c["linux"]["cgroupsPath"] = sys.argv[2]
c["linux"]["resources"] = json.loads(sys.argv[3])
del c["linux"]["resources"]["blockIO"]	# runc fails where the kernel lacks the weight file
json.dump(c, open(sys.argv[1], "w"))
PY
	runc --root $WORK/runc-state create --bundle $RB r1 </dev/null >$WORK/runc.out 2>&1; RC=$?
	if [ $RC = 0 ]; then
		same=1
		for f in memory:memory.limit_in_bytes:memory.max cpu:cpu.cfs_quota_us:cpu.max cpu:cpu.shares:cpu.weight \
			 pids:pids.max:pids.max cpuset:cpuset.cpus:cpuset.cpus; do
			IFS=: read -r c f1 f2 <<<"$f"
			bundle $TOP/h1
			[ -e $WORK/state/h1 ] || timeout "$VM_TIMEOUT" $R create --bundle $B h1 >/dev/null 2>&1 </dev/null
			a=$(cgval $c $f1 $f2 $TOP/r1) b=$(cgval $c $f1 $f2 $TOP/h1)
			[ "$a" = "$b" ] || { same=0; echo "# $f: runc '$a', hvm-oci '$b'"; }
		done
		check "runc and hvm-oci write the same cgroup values for the same resources" [ $same = 1 ]
		runc --root $WORK/runc-state delete --force r1
		$R delete --force h1
	else
		echo "# runc create failed here (exit $RC): $(tail -3 $WORK/runc.out)"
	fi
fi
finish
