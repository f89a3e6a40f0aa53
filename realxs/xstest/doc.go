// Package xstest runs private instances of a real xenstore daemon for
// tests, without a Xen hypervisor.
//
// The daemon is Debian's oxenstored 4.17, unpacked (not installed) by
// `make xenstored` into the repository's .cache/xenstored folder together
// with a small LD_PRELOAD shim (tools/xenstored/shim.c) that stubs the few
// hypervisor calls oxenstored makes even when it only serves its socket.
// [Start] runs one daemon per call in its own mount namespace, with a
// tmpfs over /run, so that its fixed socket path
// (/var/run/xenstored/socket) and its files never clash with another
// instance or with the host. Tests connect through
// /proc/<pid>/root/run/xenstored/socket.
//
// The daemon folder is taken from $XBCHECK_XENSTORED, or else found as
// .cache/xenstored at the root of the module that contains the working
// directory. When there is none, [Start] skips the test with a one-line
// hint; `make test` sets everything up.
//
// Every client of the daemon is dom0 on its socket, with full rights:
// permission checks and quotas for other domains cannot be exercised this
// way. Never send XS_INTRODUCE to it: it has no domain memory to map.
package xstest
