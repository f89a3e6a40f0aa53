package xenhost

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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

// LogDir returns the folder that receives the logs on Close.
func (h *Host) LogDir() string { return h.cfg.LogDir }

// TracePath returns the path, in dom0, of the daemon's request trace: C
// xenstored's -T file or oxenstored's access log.
func (h *Host) TracePath() string { return h.info.Trace }

// killQEMU kills a QEMU that has not answered (its whole process group)
// and waits for it, for at most 10 s.
func (h *Host) killQEMU() {
	if h.qemu == nil || h.qemu.Process == nil {
		return
	}
	syscall.Kill(-h.qemu.Process.Pid, syscall.SIGKILL)
	select {
	case <-h.qemuDone:
	case <-time.After(10 * time.Second):
	}
	if h.conn != nil {
		h.conn.Close()
		h.conn = nil
	}
	if h.console != nil {
		h.console.close()
	}
}

// startQEMU starts QEMU in its own process group, killed when this
// process dies.
func (h *Host) startQEMU(payload string) error {
	h.qemuDone = make(chan struct{})
	h.qemuErr = nil
	os.Remove(filepath.Join(h.runDir, "ctl.sock"))
	kvmDev := false
	if _, err := os.Stat("/dev/kvm"); err == nil {
		kvmDev = true
	}
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	accel, cpu := chooseAccel(os.Getenv(EnvAccel), kvmDev, string(cpuinfo))
	h.accel = accel
	boot := filepath.Join(h.cfg.Cache, "boot")
	daemon := "c"
	if h.cfg.Xenstored == OXenstored {
		daemon = "o"
	}
	sock := filepath.Join(h.runDir, "ctl.sock")
	xenArgs := "console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=2 loglvl=all guest_loglvl=all"
	// NB: no commas in dom0's command line: QEMU splits the -initrd
	// module list on them.
	dom0Args := "console=hvc0 earlyprintk=xen xbxenstored=" + daemon
	args := []string{
		"-machine", "pc", "-accel", accel, "-cpu", cpu, "-smp", "2", "-m", "2048",
		// No network at all: without -nic none QEMU adds a default NIC
		// with user-mode networking.
		"-nic", "none",
		"-display", "none", "-vga", "none", "-monitor", "none", "-serial", "stdio",
		// dom0's `reboot -f` (and a Xen panic, after 5 s) resets the
		// machine; with -no-reboot QEMU exits instead.
		"-no-reboot",
		// boot/xen is the gunzipped multiboot ELF; QEMU's multiboot loader
		// takes module 1 (dom0's kernel and command line) and module 2
		// (dom0's initramfs) from -initrd.
		"-kernel", filepath.Join(boot, "xen"), "-append", xenArgs,
		"-initrd", filepath.Join(boot, "vmlinux") + " " + dom0Args + "," + filepath.Join(boot, "dom0-initrd.gz"),
		"-drive", "file=" + payload + ",format=raw,if=virtio,readonly=on",
		// The control channel: one virtio-serial port, a unix socket here.
		"-device", "virtio-serial-pci",
		"-chardev", "socket,id=ctl,path=" + sock + ",server=on,wait=off",
		"-device", "virtserialport,chardev=ctl,name=xbctl",
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return err
	}
	console, err := newConsoleLog(filepath.Join(h.cfg.LogDir, "console.log"))
	if err != nil {
		return err
	}
	h.console = console
	cmd := exec.Command(qemu, args...)
	cmd.Stdin = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	os.WriteFile(filepath.Join(h.cfg.LogDir, "qemu-cmdline.txt"), []byte(strings.Join(append([]string{qemu}, args...), "\n")+"\n"), 0o644)
	h.qemu = cmd
	// Pdeathsig fires when the thread that started the child exits, not
	// the process: start QEMU from a goroutine locked to its thread, which
	// lives until QEMU has exited.
	started := make(chan error, 1)
	done := h.qemuDone
	go func() {
		runtime.LockOSThread()
		h.start = time.Now()
		console.start = h.start
		console.mu.Lock()
		console.lastAt = h.start
		console.mu.Unlock()
		if err := cmd.Start(); err != nil {
			started <- err
			close(done)
			return
		}
		started <- nil
		console.copy(stdout)
		h.qemuErr = cmd.Wait()
		close(done)
		// The thread stays locked and ends with the goroutine.
	}()
	return <-started
}

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

// consoleLog writes QEMU's serial console to a file, each line prefixed
// with the seconds since QEMU's start, and keeps the last line for error
// messages.
type consoleLog struct {
	f     *os.File
	start time.Time
	done  chan struct{}

	mu       sync.Mutex
	lastLine string
	lastAt   time.Time // when the last line arrived (or QEMU started)
}

// StallTimeout is how long the console may stay silent during a boot
// before the boot counts as hung.
const StallTimeout = 30 * time.Second

// A stallError says a boot hung.
type stallError struct {
	silent time.Duration
	last   string
}

func (e *stallError) Error() string {
	return fmt.Sprintf("boot stalled: no console output for %v after %q", e.silent.Round(time.Second), e.last)
}

// watchStall cancels ctx with a *stallError when the console has been
// silent for StallTimeout, until ctx is done.
func (c *consoleLog) watchStall(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		silent, last := time.Since(c.lastAt), c.lastLine
		c.mu.Unlock()
		if silent > StallTimeout {
			cancel(&stallError{silent: silent, last: last})
			return
		}
	}
}

func newConsoleLog(path string) (*consoleLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &consoleLog{f: f, done: make(chan struct{})}, nil
}

func (c *consoleLog) copy(r io.Reader) {
	defer close(c.done)
	w := bufio.NewWriter(c.f)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Fprintf(w, "[%8.3f] %s\n", time.Since(c.start).Seconds(), line)
		w.Flush()
		c.mu.Lock()
		c.lastAt = time.Now()
		if strings.TrimSpace(line) != "" {
			c.lastLine = line
		}
		c.mu.Unlock()
	}
	w.Flush()
}

func (c *consoleLog) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastLine
}

func (c *consoleLog) close() {
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.f.Close() // a second close does nothing harmful
}
