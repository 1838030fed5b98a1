#!/bin/sh
# The man pages: mandoc lint clean, and every flag `hvm-run --help` lists is in hvm-run(1).
# Usage: tests/man.sh BUILD. Prints "ok - ..." / "not ok - ..." lines; exit 1 on a failure.
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
fail=0
ok()  { echo "ok - $1"; }
bad() { echo "not ok - $1${2:+ ($2)}"; fail=1; }

command -v mandoc >/dev/null || { bad "mandoc installed" "sh mk/deps.sh test"; exit 1; }
for m in hvm-run.1 hvm-oci.8 libhvm.3 hvm.7; do
	[ -s "man/$m" ] && ok "man/$m exists" || bad "man/$m exists"
done
lint=$(mandoc -Tlint -Wwarning man/* 2>&1)
[ -z "$lint" ] && ok "man pages lint clean (mandoc -Tlint -Wwarning)" || bad "man pages lint clean" "$lint"

# Each flag as it appears in the page's source: .Fl -NAME (mdoc), by name.
help=$("$BUILD/hvm-run" --help 2>&1) || { bad "hvm-run --help runs"; exit 1; }
missing=""
for f in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "Fl ${f#-}\b" man/hvm-run.1 || missing="$missing $f"
done
[ -z "$missing" ] && ok "every --help flag is documented in hvm-run(1)" ||
	bad "every --help flag is documented in hvm-run(1)" "missing:$missing"
# And the other way: every flag the page documents exists.
extra=""
for f in $(grep -o 'Fl -[a-z][a-z-]*' man/hvm-run.1 | sed 's/^Fl //' | sort -u); do
	printf '%s\n' "$help" | grep -q -- "-$f\b" || extra="$extra -$f"
done
[ -z "$extra" ] && ok "hvm-run(1) documents no flag --help lacks" ||
	bad "hvm-run(1) documents no flag --help lacks" "extra:$extra"
exit $fail
