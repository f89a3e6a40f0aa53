#!/bin/bash
# build.sh DIR: build the boot images of the real Xen test host from what
# fetch.sh unpacked into DIR/root (DIR is normally <repo>/.cache/xenhost).
#
#   DIR/boot/xen              the hypervisor (multiboot ELF for QEMU -kernel)
#   DIR/boot/vmlinux          the Debian kernel, uncompressed (dom0 and guests)
#   DIR/boot/dom0-initrd.gz   dom0's initramfs: busybox, bash, losetup, flock,
#                             the Xen userland (xl, xenstored AND oxenstored,
#                             xenconsoled, ...), /etc/xen, modules, dom0-init
#   DIR/boot/guest-initrd.gz  the base guest initramfs: busybox, xen-blkfront,
#                             xen-netfront, guest-init
#   DIR/build.stamp           written last; with it newer than its inputs
#                             the script does nothing
#
# The agent (xbagent) is in neither initramfs: realxs/xenhost builds it and
# puts it on the payload disk (dom0) and in a second cpio appended to the
# guest initramfs at every boot, so that changing it needs no rebuild here.
# Needs bash, cpio, gzip, xz, kmod (depmod/modprobe) and the host's
# bash/losetup/flock/libgcc_s (same bookworm as the unpacked debs).
set -euo pipefail

dir=${1:?usage: build.sh DIR}
src=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$dir" && pwd)
R=$dir/root
B=$dir/boot
stamp=$dir/build.stamp
say() { echo "xenhost: $*" >&2; }
trap 'say "build.sh failed at line $LINENO"' ERR

[ -f "$dir/fetch.stamp" ] || { say "nothing fetched in $dir: run tools/xenhost/fetch.sh $dir (make xenhost)"; exit 1; }
if [ -f "$stamp" ]; then
	fresh=1
	for f in "$dir/fetch.stamp" "$src/build.sh" "$src/dom0-init" "$src/guest-init" "$src/oxenstored.conf"; do
		[ "$f" -nt "$stamp" ] && fresh=0
	done
	[ $fresh = 1 ] && exit 0
fi
start=$(date +%s)
rm -f "$stamp"
KVER=$(ls "$R/lib/modules" | head -1)
XBIN=usr/lib/xen-4.17/bin
export LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu
mkdir -p "$B"

# The hypervisor: QEMU's multiboot loader takes xen-4.17-amd64 (a 32-bit
# ELF with a multiboot header) as it is, once gunzipped; xen.efi is not
# needed.
zcat "$R/boot/xen-4.17-amd64.gz" >"$B/xen.tmp" && mv "$B/xen.tmp" "$B/xen"

# The kernel, uncompressed: under TCG, decompressing the bzImage's xz
# payload costs about 7 s in Xen (dom0) and 10 s in libxenguest (every
# xl create); both load a plain ELF vmlinux. The payload starts at the
# first xz magic (FD 37 7A 58 5A 00); --single-stream stops at its end
# (the bzImage has trailing data).
vmlinuz=$R/boot/vmlinuz-$KVER
off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1 || true)
[ -n "$off" ] || { say "no xz payload in $vmlinuz"; exit 1; }
# (tail gets SIGPIPE when xz stops reading: not an error.)
tail -c +$((off + 1)) "$vmlinuz" | xz --single-stream -dc >"$B/vmlinux.tmp" || true
[ "$(head -c 4 "$B/vmlinux.tmp" | tr -d '\177')" = ELF ] || { say "decompressed kernel is not an ELF"; exit 1; }
mv "$B/vmlinux.tmp" "$B/vmlinux"

