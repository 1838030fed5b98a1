#!/usr/bin/env bash
# The KVM test host itself (tests/kvmhost/kvmhost.py), forced on with HVM_KVMHOST=always so it is
# tested on any machine: exit status, separate live stdout/stderr, the caller's environment, the
# writable checkout, KVM inside, the timeout, signals, a wedged test host, a kernel that does not
# boot, and nothing left behind. Usage: BUILD=DIR tests/kvmhost/test_kvmhost.sh
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
KH="python3 tests/kvmhost/kvmhost.py --build $BUILD"
export HVM_KVMHOST=always
PASS=0 FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmhost-test.XXXXXX")
MARK=$BUILD/kvmhost/test-mark.$$
trap 'rm -rf "$WORK" "$MARK" "$BUILD/kvmhost/test-wedge.$$"' EXIT
ok()  { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "not ok - $1${2:+ ($2)}"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# The test hosts started here keep their directories under WORK: QEMUs and directories of
# other test hosts on the machine (another checkout's tests) are not ours to count.
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
qemus() { pgrep -f "$TMPDIR/kvmhost\.[A-Za-z0-9_]*/" | wc -l; }
leftovers() { ls -d "$TMPDIR"/kvmhost.* 2>/dev/null | wc -l; }
before=$(leftovers)

# One boot for everything a command sees: status, streams, environment, cwd, KVM, the checkout.
KH_TEST_VAR="two words 'quoted' \$x" $KH "echo out-line; echo err-line >&2; echo \"\$KH_TEST_VAR\";
	pwd; test -c /dev/kvm && echo kvm-ok; test -c /dev/net/tun && test -c /dev/vhost-vsock && echo dev-ok;
	test -e /dev/fd/1 && echo fd-ok; echo written > $MARK; exit 7" >"$WORK/o" 2>"$WORK/e"
rc=$?
check "exit status is the command's (7, got $rc)" test "$rc" = 7
check "stdout holds only the command's stdout" test "$(head -1 "$WORK/o")" = out-line
check "stderr is separate" bash -c "grep -qx err-line '$WORK/e' && ! grep -q out-line '$WORK/e'"
check "the caller's variables arrive intact" grep -qxF "two words 'quoted' \$x" "$WORK/o"
check "runs from the project root" grep -qxF "$PWD" "$WORK/o"
check "/dev/kvm inside" grep -qx kvm-ok "$WORK/o"
check "tun and vhost-vsock inside" grep -qx dev-ok "$WORK/o"
check "/dev/fd inside" grep -qx fd-ok "$WORK/o"
check "what it writes in the checkout stays" grep -qx written "$MARK"
check "says once which path it took" test "$(grep -c 'running in the KVM test host' "$WORK/e")" = 1

# Output streams while the command runs, not at the end.
$KH 'echo first; sleep 30; echo second' >"$WORK/o" 2>/dev/null &
pid=$!
for _ in $(seq 1 300); do grep -q first "$WORK/o" && break; kill -0 $pid 2>/dev/null || break; sleep 1; done
check "stdout arrives while the command still runs" bash -c "grep -q first '$WORK/o' && ! grep -q second '$WORK/o'"
# SIGTERM (as make passes it on): QEMU ends, the status says so, nothing stays.
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM ends it with 143 (got $rc)" test "$rc" = 143
check "no QEMU left after SIGTERM" test "$(qemus)" = 0

# Past the boot (a few seconds), so the kernel is there to answer the dump request.
HVM_KVMHOST_TIMEOUT=20 $KH 'sleep 600' >/dev/null 2>"$WORK/e"; rc=$?
check "a hung command stops at the timeout with 124 (got $rc)" test "$rc" = 124
check "the timeout is named on stderr" grep -q HVM_KVMHOST_TIMEOUT "$WORK/e"
check "with the test host's blocked tasks and CPU backtraces" \
	bash -c "grep -q 'Show Blocked State' '$WORK/e' && grep -q 'backtrace' '$WORK/e'"

# A wedged test host (its kernel reporting a stuck CPU, here written by the command itself the
# first time): a fresh one runs the command again; with no retries left it is a failure, 125.
WEDGE_MARK=$BUILD/kvmhost/test-wedge.$$
WEDGE_CMD="if [ ! -e $WEDGE_MARK ]; then touch $WEDGE_MARK; echo first-try;
	echo '<0>watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [test:1]' >/dev/kmsg; sleep 600; fi
	echo second-try; exit 5"
HVM_KVMHOST_RETRIES=1 $KH "$WEDGE_CMD" >"$WORK/o" 2>"$WORK/e"; rc=$?
check "a wedged test host: the command runs again in a fresh one (exit 5, got $rc)" \
	bash -c "test $rc = 5 && grep -qx first-try '$WORK/o' && grep -qx second-try '$WORK/o'"
check "and stderr says why" bash -c "grep -q 'test host wedged' '$WORK/e' && grep -q 'fresh test host' '$WORK/e'"
rm -f "$WEDGE_MARK"
HVM_KVMHOST_RETRIES=0 $KH "$WEDGE_CMD" >/dev/null 2>"$WORK/e"; rc=$?
check "wedged with no retry left: 125 (got $rc), named" bash -c "test $rc = 125 && grep -q 'wedged 1 times' '$WORK/e'"
rm -f "$WEDGE_MARK"

HVM_KVMHOST_KERNEL=/etc/hostname $KH true >/dev/null 2>"$WORK/e"; rc=$?
check "a kernel that does not boot gives 125 (got $rc)" test "$rc" = 125
check "and one line that says so" grep -q 'test host did not boot' "$WORK/e"

HVM_KVMHOST=sometimes $KH true 2>"$WORK/e"; rc=$?
check "a bad HVM_KVMHOST gives 125 and names it" bash -c "test $rc = 125 && grep -q HVM_KVMHOST=sometimes '$WORK/e'"

HVM_KVMHOST=never $KH 'echo direct; exit 3' >"$WORK/o" 2>"$WORK/e"; rc=$?
check "HVM_KVMHOST=never runs here, status kept (got $rc)" bash -c "test $rc = 3 && grep -qx direct '$WORK/o' && grep -q 'running directly' '$WORK/e'"

check "no QEMU left" test "$(qemus)" = 0
check "no temporary directory left" test "$(leftovers)" = "$before"
echo "kvmhost tests: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
