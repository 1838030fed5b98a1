#!/usr/bin/env bash
# Network issue: nginx in a real Debian image served through -p (rootless, passt) under wrk
# load, the guest reaching a host server, bulk data both ways in passt-sized frames,
# unpublished ports unreachable, TAP in a namespace, and oversized guest frames dropped and
# counted while the VM keeps working.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
o=$WORK/o e=$WORK/e
export XDG_CACHE_HOME=$WORK/cache
calibrate

base=$(debian_nginx) || { bad "debootstrap a Debian rootfs with nginx"; finish; exit 1; }
IMG=$WORK/nginx
cp -a "$base" "$IMG"
echo "hvm-e2e-page-$$" >"$IMG/var/www/html/index.html"
# Bulk data: 4 MiB take at least 2873 frames at an MTU of 1500 (1460 bytes of TCP each), so
# fewer frames in all show that passt's MTU of 65520 is in use, through merged receive buffers.
BIG=4194304 FRAMES_AT_1500=2873
head -c $BIG /dev/urandom >"$IMG/var/www/html/big"
cp "$IMG/var/www/html/big" $WORK/big
fewer_frames() {	# METRICS COUNTER: the counter is under FRAMES_AT_1500
	python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["net"][sys.argv[2]]; print(n); sys.exit(n >= int(sys.argv[3]))' \
		"$1" "$2" $FRAMES_AT_1500 2>&1
}

# nginx_vm METRICS [ARGS...]: nginx from the image, published on 18080, in the background as
# $pid; sets up=1 once it serves the page.
nginx_vm() {
	local metrics=$1; shift
	"$HVM" --image "$IMG" -p 18080:80 --metrics-json "$metrics" "$@" >$o 2>$e </dev/null &
	pid=$!
	up=0
	for _ in $(seq 1 "$VM_TIMEOUT"); do
		curl -fsS -m 5 http://127.0.0.1:18080/ >$WORK/page 2>/dev/null && { up=1; break; }
		kill -0 $pid 2>/dev/null || break
		sleep 1
	done
}

# The guest also listens on 5000, which is not published: it must not be reachable.
nginx_vm $WORK/nginx.json --cmd 'busybox nc -l -p 5000 -e echo leaked & exec nginx -g "daemon off;"'
[ $up = 1 ] && ok "nginx serves through -p 18080:80" || bad "nginx serves through -p 18080:80" "$(tail -5 $e)"
[ "$(cat $WORK/page 2>/dev/null)" = "$(cat $IMG/var/www/html/index.html)" ] && ok "the page is the image's file" ||
	bad "the page is the image's file"
if [ $up = 1 ]; then
	# wrk's timeout, from this guest's time per request: nginx (multi_accept off) takes one new
	# connection per pass over the ready ones, so the last of 20 is first answered after
	# 19*20/2 = 190 requests; twice that, and wrk's own 2 s where requests are fast.
	per_req=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:18080/; done |
		awk '{ s += $1 } END { printf "%d", s / NR * 190 * 2 + 1 }')
	wrk_timeout=$((per_req > 2 ? per_req : 2))
	echo "# wrk timeout ${wrk_timeout}s (190 requests at this guest's pace, twice)"
	wrk -t2 -c20 -d10s --timeout ${wrk_timeout}s http://127.0.0.1:18080/ >$WORK/wrk 2>&1
	grep -q 'Requests/sec' $WORK/wrk && ok "wrk ran: $(grep Requests/sec $WORK/wrk)" || bad "wrk ran" "$(cat $WORK/wrk)"
	! grep -q 'Socket errors' $WORK/wrk && ok "wrk: no socket errors" || bad "wrk: no socket errors" "$(grep 'Socket errors' $WORK/wrk)"
	! grep -q 'Non-2xx' $WORK/wrk && ok "wrk: only 2xx answers" || bad "wrk: only 2xx answers"
	! curl -s -m 3 http://127.0.0.1:5000/ >/dev/null 2>&1 && ok "an unpublished guest port is unreachable" ||
		bad "an unpublished guest port is unreachable"
fi
kill -TERM $pid; wait $pid

# Bulk data from the guest, in a VM of its own: its frame count is that of the 4 MiB alone
# (wrk's small requests, hundreds a second on a fast host, would swamp it).
nginx_vm $WORK/big.json -- nginx -g 'daemon off;'
if [ $up = 1 ]; then
	curl -fsS -m "$VM_TIMEOUT" -o $WORK/big.got http://127.0.0.1:18080/big 2>$WORK/curl.err
	cmp -s $WORK/big $WORK/big.got && ok "4 MiB from the guest arrive intact" ||
		bad "4 MiB from the guest arrive intact" "$(cat $WORK/curl.err; ls -l $WORK/big.got 2>&1)"
else
	bad "nginx serves for the bulk transfer" "$(tail -5 $e)"
fi
kill -TERM $pid; wait $pid
if [ $up = 1 ]; then
	n=$(fewer_frames $WORK/big.json tx_frames) && ok "the guest sent them in large frames ($n in all)" ||
		bad "the guest sent them in large frames" "$n frames, not under $FRAMES_AT_1500"
fi

