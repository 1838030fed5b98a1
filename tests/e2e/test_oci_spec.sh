#!/usr/bin/env bash
# Issue 18, hvm-oci keeps the OCI runtime contract: runc's refusals at create, hooks in the
# order the runtime spec gives them, and the process settings seen from inside the container.
# Where runc works on this machine the same bundle goes through it too, as the reference.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
oci_setup
R="$OCI --root $WORK/state --log $WORK/oci.log"
B=$WORK/bundle; mkdir -p $B; bb_rootfs $B/rootfs
for a in sleep test grep umask ls env sort hostname stat tr sed; do ln -sf busybox $B/rootfs/bin/$a; done
mkdir -p $B/rootfs/secretdir; echo hidden >$B/rootfs/secretdir/f; echo hidden >$B/rootfs/etc/secret

# runc as the reference, when it runs a plain container here (root, cgroups, namespaces).
RUNC="runc --root $WORK/runc-state"
BASE='{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":["true"],
 "env":["PATH=/bin"],"cwd":"/"},"root":{"path":"rootfs","readonly":false},"hostname":"spec",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
  {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"network"}]}}'
# H(kind, rc, sleep, timeout, d): a hook appending KIND to d/hooks.log, its stdin to d/st.KIND
# and its environment to d/env.KIND (less what the shell adds itself: PWD, SHLVL, OLDPWD and
# busybox ash's default PATH), then sleeping and exiting rc; d is a host directory for
# host hooks, /tmp (the guest's) for createContainer and startContainer.
PRELUDE="W='$WORK'"'
def H(kind, rc=0, sleep=0, timeout=None, d=None):
    d = d or (W if kind not in ("createContainer", "startContainer") else "/tmp")
    s = ("echo %s >>%s/hooks.log; cat >%s/st.%s; env | grep -v -e ^PWD= -e ^SHLVL= -e ^OLDPWD= "
         "-e ^PATH=/sbin:/usr/sbin:/bin:/usr/bin$ "
         "| sort >%s/env.%s; sleep %s; exit %s" % (kind, d, d, kind, d, kind, sleep, rc))
    h = {"path": "/bin/sh", "args": ["sh", "-c", s, kind], "env": ["HOOK_ENV=exact value"]}
    if timeout:
        h["timeout"] = timeout
    return h
'
# cfg PY: $B/config.json is BASE with the Python statements PY applied to the dict c
cfg() {
	python3 -c 'import json,sys; c=json.loads(sys.argv[1]); exec(sys.argv[2]); json.dump(c,open(sys.argv[3],"w"))' \
		"$BASE" "$PRELUDE
$1" "$B/config.json"
}
cfg pass
if command -v runc >/dev/null && [ "$(id -u)" = 0 ] &&
	timeout 60 $RUNC run -b $B probe </dev/null >/dev/null 2>&1; then
	HAVE_RUNC=1
else
	HAVE_RUNC=0; echo "# runc cannot run a container here: hvm-oci is checked alone"
fi
# left_behind ID: what a refused create left: a state dir, a process naming the id
left_behind() {
	[ -e "$WORK/state/$1" ] && echo "state dir $WORK/state/$1"
	pgrep -f -- "--root $WORK/state .* $1\$" >/dev/null && echo "a process for $1"
	true
}

