#!/usr/bin/env bash
# Registry images (issue 19): pulls from registries this test starts on loopback (Debian's
# docker-registry: plain, TLS with a self-signed certificate, basic auth), the local
# transports, unknown tags, bad credentials, a registry gone mid-pull and gone entirely;
# progress lines; `hvm-run check` with and without KVM; the man pages. Nothing leaves the host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/images.sh"
o=$WORK/o e=$WORK/e
export XDG_CACHE_HOME=$WORK/cache
unset REGISTRY_AUTH_FILE
for p in docker-registry skopeo htpasswd openssl curl script; do
	command -v $p >/dev/null || { bad "$p installed" "sh mk/deps.sh run test"; finish; exit; }
done
calibrate
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# registry NAME [tls] [auth]: starts docker-registry on a free port; sets PORT and RPID.
registry() {
	local d=$WORK/$1 scheme=http; PORT=$(free_port); mkdir -p $d/data
	{
		echo "version: 0.1"
		echo "log: {level: info}"
		echo "storage: {filesystem: {rootdirectory: $d/data}}"
		echo "http:"
		echo "  addr: 127.0.0.1:$PORT"
		[ "${2-}" = tls ] && echo "  tls: {certificate: $WORK/cert.pem, key: $WORK/key.pem}"
		[ "${3-}" = auth ] && echo "auth: {htpasswd: {realm: hvm-test, path: $WORK/htpasswd}}"
	} > $d/config.yml
	docker-registry serve $d/config.yml >$d/log 2>&1 & RPID=$!; PIDS="$PIDS $RPID"
	[ "${2-}" = tls ] && scheme=https
	# Up when it answers at all (401 with auth).
	eventually sh -c "curl -sk -o /dev/null -w '%{http_code}' $scheme://127.0.0.1:$PORT/v2/ | grep -qv 000"
}
# push SRC DEST [skopeo flags]: copies an image into a registry.
push() { skopeo copy --dest-tls-verify=false "${@:3}" "$1" "$2" >$WORK/push.log 2>&1; }
# no_debris DIR: no work area, *.tmp* or *.part* left in the cache DIR.
no_debris() { [ -z "$(find "$1" \( -name '*.tmp*' -o -name '*.part*' -o -name 'pull.*' \) 2>/dev/null)" ]; }

umoci_layout $WORK/oci $WORK/ocisrc
docker_save_tar $WORK/ds.tar $WORK/ds

# ---- a plain registry ----------------------------------------------------------------
registry plain || { bad "plain registry starts" "$(cat $WORK/plain/log)"; finish; exit; }
PLAIN=127.0.0.1:$PORT PLAIN_PID=$RPID
push oci:$WORK/oci:latest docker://$PLAIN/e2e/two:1 && push docker-archive:$WORK/ds.tar \
	docker://$PLAIN/e2e/ds:1 && ok "images pushed with skopeo" || bad "images pushed" "$(cat $WORK/push.log)"
REF=docker://$PLAIN/e2e/two

vm $o $e --tls-verify=false --image $REF:1
expect_rc "docker:// image runs its Cmd" 0
expect_out "docker:// image content (both layers, whiteouts applied)" from-layer-2
[ ! -s $e ] && ok "no progress line when stderr is not a terminal" || bad "no progress line off a terminal" "$(head -c 200 $e)"
hex=$(ls $XDG_CACHE_HOME/hvm/oci)
[ "sha256:$hex" = "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' $REF:1)" ] &&
	ok "the cached layout is named by the registry's manifest digest" || bad "layout named by digest" "$hex"

blobs() { grep -c 'GET /v2/e2e/two/blobs' $WORK/plain/log; }
n=$(blobs)
vm $o $e pull --tls-verify=false $REF:1
expect_rc "hvm-run pull of a cached image" 0
expect_out "pull prints the reference and its digest" "$REF:1 sha256:$hex"
[ "$(blobs)" -eq "$n" ] && ok "a digest already cached is not fetched again" || bad "cached digest fetched again" "$n -> $(blobs) blob GETs"

XDG_CACHE_HOME=$WORK/c-bare vm $o $e --tls-verify=false --image $PLAIN/e2e/ds:1 --cmd 'echo $FROM_IMAGE'
expect_rc "bare NAME:TAG is docker://NAME:TAG" 0
expect_out "bare NAME:TAG from a docker-save push: its Env" yes

vm $o $e --tls-verify=false --image $REF:nope --cmd true
expect_rc "unknown tag: 125" 125
expect_err_has "unknown tag: the reference is named" "e2e/two:nope"
expect_err_has "unknown tag: the registry's answer" "manifest unknown"
no_debris $XDG_CACHE_HOME && ok "unknown tag: nothing half-written" || bad "unknown tag: debris in the cache"

