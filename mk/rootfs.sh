#!/bin/sh
# Builds the embedded default image: busybox-static with its applet links, as an ext4 file
# system the guest mounts read-only (with an overlay) when no --image is given.
# Usage: mk/rootfs.sh BUSYBOX OUT.ext4
set -eu
busybox=$1
out=$2
stage=$out.stage
rm -rf "$stage" && mkdir -p "$stage"
trap 'rm -rf "$stage" "$out.tmp"' EXIT

for d in bin sbin usr/bin usr/sbin etc root tmp proc sys dev run var/tmp; do
	mkdir -p "$stage/$d"
done
chmod 1777 "$stage/tmp" "$stage/var/tmp"
cp "$busybox" "$stage/bin/busybox"
# Links cost nothing at boot in a disk image (unlike in an initramfs, which the kernel unpacks).
"$busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$stage/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	> "$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$stage/etc/group"

mke2fs -q -F -t ext4 -L hvm-default -O ^has_journal -E root_owner=0:0 -d "$stage" "$out.tmp" 16M >/dev/null
mv "$out.tmp" "$out"
