#!/bin/sh
# Runs every hostile-guest program, even after one failed, and totals the classes from the
# lines they print ("<class>: survived" / "<class>: FAILED"), so that `make test-hostile`
# ends with the whole suite's count. A program that dies before its lines end is a failure.
# Usage: tests/hostile/run.sh BINARY...
out=$(mktemp) || exit 2
trap 'rm -f "$out" "$out.rc"' EXIT
survived=0 failed=0 rc=0
for t in "$@"; do
	{ "$t"; echo $? >"$out.rc"; } | tee "$out"
	[ "$(cat "$out.rc")" = 0 ] || { rc=1; echo "FAIL $t (exit $(cat "$out.rc"))"; }
	survived=$((survived + $(grep -c ': survived$' "$out")))
	failed=$((failed + $(grep -c ': FAILED$' "$out")))
done
echo "hostile, host-side driver: $((survived + failed)) classes, $survived survived, $failed failed"
exit $rc
