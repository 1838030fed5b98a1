#!/usr/bin/env bash
# Makes the Debian root file systems the e2e tests and benchmarks boot (debootstrap, cached
# under $BUILD/test-cache) before they run: the KVM test host they run in has no network.
# Usage: BUILD=DIR tests/e2e/prepare.sh
set -u
BUILD=${BUILD:-build}
. "$(dirname "$0")/images.sh"
debian_minbase >/dev/null || { echo "prepare: debootstrap of the Debian minbase rootfs failed" >&2; exit 1; }
debian_nginx >/dev/null || { echo "prepare: debootstrap of the Debian nginx rootfs failed" >&2; exit 1; }