# ---- runc's refusals at create --------------------------------------------------------------
# refused NAME PY MESSAGE RUNC: create with BASE+PY exits 1 with one line holding MESSAGE and
# leaves nothing; RUNC says what the installed runc does with it (refuses / accepts).
n=0
refused() {
	local name=$1 py=$2 msg=$3 ref=$4 id=bad$((n += 1))
	cfg "$py"
	timeout 60 $R create --bundle $B $id >$o 2>$e </dev/null; RC=$?
	expect_rc "invalid $name: create exits 1" 1
	[ "$(wc -l <$e)" = 1 ] && grep -qF -- "$msg" $e && ok "invalid $name: one line naming it" ||
		bad "invalid $name: one line naming it" "want '$msg', got '$(cat $e)'"
	[ -z "$(left_behind $id)" ] && ok "invalid $name: nothing left" || bad "invalid $name: nothing left" "$(left_behind $id)"
	[ "$HAVE_RUNC" = 1 ] || return
	timeout 60 $RUNC create -b $B $id </dev/null >/dev/null 2>$WORK/runc.err; local rrc=$?
	$RUNC delete -f $id >/dev/null 2>&1
	if [ "$ref" = refuses ]; then
		[ $rrc -ne 0 ] && ok "invalid $name: runc refuses it too" || bad "invalid $name: runc refuses it too" "runc exit $rrc"
	else
		[ $rrc -eq 0 ] && ok "invalid $name: runc $(runc --version | head -1 | cut -d' ' -f3) accepts it (a warning at most); hvm-oci is stricter, as issue 18 asks" ||
			bad "invalid $name: runc accepts it" "runc exit $rrc: $(tail -1 $WORK/runc.err)"
	fi
}
refused "rlimit type" "c['process']['rlimits']=[{'type':'RLIMIT_TEST','soft':1,'hard':1}]" \
	"process.rlimits: unknown rlimit type RLIMIT_TEST" refuses
refused "rlimit soft above hard" "c['process']['rlimits']=[{'type':'RLIMIT_NOFILE','soft':10,'hard':5}]" \
	"process.rlimits: RLIMIT_NOFILE soft limit 10 is above the hard limit 5" refuses
for set in bounding effective inheritable permitted ambient; do
	refused "capability in $set" "c['process']['capabilities']={s:['CAP_CHOWN'] for s in
		('bounding','effective','inheritable','permitted','ambient')}
c['process']['capabilities']['$set'].append('CAP_TEST')" \
		"process.capabilities.$set: unknown capability CAP_TEST" accepts
done
refused "ipc namespace path of a mount namespace" "c['linux']['namespaces'][1]['path']='/proc/$$/ns/mnt'" \
	"linux.namespaces: ipc path /proc/$$/ns/mnt is a mount namespace, not ipc" refuses
refused "namespace path that does not exist" "c['linux']['namespaces'][2]['path']='$WORK/no-such-ns'" \
	"linux.namespaces: uts path $WORK/no-such-ns: No such file or directory" refuses
refused "mount option" "c['mounts'][1]['options'].append('bogus')" \
	"mounts[1].options: invalid mount option bogus for /dev" refuses
refused "relative mount destination" "c['mounts'].append({'destination':'rel','type':'tmpfs','source':'tmpfs'})" \
	"mounts[4].destination: must be an absolute path" accepts
refused "relative cgroup path" "c['linux']['cgroupsPath']='rel/x'" \
	"linux.cgroupsPath: rel/x is relative" accepts
refused "missing process.args" "del c['process']['args']" "process.args: must not be empty" refuses
refused "missing root" "del c['root']" "root.path: missing in config.json" refuses
refused "root that does not exist" "c['root']['path']='nope'" \
	"root.path: $B/nope: No such file or directory" refuses
refused "hook path" "c['hooks']={'prestart':[{'path':'true'}]}" \
	"hooks.prestart[0].path: must be an absolute path" refuses
refused "rootfsPropagation" "c['linux']['rootfsPropagation']='sideways'" \
	"linux.rootfsPropagation: sideways: not one of private, slave, shared, unbindable" refuses
refused "device type" "c['linux']['devices']=[{'path':'/dev/x','type':'q','major':1,'minor':3}]" \
	"linux.devices[0].type: q: must be c, b, u or p" refuses
[ -z "$(ls -A $WORK/state 2>/dev/null)" ] && ok "no state of any refused container" || bad "no state left" "$(ls $WORK/state)"

