#!/bin/sh
# Builds the HyperKernel vmlinux from Debian's linux-source-6.1 with our config fragment and
# patches. Usage: kernel/build.sh BUILD_DIR OUT_VMLINUX
# The result is cached under BUILD_DIR/kernel/<key>/ where key hashes the source package
# version, the fragment, the patches and this script: a rebuild happens only when one changes.
set -eu

build=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
fragment=$here/hyperkernel.config

die() { echo "kernel: $*" >&2; exit 1; }

[ -r "$tarball" ] || die "$tarball: not found (install linux-source-6.1: make deps)"
version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	die "linux-source-6.1: package not installed (make deps)"

key=$( { echo "$version"; cat "$fragment" "$here"/patches/*.patch "$0"; } |
	sha256sum | cut -c1-16)
cache=$build/kernel/$key
if [ -f "$cache/vmlinux" ]; then
	ln -f "$cache/vmlinux" "$out" 2>/dev/null || cp "$cache/vmlinux" "$out"
	exit 0
fi

echo "kernel: building linux-source-6.1 $version (key $key); this takes several minutes" >&2
src=$build/kernel/src.$key
rm -rf "$src" && mkdir -p "$src"
tar -xJf "$tarball" -C "$src" --strip-components=1

for p in "$here"/patches/*.patch; do
	patch -d "$src" -p1 -s --no-backup-if-mismatch <"$p" || die "$p: does not apply to $version"
done

kmake() { make -C "$src" ARCH=x86_64 -j"$(nproc)" "$@"; }
kmake -s tinyconfig >/dev/null
(cd "$src" && ./scripts/kconfig/merge_config.sh -m -O . .config "$fragment" >/dev/null)
kmake -s olddefconfig >/dev/null 2>&1

# Kconfig silently drops options whose dependencies are unmet: insist on every line we asked for.
bad=$(awk '
	FNR == NR { have[$0] = 1; next }
	/^CONFIG_/ { if (!($0 in have)) print; next }
	/^# CONFIG_.* is not set$/ {
		name = $2
		for (h in have) if (index(h, name "=") == 1) { print; break }
	}' "$src/.config" "$fragment")
[ -z "$bad" ] || die "config fragment not honoured by Kconfig: $bad"

kmake -s vmlinux >"$src/build.log" 2>&1 || { tail -30 "$src/build.log" >&2; die "vmlinux build failed"; }

mkdir -p "$cache.tmp"
cp "$src/vmlinux" "$src/.config" "$cache.tmp/"
rm -rf "$cache" && mv "$cache.tmp" "$cache"
rm -rf "$src"
ln -f "$cache/vmlinux" "$out" 2>/dev/null || cp "$cache/vmlinux" "$out"
echo "kernel: built $out" >&2
