#!/bin/sh
# Fetches Debian's cjson source package (Debian's patches applied) into OUT_DIR, so that the
# static agent (musl) and the static hvm-run can compile cJSON in: Debian ships it only as a
# shared library. Uses a private apt state under OUT_DIR; the system's apt config is untouched.
# Usage: mk/cjson.sh OUT_DIR   (leaves OUT_DIR/cJSON.c and OUT_DIR/cjson/cJSON.h)
set -eu
out=$1
[ -f "$out/cJSON.c" ] && [ -f "$out/cjson/cJSON.h" ] && exit 0
mkdir -p "$out"
out=$(cd "$out" && pwd)	# apt runs from another directory below
apt=$out/.apt
rm -rf "$apt" && mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
printf 'deb-src http://deb.debian.org/debian bookworm main\ndeb-src http://deb.debian.org/debian-security bookworm-security main\n' \
	> "$apt/sources.list"
opts="-o Dir::Etc::SourceList=$apt/sources.list -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $opts -q update >/dev/null
# shellcheck disable=SC2086
(cd "$apt" && apt-get $opts -q source --download-only cjson >/dev/null)
# apt verified the download (signed Release, checksummed index); no keyring needed here.
dpkg-source -q -x "$apt"/cjson_*.dsc "$apt/src" >/dev/null 2>&1
mkdir -p "$out/cjson"
cp "$apt/src/cJSON.h" "$out/cjson/cJSON.h"
cp "$apt/src/cJSON.c" "$out/cJSON.c.tmp" && mv "$out/cJSON.c.tmp" "$out/cJSON.c"
rm -rf "$apt"
