#!/bin/sh
# Runs test binaries of one kind; a binary exiting 77 is a skip (reported, not a pass).
# A KVM test that skips fails instead, unless HVM_KVMHOST=never asked to run without KVM: make
# test runs the KVM suites where /dev/kvm works (the test host, tests/kvmhost), so a skip there
# means a test that never ran.
# Usage: tests/run.sh KIND BINARY...
kind=$1; shift
pass=0 fail=0 skip=0
for t in "$@"; do
	"$t"
	rc=$?
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) if [ "$kind" = kvm ] && [ "${HVM_KVMHOST:-auto}" != never ]; then
		fail=$((fail + 1)); echo "FAIL $t (skipped, but KVM tests must run: HVM_KVMHOST=${HVM_KVMHOST:-auto})"
	    else
		skip=$((skip + 1)); echo "SKIP $t"
	    fi ;;
	*) fail=$((fail + 1)); echo "FAIL $t (exit $rc)" ;;
	esac
done
echo "$kind tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
