#!/usr/bin/env bash
# Bash completion (completion/hvm.bash) as a shell runs it, without bash-completion's helpers:
# what a TAB offers after a few command lines, and no drift from the tools: every flag
# `hvm-run --help` and `hvm-oci --help` list is offered somewhere, and hvm-run offers no flag
# its --help lacks. Usage: tests/completion.sh BUILD. "ok - ..." / "not ok - ..."; exit 1 on a failure.
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
fail=0
ok()  { echo "ok - $1"; }
bad() { echo "not ok - $1${2:+ ($2)}"; fail=1; }

# shellcheck source=../completion/hvm.bash
. completion/hvm.bash || { bad "completion/hvm.bash loads"; exit 1; }
for t in hvm-run hvm-oci; do
	[ "$(complete -p $t 2>/dev/null)" = "complete -F _${t//-/_} $t" ] &&
		ok "one file completes $t" || bad "one file completes $t" "$(complete -p $t 2>&1)"
done

# offers WORD...: what a TAB after the command line WORD... offers (the last word is the one
# being completed), sorted, on one line.
offers() {
	local COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=()
	"_${1//-/_}"
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# expect WHAT WANT WORD...: the offer for WORD... is exactly WANT.
expect() {
	local what=$1 want=$2 got
	shift 2
	got=$(offers "$@")
	[ "$got" = "$want" ] && ok "$what" || bad "$what" "got '$got', want '$want'"
}

expect "hvm-run --ima: --image" "--image" hvm-run --ima
expect "hvm-run, first word: its subcommands" "check exec pull snapshot" hvm-run ""
expect "hvm-run --net: its modes" "none tap user" hvm-run --net ""
expect "hvm-run --log-level: its levels" "debug" hvm-run --log-level d
expect "hvm-run check: --json" "--json" hvm-run check --
expect "hvm-run --tls-verify=: true, false" "false true" hvm-run pull --tls-verify=
expect "after --, the guest's command: nothing" "" hvm-run --cmd x -- ec
expect "hvm-run --memory takes a value: nothing offered" "" hvm-run --memory ""

help=$("$BUILD/hvm-run" --help 2>&1) || { bad "hvm-run --help runs"; exit 1; }
offered=" $(offers hvm-run --) $(offers hvm-run check --) $(offers hvm-run pull --) $(offers hvm-run snapshot --) "
missing=""
for f in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	[[ $offered == *" $f "* || $offered == *" $f="* ]] || missing="$missing $f"
done
[ -z "$missing" ] && ok "every flag of hvm-run --help is offered" ||
	bad "every flag of hvm-run --help is offered" "missing:$missing"
extra=""
for f in $(offers hvm-run --); do
	printf '%s\n' "$help" | grep -q -- "$f\b" || extra="$extra $f"
done
[ -z "$extra" ] && ok "hvm-run offers no flag its --help lacks" ||
	bad "hvm-run offers no flag its --help lacks" "extra:$extra"

root=$(mktemp -d) && mkdir "$root/web1" "$root/web2" "$root/db"
expect "hvm-oci st: start, state" "start state" hvm-oci st
expect "hvm-oci --root DIR kill w: the containers in DIR" "web1 web2" hvm-oci --root "$root" kill w
expect "hvm-oci kill ID: signals too" "SIGTERM SIGTRAP SIGTSTP SIGTTIN SIGTTOU" \
	hvm-oci --root "$root" kill db SIGT
expect "hvm-oci delete -: --force" "--force" hvm-oci --root "$root" delete -
expect "hvm-oci ps --format: table, json" "json table" hvm-oci ps --format ""
rm -rf "$root"

help=$("$BUILD/hvm-oci" --help 2>&1) || { bad "hvm-oci --help runs"; exit 1; }
offered=" $(offers hvm-oci --) " cmds=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^Global flags:/p')
unknown=""
for c in $(offers hvm-oci ""); do
	offered="$offered $(offers hvm-oci "$c" --) "
	printf '%s\n' "$cmds" | grep -qw -- "$c" || unknown="$unknown $c"
done
[ -z "$unknown" ] && ok "hvm-oci offers only commands its --help lists" ||
	bad "hvm-oci offers only commands its --help lists" "unknown:$unknown"
missing=""
for f in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	[[ $offered == *" $f "* ]] || missing="$missing $f"
done
[ -z "$missing" ] && ok "every flag of hvm-oci --help is offered" ||
	bad "every flag of hvm-oci --help is offered" "missing:$missing"
exit $fail