# ---- hooks ----------------------------------------------------------------------------------
calibrate
# status ID: the status field of `hvm-oci state ID`, or "none"
status() { $R state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo none; }
has_status() { [ "$(status "$1")" = "$2" ]; }
HL=$WORK/hooks.log
hooks_seen() { tr '\n' ' ' <$HL 2>/dev/null | sed 's/ $//'; }
# state_is FILE ID STATUS: FILE holds a state document of ID with STATUS
state_is() {
	python3 - "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["id"] == sys.argv[2] and s["status"] == sys.argv[3] and s["bundle"] and s["ociVersion"], s
PY
}
ALL_HOOKS="c['hooks']={k:[H(k)] for k in ('prestart','createRuntime','createContainer','startContainer','poststart','poststop')}
c['process']['args']=['sh','-c','cat /tmp/hooks.log /tmp/env.createContainer /tmp/env.startContainer /tmp/st.startContainer']"
cfg "$ALL_HOOKS"
rm -f $HL; timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid h1 >$WORK/h1.out 2>$e </dev/null; RC=$?
expect_rc "hooks: create exits 0" 0
[ "$(hooks_seen)" = "prestart createRuntime" ] && ok "create ran prestart, then createRuntime, on the host" ||
	bad "create ran prestart, then createRuntime" "$(hooks_seen)"
state_is $WORK/st.createRuntime h1 creating && grep -Eq "\"pid\":[[:space:]]*$(cat $WORK/pid)," $WORK/st.createRuntime &&
	ok "createRuntime read the state on stdin: id, status creating, the pid" || bad "createRuntime's state" "$(cat $WORK/st.createRuntime)"
[ "$(cat $WORK/env.prestart)" = "HOOK_ENV=exact value" ] && ok "a host hook's environment is exactly its env" ||
	bad "a host hook's environment is exactly its env" "$(cat $WORK/env.prestart)"
timeout "$VM_TIMEOUT" $R start h1; RC=$?; expect_rc "hooks: start exits 0" 0
[ "$(hooks_seen)" = "prestart createRuntime poststart" ] && ok "start ran poststart before it returned" ||
	bad "start ran poststart" "$(hooks_seen)"
state_is $WORK/st.poststart h1 running && ok "poststart's state says running" || bad "poststart's state" "$(cat $WORK/st.poststart)"
eventually has_status h1 stopped
head -4 $WORK/h1.out >$o
expect_out "in the guest: createContainer, then startContainer, each with exactly its env" \
	"$(printf 'createContainer\nstartContainer\nHOOK_ENV=exact value\nHOOK_ENV=exact value')"
tail -n +5 $WORK/h1.out >$WORK/st.guest
state_is $WORK/st.guest h1 created && ok "startContainer read the state on stdin in the guest" ||
	bad "startContainer's state in the guest" "$(cat $WORK/h1.out)"
[ "$(hooks_seen)" = "prestart createRuntime poststart" ] && ok "no poststop before delete" || bad "no poststop before delete" "$(hooks_seen)"
$R delete h1; RC=$?; expect_rc "hooks: delete exits 0" 0
[ "$(hooks_seen)" = "prestart createRuntime poststart poststop" ] && ok "delete ran poststop" || bad "delete ran poststop" "$(hooks_seen)"
state_is $WORK/st.poststop h1 stopped && ok "poststop's state says stopped" || bad "poststop's state" "$(cat $WORK/st.poststop)"
if [ "$HAVE_RUNC" = 1 ]; then	# runc: the host hooks only (its createContainer runs before pivot_root)
	cfg "$ALL_HOOKS
for k in ('createContainer','startContainer'): del c['hooks'][k]"
	rm -f $HL; timeout 60 $RUNC run -b $B h1 >/dev/null 2>&1 </dev/null; $RUNC delete -f h1 2>/dev/null
	[ "$(hooks_seen)" = "prestart createRuntime poststart poststop" ] && ok "runc runs the host hooks in the same order" ||
		bad "runc's hook order" "$(hooks_seen)"
fi