# copy_elf SRC DST: an ELF and its shared-library closure into $D. ldd
# finds the Xen libraries in $R through LD_LIBRARY_PATH.
copy_elf() {
	install -D -m 0755 "$1" "$D/$2"
	local lib real dst
	ldd "$1" | awk '/=>/ {print $3} /^\t\/lib64/ {print $1}' | while read -r lib; do
		[ -n "$lib" ] || continue
		if [ "$lib" = "not" ]; then say "$1: missing library"; ldd "$1" >&2; exit 1; fi
		real=$(readlink -f "$lib")
		case "$lib" in
		"$R"/*) dst=${lib#"$R"} ;;
		*) dst=$lib ;;
		esac
		[ -e "$D$dst" ] || install -D -m 0755 "$real" "$D$dst"
	done
}

busybox_tree() {
	install -D -m 0755 "$R/bin/busybox" "$D/bin/busybox"
	local a
	for a in $("$R/bin/busybox" --list-full); do
		[ -e "$D/$a" ] || { mkdir -p "$D/$(dirname "$a")"; ln -s /bin/busybox "$D/$a"; }
	done
}

# modules_tree NAME...: the modules and their dependencies, and depmod.
modules_tree() {
	local M=$R/lib/modules/$KVER m f
	[ -f "$M/modules.dep" ] || depmod -b "$R" "$KVER"
	for m in "$@"; do
		for f in $(modprobe -d "$R" -S "$KVER" --show-depends "$m" | awk '$1=="insmod" {print $2}'); do
			install -D -m 0644 "$f" "$D/${f#"$R"}"
		done
	done
	cp "$M/modules.builtin" "$M/modules.builtin.modinfo" "$M/modules.order" "$D/lib/modules/$KVER/"
	depmod -b "$D" "$KVER"
}

mkcpio() { (cd "$D" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$1.tmp" && mv "$1.tmp" "$1"; }

work=$dir/rootfs
rm -rf "$work"

############################ guest initramfs ############################
D=$work/guest
mkdir -p "$D"/{proc,sys,dev,tmp,run,mnt,bin}
busybox_tree
modules_tree xen-blkfront xen-netfront
install -m 0755 "$src/guest-init" "$D/init"
mkcpio "$B/guest-initrd.gz"

############################ dom0 initramfs #############################
D=$work/dom0
mkdir -p "$D"/{proc,sys,dev,run,tmp,data,etc,var/log/xen/console,var/lib/xen,var/lib/xenstored}
ln -s /run "$D/var/run"
busybox_tree
# The hotplug scripts are #!/bin/bash; the block script parses util-linux
# `losetup -a` output (busybox's differs), and locking.sh needs flock,
# which busybox lacks.
copy_elf /bin/bash bin/bash
rm -f "$D/sbin/losetup" "$D/usr/bin/flock"
copy_elf /usr/sbin/losetup sbin/losetup
copy_elf /usr/bin/flock usr/bin/flock
# Both daemons: dom0-init picks one from the kernel command line.
for b in xl xenstored oxenstored xenconsoled xenconsole xen-init-dom0 xenstore-control libxl-save-helper; do
	copy_elf "$R/$XBIN/$b" "$XBIN/$b"
done
copy_elf "$R/usr/bin/xenstore" usr/bin/xenstore
for b in read write ls list rm exists watch chmod; do
	ln -sf xenstore "$D/usr/bin/xenstore-$b"
done
# Gotcha: glibc dlopen()s libgcc_s for pthread_cancel and ldd does not
# list it; without it xl and xenstore-watch abort with "libgcc_s.so.1 must
# be installed for pthread_cancel to work".
install -D -m 0644 /lib/x86_64-linux-gnu/libgcc_s.so.1 "$D/lib/x86_64-linux-gnu/libgcc_s.so.1"
cp -a "$R/etc/xen" "$D/etc/"
install -m 0644 "$src/oxenstored.conf" "$D/etc/xen/oxenstored.conf"
# libxl dlopen()s some of its own libraries too.
cp -a "$R"/usr/lib/x86_64-linux-gnu/libxen*.so* "$D/usr/lib/x86_64-linux-gnu/"
echo 'root:x:0:0:root:/root:/bin/sh' >"$D/etc/passwd"
echo 'root:x:0:' >"$D/etc/group"
modules_tree xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc xen-blkback xen-netback \
	loop bridge tun virtio_pci virtio_blk virtio_console
install -m 0755 "$src/dom0-init" "$D/init"
mkcpio "$B/dom0-initrd.gz"

rm -rf "$work"
date -u +%Y-%m-%dT%H:%M:%SZ >"$stamp"
say "built $B in $(($(date +%s) - start)) s ($(du -sh "$B" | cut -f1))"
