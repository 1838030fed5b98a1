#!/usr/bin/env bash
# Self-jail (docs/jail.md): a running `hvm-run --jail` seen from the host through /proc: its
# VM process has the jail's uid/gid, no capabilities, no_new_privs, seccomp, its own mount,
# PID, IPC and UTS namespaces, a root with only its api socket's directory, and rlimits; user networking with
# a published port, the api socket and hvm-run exec still work; signals and exit statuses come back unchanged;
# killing hvm-run leaves no VM behind; without root --jail runs in a user namespace of the
# caller's own, as the caller, confined the same; hvm-oci jails its
# containers by default and not with --no-jail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
o=$WORK/o e=$WORK/e
export XDG_CACHE_HOME=$WORK/cache
calibrate
# The VM process: hvm-run's child in the jail (hvm-run itself only waits outside).
vm_pid() { for _ in $(seq 1 50); do c=$(pgrep -P "$1" | head -1); [ -n "$c" ] && { echo "$c"; return; }; sleep 0.1; done; }
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
status_of() { $R state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }

if [ "$(id -u)" != 0 ]; then
	echo "# not root: only a jailed run as this user is checked"
	vm $o $e --jail --cmd 'echo jailed'; expect_rc "--jail without root exits 0" 0
	expect_out "--jail without root: the guest's output" jailed
	finish; exit
fi

