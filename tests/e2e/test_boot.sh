#!/usr/bin/env bash
# Boot issue: output, exit codes, CPUs and memory, timeouts and bad input, on the real kernel.
. "$(dirname "$0")/lib.sh"
o=$WORK/o e=$WORK/e
calibrate

vm $o $e --cmd 'echo hello-from-guest'
expect_rc "echo exits 0" 0
expect_out "stdout is exactly the command's output" hello-from-guest

vm $o $e --cmd 'echo to-out; echo to-err >&2; exit 7'
expect_rc "exit 7 propagated" 7
expect_out "stdout carries only stdout" to-out
expect_err_has "stderr carries the command's stderr" to-err

vm $o $e --cmd 'exit 255'; expect_rc "exit 255 propagated" 255
vm $o $e --cmd 'kill -TERM $$'; expect_rc "death by SIGTERM is 143" 143
vm $o $e -- uname -s
expect_rc "argv form runs a busybox applet" 0
expect_out "argv form output" Linux
vm $o $e -- no-such-program
expect_rc "unknown program is 127" 127
expect_err_has "unknown program is named" no-such-program

# Default vCPUs: two where hvm-run may use two host CPUs, one where its affinity allows one.
want=$(( $(nproc) >= 2 ? 2 : 1 ))
vm $o $e --cmd 'grep -c ^processor /proc/cpuinfo'
expect_out "default: $want vCPUs on $(nproc) usable host CPUs" "$want"
timeout "$VM_TIMEOUT" taskset -c 0 "$HVM" --cmd 'grep -c ^processor /proc/cpuinfo' >$o 2>$e </dev/null
expect_out "default under taskset -c 0: one vCPU" 1

# Four vCPUs (twice what the CI hosts have): a TLB shootdown to two of the three others is
# the IPI Linux would send by hypercall if the guest saw KVM's PV IPI feature (a hang on PVM).
guest_disk tlb_shootdown
vm $o $e --cpus 4 --memory 256 -v $WORK/t.img:/t:ro --cmd 'grep -c ^processor /proc/cpuinfo; sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo; /t/tlb_shootdown 10'
expect_rc "--cpus 4 --memory 256 boots" 0
[ "$(sed -n 1p $o)" = 4 ] && ok "--cpus 4 shows four processors" || bad "--cpus 4 shows four processors" "$(cat $o)"
[ "$(sed -n 3p $o)" = "ok 10" ] && ok "--cpus 4: IPIs to a subset of vCPUs arrive" || bad "--cpus 4: IPIs to a subset of vCPUs arrive" "$(cat $o $e)"
mem=$(sed -n 2p $o); mem=${mem:-0}
[ "$mem" -gt 200000 ] && [ "$mem" -le 262144 ] && ok "--memory 256 shows ~256 MiB" || bad "--memory 256 shows ~256 MiB" "MemTotal $mem kB"

before=$(pgrep -c -x hvm-run)
vm $o $e --timeout 1 --cmd 'sleep 100'
expect_rc "--timeout 1 on sleep 100 exits 124" 124
expect_err_has "--timeout names the cause" "timeout"
[ "$(pgrep -c -x hvm-run)" -le "$before" ] && ok "nothing left running after timeout" || bad "nothing left running after timeout"

# A signal to hvm-run stops the VM and exits 128+N, leaving nothing behind.
timeout "$VM_TIMEOUT" "$HVM" --cmd 'sleep 1000' >$o 2>$e </dev/null &
pid=$!
sleep 2
kill -TERM $pid
wait $pid; RC=$?
expect_rc "SIGTERM to hvm-run exits 143" 143
sleep 0.2
[ "$(pgrep -c -x hvm-run)" -le "$before" ] && ok "nothing left running after SIGTERM" || bad "nothing left running after SIGTERM"

vm $o $e --kernel /nonexistent/vmlinux --cmd true
expect_rc "missing kernel exits 125" 125
expect_err_has "missing kernel message names the path and cause" "/nonexistent/vmlinux: No such file"
vm $o $e --kernel /etc/passwd --cmd true
expect_rc "text file as kernel exits 125" 125
expect_err_has "text file as kernel is called not a kernel" "not a kernel"
head -c 100000 /dev/urandom > $WORK/junk.elf; printf '\177ELF' | dd of=$WORK/junk.elf conv=notrunc 2>/dev/null
vm $o $e --kernel $WORK/junk.elf --cmd true
expect_rc "corrupt ELF exits 125" 125
vm $o $e --cpus 0 --cmd true
expect_rc "--cpus 0 exits 125" 125
expect_err_has "--cpus 0 message names the flag" "\-\-cpus 0"
vm $o $e --memory banana --cmd true
expect_rc "--memory banana exits 125" 125
vm $o $e --no-such-flag
expect_rc "unknown flag exits 125" 125
expect_err_has "unknown flag is named" "no-such-flag"

vm $o $e --metrics-json $WORK/m.json --cmd true
expect_rc "metrics run exits 0" 0
python3 - "$WORK/m.json" <<'PY' && ok "metrics phases are ordered and complete" || bad "metrics phases are ordered and complete" "$(cat $WORK/m.json)"
import json, sys
m = json.load(open(sys.argv[1]))
p = m["phases_us"]
order = ["kvm_ready", "first_vcpu_entry", "agent_ready", "command_exit", "vm_exit"]
vals = [p[k] for k in order]
assert all(isinstance(v, int) and v > 0 for v in vals), vals
assert vals == sorted(vals), vals
assert m["vmm_rss_kib"] > 0 and m["guest_ram_resident_kib"] > 0
PY

"$HVM" --print-cmdline > $o 2>$e; RC=$?
expect_rc "--print-cmdline exits 0" 0
if [ -d /sys/module/kvm_pvm ]; then
	grep -q 'noxsave' $o && grep -q 'pvm_syscall_fixup' $o && ok "PVM host: workarounds on the command line" || bad "PVM host: workarounds on the command line" "$(cat $o)"
else
	! grep -q 'noxsave\|clearcpuid\|pvm_syscall_fixup' $o && ok "bare-metal KVM: no PVM workarounds" || bad "bare-metal KVM: no PVM workarounds" "$(cat $o)"
fi
finish
