#!/bin/sh
# Runs test binaries of one kind; a binary exiting 77 is a skip (reported, not a pass).
# Usage: tests/run.sh KIND BINARY...
kind=$1; shift
pass=0 fail=0 skip=0
for t in "$@"; do
	"$t"
	rc=$?
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)); echo "SKIP $t" ;;
	*) fail=$((fail + 1)); echo "FAIL $t (exit $rc)" ;;
	esac
done
echo "$kind tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
