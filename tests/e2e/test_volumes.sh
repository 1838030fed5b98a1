#!/usr/bin/env bash
# Host directories as volumes (9p over vsock, docs/volumes.md): reads and writes both ways,
# ownership, :ro, every escape a guest can try (absolute and relative symlinks, "..", links
# made in the guest, hard links), a directory that vanishes, paths that are no volume, no
# server left behind, no template.
. "$(dirname "$0")/lib.sh"
o=$WORK/o e=$WORK/e
calibrate
# Bulk data crosses emulated guest kernel code: allow many boots' worth of time for it.
BULK_TIMEOUT=$((VM_TIMEOUT * 8))
D=$WORK/share
mkdir -p $D/sub; echo from-host >$D/in; echo deep >$D/sub/f
echo TOP-SECRET-$$ >$WORK/secret
ln -s $WORK/secret $D/abs-link; ln -s ../secret $D/rel-link; ln -s ../.. $D/up-link
ln -s sub/f $D/inside-link

vm $o $e -v $D:/data --cmd 'cat /data/in /data/sub/f /data/inside-link; echo from-guest >/data/out;
	mkdir /data/newdir; echo x >/data/newdir/y; mv /data/newdir/y /data/newdir/z;
	rm /data/sub/f; ln -s in /data/guest-link; ls /data | sort | tr "\n" " "'
expect_rc "a directory volume mounts and the command runs" 0
expect_out "the guest reads, writes, renames, removes and lists" \
	"$(printf 'from-host\ndeep\ndeep\nabs-link guest-link in inside-link newdir out rel-link sub up-link ')"
[ "$(cat $D/out 2>/dev/null)" = from-guest ] && ok "the host sees what the guest wrote" ||
	bad "the host sees what the guest wrote"
[ -f $D/newdir/z ] && [ ! -e $D/newdir/y ] && [ ! -e $D/sub/f ] && ok "renames and removals reach the host" ||
	bad "renames and removals reach the host" "$(ls -R $D)"
[ "$(stat -c %u:%g $D/out)" = "$(id -u):$(id -g)" ] && ok "files the guest made belong to the caller" ||
	bad "files the guest made belong to the caller" "$(stat -c %u:%g $D/out)"
[ "$(readlink $D/guest-link)" = in ] && ok "a symlink made in the guest is a symlink on the host" ||
	bad "a symlink made in the guest is a symlink on the host"

# Escapes: whatever the guest does, nothing outside the share is read or written.
vm $o $e -v $D:/data --cmd 'cat /data/abs-link /data/rel-link /data/up-link/secret 2>/dev/null
	cat /data/../../../..'$WORK'/secret /data/sub/../../secret 2>/dev/null
	cd /data && cat ../../../../../..'$WORK'/secret 2>/dev/null
	ln -s '$WORK'/secret /data/made-link; cat /data/made-link 2>/dev/null
	echo pwned >/data/abs-link 2>/dev/null; echo pwned >>/data/rel-link 2>/dev/null
	ln /data/abs-link /data/hard 2>/dev/null; chmod 777 /data/abs-link 2>/dev/null
	truncate -s 0 /data/abs-link 2>/dev/null; echo done'
expect_rc "escape attempts run to the end" 0
grep -q TOP-SECRET $o && bad "no symlink or .. reads a host file outside the share" "$(cat $o)" ||
	ok "no symlink or .. reads a host file outside the share"
[ "$(cat $WORK/secret)" = TOP-SECRET-$$ ] && [ "$(stat -c %a $WORK/secret)" = 644 ] &&
	ok "no write, chmod or truncate through a symlink reaches the host file" ||
	bad "no write, chmod or truncate through a symlink reaches the host file" "$(stat -c '%a %s' $WORK/secret)"
[ ! -e $WORK/pwned ] && [ "$(ls $WORK | sort | tr '\n' ' ')" = "cal.err e o secret share " ] &&
	ok "nothing new appeared outside the share" || bad "nothing new appeared outside the share" "$(ls $WORK)"

vm $o $e -v $D:/data:ro --cmd 'echo x >/data/ro-try; echo rc=$?; mkdir /data/d 2>&1; rm /data/in 2>&1; cat /data/in'
grep -q 'rc=1' $o && grep -qi 'read-only' $o && grep -q from-host $o &&
	ok "a :ro share reads and refuses writes with EROFS" || bad "a :ro share reads and refuses writes with EROFS" "$(cat $o $e)"
[ ! -e $D/ro-try ] && [ ! -e $D/d ] && [ -f $D/in ] && ok "and nothing changed on the host" ||
	bad "and nothing changed on the host"

head -c 20971520 /dev/urandom >$D/big
want=$(sha256sum <$D/big | cut -d' ' -f1)
timeout -k 10 "$BULK_TIMEOUT" "$HVM" -v $D:/data --cmd 'sha256sum </data/big | cut -d" " -f1; cp /data/big /data/big2' \
	>$o 2>$e </dev/null
