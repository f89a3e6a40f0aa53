package xenhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/xbcheck/xbcheck/realxs/xenhost/internal/proto"
)

// A Host is a running test host: QEMU with Xen and dom0, and dom0's agent
// connected. Its methods are safe for concurrent use.
type Host struct {
	cfg      Config
	accel    string
	bootTime time.Duration
	info     proto.Info
	runDir   string // private temporary folder: payload, socket, agent
	lock     *os.File

	qemu      *exec.Cmd
	qemuDone  chan struct{} // closed when QEMU has exited
	qemuErr   error         // its exit status, once qemuDone is closed
	console   *consoleLog
	conn      net.Conn
	sess      *yamux.Session
	start     time.Time
	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	closed bool
	guests []*Guest
}

// Boot starts a test host and returns when dom0's agent answers. It
// blocks on the machine-wide lock (another test host running, in this
// process or another) until ctx is done. On failure nothing is left
// running, and the logs gathered so far are in cfg.LogDir.
func Boot(ctx context.Context, cfg Config) (*Host, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"build.stamp", "boot/xen", "boot/vmlinux", "boot/dom0-initrd.gz", "boot/guest-initrd.gz"} {
		if _, err := os.Stat(filepath.Join(cfg.Cache, f)); err != nil {
			return nil, &Error{Op: "boot", Path: cfg.Cache, Err: fmt.Errorf("%w: no %s", ErrNoCache, f)}
		}
	}
	if err := checkFresh(cfg.Cache); err != nil {
		return nil, err
	}
	if cfg.LogDir == "" {
		d, err := os.MkdirTemp("", "xbcheck-xenhost-logs-")
		if err != nil {
			return nil, &Error{Op: "boot", Path: "logdir", Err: err}
		}
		cfg.LogDir = d
	} else if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, &Error{Op: "boot", Path: cfg.LogDir, Err: err}
	}

	h := &Host{cfg: cfg}
	lock, err := acquireLock(ctx, func() {
		h.logf("xenhost: waiting for the machine-wide lock %s (another test host runs)", lockPath())
	})
	if err != nil {
		return nil, &Error{Op: "boot", Path: lockPath(), Err: err}
	}
	h.lock = lock
	fail := func(op string, err error) (*Host, error) {
		h.Close()
		return nil, &Error{Op: op, Path: cfg.LogDir, Err: err}
	}
	h.runDir, err = os.MkdirTemp("", "xbxh-")
	if err != nil {
		return fail("boot", err)
	}

	// The agent and the payload disk, made at every boot so that a change
	// to the agent needs no image rebuild.
	t0 := time.Now()
	agent := filepath.Join(h.runDir, "xbagent")
	if err := buildAgent(ctx, agent); err != nil {
		return fail("build agent", err)
	}
	agentBytes, err := os.ReadFile(agent)
	if err != nil {
		return fail("build agent", err)
	}
	initrd := filepath.Join(h.runDir, "guest-initrd.gz")
	if err := guestInitrd(initrd, filepath.Join(cfg.Cache, "boot", "guest-initrd.gz"), agentBytes); err != nil {
		return fail("payload", err)
	}
	payload := filepath.Join(h.runDir, "payload.tar")
	if err := writePayload(payload, agent, filepath.Join(cfg.Cache, "boot", "vmlinux"), initrd); err != nil {
		return fail("payload", err)
	}
	os.Remove(initrd)
	h.logf("xenhost: agent and payload ready in %.1fs", time.Since(t0).Seconds())

	// Up to two attempts: about one boot in fifteen under TCG hangs in
	// dom0's early kernel boot (the console stops, for good, right after
	// "IP idents hash table entries"). A boot whose console stays silent
	// for StallTimeout before the agent answers is killed and started
	// again; normal boots are never silent for more than about 6 s, even
	// on a loaded machine.
	var bctx context.Context
	for attempt := 1; ; attempt++ {
		tctx, cancelT := context.WithTimeout(ctx, cfg.BootTimeout)
		defer cancelT()
		var cancel context.CancelCauseFunc
		bctx, cancel = context.WithCancelCause(tctx)
		defer cancel(nil)
		if err := h.startQEMU(payload); err != nil {
			return fail("start qemu", err)
		}
		h.logf("xenhost: QEMU started (%s, %s), console in %s", h.accel, cfg.Xenstored, filepath.Join(cfg.LogDir, "console.log"))
		wctx, stopWatch := context.WithCancel(bctx)
		go h.console.watchStall(wctx, cancel)
		err := h.connect(bctx)
		stopWatch()
		if err == nil {
			break
		}
		var stall *stallError
		switch {
		case errors.As(context.Cause(bctx), &stall) && ctx.Err() == nil:
			err = stall
		case errors.Is(bctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
			err = fmt.Errorf("dom0's agent did not answer within %v (last console line: %q)", cfg.BootTimeout, h.console.last())
		}
		if stall == nil || attempt == 2 {
			return fail("boot", err)
		}
		h.logf("xenhost: %v; killing QEMU and booting again", err)
		h.killQEMU()
		os.Rename(filepath.Join(cfg.LogDir, "console.log"), filepath.Join(cfg.LogDir, "console-stalled.log"))
	}
	h.bootTime = time.Since(h.start)
	var info proto.Info
	b, err := h.simple(bctx, proto.Header{Kind: proto.KindInfo})
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err != nil {
		return fail("boot", err)
	}
	h.info = info
	if info.Xenstored != cfg.Xenstored {
		return fail("boot", fmt.Errorf("dom0 runs %s, not %s", info.Xenstored, cfg.Xenstored))
	}
	h.logf("xenhost: booted in %.1fs (%s, %s)", h.bootTime.Seconds(), h.accel, cfg.Xenstored)
	return h, nil
}