# hook_fails NAME PY MESSAGE SEEN: create with hooks PY fails with exit 1 naming MESSAGE, the
# hooks that ran were SEEN, and nothing is left; runc alike where it runs.
hook_fails() {
	local name=$1 py=$2 msg=$3 seen=$4 id=hf$((n += 1)) t0=$(date +%s)
	cfg "$py"
	rm -f $HL; timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid.$id $id >$o 2>$e </dev/null; RC=$?
	DUR=$(( $(date +%s) - t0 ))
	expect_rc "$name: create exits 1" 1
	[ "$(wc -l <$e)" = 1 ] && grep -qF -- "$msg" $e && ok "$name: one line naming the hook" ||
		bad "$name: one line naming the hook" "want '$msg', got '$(cat $e)'"
	[ "$(hooks_seen)" = "$seen" ] && ok "$name: the hooks run: $seen" || bad "$name: the hooks run" "$(hooks_seen)"
	[ -z "$(left_behind $id)" ] && [ ! -e $WORK/pid.$id ] && ok "$name: nothing left" ||
		bad "$name: nothing left" "$(left_behind $id) $(ls $WORK/pid.$id 2>/dev/null)"
	[ "$HAVE_RUNC" = 1 ] || return 0
	rm -f $HL; timeout 60 $RUNC create -b $B $id >/dev/null 2>&1 </dev/null; local rrc=$?
	$RUNC delete -f $id >/dev/null 2>&1
	[ $rrc = 1 ] && ok "$name: runc's create exits 1 too (runc ran: $(hooks_seen))" || bad "$name: runc exits 1" "exit $rrc"
}
hook_fails "failing prestart" "c['hooks']={k:[H(k, rc=3 if k=='prestart' else 0)] for k in ('prestart','createRuntime','poststop')}" \
	"hooks.prestart[0] /bin/sh: exit status 3" "prestart poststop"
hook_fails "failing createRuntime" "c['hooks']={k:[H(k, rc=4 if k=='createRuntime' else 0)] for k in ('prestart','createRuntime','poststart')}" \
	"hooks.createRuntime[0] /bin/sh: exit status 4" "prestart createRuntime"
hook_fails "createRuntime past its timeout" "c['hooks']={'createRuntime':[H('createRuntime', sleep=30, timeout=1)]}" \
	"hooks.createRuntime[0] /bin/sh: timed out after 1 s" "createRuntime"
[ "$DUR" -lt 25 ] && ok "the timeout kills the hook (no 30 s wait)" || bad "timeout honoured" "$DUR s"

# poststart and poststop failures are warnings
cfg "c['hooks']={k:[H(k, rc=5)] for k in ('poststart','poststop')}
c['process']['args']=['sh','-c','echo ran']"
rm -f $HL; timeout "$VM_TIMEOUT" $R create --bundle $B pw >$WORK/pw.out 2>$e </dev/null && timeout "$VM_TIMEOUT" $R start pw 2>$e; RC=$?
expect_rc "a failing poststart: start still exits 0" 0
eventually has_status pw stopped; [ "$(cat $WORK/pw.out)" = ran ] && ok "and the container ran" || bad "the container ran" "$(cat $WORK/pw.out)"
$R delete pw 2>$e; RC=$?; expect_rc "a failing poststop: delete still exits 0" 0
[ "$(status pw)" = none ] && ok "and the container is gone" || bad "gone after delete" "$(status pw)"
grep -q 'level=warning msg="hooks.poststart\[0\] /bin/sh: exit status 5"' $WORK/oci.log &&
	grep -q 'level=warning msg="hooks.poststop\[0\] /bin/sh: exit status 5"' $WORK/oci.log &&
	ok "both failures are warnings in --log" || bad "poststart/poststop warnings in --log" "$(grep hooks $WORK/oci.log)"

