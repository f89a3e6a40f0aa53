#!/bin/sh
# setup.sh DIR: put a runnable oxenstored for tests into DIR
# (normally <repo>/.cache/xenstored), without installing anything.
#
#   - downloads Debian's xen-utils-4.17 and the libraries oxenstored links
#     against with `apt-get download`, and unpacks them with `dpkg -x`
#     into DIR/root;
#   - builds the LD_PRELOAD shim (shim.c, next to this script) into
#     DIR/shim.so;
#   - fetches Xen's C client library (libxenstore4, xenstore-utils) the
#     same way and builds xsbench.c against it into DIR/xsbench, for the
#     client benchmark;
#   - copies oxenstored.conf into DIR;
#   - writes DIR/stamp when all of it worked.
#
# No service is started and nothing outside DIR changes, except apt's own
# package lists (`apt-get update`, run before downloading). Without
# root, apt-get or gcc it prints one line and exits 0, so that `make test`
# on a developer's machine still runs the tests that need no daemon; under
# CI=true it exits 1 instead, so that CI never goes green with the daemon
# tests skipped.
set -eu

dir=${1:?usage: setup.sh DIR}
src=$(cd "$(dirname "$0")" && pwd)

# The package that ships oxenstored, and the libraries it needs (found
# with ldd and apt-cache depends; checked again with ldd below).
pkgs="xen-utils-4.17 libxenmisc4.17 libxenevtchn1 libxencall1 libxengnttab1
libxenforeignmemory1 libxendevicemodel1 libxentoolcore1 libxentoollog1"

bin=root/usr/lib/xen-4.17/bin/oxenstored
libdir=root/usr/lib/x86_64-linux-gnu

say() { echo "xenstored: $*" >&2; }

# cannot WHY: the daemon cannot be set up. A skip outside CI, a failure
# under CI=true.
cannot() {
	if [ "${CI:-}" = true ]; then
		say "$*; CI=true: failing instead of skipping the tests that need it"
		exit 1
	fi
	say "$*; tests that need a real xenstored will be skipped"
	exit 0
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ ! -x "$dir/$bin" ]; then
	if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
		cannot "apt-get/dpkg not found: cannot fetch oxenstored"
	fi
	if [ "$(id -u)" -ne 0 ]; then
		cannot "not root: cannot run apt-get; run 'sudo make xenstored' once"
	fi
	rm -rf "$dir/debs" "$dir/root"
	mkdir -p "$dir/debs"
	# apt's sandbox user cannot write into the cache folder; download as
	# root instead.
	get() { (cd "$dir/debs" && apt-get -q -o APT::Sandbox::User=root download $pkgs); }
	# Fresh package lists first: a new machine's may be empty or stale.
	apt-get -q update >"$dir/debs/update.log" 2>&1 || { cat "$dir/debs/update.log" >&2; exit 1; }
	get >"$dir/debs/download.log" 2>&1 || { cat "$dir/debs/download.log" >&2; exit 1; }
	for deb in "$dir"/debs/*.deb; do
		dpkg -x "$deb" "$dir/root"
	done
	missing=$(LD_LIBRARY_PATH="$dir/$libdir" ldd "$dir/$bin" | grep 'not found' || true)
	if [ -n "$missing" ]; then
		say "oxenstored still misses libraries after unpacking:"
		echo "$missing" >&2
		exit 1
	fi
fi

# Xen's C client library and tools, for the benchmark against it
# (realxs/cbench_test.go). Optional: without them only that benchmark is
# skipped.
clib=root/usr/lib/x86_64-linux-gnu/libxenstore.so.4
if [ ! -e "$dir/$clib" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$dir/debs"
	if (cd "$dir/debs" && apt-get -q -o APT::Sandbox::User=root download libxenstore4 xenstore-utils) >"$dir/debs/clib.log" 2>&1; then
		for deb in "$dir"/debs/libxenstore4_*.deb "$dir"/debs/xenstore-utils_*.deb; do
			dpkg -x "$deb" "$dir/root"
		done
	else
		say "could not fetch libxenstore4 (see $dir/debs/clib.log); the benchmark against the C client will be skipped"
	fi
fi

if ! command -v gcc >/dev/null 2>&1; then
	cannot "gcc not found: cannot build the shim"
fi
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$dir/shim.so.tmp" "$src/shim.c"
mv "$dir/shim.so.tmp" "$dir/shim.so"
if [ -e "$dir/$clib" ]; then
	gcc -O2 -Wall -Wextra -Werror -o "$dir/xsbench.tmp" "$src/xsbench.c" "$dir/$clib" \
		-Wl,--disable-new-dtags,-rpath,"$dir/root/usr/lib/x86_64-linux-gnu" && mv "$dir/xsbench.tmp" "$dir/xsbench" ||
		say "could not build xsbench; the benchmark against the C client will be skipped"
fi
cp "$src/oxenstored.conf" "$dir/oxenstored.conf"
date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/stamp"
say "ready in $dir"
