package realxs

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// DefaultSocketPath returns the xenstored socket path the way libxenstore
// finds it: $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else
// /var/run/xenstored/socket.
func DefaultSocketPath() string {
	if p := os.Getenv("XENSTORED_PATH"); p != "" {
		return p
	}
	if d := os.Getenv("XENSTORED_RUNDIR"); d != "" {
		return filepath.Join(d, "socket")
	}
	return "/var/run/xenstored/socket"
}

// DialRetryFor bounds how long [Dial] keeps retrying a connect that
// fails because the daemon's listen backlog is full.
const DialRetryFor = 5 * time.Second

// Dial connects to the xenstored unix socket at path, or at
// [DefaultSocketPath] when path is empty, as [DialSocket] does.
func Dial(ctx context.Context, path string) (*Client, error) {
	conn, err := DialSocket(ctx, path)
	if err != nil {
		return nil, err
	}
	return NewClient(conn, Options{}), nil
}

// DialSocket connects to the xenstored unix socket at path, or at
// [DefaultSocketPath] when path is empty, and returns the connection
// itself (for a relay, such as the test host's agent). Both daemons
// listen with a backlog of 1 (oxenstored; C xenstored 4.17's
// init_sockets), so a connect while the daemon is busy fails with
// EAGAIN; it is retried with backoff, for at most [DialRetryFor] or until
// ctx is done.
func DialSocket(ctx context.Context, path string) (net.Conn, error) {
	if path == "" {
		path = DefaultSocketPath()
	}
	var d net.Dialer
	deadline := time.Now().Add(DialRetryFor)
	delay := time.Millisecond
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return nil, &Error{Op: "dial", Path: path, Err: err}
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return nil, &Error{Op: "dial", Path: path, Err: err}
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// DefaultXenbusPaths are the device paths [DialXenbus] tries, in order.
var DefaultXenbusPaths = []string{"/dev/xen/xenbus", "/proc/xen/xenbus"}

// DialXenbus opens the Linux xenbus device at path, or the first of
// [DefaultXenbusPaths] that exists when path is empty. The caller acts
// with the privileges of the domain it runs in. The client is set up for
// the device's quirks: a request payload limit of [XenbusPayloadMax], one
// write per message, and serialized transaction starts. Watch events
// arrive from another kernel thread, so [Client.Sync] is no barrier here.
func DialXenbus(ctx context.Context, path string) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "dial", Path: path, Err: err}
	}
	if path == "" {
		path = DefaultXenbusPaths[0]
		for _, p := range DefaultXenbusPaths {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, &Error{Op: "dial", Path: path, Err: err}
	}
	return NewClient(f, Options{MaxRequest: XenbusPayloadMax, Device: true}), nil
}
