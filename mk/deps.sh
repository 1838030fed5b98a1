#!/bin/sh
# Installs the Debian 12 packages hvm needs that are missing; installs nothing that is present.
# Usage: mk/deps.sh [GROUP...]   groups: build kernel run bench test kvmhost fuzz (default: all)
set -eu

pkgs_build="gcc make libc6-dev musl-tools pkg-config dpkg-dev libarchive-dev libcjson-dev zlib1g-dev libssl-dev libseccomp-dev"
pkgs_kernel="linux-source-6.1 bc bison flex libelf-dev libssl-dev xz-utils"
pkgs_run="busybox-static e2fsprogs passt skopeo"	# skopeo: --image docker://...
pkgs_bench="qemu-system-x86 iperf3 podman crun"
pkgs_test="umoci debootstrap python3 curl wrk iproute2 iputils-ping util-linux podman containerd \
	docker-registry apache2-utils openssl mandoc"	# a loopback registry (htpasswd), man lint
# The KVM test host (tests/kvmhost/) for machines without a usable /dev/kvm: QEMU emulating
# AMD SVM, and Debian's own kernel, whose kvm_amd gives a /dev/kvm inside it.
pkgs_kvmhost="qemu-system-x86 linux-image-amd64 busybox-static kmod"
pkgs_fuzz="clang libclang-rt-14-dev"	# libFuzzer and the sanitizer runtimes

groups=${*:-build kernel run bench test kvmhost fuzz}
want=""
for g in $groups; do
	eval "want=\"\$want \$pkgs_$g\""
done

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install:$missing" >&2; exit 1; }
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
