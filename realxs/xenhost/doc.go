// Package xenhost boots a real Xen test host for xbcheck's tests: Xen 4.17
// with a Debian 6.1 PV dom0, inside QEMU, with C xenstored or oxenstored,
// and lets a test talk to it.
//
// The images come from `make xenhost` (tools/xenhost: fetch.sh and
// build.sh, cached in .cache/xenhost). [Boot] takes a machine-wide lock
// (only one QEMU at a time on the project's 2-core machines), builds the
// agent (./xbagent, static) and the payload disk, starts QEMU and waits
// until dom0's agent answers on the virtio-serial port. There is no
// network in the VM at all: the host and dom0 share one virtio-serial port
// (a unix socket on the host side), multiplexed with yamux; each
// [Host.DialXenstore] is a new connection to dom0's daemon, so any number
// of realxs clients can run at once. [Host.Run], [Host.ReadFile] and
// [Host.WriteFile] act in dom0. [Host.CreateGuest] starts a PV guest with
// xl; its agent serves [Guest.Run] and [Guest.Spawn] through xenstore
// alone (realxs over /dev/xen/xenbus in the guest).
//
// [Host.Close] always tears down: it copies dom0's logs (the daemon's
// request trace, xl logs, guest consoles, syslog, xl dmesg) and the
// serial console into [Config.LogDir], powers dom0 off, and kills QEMU if
// it does not exit. QEMU also dies with the test process (Pdeathsig).
//
// Tests that boot a host carry the build tag realhost and run with
// `make realhost`; plain `go test ./...` never boots a VM.
//
// The files follow these jobs: host.go boots and closes a [Host];
// qemu.go starts and kills QEMU; console.go logs its serial console and
// tells a hung boot; agent.go talks to dom0's agent over its multiplexed
// connection; ops.go (dom0's commands, files, logs and the machine-wide
// lock) and guest.go (guests) are what the agent is asked to do;
// payload.go builds the agent and QEMU's boot payload; config.go is the
// [Config] and the package's [Error].
//
// Errors are *[Error] values, shaped like io/fs.PathError. Without the
// images, Boot fails with an error matching [ErrNoCache]; with images
// older than tools/xenhost, one matching [ErrStaleCache].
package xenhost