# ---- skopeo's local transports -------------------------------------------------------
(cd $WORK/oci && tar -cf $WORK/oci.tar .)
for src in oci:$WORK/oci:latest oci-archive:$WORK/oci.tar docker-archive:$WORK/ds.tar; do
	XDG_CACHE_HOME=$WORK/c-local vm $o $e --image $src
	expect_rc "${src%%:*}: runs" 0
	expect_out "${src%%:*}: its Cmd" from-layer-2
done
vm $o $e --image oci-archive:$WORK/missing.tar --cmd true
expect_rc "oci-archive: of a missing file: 125" 125
expect_err_has "oci-archive: of a missing file is named" "missing.tar"

# ---- progress on a terminal ----------------------------------------------------------
XDG_CACHE_HOME=$WORK/c-tty script -qec "$HVM pull --tls-verify=false $REF:1" /dev/null >$WORK/tty 2>&1 </dev/null
grep -q "pulling $REF:1: .*layers" $WORK/tty && ok "a terminal gets a progress line (layers, MiB, rate)" ||
	bad "progress line on a terminal" "$(head -c 300 $WORK/tty)"
grep -q $'\r\033\[K' $WORK/tty && ok "the progress line is erased when done" || bad "progress line erased"
XDG_CACHE_HOME=$WORK/c-quiet script -qec "$HVM pull -q --tls-verify=false $REF:1" /dev/null >$WORK/tty 2>&1 </dev/null
! grep -q "pulling\|converting" $WORK/tty && grep -q "sha256:$hex" $WORK/tty && ok "--quiet: no progress line" ||
	bad "--quiet: no progress line" "$(head -c 300 $WORK/tty)"

# ---- TLS and basic auth --------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout $WORK/key.pem -out $WORK/cert.pem 2>/dev/null
htpasswd -Bbn hvmuser s3cret > $WORK/htpasswd 2>/dev/null
registry secure tls auth || { bad "TLS+auth registry starts" "$(cat $WORK/secure/log)"; finish; exit; }
SEC=docker://127.0.0.1:$PORT/e2e/two:1
push oci:$WORK/oci:latest $SEC --dest-creds hvmuser:s3cret && ok "pushed with auth over TLS" || bad "push with auth" "$(cat $WORK/push.log)"

XDG_CACHE_HOME=$WORK/c-tls vm $o $e --creds hvmuser:s3cret --image $SEC --cmd true
expect_rc "self-signed certificate, verified: 125" 125
expect_err_has "TLS: the reason is the certificate" "certificate"
XDG_CACHE_HOME=$WORK/c-noauth vm $o $e --tls-verify=false --image $SEC --cmd true
expect_rc "no credentials: 125" 125
expect_err_has "no credentials: unauthorized" "unauthorized\|authentication required"
XDG_CACHE_HOME=$WORK/c-bad vm $o $e --tls-verify=false --creds hvmuser:wrong --image $SEC --cmd true
expect_rc "bad credentials: 125" 125
expect_err_has "bad credentials: the reference is named" "e2e/two:1"
expect_err_has "bad credentials: unauthorized" "unauthorized\|authentication required"
no_debris $WORK/c-bad && ok "bad credentials: nothing half-written" || bad "bad credentials: debris"
XDG_CACHE_HOME=$WORK/c-creds vm $o $e --tls-verify=false --creds hvmuser:s3cret --image $SEC
expect_out "--creds over TLS (unverified): runs" from-layer-2
echo "{\"auths\":{\"127.0.0.1:$PORT\":{\"auth\":\"$(printf hvmuser:s3cret | base64)\"}}}" > $WORK/auth.json
XDG_CACHE_HOME=$WORK/c-authfile vm $o $e --tls-verify=false --authfile $WORK/auth.json --image $SEC
expect_out "--authfile: runs" from-layer-2
REGISTRY_AUTH_FILE=$WORK/auth.json XDG_CACHE_HOME=$WORK/c-env vm $o $e --tls-verify=false --image $SEC
expect_out "REGISTRY_AUTH_FILE: runs" from-layer-2

