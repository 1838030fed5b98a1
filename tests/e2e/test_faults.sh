#!/usr/bin/env bash
# Faults: every way a run can go wrong ends with a defined exit code, a message on stderr that
# names the cause, and nothing left behind (no process, no socket, no temp file). Guest kernel
# panic, triple fault, hangs, a device thread the host leaves unscheduled for seconds, agent
# crash, kernel and image removed mid-run, a full host disk, a read-only disk image file, guest
# RAM over the host cgroup's memory limit, and SIGKILL of hvm-run during fsync'd writes (every
# record the guest saw flushed must be there after a restart).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
o=$WORK/o e=$WORK/e
G=$BUILD/tests/guest
for f in agent_crash fsync_records triple_fault.elf spin.elf; do
	[ -e "$G/$f" ] || { echo "missing $G/$f: run make test-e2e (or make $G/$f)"; exit 1; }
done
# The tmpfs and the memory cgroup, even after a failure.
trap 'umount $WORK/small 2>/dev/null; rmdir /sys/fs/cgroup/hvm-fault-$$ /sys/fs/cgroup/memory/hvm-fault-$$ 2>/dev/null; rm -rf "$WORK"' EXIT
calibrate
section=$(date +%s)

# hvm-run's files go under WORK: its temp dirs and cache are ours to inspect afterwards.
mkdir -p $WORK/tmp $WORK/run $WORK/cache
export TMPDIR=$WORK/tmp XDG_RUNTIME_DIR=$WORK/run XDG_CACHE_HOME=$WORK/cache

# hv OUT ERR ARGS...: hvm-run in the background under the calibrated timeout; PID is hvm-run's.
# -e FAULT_TEST=$WORK marks its command line, so leftovers can be found by it.
hv() {
	out=$1 err=$2; shift 2
	"$HVM" -e FAULT_TEST=$WORK "$@" >"$out" 2>"$err" </dev/null &
	PID=$!
}
# hv_wait: waits for it (stopping it at VM_TIMEOUT); sets RC.
hv_wait() {
	local t=0
	while kill -0 $PID 2>/dev/null && [ $t -lt $((VM_TIMEOUT * 10)) ]; do sleep 0.1; t=$((t + 1)); done
	kill -0 $PID 2>/dev/null && kill -KILL $PID
	wait $PID; RC=$?
}
run() { hv "$@"; hv_wait; }

# clean NAME: no process of this test, no socket of the last hvm-run, no temp file.
clean() {
	local left
	sleep 0.2
	left=$(pgrep -f -- "FAULT_TEST=$WORK" | tr '\n' ' ')
	left+=$(grep -c "@hvm-$PID-" /proc/net/unix | grep -v '^0$')
	left+=$(find $WORK/tmp $WORK/run -mindepth 1 | tr '\n' ' ')
	# Temporary files in the cache: an image being converted (tmp/), a template being
	# written (.tmp-*/, .state.tmp, .memory.tmp). Finished templates stay, like images.
	left+=$(find $WORK/cache \( -path "$WORK/cache/tmp/*" ! -type d \) -o -name '.tmp-*' \
		-o -name '.*.tmp' | tr '\n' ' ')
	[ -z "$left" ] && ok "$1: nothing left behind" || bad "$1: nothing left behind" "$left"
	echo "# $1: $(($(date +%s) - section))s"; section=$(date +%s)
}
# err_once NAME TEXT: stderr names the cause in exactly one line.
err_once() {
	[ "$(grep -c -- "$2" $e)" -eq 1 ] && ok "$1" || bad "$1" "want one line with '$2': $(head -c 400 $e)"
}

# ---- guest kernel panic --------------------------------------------------------------------
run $o $e --cmd 'echo before-panic; sleep 1; echo c > /proc/sysrq-trigger; sleep 1000'
expect_rc "panic: exits 125 (not 0, not 124)" 125
err_once "panic: stderr names the panic and its reason" "the guest kernel panicked: sysrq triggered crash"
expect_out "panic: output before the panic arrives" before-panic
clean "panic"

# ---- triple fault (a raw guest whose exceptions cannot be delivered) ------------------------
run $o $e --kernel $G/triple_fault.elf --cmd true
expect_rc "triple fault: exits 125" 125
err_once "triple fault: stderr names it" "the guest stopped (triple fault) without reporting an exit status"
clean "triple fault"

# ---- hangs: a guest kernel spinning with interrupts off; a command ignoring signals ----------
start=$(date +%s)
run $o $e --kernel $G/spin.elf --timeout 2 --cmd true
expect_rc "kernel hang: --timeout 2 exits 124" 124
err_once "kernel hang: stderr names the timeout" "--timeout 2 s expired: VM stopped"
el=$(($(date +%s) - start))
[ $el -lt 30 ] && ok "kernel hang: stopped promptly (${el}s)" || bad "kernel hang: stopped promptly" "${el}s"
clean "kernel hang"

