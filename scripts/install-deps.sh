#!/bin/sh
# Installs every Debian package pmuprof needs to build, test and benchmark.
# Idempotent: apt-get skips what is already installed. Debian 12 (bookworm).
set -eu

PACKAGES="
build-essential cmake ninja-build pkg-config
libpfm4-dev
libhwloc-dev hwloc
libnuma-dev
libunwind-dev
libdw-dev libelf-dev
libiberty-dev
zlib1g-dev
libcurl4-openssl-dev
protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
libcmocka-dev libbenchmark-dev
linux-perf time valgrind
golang-go golang-github-google-pprof-dev
python3 python3-protobuf
chromium
clang libclang-rt-14-dev
qemu-system-x86 qemu-system-arm busybox-static cpio numactl
gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user
"

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: must run as root to install packages; run: sudo $0" >&2
    exit 1
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages already installed"
    exit 0
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