// checkFresh fails with ErrStaleCache when a source of the images in
// tools/xenhost is newer than the cache's build stamp (the images would
// not match the code).
func checkFresh(cache string) error {
	root := moduleRoot()
	if root == "" {
		return nil
	}
	st, err := os.Stat(filepath.Join(cache, "build.stamp"))
	if err != nil {
		return nil
	}
	srcs, _ := filepath.Glob(filepath.Join(root, "tools", "xenhost", "*"))
	for _, src := range srcs {
		if fi, err := os.Stat(src); err == nil && fi.ModTime().After(st.ModTime()) {
			return &Error{Op: "boot", Path: cache, Err: fmt.Errorf("%w: %s is newer than the images", ErrStaleCache, filepath.Base(src))}
		}
	}
	return nil
}

func (h *Host) logf(format string, args ...any) {
	fmt.Fprintf(h.cfg.Log, format+"\n", args...)
}

// Accel returns QEMU's accelerator: "tcg" or "kvm".
func (h *Host) Accel() string { return h.accel }

// Xenstored returns the daemon dom0 runs: "cxenstored" or "oxenstored".
func (h *Host) Xenstored() string { return h.cfg.Xenstored }

// BootTime returns how long the boot took, from QEMU's start until dom0's
// agent answered.
func (h *Host) BootTime() time.Duration { return h.bootTime }

// QEMUPid returns the process id of the host's QEMU, 0 before it starts.
func (h *Host) QEMUPid() int {
	if h.qemu == nil || h.qemu.Process == nil {
		return 0
	}
	return h.qemu.Process.Pid
}

// LogDir returns the folder that receives the logs on Close.
func (h *Host) LogDir() string { return h.cfg.LogDir }

// TracePath returns the path, in dom0, of the daemon's request trace: C
// xenstored's -T file or oxenstored's access log.
func (h *Host) TracePath() string { return h.info.Trace }

// Close tears the host down: it destroys nothing by hand (dom0's power-off
// takes the guests with it) but first copies dom0's logs into LogDir, then
// powers dom0 off, waits for QEMU to exit (killing its process group after
// 20 s), and releases the lock. It always does all of it, is idempotent,
// and returns the first error.
func (h *Host) Close() error {
	h.closeOnce.Do(func() { h.closeErr = h.close() })
	return h.closeErr
}

func (h *Host) close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	t0 := time.Now()
	h.mu.Lock()
	guests := h.guests
	h.mu.Unlock()
	for _, g := range guests {
		g.closeClient()
	}
	poweredOff := false
	if h.sess != nil && !h.sess.IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		keep(h.fetchLogs(ctx))
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		_, err := h.simple(ctx, proto.Header{Kind: proto.KindShutdown})
		cancel()
		if err != nil {
			h.logf("xenhost: shutdown request: %v", err)
		}
		poweredOff = err == nil
	}
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	if h.qemu != nil && h.qemu.Process != nil {
		// After a power-off QEMU exits by itself (-no-reboot); without one
		// (a failed boot) there is nothing to wait for.
		grace := 20 * time.Second
		if !poweredOff {
			grace = 0
		}
		select {
		case <-h.qemuDone:
		case <-time.After(grace):
			if poweredOff {
				h.logf("xenhost: QEMU did not exit after the power-off; killing it")
			}
			syscall.Kill(-h.qemu.Process.Pid, syscall.SIGKILL)
			select {
			case <-h.qemuDone:
			case <-time.After(10 * time.Second):
				keep(&Error{Op: "close", Path: "qemu", Err: errors.New("QEMU survived SIGKILL for 10 s")})
			}
		}
		// Whatever QEMU left in its group.
		syscall.Kill(-h.qemu.Process.Pid, syscall.SIGKILL)
	}
	if h.sess != nil {
		h.sess.Close()
	}
	if h.conn != nil {
		h.conn.Close()
	}
	if h.console != nil {
		h.console.close()
	}
	if h.runDir != "" {
		os.RemoveAll(h.runDir)
	}
	if h.lock != nil {
		h.lock.Close() // releases the flock
	}
	if h.qemu != nil {
		h.logf("xenhost: closed in %.1fs; logs in %s", time.Since(t0).Seconds(), h.cfg.LogDir)
	}
	return first
}
