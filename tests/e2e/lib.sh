# Shared helpers for end-to-end tests (sourced). Each test prints "ok - NAME" or "not ok - NAME".
# Guest kernels are slow on nested hosts, so every VM gets a timeout derived from a calibration
# boot measured at the start of the run, never a fixed number of seconds.
set -u
BUILD=${BUILD:-build}
HVM=$BUILD/hvm-run
PASS=0 FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hvm-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
VM_TIMEOUT=${VM_TIMEOUT:-600}

ok()  { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "not ok - $1${2:+ ($2)}"; }

# vm OUT ERR ARGS...: runs hvm-run under the calibrated timeout; sets RC. SIGKILL 10 s after
# the SIGTERM: a run that does not stop then fails its test instead of hanging the suite.
vm() {
	out=$1 err=$2; shift 2
	timeout -k 10 "$VM_TIMEOUT" "$HVM" "$@" >"$out" 2>"$err" </dev/null
	RC=$?
}

expect_rc() { if [ "$RC" -eq "$2" ]; then ok "$1"; else bad "$1" "exit $RC, want $2: $(head -c 300 "$WORK/e")"; fi; }
expect_out() { if [ "$(cat "$WORK/o")" = "$2" ]; then ok "$1"; else bad "$1" "stdout was '$(head -c 200 "$WORK/o")'"; fi; }
expect_err_has() { if grep -q -- "$2" "$WORK/e"; then ok "$1"; else bad "$1" "stderr lacks '$2': $(head -c 300 "$WORK/e")"; fi; }

# Boots once (cold: no template) to measure this machine; later VMs may take 10x that (and at
# least 60 s).
calibrate() {
	start=$(date +%s%N)
	timeout 1200 "$HVM" --cold --cmd true >/dev/null 2>"$WORK/cal.err" </dev/null
	rc=$?
	secs=$(( ($(date +%s%N) - start) / 1000000000 + 1 ))
	if [ "$rc" -ne 0 ]; then
		echo "calibration boot failed (exit $rc):"; cat "$WORK/cal.err"
		exit 1
	fi
	VM_TIMEOUT=$(( secs * 10 > 60 ? secs * 10 : 60 ))
	echo "# calibration boot: ${secs}s; per-VM timeout ${VM_TIMEOUT}s"
}

# eventually CMD...: until CMD succeeds, once a second, bounded by the calibrated timeout; 1 if never.
eventually() { for _ in $(seq 1 "$VM_TIMEOUT"); do "$@" && return 0; sleep 1; done; return 1; }
# wait_for FILE PATTERN: until PATTERN shows in FILE; 1 if never.
wait_for() { eventually grep -q "$2" "$1" 2>/dev/null; }
# gone PID: no process PID (an empty PID is not gone).
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }

# signal_vm SIG: sends SIG to the hvm-run started in the background as $pid and waits for it;
# SIGKILL after the calibrated timeout, so a signal that never arrives fails, not hangs. Sets RC.
signal_vm() {
	kill -"$1" "$pid"
	(sleep "$VM_TIMEOUT"; kill -KILL "$pid" 2>/dev/null) & local guard=$!
	wait "$pid"; RC=$?
	kill "$guard" 2>/dev/null
}

# guest_disk PROGRAM: $WORK/t.img, ext4 holding tests/guest/PROGRAM (give it -v $WORK/t.img:/t:ro).
guest_disk() {
	mkdir -p "$WORK/t" && cp "$BUILD/tests/guest/$1" "$WORK/t/" &&
		mke2fs -q -t ext4 -d "$WORK/t" "$WORK/t.img" 8M >/dev/null
}

# sanitized PROGRAM: whether make SANITIZE=1 built it (linked with ASan, dynamic then).
sanitized() { ldd "$1" 2>/dev/null | grep -q libasan; }

# oci_setup: how the hvm-oci suites start: OCI its absolute path (engines are handed it), o
# and e the output files, a cache of their own; without a built hvm-oci the suite ends, failed.
oci_setup() {
	o=$WORK/o e=$WORK/e
	OCI=$(cd "$BUILD" && pwd)/hvm-oci
	export XDG_CACHE_HOME=$WORK/cache
	if [ ! -x "$OCI" ]; then bad "hvm-oci built" "$OCI missing"; finish; exit; fi
}

finish() { echo "# e2e: $PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; }
