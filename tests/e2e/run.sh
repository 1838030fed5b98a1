#!/bin/sh
# End-to-end tests: the real HyperKernel and agent under hvm-run. Usage: tests/e2e/run.sh BUILD
# HVM_E2E_RESUME=DIR: each suite's exit status is kept in DIR as it ends, and a suite found
# there is not run again: the run goes on where it stopped when the test host wedged and
# kvmhost.py started a fresh one (docs/testhost.md). The caller empties DIR for a new run.
BUILD=${1:-build}
export BUILD
# A suite that hangs (a process that even SIGKILL does not end) fails alone, the rest still run.
SUITE_TIMEOUT=${HVM_SUITE_TIMEOUT:-1800}
resume=${HVM_E2E_RESUME:-}
[ -z "$resume" ] || mkdir -p "$resume"
status=0
for t in "$(dirname "$0")"/test_*.sh; do
	done_rc=$resume/$(basename "$t" .sh).rc
	if [ -n "$resume" ] && [ -s "$done_rc" ]; then
		rc=$(cat "$done_rc")
		echo "# $t: ended with $rc before the test host was restarted"
		[ "$rc" -eq 0 ] || status=1
		continue
	fi
	echo "# $t"
	start=$(date +%s)
	timeout -k 30 "$SUITE_TIMEOUT" bash "$t"
	rc=$?
	[ $rc -eq 0 ] || status=1
	[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "not ok - $t ran past ${SUITE_TIMEOUT}s (HVM_SUITE_TIMEOUT)"
	echo "# $t: $(($(date +%s) - start))s"
	[ -z "$resume" ] || echo $rc > "$done_rc"
done
exit $status