# jailed_checks HOW PID ID API: the jailed VM process PID seen from outside through /proc: ids
# ID, no capabilities, no_new_privs, seccomp, own namespaces, a root holding only the api
# socket's directory API (so no host file it was not handed), and rlimits.
jailed_checks() {
	local how=$1 c=$2 id=$3 api=$4 n=0 bad_t=0 mine its allowed="" p=. extra
	[ "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' /proc/$c/status)" = "$id$id$id$id" ] &&
		ok "$how: Uid: $id (real, effective, saved, fs)" || bad "$how: Uid: $id" "$(grep Uid: /proc/$c/status)"
	[ "$(awk '$1 == "Gid:" { print $2 $3 $4 $5 }' /proc/$c/status)" = "$id$id$id$id" ] &&
		ok "$how: Gid: $id" || bad "$how: Gid: $id" "$(grep Gid: /proc/$c/status)"
	for k in CapEff CapPrm CapInh CapBnd CapAmb; do
		[ "$(field $c $k)" = 0000000000000000 ] && ok "$how: $k 0" || bad "$how: $k 0" "$(field $c $k)"
	done
	[ "$(field $c NoNewPrivs)" = 1 ] && ok "$how: NoNewPrivs 1" || bad "$how: NoNewPrivs 1" "$(field $c NoNewPrivs)"
	for s in /proc/$c/task/*/status; do n=$((n + 1)); grep -q '^Seccomp:[[:space:]]*2' $s || bad_t=$((bad_t + 1)); done
	[ $n -ge 3 ] && [ $bad_t -eq 0 ] && ok "$how: Seccomp 2 on every thread ($n)" || bad "$how: Seccomp 2 on every thread" "$bad_t of $n"
	[ "$(awk '$1 == "NSpid:" { print $3 }' /proc/$c/status)" = 1 ] && ok "$how: PID 1 of its PID namespace" ||
		bad "$how: PID 1 of its PID namespace" "$(grep NSpid: /proc/$c/status)"
	for ns in mnt pid ipc uts; do
		mine=$(readlink /proc/$$/ns/$ns) its=$(readlink /proc/$c/ns/$ns)
		[ -n "$its" ] && [ "$mine" != "$its" ] && ok "$how: own $ns namespace ($its)" || bad "$how: own $ns namespace" "$its = $mine"
	done
	[ "$(readlink /proc/$c/ns/net)" = "$(readlink /proc/$$/ns/net)" ] && ok "$how: the host's network namespace (passt, -p)" ||
		bad "$how: the host's network namespace"
	# Its root: the api socket's directory (at its own path), nothing else.
	(cd /proc/$c/root && find . -mindepth 1 | sort) >$WORK/root 2>&1
	echo "# its root: $(tr '\n' ' ' <$WORK/root)"
	for comp in $(echo "${api#/}" | tr / ' '); do p=$p/$comp; allowed="$allowed $p"; done
	extra=$(while read -r p; do
		case " $allowed " in *" $p "*) continue ;; esac
		case "$p" in ./"${api#/}"/*) continue ;; esac
		echo "$p"
	done <$WORK/root)
	[ -z "$extra" ] && ok "$how: its root holds only the api socket's directory" || bad "$how: its root is minimal" "$extra"
	! [ -e /proc/$c/root/dev/kvm ] && ! [ -e /proc/$c/root/proc/self ] && ! [ -e /proc/$c/root/etc ] &&
		ok "$how: no /dev, /proc or /etc in its root (/dev/kvm and the files are fds opened before)" || bad "$how: no /dev, /proc, /etc"
	[ -S $api/sock ] && [ "$(stat -c %u /proc/$c/root$api/sock)" = "$id" ] &&
		ok "$how: the api socket is made by the jailed VMM" || bad "$how: the api socket is made by the jailed VMM" "$(ls -ln $api)"
	grep -E '^Max (open files|address space|core file size)' /proc/$c/limits | sed 's/^/# /'
	[ "$(awk '/^Max open files/ { print $4 $5 }' /proc/$c/limits)" = 10241024 ] && ok "$how: rlimit: 1024 open files" ||
		bad "$how: rlimit: open files" "$(grep 'open files' /proc/$c/limits)"
	if sanitized "$HVM"; then	# ASan's shadow needs terabytes: the jail sets no RLIMIT_AS then
		[ "$(awk '/^Max address space/ { print $4 }' /proc/$c/limits)" = unlimited ] &&
			ok "$how: rlimit: address space left unbounded under ASan" || bad "$how: rlimit: address space under ASan"
	else
		[ "$(awk '/^Max address space/ { print $4 }' /proc/$c/limits)" != unlimited ] &&
			ok "$how: rlimit: address space bounded" || bad "$how: rlimit: address space bounded"
	fi
	[ "$(awk '/^Max core file size/ { print $5 }' /proc/$c/limits)" = 0 ] && ok "$how: rlimit: no core dumps" ||
		bad "$how: rlimit: no core dumps"
}

# Not root: a user namespace of the caller's own that maps only its ids; the VM runs as the
# caller (here uid 65534 in group kvm, as Debian's udev rule lets /dev/kvm be used), the same
# confinement otherwise; another --uid is refused.
UW=$WORK/unpriv; mkdir -p $UW/api && chown -R 65534:65534 $UW && chmod o+x $WORK
as_65534="setpriv --reuid 65534 --regid 65534 --groups $(getent group kvm | cut -d: -f3) env HOME=$UW XDG_CACHE_HOME=$UW/cache"
timeout "$VM_TIMEOUT" $as_65534 "$HVM" --jail --uid 1000 --cmd true >$o 2>$e </dev/null; RC=$?
expect_rc "unprivileged: --jail --uid 1000 exits 125" 125
expect_err_has "unprivileged: another uid is refused, naming the cause" "an unprivileged jail runs as its caller (uid 65534"
# No --jail: an unprivileged run is jailed by default where the host allows it.
$as_65534 "$HVM" --api-socket $UW/api/sock --cmd 'echo up; sleep 600' >$o 2>$e </dev/null &
upid=$!
if wait_for $o up; then ok "unprivileged: the jailed guest prints its output"; else bad "unprivileged: the jailed guest prints its output" "$(tail -3 $e)"; fi
[ ! -s $e ] && ok "unprivileged: jailed by default, without a word on stderr" || bad "unprivileged: nothing on stderr" "$(head -3 $e)"
c=$(vm_pid $upid)
if [ -n "$c" ] && [ -d /proc/$c ]; then
	mine=$(readlink /proc/$$/ns/user) its=$(readlink /proc/$c/ns/user)
	[ -n "$its" ] && [ "$mine" != "$its" ] && ok "unprivileged: own user namespace ($its)" || bad "unprivileged: own user namespace" "$its"
	[ "$(tr -s ' \n' ' ' </proc/$c/uid_map)" = " 65534 65534 1 " ] && [ "$(tr -s ' \n' ' ' </proc/$c/gid_map)" = " 65534 65534 1 " ] &&
		ok "unprivileged: it maps only the caller's uid and gid" || bad "unprivileged: maps only the caller's ids" "$(cat /proc/$c/uid_map /proc/$c/gid_map)"
	jailed_checks unprivileged "$c" 65534 $UW/api
	timeout "$VM_TIMEOUT" "$HVM" exec --api-socket $UW/api/sock --cmd 'echo exec-ok; exit 6' >$WORK/xo 2>$WORK/xe </dev/null; RC=$?
	[ $RC = 6 ] && [ "$(cat $WORK/xo)" = exec-ok ] && ok "unprivileged: hvm-run exec through its api socket (exit 6)" ||
		bad "unprivileged: hvm-run exec through its api socket" "exit $RC: $(cat $WORK/xo $WORK/xe | head -3)"
else
	bad "unprivileged: found the VM process under hvm-run" "$(cat $e | head -3)"
fi
kill -TERM $upid; wait $upid; RC=$?
expect_rc "unprivileged: SIGTERM to hvm-run reaches the command once: 143" 143

# --no-jail: the VM process stays in our user namespace. A host that refuses user namespaces
# (refused by seccomp): a warning naming why, and the run goes on unjailed.
$as_65534 "$HVM" --no-jail --cmd 'echo up; sleep 600' >$o 2>$e </dev/null &
p=$!; wait_for $o up; its=$(readlink /proc/$p/ns/user); kids=$(pgrep -P $p | wc -l)
kill -KILL $p; wait $p 2>/dev/null
[ "$its" = "$(readlink /proc/$$/ns/user)" ] && [ "$kids" = 0 ] && [ "$(cat $o)" = up ] && [ ! -s $e ] &&
	ok "unprivileged --no-jail: no user namespace, no jail process, no warning" ||
	bad "unprivileged --no-jail" "userns $its, $kids children: $(head -3 $e)"
# The refusal is a seccomp filter (tests/e2e/no_userns.c), not user.max_user_namespaces=0: in
# a container that sysctl is not root's to change.
$BUILD/tests/e2e/no_userns $as_65534 "$HVM" --cmd 'echo unjailed' >$o 2>$e </dev/null; RC=$?
expect_rc "unprivileged, user namespaces refused: the run still exits 0" 0
expect_out "unprivileged, user namespaces refused: the guest's output" unjailed
expect_err_has "unprivileged, user namespaces refused: a warning names why" \
	"hvm-run: warning: running without the jail, the host refuses a user namespace: "
vm $o $e --uid 65534 --cmd true; expect_rc "--uid without --jail exits 125" 125

# One jailed VM for the checks from outside: the api socket in a directory of the jail's uid,
# user networking with a published port (passt starts before the jail), a host server.
PORT=$((20000 + $$ % 20000)) HPORT=$((40000 + $$ % 20000))
mkdir -p $WORK/api $WORK/www && chown 65534:65534 $WORK/api
echo host-file-ok >$WORK/www/hostfile
python3 -m http.server $HPORT --bind 0.0.0.0 --directory $WORK/www >/dev/null 2>&1 &
hs=$!
"$HVM" --jail --uid 65534 --gid 65534 --api-socket $WORK/api/sock -p $PORT:8080 \
	--cmd 'echo up; sleep 600' >$o 2>$e </dev/null &
pid=$!
if wait_for $o up; then ok "the jailed guest prints its output"; else bad "the jailed guest prints its output" "$(tail -3 $e)"; fi
c=$(vm_pid $pid)
if [ -n "$c" ] && [ -d /proc/$c ]; then
	echo "# hvm-run $pid (outside, uid $(field $pid Uid)), VM process $c"
	[ -z "$(field $c Groups)" ] && ok "no supplementary groups" || bad "no supplementary groups" "$(grep Groups: /proc/$c/status)"
	jailed_checks root "$c" 65534 $WORK/api
	timeout "$VM_TIMEOUT" "$HVM" exec --api-socket $WORK/api/sock --cmd \
		'busybox wget -q -O - http://$(busybox ip route | busybox awk "/default/{print \$3}"):'$HPORT'/hostfile; exit 5' \
		>$WORK/xo 2>$WORK/xe </dev/null; RC=$?
	[ $RC = 5 ] && ok "hvm-run exec through the jailed api socket (exit 5)" ||
		bad "hvm-run exec through the jailed api socket" "exit $RC: $(cat $WORK/xo $WORK/xe | head -3)"
	[ "$(cat $WORK/xo)" = host-file-ok ] && ok "the jailed VM's guest reaches a host server (--net user)" ||
		bad "the jailed VM's guest reaches a host server" "$(cat $WORK/xo $WORK/xe | head -3)"
else
	bad "found the VM process under hvm-run $pid"
fi
kill $hs
kill -TERM $pid; wait $pid; RC=$?
expect_rc "SIGTERM to hvm-run reaches the command once: 143" 143
[ ! -e $WORK/api/sock ] && [ ! -e $WORK/api/sock_1024 ] && ok "the api sockets are removed" || bad "the api sockets are removed" "$(ls $WORK/api)"

# Stdio and the exit status, byte for byte.
vm $o $e --jail --cmd 'echo to-stdout; echo to-stderr >&2; exit 3'
expect_rc "the jailed command's exit status comes back (3)" 3
expect_out "stdout unchanged" to-stdout
[ "$(cat $e)" = to-stderr ] && ok "stderr unchanged" || bad "stderr unchanged" "$(head -c 300 $e)"

# hvm-run killed outright: the jailed VM dies with it (PDEATHSIG, kept across the uid change).
"$HVM" --jail --cmd 'echo up; sleep 600' >$o 2>$e </dev/null &
pid=$!
c=$(vm_pid $pid)
uid_is() { [ "$(field "$c" Uid 2>/dev/null)" = "$1" ]; }
eventually uid_is 65534
kill -KILL $pid; wait $pid 2>/dev/null
if eventually gone "$c"; then ok "SIGKILL of hvm-run (jailed VM started) takes the VM with it"; else
	bad "SIGKILL of hvm-run takes the jailed VM with it" "pid $c"; [ -n "$c" ] && kill -KILL "$c"; fi

# hvm-oci: the supervisor is PID 1 of its own PID namespace from create on, and jailed from
# start on (the VMM jails itself in hvm_start, before the guest boots); --no-jail: neither.
OCI=$BUILD/hvm-oci R="$BUILD/hvm-oci --root $WORK/state"
B=$WORK/bundle; mkdir -p $B; bb_rootfs $B/rootfs; ln -sf busybox $B/rootfs/bin/sleep
cat > $B/config.json <<JSON
{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":["sleep","600"],"env":["PATH=/bin"],"cwd":"/"},
 "root":{"path":"rootfs","readonly":false},"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}
JSON
timeout "$VM_TIMEOUT" $R create --bundle $B --pid-file $WORK/pid j1 >$o 2>$e </dev/null; RC=$?
expect_rc "hvm-oci create exits 0" 0
p=$(cat $WORK/pid 2>/dev/null)
[ -n "$p" ] && [ "$(awk '$1 == "NSpid:" { print $3 }' /proc/$p/status)" = 1 ] &&
	ok "hvm-oci: the supervisor is PID 1 of its own PID namespace" || bad "hvm-oci: the supervisor's PID namespace" "$(grep NSpid: /proc/$p/status)"
timeout "$VM_TIMEOUT" $R start j1 >$o 2>$e </dev/null; RC=$?
expect_rc "hvm-oci start exits 0" 0
if [ -n "$p" ] && [ -d /proc/$p ]; then
	[ "$(field $p Uid)" = 65534 ] && [ "$(field $p CapEff)" = 0000000000000000 ] && [ "$(field $p NoNewPrivs)" = 1 ] &&
		ok "hvm-oci jails by default: uid 65534, no capabilities, no_new_privs" ||
		bad "hvm-oci jails by default" "$(grep -E '^(Uid|CapEff|NoNewPrivs)' /proc/$p/status | tr '\n' ' ')"
	[ "$(readlink /proc/$p/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ] && ok "hvm-oci: own mount namespace" ||
		bad "hvm-oci: own mount namespace"
	top=$(ls -A /proc/$p/root | sort | tr '\n' ' ') want=$(printf '%s\n' proc "$(echo "${WORK#/}" | cut -d/ -f1)" | sort | tr '\n' ' ')
	[ "$top" = "$want" ] && [ -f /proc/$p/root$WORK/state/j1/state.json ] && [ ! -e /proc/$p/root$B ] &&
		ok "hvm-oci: its root holds the state directory and /proc only" || bad "hvm-oci: its root" "top: $top"
	# its /proc is its PID namespace's: the supervisor is 1 there, and no host process shows
	procs=$(ls /proc/$p/root/proc | grep -c '^[0-9]') mine=$(ls /proc | grep -c '^[0-9]')
	[ "$(awk '/^Name:/ { print $2 }' /proc/$p/root/proc/1/status)" = hvm-oci ] && [ "$procs" -lt 10 ] &&
		{ [ ! -e /proc/$p/root/proc/$$ ] || [ "$$" -lt 10 ]; } &&
		ok "hvm-oci: its /proc shows its own PID namespace ($procs processes of the host's $mine)" ||
		bad "hvm-oci: its /proc shows its own PID namespace" "$procs processes; 1 is $(cat /proc/$p/root/proc/1/comm)"
fi
[ "$(status_of j1)" = running ] && ok "hvm-oci: state written by the jailed supervisor: running" ||
	bad "hvm-oci: state running" "$(status_of j1)"
$R delete --force j1 >/dev/null 2>&1
timeout "$VM_TIMEOUT" $OCI --no-jail --root $WORK/state create --bundle $B --pid-file $WORK/pid j2 >$o 2>$e </dev/null
p=$(cat $WORK/pid 2>/dev/null)
[ -n "$p" ] && [ "$(awk '$1 == "NSpid:" { print NF }' /proc/$p/status)" = 2 ] && ok "hvm-oci --no-jail: no PID namespace" ||
	bad "hvm-oci --no-jail: no PID namespace" "$(grep NSpid: /proc/$p/status 2>&1)"
$OCI --no-jail --root $WORK/state delete --force j2 >/dev/null 2>&1
finish