# The sleep lets the agent relay the line before the loop takes the only vCPU.
tmo=$((secs * 2 + 5))
run $o $e --timeout $tmo --cmd 'trap "" TERM INT HUP; echo spinning; sleep 1; while :; do :; done'
expect_rc "command hang: --timeout exits 124" 124
err_once "command hang: stderr names the timeout" "--timeout $tmo s expired: VM stopped"
expect_out "command hang: it ran until stopped" spinning
clean "command hang"

# ---- a host too busy to run the vsock device while the agent connects ------------------------
# The guest kernel gives a vsock connect 2 s by default. The device's thread is held stopped
# from the kernel's last steps before /init (the device is set up by then: holding it earlier
# stalls the vCPU's own register writes instead) until well past the agent's connect.
hold=$((secs * 2 + 3))
hv $o $e --cold --console --cmd 'echo ran-after-the-hold'
python3 "$(dirname "$0")/hold_thread.py" $PID virtio-vsock $hold $e "Freeing unused kernel image" \
	>$WORK/held 2>&1
held=$?
hv_wait
[ $held -eq 0 ] && ok "device thread held: virtio-vsock stopped ${hold}s from before /init" ||
	bad "device thread held: virtio-vsock stopped ${hold}s from before /init" "$(cat $WORK/held)"
expect_rc "device thread held: the run exits 0" 0
expect_out "device thread held: the command ran" ran-after-the-hold
clean "device thread held"

# ---- agent crash: PID 1 jumps to address 0 ------------------------------------------------
mkdir -p $WORK/tools && cp $G/agent_crash $G/fsync_records $WORK/tools/
mke2fs -q -t ext4 -d $WORK/tools $WORK/tools.img 16M >/dev/null 2>&1
run $o $e -v $WORK/tools.img:/t:ro --cmd '/t/agent_crash; sleep 1000'
expect_rc "agent crash: exits 125" 125
err_once "agent crash: stderr names the dead agent" "Attempted to kill init!.*(the guest agent, PID 1, died)"
clean "agent crash"

# ---- kernel and image removed while the VM runs; then missing at start ----------------------
mkdir -p $WORK/k && cp $BUILD/vmlinux $WORK/k/vmlinux
bb_rootfs $WORK/rootfs && echo from-the-image > $WORK/rootfs/hello.txt
(cd $WORK/rootfs && tar --numeric-owner -cf $WORK/img.tar .)
hv $o $e --kernel $WORK/k/vmlinux --image $WORK/img.tar --cmd 'echo started; sleep 3; cat /hello.txt'
for i in $(seq 1 $((VM_TIMEOUT * 10))); do grep -q started $o 2>/dev/null || ! kill -0 $PID 2>/dev/null && break; sleep 0.1; done
rm -f $WORK/k/vmlinux $WORK/img.tar
rm -rf $WORK/cache/hvm	# the converted image, open by the running VM
hv_wait
expect_rc "removed mid-run: the running VM finishes with 0" 0
[ "$(sed -n 2p $o)" = from-the-image ] && ok "removed mid-run: the image still reads" ||
	bad "removed mid-run: the image still reads" "$(cat $o $e | head -c 300)"
clean "removed mid-run"
run $o $e --kernel $WORK/k/vmlinux --cmd true
expect_rc "missing kernel: exits 125" 125
err_once "missing kernel: stderr names the path and cause" "$WORK/k/vmlinux: No such file or directory"
run $o $e --image $WORK/img.tar --cmd true
expect_rc "missing image: exits 125" 125
err_once "missing image: stderr names the path and cause" "$WORK/img.tar: No such file or directory"
mkdir -p $WORK/nodata
HVM_DATA_DIR=$WORK/nodata run $o $e --kernel $BUILD/vmlinux --initrd $BUILD/hvm-initramfs.cpio --cmd true
expect_rc "missing default image: exits 125" 125
err_once "missing default image: stderr says so" "hvm-rootfs.ext4: the default image is missing"
clean "missing files"

