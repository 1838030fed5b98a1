# Test images built from scratch, without a registry (sourced by e2e tests).

# bb_rootfs DIR: busybox-static with a few applet links and passwd/group.
bb_rootfs() {
	local d=$1 a
	mkdir -p "$d/bin" "$d/etc" "$d/tmp" "$d/proc" "$d/sys" "$d/dev"
	cp /bin/busybox "$d/bin/busybox"
	for a in sh cat echo ls pwd id sha256sum sync rm mkdir head wc true; do
		ln -sf busybox "$d/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$d/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' > "$d/etc/group"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# layers BASE: BASE/layer1.tar (busybox, /data/old.txt, /opq/a.txt) and BASE/layer2.tar
# (deletes /data/old.txt, makes /opq opaque with b.txt, adds /data/new.txt).
layers() {
	local b=$1
	bb_rootfs "$b/l1"
	mkdir -p "$b/l1/data" "$b/l1/opq" "$b/l2/data" "$b/l2/opq"
	echo old > "$b/l1/data/old.txt"; echo a > "$b/l1/opq/a.txt"
	echo from-layer-2 > "$b/l2/data/new.txt"; : > "$b/l2/data/.wh.old.txt"
	: > "$b/l2/opq/.wh..wh..opq"; echo b > "$b/l2/opq/b.txt"
	(cd "$b/l1" && tar --numeric-owner -cf "$b/layer1.tar" .)
	(cd "$b/l2" && tar --numeric-owner -cf "$b/layer2.tar" .)
}

image_config() {	# image_config DIFF1 DIFF2
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","FROM_IMAGE=yes"],"WorkingDir":"/data","Cmd":["cat","/data/new.txt"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}\n' "$1" "$2"
}

# docker_save_tar OUT WORKDIR: the two layers in `docker save` format.
docker_save_tar() {
	local out=$1 b=$2 d1 d2 c
	mkdir -p "$b/img"; layers "$b"
	d1=$(sha "$b/layer1.tar"); d2=$(sha "$b/layer2.tar")
	mkdir -p "$b/img/$d1" "$b/img/$d2"
	cp "$b/layer1.tar" "$b/img/$d1/layer.tar"; cp "$b/layer2.tar" "$b/img/$d2/layer.tar"
	image_config "$d1" "$d2" > "$b/config.json"
	c=$(sha "$b/config.json"); cp "$b/config.json" "$b/img/$c.json"
	printf '[{"Config":"%s.json","RepoTags":["hvm-test:latest"],"Layers":["%s/layer.tar","%s/layer.tar"]}]\n' \
		"$c" "$d1" "$d2" > "$b/img/manifest.json"
	(cd "$b/img" && tar -cf "$out" .)
}

# umoci_layout OUT WORKDIR: the same two layers as an OCI layout made by umoci.
umoci_layout() {
	local out=$1 b=$2
	layers "$b"
	umoci init --layout "$out" >/dev/null
	umoci new --image "$out:latest" >/dev/null
	umoci unpack --image "$out:latest" "$b/bundle" >/dev/null
	tar -xf "$b/layer1.tar" -C "$b/bundle/rootfs"
	umoci repack --image "$out:latest" "$b/bundle" >/dev/null
	rm -rf "$b/bundle"
	umoci unpack --image "$out:latest" "$b/bundle" >/dev/null
	rm -f "$b/bundle/rootfs/data/old.txt"; rm -rf "$b/bundle/rootfs/opq"
	mkdir -p "$b/bundle/rootfs/opq"; echo b > "$b/bundle/rootfs/opq/b.txt"
	echo from-layer-2 > "$b/bundle/rootfs/data/new.txt"
	umoci repack --image "$out:latest" "$b/bundle" >/dev/null
	umoci config --image "$out:latest" --config.env PATH=/bin --config.env FROM_IMAGE=yes \
		--config.workingdir /data --config.cmd cat --config.cmd /data/new.txt >/dev/null
}

# debian_minbase: prints the path of a real Debian 12 rootfs tar (debootstrap minbase),
# built once and cached across runs under $BUILD/test-cache.
debian_minbase() {
	local cache=${HVM_TEST_CACHE:-$BUILD/test-cache} d
	mkdir -p "$cache"
	if [ ! -s "$cache/debian-minbase.tar" ]; then
		d=$(mktemp -d "$cache/debootstrap.XXXXXX")
		debootstrap --variant=minbase bookworm "$d" http://deb.debian.org/debian >"$d.log" 2>&1 ||
			{ tail -5 "$d.log"; rm -rf "$d" "$d.log"; return 1; }
		tar --numeric-owner -C "$d" -cf "$cache/debian-minbase.tar.part" . &&
			mv "$cache/debian-minbase.tar.part" "$cache/debian-minbase.tar"
		rm -rf "$d" "$d.log"
	fi
	echo "$cache/debian-minbase.tar"
}

# debian_nginx: prints the path of a cached Debian 12 rootfs directory with nginx-light,
# busybox and iperf3 (debootstrap minbase), built once under $BUILD/test-cache.
debian_nginx() {
	local cache=${HVM_TEST_CACHE:-$BUILD/test-cache} d
	mkdir -p "$cache"
	if [ ! -x "$cache/debian-nginx/usr/sbin/nginx" ]; then
		d=$(mktemp -d "$cache/debootstrap.XXXXXX")
		debootstrap --variant=minbase --include=nginx-light,busybox,iperf3 bookworm "$d" \
			http://deb.debian.org/debian >"$d.log" 2>&1 ||
			{ tail -5 "$d.log" >&2; rm -rf "$d" "$d.log"; return 1; }
		rm -rf "$cache/debian-nginx" "$d.log"
		mv "$d" "$cache/debian-nginx"
	fi
	echo "$cache/debian-nginx"
}