# ---- a registry that goes away -------------------------------------------------------
# A proxy that passes everything to the plain registry, but dies halfway through the first
# layer blob it serves (bigger than 64 KiB: not the config): the registry goes away mid-pull.
cat > $WORK/cut.py <<'PY'
import http.client, http.server, os, sys
up, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def handle_one(self, body):
        c = http.client.HTTPConnection(up); c.request(self.command, self.path, headers=dict(self.headers))
        r = c.getresponse(); data = r.read() if body else b""
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection"): self.send_header(k, v)
        self.end_headers()
        if "/blobs/" in self.path and len(data) > 65536:
            self.wfile.write(data[: len(data) // 2]); self.wfile.flush(); os._exit(0)
        self.wfile.write(data)
    def do_GET(self): self.handle_one(True)
    def do_HEAD(self): self.handle_one(False)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
CPORT=$(free_port)
python3 $WORK/cut.py $PLAIN $CPORT & PIDS="$PIDS $!"
eventually curl -sf http://127.0.0.1:$CPORT/v2/ >/dev/null
XDG_CACHE_HOME=$WORK/c-cut vm $o $e --tls-verify=false --image docker://127.0.0.1:$CPORT/e2e/two:1 --cmd true
expect_rc "registry gone mid-pull: 125" 125
expect_err_has "registry gone mid-pull: the reference is named" "127.0.0.1:$CPORT/e2e/two:1"
no_debris $WORK/c-cut && [ -z "$(ls $WORK/c-cut/hvm/oci 2>/dev/null)" ] &&
	ok "registry gone mid-pull: nothing half-written, no layout" || bad "gone mid-pull: debris" "$(find $WORK/c-cut | head)"

kill $PLAIN_PID; wait $PLAIN_PID 2>/dev/null
vm $o $e --tls-verify=false --image $REF:1 --cmd 'echo cached'
expect_out "registry gone: a pulled tag still runs" cached
vm $o $e --tls-verify=false --image $REF:2 --cmd true
expect_rc "registry gone: an uncached tag exits 125" 125
expect_err_has "registry gone: the registry's answer" "connection refused"
vm $o $e pull --tls-verify=false $REF:1
expect_rc "registry gone: hvm-run pull exits 125" 125
no_debris $XDG_CACHE_HOME && ok "registry gone: nothing half-written" || bad "registry gone: debris"

# ---- hvm-run check -------------------------------------------------------------------
timeout 120 $HVM check >$o 2>$e; RC=$?
expect_rc "check with KVM: exit 0" 0
[ "$(grep -c '^\(ok\|warn\|fail\) ' $o)" -ge 12 ] && ok "check: one line per item" || bad "check: one line per item" "$(cat $o)"
grep -q '^ok  *kvm.device .*usable' $o && grep -q '^ok  *kvm.caps ' $o && ok "check: /dev/kvm and its capabilities ok" ||
	bad "check: kvm items" "$(head -3 $o)"
timeout 120 $HVM check --json >$o 2>$e
python3 -c "import json,sys; d=json.load(open('$o')); sys.exit(not (d['ok'] and len(d['checks']) >= 12))" &&
	ok "check --json: JSON, ok true" || bad "check --json" "$(head -c 300 $o)"
# No KVM: an empty /dev in a mount namespace of its own.
unshare -m sh -c "mount -t tmpfs none /dev && exec timeout 120 $HVM check" >$o 2>$e; RC=$?
expect_rc "check without /dev/kvm: exit 1" 1
grep -q '^fail  *kvm.device .*No such file.*fix: .*kvmhost' $o && ok "check without KVM: kvm.device fails, names the fix" ||
	bad "check without KVM: kvm.device" "$(head -2 $o)"
grep -q '^\(ok\|warn\)  *testhost ' $o && ok "check without KVM: says whether the test host is available" || bad "check: testhost"
unshare -m sh -c "mount -t tmpfs none /dev && exec timeout 120 $HVM check --json" >$o 2>$e
python3 -c "import json,sys; d=json.load(open('$o')); sys.exit(d['ok'])" && ok "check --json without KVM: ok false" || bad "check --json without KVM"
# A /dev/kvm that is no KVM device (/dev/null over it).
unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec timeout 120 $HVM check" >$o 2>$e; RC=$?
expect_rc "check with a /dev/kvm that is not KVM: exit 1" 1
grep -q '^fail  *kvm.api .*not a KVM device' $o && ok "check: a device that is not KVM fails kvm.api" || bad "check: not KVM" "$(sed -n 2p $o)"
# A user outside /dev/kvm's group: told which group to join.
if [ "$(id -u)" -eq 0 ] && [ "$(stat -c %A /dev/kvm | cut -c8-9)" != rw ]; then
	XDG_CACHE_HOME=$WORK/c-nobody setpriv --reuid=65534 --regid=65534 --clear-groups timeout 120 $HVM check >$o 2>$e
	grep -q "^fail  *kvm.device .*Permission denied.*usermod -aG $(stat -c %G /dev/kvm)" $o &&
		ok "check as a user outside the kvm group: the group to join" || bad "check: permission" "$(head -1 $o)"
fi

# ---- man pages -----------------------------------------------------------------------
sh "$(dirname "$0")/../man.sh" "$BUILD" >$o 2>&1 && ok "man pages: lint clean, --help and hvm-run(1) agree" ||
	bad "man pages" "$(grep 'not ok' $o)"
finish
