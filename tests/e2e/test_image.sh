#!/usr/bin/env bash
# Images issue: --image from a directory, tar.gz, docker-save and OCI layout; the cache;
# the overlay; volumes; every kind of bad input.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
o=$WORK/o e=$WORK/e
export XDG_CACHE_HOME=$WORK/cache
calibrate

bb_rootfs $WORK/bb; echo marker-from-dir > $WORK/bb/etc/marker
vm $o $e --image $WORK/bb --cmd 'cat /etc/marker'
expect_rc "directory image runs" 0
expect_out "directory image content" marker-from-dir
(cd $WORK/bb && tar -czf $WORK/bb.tgz .)
vm $o $e --image $WORK/bb.tgz --cmd 'cat /etc/marker'
expect_rc "tar.gz image runs" 0
expect_out "tar.gz image content" marker-from-dir

docker_save_tar $WORK/ds.tar $WORK/ds
vm $o $e --image $WORK/ds.tar
expect_rc "docker-save image runs its Cmd" 0
expect_out "docker-save Cmd output" from-layer-2
vm $o $e --image $WORK/ds.tar --cmd 'pwd; echo $FROM_IMAGE; ls /data; ls /opq'
expect_out "WorkingDir, Env, whiteout and opaque directory" "$(printf '/data\nyes\nnew.txt\nb.txt')"
vm $o $e --image $WORK/ds.tar -e FROM_IMAGE=flag -w /opq -u nobody --cmd 'pwd; echo $FROM_IMAGE; id -u'
expect_out "-e, -w and -u override the image" "$(printf '/opq\nflag\n65534')"
vm $o $e --image $WORK/ds.tar -- echo args-replace-cmd
expect_out "arguments replace the image Cmd" args-replace-cmd

umoci_layout $WORK/oci $WORK/ocisrc
vm $o $e --image $WORK/oci --cmd 'ls /data; ls /opq; cat /data/new.txt'
expect_rc "OCI layout (umoci) runs" 0
expect_out "OCI layout merged view" "$(printf 'new.txt\nb.txt\nfrom-layer-2')"
(cd $WORK/oci && tar -cf $WORK/oci.tar .)
vm $o $e --image $WORK/oci.tar
expect_out "OCI layout as a tar, default Cmd" from-layer-2

n1=$(find $XDG_CACHE_HOME -type f | wc -l)
start=$(date +%s%N)
vm $o $e --image $WORK/oci --cmd true
expect_rc "cached image runs" 0
[ "$(find $XDG_CACHE_HOME -type f | wc -l)" -eq "$n1" ] && ok "second run converts nothing" || bad "second run converts nothing"

vm $o $e --image $WORK/bb --cmd 'echo changed > /etc/marker; cat /etc/marker'
expect_out "writes land in the overlay" changed
vm $o $e --image $WORK/bb --cmd 'cat /etc/marker'
expect_out "the image is unchanged afterwards" marker-from-dir
vm $o $e --image $WORK/bb --read-only --cmd 'echo x > /etc/marker'
[ "$RC" -ne 0 ] && ok "--read-only root rejects writes" || bad "--read-only root rejects writes"

if deb=$(debian_minbase); then
	vm $o $e --memory 256 --image "$deb" --cmd 'cat /etc/debian_version'
	expect_rc "Debian minbase image runs" 0
	grep -q '^12' $o && ok "Debian image is Debian 12" || bad "Debian image is Debian 12" "$(cat $o)"
else
	bad "debootstrap of a Debian minbase rootfs"
fi

# Volumes: 50 MiB written in one VM, read back byte-exact in the next. Bulk data crosses
# emulated guest kernel code twice: allow many boots' worth of time for these two.
head -c 52428800 /dev/urandom > $WORK/bb/payload
want=$(sha $WORK/bb/payload)
VM_TIMEOUT=$((VM_TIMEOUT * 8)) vm $o $e --image $WORK/bb -v $WORK/vol.img:/vol --volume-size 128 --cmd 'cat /payload > /vol/p && sync'
expect_rc "50 MiB written to a new volume" 0
rm $WORK/bb/payload
VM_TIMEOUT=$((VM_TIMEOUT * 8)) vm $o $e --image $WORK/bb -v $WORK/vol.img:/vol --cmd 'sha256sum /vol/p'
[ "$(cut -d' ' -f1 < $o)" = "$want" ] && ok "volume data survives byte-exact" || bad "volume data survives byte-exact"
vm $o $e --image $WORK/bb -v $WORK/vol.img:/vol:ro --cmd 'echo y > /vol/q'
[ "$RC" -ne 0 ] && ok "read-only volume rejects writes" || bad "read-only volume rejects writes"
expect_err_has "read-only volume says why" "Read-only file system"

# Bad input: exit 125, a message naming the thing, nothing left half-written.
vm $o $e --image $WORK/nope --cmd true
expect_rc "missing image: 125" 125
expect_err_has "missing image is named" "$WORK/nope"
head -c 3000 $WORK/ds.tar > $WORK/trunc.tar
vm $o $e --image $WORK/trunc.tar --cmd true
expect_rc "truncated archive: 125" 125
head -c 5000 /dev/urandom > $WORK/random.bin
vm $o $e --image $WORK/random.bin --cmd true
expect_rc "unknown format: 125" 125
cp -r $WORK/oci $WORK/ocibad
umoci gc --layout $WORK/ocibad	# only referenced blobs left: any one of them must be checked
f=$(ls $WORK/ocibad/blobs/sha256 | head -1); printf 'x' >> $WORK/ocibad/blobs/sha256/$f
vm $o $e --image $WORK/ocibad --cmd true
expect_rc "digest mismatch: 125" 125
cp -r $WORK/oci $WORK/ocibig	# an index over the 4 MiB bound: refused before it is read
head -c 4194305 /dev/zero | tr '\0' ' ' >> $WORK/ocibig/index.json
vm $o $e --image $WORK/ocibig --cmd true
expect_rc "index.json over 4 MiB: 125" 125
expect_err_has "index.json over 4 MiB is named" "index.json: larger than 4194304 bytes"
python3 - $WORK/evil.tar <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w')
data = b'pwned\n'
i = tarfile.TarInfo('../../../../tmp/hvm-e2e-escape'); i.size = len(data); t.addfile(i, io.BytesIO(data))
t.close()
PY
rm -f /tmp/hvm-e2e-escape
vm $o $e --image $WORK/evil.tar --cmd true
expect_rc "path traversal: 125" 125
[ ! -e /tmp/hvm-e2e-escape ] && ok "nothing written outside the cache" || bad "nothing written outside the cache"
[ -z "$(find $XDG_CACHE_HOME -name '*.tmp*' -o -name '*.part')" ] && ok "no half-written cache entries" || bad "no half-written cache entries"
printf 'not a filesystem' > $WORK/notfs.img
vm $o $e --image $WORK/bb -v $WORK/notfs.img:/vol --cmd true
expect_rc "non-ext4 volume: 125" 125
expect_err_has "non-ext4 volume is named" notfs.img
mkdir -p $WORK/voldir && echo in-dir >$WORK/voldir/f
vm $o $e --image $WORK/bb -v $WORK/voldir:/vol --cmd 'cat /vol/f'
expect_out "a directory volume is shared with an image root too (docs/volumes.md)" in-dir
finish