[ "$(head -1 $o)" = "$want" ] && ok "20 MiB read through the share is exact" || bad "20 MiB read through the share is exact" "$(cat $e)"
[ "$(sha256sum <$D/big2 | cut -d' ' -f1)" = "$want" ] && ok "20 MiB written through the share is exact" ||
	bad "20 MiB written through the share is exact"
rm -f $D/big $D/big2

# A shared directory that vanishes under the VM: errors in the guest, and the run ends.
V=$WORK/vanish; mkdir $V; echo v >$V/f
"$HVM" -v $V:/v --cmd 'cat /v/f; while [ ! -e /tmp/never ] && [ -e /v/f ]; do sleep 0.2; done; cat /v/f; echo rc=$?' \
	>$o 2>$e </dev/null &
pid=$!
wait_for $o '^v$' && rm -rf $V
(sleep "$VM_TIMEOUT"; kill -KILL $pid 2>/dev/null) & guard=$!
wait $pid; RC=$?; kill $guard 2>/dev/null
expect_rc "a vanished share does not hang the VM" 0
grep -q 'rc=1' $o && ok "its files give errors in the guest" || bad "its files give errors in the guest" "$(cat $o)"

mkfifo $WORK/fifo
vm $o $e -v $WORK/fifo:/data --cmd true
expect_rc "a FIFO as a volume exits 125" 125
expect_err_has "and the error names it" "$WORK/fifo"
vm $o $e -v /dev/null:/data --cmd true
expect_rc "a device as a volume exits 125" 125
expect_err_has "and the error names it" /dev/null
rm -f $WORK/fifo

vm $o $e -v $WORK/new.img:/disk --volume-size 16 --cmd 'echo on-disk >/disk/f; cat /disk/f'
[ "$RC" -eq 0 ] && [ -f $WORK/new.img ] && ok "a missing path is still a new disk image" ||
	bad "a missing path is still a new disk image" "exit $RC: $(cat $e)"
rm -f $WORK/new.img

# Two shares at once, and never from a template (a second identical run boots cold too).
mkdir -p $WORK/two
vm $o $e -v $D:/a:ro -v $WORK/two:/b --metrics-json $WORK/m1.json --cmd 'cat /a/in >/b/copied'
vm $o $e -v $D:/a:ro -v $WORK/two:/b --metrics-json $WORK/m2.json --cmd 'cat /b/copied'
expect_out "two shares in one VM" from-host
grep -q '"start": *"cold"' $WORK/m2.json && ok "a VM with a share never starts from a template" ||
	bad "a VM with a share never starts from a template" "$(cat $WORK/m2.json 2>/dev/null | head -c 300)"
rm -rf $WORK/two $WORK/m1.json $WORK/m2.json

# hvm-oci: directory binds are shares, with ro, noexec, nosuid, nodev.
. "$(dirname "$0")/images.sh"
B=$WORK/bundle; mkdir -p $B $WORK/rw; bb_rootfs $B/rootfs
printf '#!/bin/sh\necho ran\n' >$D/exe; chmod 755 $D/exe
cat >$B/config.json <<JSON
{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"cwd":"/","env":["PATH=/bin"],
 "args":["sh","-c","cat /ro/in; echo x >/ro/t || echo ro-refused; /ro/exe || echo noexec-refused; echo w >/rw/f; grep nosuid /proc/mounts | grep -c ' /ro 9p '"]},
 "root":{"path":"rootfs"},"mounts":[{"destination":"/proc","type":"proc","source":"proc"},
 {"destination":"/ro","type":"bind","source":"$D","options":["rbind","ro","noexec","nosuid","nodev"]},
 {"destination":"/rw","type":"bind","source":"$WORK/rw","options":["rbind"]}]}
JSON
timeout -k 10 "$VM_TIMEOUT" "$BUILD/hvm-oci" --root $WORK/state run --bundle $B c-vol >$o 2>$e </dev/null
RC=$?
expect_rc "hvm-oci runs a bundle with directory binds" 0
grep -q from-host $o && grep -q ro-refused $o && ok "a ro bind reads and refuses writes" || bad "a ro bind reads and refuses writes" "$(cat $o $e)"
grep -q noexec-refused $o && ! grep -q '^ran' $o && ok "noexec is honoured" || bad "noexec is honoured" "$(cat $o)"
[ "$(tail -1 $o)" = 1 ] && ok "nosuid is honoured" || bad "nosuid is honoured" "$(tail -1 $o)"
[ "$(cat $WORK/rw/f 2>/dev/null)" = w ] && [ ! -e $D/t ] && ok "a rw bind writes to the host" || bad "a rw bind writes to the host"
rm -rf $B $WORK/rw $WORK/state $D/exe

pgrep -f "$WORK/[s]hare" >/dev/null && bad "no share server left running" "$(pgrep -af "$WORK/[s]hare")" ||
	ok "no share server left running"
finish
