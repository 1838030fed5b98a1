#!/bin/sh
# The folders' layers, from the real #include "..." lines: a file may include only from its own
# folder or from a lower layer, so every arrow between folders points down and none closes a
# cycle (docs/architecture.md). `sh mk/layers.sh` checks and prints the arrows with their
# counts; `--edges` prints the arrows alone, `--dot` as a Graphviz graph; `--doc` also checks
# that docs/architecture.md shows the arrows there are. `make test-layers` runs `--doc`.
cd "$(dirname "$0")/.." || exit 2
mode=${1:-check}
if [ "$mode" = --doc ]; then
	want=$(sh mk/layers.sh --edges) || exit 1
	have=$(sed -n '/^<!-- layers: begin/,/^<!-- layers: end/p' docs/architecture.md | grep -e ' -> ')
	[ "$want" = "$have" ] && exit 0
	echo "layers: docs/architecture.md's arrows are out of date; sh mk/layers.sh --edges:" >&2
	echo "$want" >&2
	exit 1
fi
dirs=
for d in include core proto boot image agent devices vmm tools examples bench tests; do
	[ -d "$d" ] && dirs="$dirs $d"
done
# shellcheck disable=SC2086
find $dirs -name '*.[ch]' | sort | xargs grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' |
awk -v mode="$mode" '
BEGIN {
	# The layers, lowest first; a folder includes only from layers below its own.
	n = split("include:0 core:1 proto:1 boot:2 devices:2 image:2 agent:2 vmm:3 " \
		  "tools:4 examples:4 bench:4 tests:5", l, " ")
	for (i = 1; i <= n; i++) { split(l[i], kv, ":"); rank[kv[1]] = kv[2] }
	bad = 0
}
{
	file = substr($0, 1, index($0, ":") - 1)
	line = substr($0, index($0, ":") + 1)
	split(line, q, "\"")
	dir = file; sub(/\/[^\/]*$/, "", dir)
	# Resolves "dir/../x/y.h" to "x/y.h".
	k = split(dir "/" q[2], part, "/"); m = 0
	for (i = 1; i <= k; i++) {
		if (part[i] == "..") m--
		else if (part[i] != "." && part[i] != "") path[++m] = part[i]
	}
	if (m < 2)
		next
	from = file; sub(/\/.*/, "", from)
	to = path[1]
	if (from == to)
		next
	count[from " -> " to]++
	if (!(to in rank) || rank[to] >= rank[from]) {
		printf "layers: %s includes %s: %s (layer %s) may not use %s (layer %s)\n", \
		       file, q[2], from, rank[from], to, (to in rank) ? rank[to] : "none" > "/dev/stderr"
		bad = 1
	}
}
END {
	if (mode == "--dot") {
		print "digraph layers {"
		for (e in count) { split(e, ft, " -> "); printf "\t\"%s\" -> \"%s\" [label=%d];\n", ft[1], ft[2], count[e] }
		print "}"
	} else if (mode == "--edges") {
		for (e in count) print e | "sort"
	} else {
		for (e in count) printf "%s (%d)\n", e, count[e] | "sort"
	}
	exit bad
}'