# ---- a full host disk under a volume, then the same file on a read-only file system ---------
if [ "$(id -u)" = 0 ]; then
	mnt=$WORK/small && mkdir -p $mnt && mount -t tmpfs -o size=4m hvmfaults $mnt
	mkdir -p $WORK/kept && echo kept > $WORK/kept/kept
	mke2fs -q -F -t ext4 -E lazy_itable_init=1,lazy_journal_init=1 -d $WORK/kept $mnt/vol.img 16M \
		>/dev/null 2>&1
	# Leave 256 KiB: the guest mounts the volume, then its 2 MiB write runs out of room.
	avail=$(df -k --output=avail $mnt | tail -1)
	fallocate -l $(((avail - 256) * 1024)) $mnt/filler
	run $o $e -v $mnt/vol.img:/data --cmd 'dd if=/dev/zero of=/data/f bs=64k count=32 conv=fsync 2>/dev/null; echo dd=$?; cat /data/kept; echo alive'
	expect_rc "disk full: the command's own status (the VMM kept running)" 0
	grep -q '^dd=[1-9]' $o && ok "disk full: the guest's write fails" || bad "disk full: the guest's write fails" "$(cat $o)"
	grep -q '^alive$' $o && grep -q '^kept$' $o && ok "disk full: the guest goes on and still reads the disk" ||
		bad "disk full: the guest goes on and still reads the disk" "$(cat $o)"
	err_once "disk full: stderr names ENOSPC once" "vol0: write at sector [0-9]*: No space left on device"
	clean "disk full"

	# Marked as a killed VM leaves it (a journal to replay), which a read-only disk cannot do.
	rm -f $mnt/filler && debugfs -w -R 'feature needs_recovery' $mnt/vol.img >/dev/null 2>&1
	mount -o remount,ro $mnt
	run $o $e -v $mnt/vol.img:/data --cmd true
	expect_rc "read-only image file attached read-write: exits 125" 125
	err_once "read-only image file: stderr names the path and cause" "$mnt/vol.img: Read-only file system"
	run $o $e -v $mnt/vol.img:/data:ro --cmd 'cat /data/kept; touch /data/new 2>/dev/null || echo refused'
	expect_rc "read-only image file with a journal to replay, attached :ro: runs" 0
	[ "$(cat $o)" = "$(printf 'kept\nrefused')" ] && ok "read-only image file: reads work, writes are refused" ||
		bad "read-only image file: reads work, writes are refused" "$(cat $o $e | head -c 300)"
	clean "read-only image file"
	umount $mnt
else
	echo "# disk full and read-only file tests skipped: they mount a small tmpfs (need root)"
fi

# ---- a host cgroup memory limit below guest RAM: refused at start, never an OOM kill later --
# cg_new LIMIT: a memory cgroup (v2, else v1's controller) limited to LIMIT bytes; echoes it.
cg_new() {
	local cg
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		cg=/sys/fs/cgroup/hvm-fault-$$; mkdir $cg && echo "$1" >$cg/memory.max
	else
		cg=/sys/fs/cgroup/memory/hvm-fault-$$; mkdir $cg && echo "$1" >$cg/memory.limit_in_bytes
	fi && echo $cg
}
if [ "$(id -u)" = 0 ] && cg=$(cg_new $((160 << 20))); then
	timeout "$VM_TIMEOUT" sh -c "echo \$\$ >$cg/cgroup.procs && exec \"\$@\"" sh "$HVM" -e FAULT_TEST=$WORK --memory 256 \
		--cmd true >$o 2>$e </dev/null; RC=$?
	expect_rc "guest RAM over the cgroup's memory limit: exits 125" 125
	err_once "guest RAM over the cgroup's memory limit: the error names the limit" "cgroup allows 160 MiB ($cg/memory."
	timeout "$VM_TIMEOUT" sh -c "echo \$\$ >$cg/cgroup.procs && exec \"\$@\"" sh "$HVM" -e FAULT_TEST=$WORK --memory 96 \
		--cmd 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null && echo within' >$o 2>$e </dev/null; RC=$?
	expect_rc "guest RAM within the cgroup's memory limit: exits 0" 0
	expect_out "guest RAM within the limit: the guest used it" within
	rmdir $cg
	clean "memory limit"
else
	echo "# memory limit tests skipped: they make a cgroup (need root and a memory controller)"
fi

# ---- SIGKILL of hvm-run during fsync'd writes; a restart finds every flushed record -------
cp -a $WORK/tools $WORK/rec && rm -f $WORK/rec/agent_crash
mke2fs -q -t ext4 -d $WORK/rec $WORK/rec.img 32M >/dev/null 2>&1
api=$WORK/api.sock
hv $o $e --api-socket $api -v $WORK/rec.img:/r --cmd '/r/fsync_records write /r/log /r/junk'
for i in $(seq 1 $((VM_TIMEOUT * 10))); do grep -q '^flushed 10$' $o 2>/dev/null || ! kill -0 $PID 2>/dev/null && break; sleep 0.1; done
{ kill -KILL $PID; hv_wait; } 2>/dev/null	# no "Killed" notice from bash
last=$(grep '^flushed ' $o | tail -1 | cut -d' ' -f2)
expect_rc "SIGKILL during writes: exits 137" 137
[ "${last:-0}" -ge 10 ] && ok "SIGKILL during writes: the guest had flushed $last records" ||
	bad "SIGKILL during writes: the guest had flushed records" "$(tail -3 $o; head -c 300 $e)"
clean "SIGKILL during writes"
run $o $e --api-socket $api -v $WORK/rec.img:/r --cmd '/r/fsync_records check /r/log'
expect_rc "restart after SIGKILL (its stale api socket replaced): exits 0" 0
valid=$(sed -n 's/^valid //p' $o)
[ "${valid:-0}" -gt "${last:-0}" ] && ok "restart: all $((last + 1)) flushed records are intact ($valid found)" ||
	bad "restart: all flushed records are intact" "flushed 0..$last, valid '$valid': $(head -c 300 $e)"
[ ! -e $api ] && [ ! -e ${api}_1024 ] && ok "restart: its api sockets are removed at the end" ||
	bad "restart: its api sockets are removed at the end" "$(ls $WORK)"
clean "restart"
finish
