#!/bin/sh
# Runs each libFuzzer target for SECONDS on a copy of its committed corpus (tests/fuzz/corpus/
# NAME for BUILD/fuzz/fuzz_NAME), one at a time; one line per target. A crash, leak, timeout or
# sanitizer report fails the run; its input is kept in ARTIFACTS and the log's tail printed.
# Usage: tests/fuzz/run.sh SECONDS ARTIFACTS BINARY...
secs=$1 artifacts=$2; shift 2
corpus_root=$(dirname "$0")/corpus
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/hvm-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
fail=0
for bin in "$@"; do
	name=${bin##*/fuzz_}
	mkdir -p "$work/$name"
	[ -d "$corpus_root/$name" ] && cp -R "$corpus_root/$name/." "$work/$name/"
	start=$(date +%s)
	# -timeout: one input may take at most 10 s (a hang is a bug, not slowness). The targets'
	# own stderr is closed (the devices log every hostile input); reports still come through.
	# -rss_limit_mb: the device targets' RSS grows about 200 bytes an input, with no leak
	# reported (each input starts and joins an I/O thread, and a plain ASan program that only
	# does that grows as well): 2 GiB after ten million inputs.
	"$bin" -max_total_time="$secs" -rss_limit_mb=4096 -timeout=10 -max_len=16384 \
		-print_final_stats=1 -close_fd_mask=3 -artifact_prefix="$artifacts/$name-" \
		"$work/$name" > "$work/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
	cov=$(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		echo "fuzz $name: ok, ${runs:-?} runs in $(( $(date +%s) - start )) s, ${cov:-cov: ?}"
	else
		fail=$((fail + 1))
		echo "fuzz $name: FAILED (exit $rc); input saved under $artifacts/$name-*"
		tail -n 40 "$work/$name.log"
	fi
done
[ $fail -eq 0 ]
