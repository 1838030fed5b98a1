#!/bin/sh
# End-to-end tests: the real HyperKernel and agent under hvm-run. Usage: tests/e2e/run.sh BUILD
BUILD=${1:-build}
export BUILD
# A suite that hangs (a process that even SIGKILL does not end) fails alone, the rest still run.
SUITE_TIMEOUT=${HVM_SUITE_TIMEOUT:-1800}
status=0
for t in "$(dirname "$0")"/test_*.sh; do
	echo "# $t"
	start=$(date +%s)
	timeout -k 30 "$SUITE_TIMEOUT" bash "$t"
	rc=$?
	[ $rc -eq 0 ] || status=1
	[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "not ok - $t ran past ${SUITE_TIMEOUT}s (HVM_SUITE_TIMEOUT)"
	echo "# $t: $(($(date +%s) - start))s"
done
exit $status
