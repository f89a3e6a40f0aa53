package xenhost

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xenhost/internal/proto"
)

// A Result is what a command printed and how it ended. A non-zero exit
// code is not an error.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
	Duration       time.Duration
}

// DialXenstore opens a new connection to dom0's xenstore daemon (its unix
// socket, so with dom0's privileges), through the control channel. Each
// call is a new daemon connection; close the client when done.
func (h *Host) DialXenstore(ctx context.Context) (*realxs.Client, error) {
	st, stopCancel, err := h.streamRaw(ctx, proto.Header{Kind: proto.KindXenstore})
	if err != nil {
		return nil, &Error{Op: "dial xenstore", Err: err}
	}
	typ, p, err := proto.ReadFrame(st)
	if err == nil && typ == proto.FrameError {
		err = proto.ParseError(p)
	} else if err == nil && typ != proto.FrameExit {
		err = fmt.Errorf("unexpected frame %q", typ)
	}
	if !stopCancel() || err != nil {
		st.Close()
		if err == nil || ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &Error{Op: "dial xenstore", Err: err}
	}
	// From here on the stream belongs to the client, which closes it.
	return realxs.NewClient(st, realxs.Options{}), nil
}

// Run runs argv in dom0 (PATH includes Xen's tools) and returns its output
// and exit code. Cancelling ctx kills the command's process group.
func (h *Host) Run(ctx context.Context, argv ...string) (Result, error) {
	name := strings.Join(argv, " ")
	if len(argv) == 0 {
		return Result{}, &Error{Op: "run", Err: errors.New("empty argv")}
	}
	start := time.Now()
	st, done, err := h.stream(ctx, proto.Header{Kind: proto.KindExec, Argv: argv})
	if err != nil {
		return Result{}, &Error{Op: "run", Path: name, Err: err}
	}
	defer done()
	var res Result
	var stdout, stderr bytes.Buffer
	for {
		typ, p, err := proto.ReadFrame(st)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return Result{}, &Error{Op: "run", Path: name, Err: err}
		}
		switch typ {
		case proto.FrameStdout:
			stdout.Write(p)
		case proto.FrameStderr:
			stderr.Write(p)
		case proto.FrameError:
			return Result{}, &Error{Op: "run", Path: name, Err: proto.ParseError(p)}
		case proto.FrameExit:
			if ctx.Err() != nil {
				// Killed because ctx was cancelled.
				return Result{}, &Error{Op: "run", Path: name, Err: ctx.Err()}
			}
			e, err := proto.ParseExit(p)
			if err != nil {
				return Result{}, &Error{Op: "run", Path: name, Err: err}
			}
			res.ExitCode = e.Code
			res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
			res.Duration = time.Since(start)
			return res, nil
		}
	}
}

// ReadFile returns the contents of a file in dom0. A missing file gives an
// error matching fs.ErrNotExist.
func (h *Host) ReadFile(ctx context.Context, path string) ([]byte, error) {
	b, err := h.simple(ctx, proto.Header{Kind: proto.KindReadFile, Path: path})
	if err != nil {
		return nil, &Error{Op: "readfile", Path: path, Err: err}
	}
	return b, nil
}

// WriteFile writes a file in dom0 (mode 0644, parents created), replacing
// it atomically.
func (h *Host) WriteFile(ctx context.Context, path string, data []byte) error {
	return h.writeFile(ctx, path, data, 0o644)
}

func (h *Host) writeFile(ctx context.Context, path string, data []byte, mode uint32) error {
	wrap := func(err error) error { return &Error{Op: "writefile", Path: path, Err: err} }
	st, done, err := h.stream(ctx, proto.Header{Kind: proto.KindWriteFile, Path: path, Mode: mode})
	if err != nil {
		return wrap(err)
	}
	defer done()
	for off := 0; off < len(data) || off == 0; off += 256 << 10 {
		end := min(off+256<<10, len(data))
		if end > off {
			if err := proto.WriteFrame(st, proto.FrameData, data[off:end]); err != nil {
				return wrap(err)
			}
		}
		if end >= len(data) {
			break
		}
	}
	if err := proto.WriteExit(st, 0); err != nil {
		return wrap(err)
	}
	typ, p, err := proto.ReadFrame(st)
	switch {
	case err != nil:
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return wrap(err)
	case typ == proto.FrameError:
		return wrap(proto.ParseError(p))
	case typ != proto.FrameExit:
		return wrap(fmt.Errorf("unexpected frame %q", typ))
	}
	return nil
}

// fetchLogs copies dom0's /var/log (the daemon's trace, xl's logs, guest
// consoles, syslog) and `xl dmesg` into LogDir/dom0.
func (h *Host) fetchLogs(ctx context.Context) error {
	dst := filepath.Join(h.cfg.LogDir, "dom0")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return &Error{Op: "close", Path: dst, Err: err}
	}
	if r, err := h.Run(ctx, "xl", "dmesg"); err == nil {
		os.WriteFile(filepath.Join(dst, "xl-dmesg.txt"), r.Stdout, 0o644)
	}
	r, err := h.Run(ctx, "tar", "cf", "-", "-C", "/var/log", ".")
	if err != nil {
		return &Error{Op: "close", Path: "dom0:/var/log", Err: err}
	}
	tr := tar.NewReader(bytes.NewReader(r.Stdout))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &Error{Op: "close", Path: "dom0:/var/log", Err: err}
		}
		name := filepath.Clean(hdr.Name)
		if name == "." || strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			continue
		}
		p := filepath.Join(dst, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			b, err := io.ReadAll(tr)
			if err != nil {
				return &Error{Op: "close", Path: "dom0:/var/log", Err: err}
			}
			os.WriteFile(p, b, 0o644)
		}
	}
	return nil
}

// lockPath is the machine-wide lock file that serialises test hosts
// across test packages and processes. Take it by hand too:
// `flock /tmp/xbcheck-xenhost.lock qemu-system-x86_64 ...`.
func lockPath() string { return filepath.Join(os.TempDir(), "xbcheck-xenhost.lock") }

// acquireLock takes the flock, polling, until ctx is done. Gotcha: never
// run two QEMUs at once on a 2-core machine (overlapping runs took 3-4
// times as long, and boots time out).
func acquireLock(ctx context.Context, waiting func()) (*os.File, error) {
	f, err := os.OpenFile(lockPath(), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
