package xenhost

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/xbcheck/xbcheck/realxs/xenhost/internal/proto"
)

// connect dials the control socket, does the handshake, and starts yamux.
func (h *Host) connect(ctx context.Context) error {
	sock := filepath.Join(h.runDir, "ctl.sock")
	qemuDone := h.qemuDone
	var conn net.Conn
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", sock)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-qemuDone:
			return fmt.Errorf("QEMU exited (%v) before dom0's agent answered (last console line: %q)", h.qemuErr, h.console.last())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.conn = conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	go func() {
		select {
		case <-qemuDone:
			conn.SetDeadline(time.Now())
		case <-ctx.Done():
		}
	}()
	// The agent repeats the banner until it reads Go, then sends Ack;
	// everything after Ack is yamux.
	if err := proto.HostHandshake(conn); err != nil {
		select {
		case <-qemuDone:
			return fmt.Errorf("QEMU exited (%v) before dom0's agent answered (last console line: %q)", h.qemuErr, h.console.last())
		default:
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("control port: %w", err)
	}
	conn.SetDeadline(time.Time{})
	sess, err := yamux.Client(conn, yamuxConfig())
	if err != nil {
		return err
	}
	h.sess = sess
	return nil
}

// yamuxConfig is the session configuration of both sides.
func yamuxConfig() *yamux.Config {
	cfg := yamux.DefaultConfig()
	// Under TCG a busy dom0 can be slow to answer pings: no keepalive.
	cfg.EnableKeepAlive = false
	cfg.ConnectionWriteTimeout = 60 * time.Second
	cfg.LogOutput = io.Discard
	return cfg
}

// stream opens a stream and sends its header. ctx's cancellation resets
// the stream (for exec: the agent kills the command).
// The returned function ends the stream (call it once done with it);
// DialXenstore instead calls stopCancel and hands the stream over.
func (h *Host) stream(ctx context.Context, hdr proto.Header) (st *yamux.Stream, done func(), err error) {
	st, stopCancel, err := h.streamRaw(ctx, hdr)
	if err != nil {
		return nil, nil, err
	}
	return st, func() { stopCancel(); st.Close() }, nil
}

func (h *Host) streamRaw(ctx context.Context, hdr proto.Header) (*yamux.Stream, func() bool, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed || h.sess == nil {
		return nil, nil, ErrClosed
	}
	st, err := h.sess.OpenStream()
	if err != nil {
		return nil, nil, fmt.Errorf("control channel: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { st.Close() })
	if err := proto.WriteHeader(st, hdr); err != nil {
		stop()
		st.Close()
		return nil, nil, fmt.Errorf("control channel: %w", err)
	}
	return st, stop, nil
}

// simple runs a request whose answer is data frames and an exit frame.
func (h *Host) simple(ctx context.Context, hdr proto.Header) ([]byte, error) {
	st, done, err := h.stream(ctx, hdr)
	if err != nil {
		return nil, err
	}
	defer done()
	var out []byte
	for {
		typ, p, err := proto.ReadFrame(st)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("control channel: %w", err)
		}
		switch typ {
		case proto.FrameData, proto.FrameStdout:
			out = append(out, p...)
		case proto.FrameExit:
			return out, nil
		case proto.FrameError:
			return nil, proto.ParseError(p)
		}
	}
}
