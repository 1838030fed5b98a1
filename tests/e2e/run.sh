#!/bin/sh
# End-to-end tests: the real HyperKernel and agent under hvm-run. Usage: tests/e2e/run.sh BUILD
BUILD=${1:-build}
export BUILD
status=0
for t in "$(dirname "$0")"/test_*.sh; do
	echo "# $t"
	bash "$t" || status=1
done
exit $status