# a failing createContainer in the guest: the process never runs, the container stops
cfg "c['hooks']={'createContainer':[H('createContainer', rc=6)]}
c['process']['args']=['sh','-c','echo must-not-run']"
timeout "$VM_TIMEOUT" $R create --bundle $B gf >$WORK/gf.out 2>$e </dev/null && timeout "$VM_TIMEOUT" $R start gf; RC=$?
expect_rc "a failing createContainer: start returns (the VM boots at start)" 0
eventually has_status gf stopped && ok "and the container stops" || bad "container stops" "$(status gf)"
[ ! -s $WORK/gf.out ] && ok "its process never ran" || bad "its process never ran" "$(cat $WORK/gf.out)"
grep -q 'guest agent: hooks.createContainer\[0\] /bin/sh: exit status 6' $WORK/oci.log &&
	ok "the hook's failure is the error in --log" || bad "createContainer failure in --log" "$(tail -3 $WORK/oci.log)"
$R delete gf

# ---- process and linux settings, seen from inside the container ------------------------------
SETTINGS="c['process'].update(user={'uid':1000,'gid':1000,'umask':0o077,'additionalGids':[5,7]},
  rlimits=[{'type':'RLIMIT_NOFILE','soft':123,'hard':456},{'type':'RLIMIT_CORE','soft':0,'hard':18446744073709551615}],
  capabilities={'bounding':['CAP_CHOWN','CAP_NET_RAW','CAP_KILL'],'effective':['CAP_CHOWN','CAP_NET_RAW'],
    'permitted':['CAP_CHOWN','CAP_NET_RAW'],'inheritable':['CAP_NET_RAW'],'ambient':['CAP_NET_RAW']},
  noNewPrivileges=True, oomScoreAdj=123,
  args=['sh','-c','grep -E \"^(Cap|NoNewPrivs)\" /proc/self/status; grep -E \"^Max (open files|core file size)\" /proc/self/limits; umask; id; cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward; echo masked-file:\$(cat /etc/secret); echo masked-dir:\$(ls /secretdir); (echo 0 >/proc/sys/net/ipv4/ip_forward) 2>/dev/null || echo read-only:/proc/sys; stat -c \"%F %t:%T %a %u:%g\" /dev/hvmtest /dev/sub/fifo; stat -c \"scratch %a\" /scratch; grep -o \" /scratch [^ ]*\" /proc/self/mountinfo; df -k /scratch | tail -1 | tr -s \" \" | cut -d\" \" -f2; hostname; cat /proc/sys/kernel/domainname; echo root-propagation:\$(grep \" / / \" /proc/self/mountinfo | tail -1 | grep -oE \"shared|master|unbindable\")'])
c['domainname']='dom.example'
c['mounts'].append({'destination':'/scratch','type':'tmpfs','source':'tmpfs','options':['nosuid','nodev','mode=1770','size=1m']})
c['linux'].update(rootfsPropagation='shared', sysctl={'net.ipv4.ip_forward':'1'}, maskedPaths=['/etc/secret','/secretdir'], readonlyPaths=['/proc/sys'],
  devices=[{'path':'/dev/hvmtest','type':'c','major':1,'minor':3,'fileMode':0o640,'uid':1000,'gid':5},
    {'path':'/dev/sub/fifo','type':'p','fileMode':0o600}])"
cat >$WORK/settings.want <<'WANT'
CapInh:	0000000000002000
CapPrm:	0000000000002000
CapEff:	0000000000002000
CapBnd:	0000000000002021
CapAmb:	0000000000002000
NoNewPrivs:	1
Max core file size        0                    unlimited            bytes     
Max open files            123                  456                  files     
0077
uid=1000 gid=1000 groups=5,7
123
1
masked-file:
masked-dir:
read-only:/proc/sys
character special file 1:3 640 1000:5
fifo 0:0 600 0:0
scratch 1770
 /scratch rw,nosuid,nodev,relatime