# The guest reaches a server on the host through the gateway address.
python3 -m http.server 18181 --bind 0.0.0.0 --directory "$WORK" >/dev/null 2>&1 &
hp=$!
echo host-file-ok >$WORK/hostfile
vm $o $e --image "$IMG" --net user --cmd 'busybox wget -q -O - http://$(busybox ip route | busybox awk "/default/{print \$3}"):18181/hostfile'
grep -q host-file-ok $o && ok "guest fetches from a host server via the gateway" || bad "guest fetches from a host server via the gateway" "$(cat $o $e | tail -5)"
vm $o $e --image "$IMG" --net user --metrics-json $WORK/get.json \
	--cmd 'busybox wget -q -O - http://$(busybox ip route | busybox awk "/default/{print \$3}"):18181/big | busybox sha256sum'
kill $hp
[ "$(cut -d' ' -f1 $o)" = "$(sha256sum <$WORK/big | cut -d' ' -f1)" ] && ok "4 MiB from the host arrive intact" ||
	bad "4 MiB from the host arrive intact" "$(cat $o $e | tail -5)"
n=$(fewer_frames $WORK/get.json rx_frames) && ok "the guest received them in large frames ($n in all)" ||
	bad "the guest received them in large frames" "$n frames, not under $FRAMES_AT_1500"
vm $o $e --image "$IMG" --net user --cmd 'cat /etc/resolv.conf'
grep -q '^nameserver ' $o && ok "resolv.conf written from the host's name servers" || bad "resolv.conf written" "$(cat $o)"

# Bad input.
vm $o $e -p 99999:80 --cmd true; expect_rc "-p 99999:80 exits 125" 125
expect_err_has "-p error names the flag" "\-p 99999:80"
vm $o $e --net bogus --cmd true; expect_rc "--net bogus exits 125" 125
python3 -c 'import socket,time; s=socket.socket(); s.bind(("0.0.0.0",18082)); s.listen(); time.sleep(600)' &
busy=$!	# bound only once python is up: wait for that, not for a fixed time
for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/18082) 2>/dev/null && break; sleep 0.1; done
vm $o $e -p 18082:80 --cmd true; expect_rc "a host port in use exits 125" 125
expect_err_has "a host port in use is named" "18082"
kill $busy
timeout "$VM_TIMEOUT" env PATH=/nonexistent "$HVM" -p 18083:80 --cmd true >$o 2>$e </dev/null; RC=$?
expect_rc "passt missing exits 125" 125
expect_err_has "passt missing names the Debian package" "passt"

# TAP inside a network namespace made here: ping both ways, oversized frames, then 4 MiB each
# way through the TAP's virtio-net header (checksums and TSO left to the host kernel; how
# large its segments get is the host TCP's choice, so only the bytes are checked).
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && [ -c /dev/net/tun ]; then
	ns=hvme2e$$
	ip netns add $ns
	ip netns exec $ns ip link set lo up
	ip netns exec $ns ip tuntap add dev hvmtap0 mode tap
	ip netns exec $ns ip addr add 10.213.0.1/24 dev hvmtap0
	ip netns exec $ns ip link set hvmtap0 up
	guest_disk net_oversize
	ip netns exec $ns python3 -m http.server 18184 --bind 10.213.0.1 --directory $WORK >/dev/null 2>&1 &
	hp=$!
	ip netns exec $ns "$HVM" --image "$IMG" --net tap:hvmtap0 --ip 10.213.0.2/24 --gateway 10.213.0.1 \
		-v $WORK/t.img:/t:ro --metrics-json $WORK/m.json \
		--cmd 'busybox ping -c 3 -W 5 10.213.0.1 && echo guest-pinged; /t/net_oversize 10.213.0.1 20000 3; busybox ping -c 1 -W 5 10.213.0.1 >/dev/null && echo still-pings; busybox wget -q -O - http://10.213.0.1:18184/big | busybox sha256sum; nginx; echo waiting; exec sleep 600' >$o 2>$e </dev/null &
	pid=$!
	wait_for $o waiting
	ip netns exec $ns ping -c 3 -W 5 10.213.0.2 >$WORK/ping 2>&1 && ok "TAP: the host side pings the guest" ||
		bad "TAP: the host side pings the guest" "$(tail -3 $WORK/ping)"
	ip netns exec $ns curl -fsS -m "$VM_TIMEOUT" -o $WORK/tapbig http://10.213.0.2/big 2>$WORK/curl.err
	cmp -s $WORK/big $WORK/tapbig && ok "TAP: 4 MiB from the guest arrive intact" ||
		bad "TAP: 4 MiB from the guest arrive intact" "$(cat $WORK/curl.err)"
	kill -INT $pid 2>/dev/null; wait $pid
	kill $hp
	grep -q "^$(sha256sum <$WORK/big | cut -d' ' -f1) " $o && ok "TAP: 4 MiB from the host arrive intact" ||
		bad "TAP: 4 MiB from the host arrive intact" "$(cat $o $e | tail -5)"

	grep -q guest-pinged $o && ok "TAP: the guest pings the host side" || bad "TAP: the guest pings the host side" "$(cat $o $e | tail -5)"
	grep -q 'sent 3 frames of 20000 bytes' $o && ok "guest sent oversized frames" || bad "guest sent oversized frames" "$(cat $o)"
	grep -q still-pings $o && ok "the network works after oversized frames" || bad "the network works after oversized frames"
	python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["net"]["tx_dropped_oversize"] >= 3, m["net"]' $WORK/m.json 2>/dev/null &&
		ok "oversized frames dropped and counted" || bad "oversized frames dropped and counted" "$(cat $WORK/m.json 2>/dev/null)"
	ip netns del $ns
else
	echo "# TAP tests skipped: need root, ip and /dev/net/tun"
fi
finish
