#!/bin/sh
# fetch.sh DIR: download what the real Xen test host is built from into
# DIR (normally <repo>/.cache/xenhost), without installing Xen.
#
#   - installs the host tools with apt-get: qemu-system-x86 (the machine
#     the host runs in), cpio (initramfs archives), kmod (depmod and
#     modprobe --show-depends for the module closure), xz-utils (the
#     kernel's payload);
#   - downloads the Xen hypervisor, the Debian kernel that
#     linux-image-amd64 depends on, busybox-static and the Xen userland
#     with `apt-get download`, and unpacks them with `dpkg -x` into
#     DIR/root (nothing of Xen is installed system-wide);
#   - writes DIR/fetch.stamp when all of it worked; with the stamp in
#     place it does nothing.
#
# Must work as root on a fresh Debian bookworm machine: CI runs on a fresh
# clone, and what was installed by hand is not there next time. The same
# approach as tools/xenstored/setup.sh (which fetches oxenstored alone for
# the daemon tests); this one needs a larger set and a kernel.
set -eu

dir=${1:?usage: fetch.sh DIR}
say() { echo "xenhost: $*" >&2; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
stamp=$dir/fetch.stamp
if [ -f "$stamp" ] && [ -x "$dir/root/usr/lib/xen-4.17/bin/xl" ] && command -v qemu-system-x86_64 >/dev/null; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	say "fetch needs root and apt-get (Debian bookworm); run 'sudo make xenhost'"
	exit 1
fi
start=$(date +%s)
rm -rf "$dir/debs" "$dir/root" "$stamp"
mkdir -p "$dir/debs" "$dir/root"

# A fresh machine's package lists may be empty or stale.
apt-get -q update >"$dir/debs/update.log" 2>&1 || { cat "$dir/debs/update.log" >&2; exit 1; }
# Host tools. losetup (mount) and flock (util-linux) are copied into dom0
# from the host, as are bash and libgcc_s (always there on Debian).
say "installing host tools: qemu-system-x86 cpio kmod xz-utils"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	qemu-system-x86 cpio kmod xz-utils mount util-linux >"$dir/debs/install.log" 2>&1 ||
	{ cat "$dir/debs/install.log" >&2; exit 1; }

# linux-image-amd64 is a metapackage; download the image it depends on
# (linux-image-6.1.0-NN-amd64 at the time of writing).
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$kpkg" ]; then
	say "cannot resolve linux-image-amd64 (apt-cache depends found no linux-image-*)"
	exit 1
fi

# The hypervisor, the dom0/guest kernel, busybox, and the Xen userland with
# every library that xl, xenstored, oxenstored, xenconsoled and
# xen-init-dom0 link against (checked with ldd in build.sh).
pkgs="xen-hypervisor-4.17-amd64 $kpkg busybox-static
xen-utils-4.17 xen-utils-common xenstore-utils libxenstore4 libxentoolcore1
libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenmisc4.17
libxentoollog1 libxendevicemodel1 libxenhypfs1 libyajl2"

# apt's sandbox user (_apt) cannot write into the cache folder: download
# as root.
# shellcheck disable=SC2086
(cd "$dir/debs" && apt-get -q -o APT::Sandbox::User=root download $pkgs) >"$dir/debs/download.log" 2>&1 ||
	{ cat "$dir/debs/download.log" >&2; exit 1; }
for deb in "$dir"/debs/*.deb; do
	dpkg -x "$deb" "$dir/root"
done
kver=$(ls "$dir/root/lib/modules" | head -1)
echo "$kpkg" >"$dir/kernel-package"
date -u +%Y-%m-%dT%H:%M:%SZ >"$stamp"
say "fetched Xen 4.17 and kernel $kver into $dir/root in $(($(date +%s) - start)) s"