1024
spec
dom.example
root-propagation:shared
WANT
cfg "$SETTINGS"
timeout "$VM_TIMEOUT" $R run --bundle $B s1 >$WORK/s1.out 2>$e </dev/null; RC=$?
expect_rc "settings: the container runs" 0
# check_line NAME PATTERN: the line of s1.out that PATTERN picks equals settings.want's
check_line() {
	local got want
	got=$(grep -E "$2" $WORK/s1.out) want=$(grep -E "$2" $WORK/settings.want)
	[ -n "$want" ] && [ "$got" = "$want" ] && ok "inside: $1" || bad "inside: $1" "got '$got', want '$want'"
}
check_line "capabilities: bounding" '^CapBnd'
check_line "capabilities: effective" '^CapEff'
check_line "capabilities: permitted" '^CapPrm'
check_line "capabilities: inheritable" '^CapInh'
check_line "capabilities: ambient" '^CapAmb'
check_line "noNewPrivileges" '^NoNewPrivs'
check_line "RLIMIT_NOFILE 123/456" '^Max open files'
check_line "RLIMIT_CORE 0/unlimited" '^Max core'
check_line "umask 077" '^0077$'
check_line "uid, gid and additional gids" '^uid='
check_line "oomScoreAdj" '^123$'
check_line "linux.sysctl net.ipv4.ip_forward=1" '^1$'
check_line "maskedPaths: a file reads empty" '^masked-file:'
check_line "maskedPaths: a directory is empty" '^masked-dir:'
check_line "readonlyPaths: /proc/sys refuses writes" '^read-only:'
check_line "linux.devices: a character device, its numbers, mode and owner" '^character special'
check_line "linux.devices: a FIFO in a new directory" '^fifo'
check_line "mounts: a tmpfs at a new destination, its mode" '^scratch '
check_line "mounts: its flags" '^ /scratch '
check_line "mounts: its size (1 MiB)" '^1024$'
check_line "hostname" '^spec$'
check_line "domainname" '^dom\.example$'
check_line "linux.rootfsPropagation shared: the root is a shared mount" '^root-propagation:'
if [ "$HAVE_RUNC" = 1 ]; then
	timeout 60 $RUNC run -b $B s1 >$WORK/s1.runc 2>&1 </dev/null; $RUNC delete -f s1 2>/dev/null
	# runc before 1.2 does not set the domain name, and the root's propagation depends on
	# the host's mounts around the bundle: those two lines are compared apart
	diff <(head -n -2 $WORK/s1.runc) <(head -n -2 $WORK/s1.out) >$WORK/s1.diff &&
		ok "runc prints the same, line for line (the domain name and propagation apart)" ||
		bad "runc prints the same" "$(tr '\n' '|' <$WORK/s1.diff)"
	echo "# runc's last lines: $(tail -2 $WORK/s1.runc | tr '\n' ' ') (hvm-oci: $(tail -2 $WORK/s1.out | tr '\n' ' '))"
fi
# linux.uidMappings / gidMappings: the process gets a user namespace of its own in the guest,
# mapped as the config says, and is root there.
cfg "c['linux']['namespaces'].append({'type':'user'})
c['linux']['uidMappings']=[{'containerID':0,'hostID':100000,'size':65536}]
c['linux']['gidMappings']=[{'containerID':0,'hostID':200000,'size':1000},{'containerID':1000,'hostID':1000,'size':1}]
c['process']['args']=['sh','-c','cat /proc/self/uid_map /proc/self/gid_map | tr -s \" \" | sed \"s/^ //\"; id -u; id -g']"
timeout "$VM_TIMEOUT" $R run --bundle $B u1 >$o 2>$e </dev/null; RC=$?
expect_rc "uid/gid mappings: the container runs" 0
expect_out "uid/gid mappings: its own user namespace, mapped as asked; root in it" \
	"$(printf '0 100000 65536\n0 200000 1000\n1000 1000 1\n0\n0')"
# without process.capabilities a process has none, as with runc
cfg "c['process']['args']=['grep','-E','^Cap(Eff|Bnd)','/proc/self/status']"
timeout "$VM_TIMEOUT" $R run --bundle $B s2 >$o 2>$e </dev/null; RC=$?
expect_out "no capabilities given: none at all" "$(printf 'CapEff:\t0000000000000000\nCapBnd:\t0000000000000000')"

finish
