package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xenhost/internal/proto"
)

const xenstoredSocket = "/run/xenstored/socket"

func dom0Main(args []string) error {
	fs := flag.NewFlagSet("dom0", flag.ContinueOnError)
	port := fs.String("port", "", "the virtio-serial port device")
	trace := fs.String("trace", "", "the daemon's request trace")
	daemon := fs.String("xenstored", "cxenstored", "which daemon runs: cxenstored or oxenstored")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *port == "" {
		return errors.New("dom0: no -port")
	}
	a := &dom0Agent{trace: *trace, daemon: *daemon}
	for {
		if err := a.session(*port); err != nil {
			logf("session: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type dom0Agent struct {
	trace, daemon string
}

// session opens the port, does the handshake and serves one yamux
// session until it ends (the host went away).
func (a *dom0Agent) session(port string) error {
	f, err := os.OpenFile(port, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := proto.AgentHandshake(f, 500*time.Millisecond); err != nil {
		return err
	}
	logf("host connected")
	cfg := yamux.DefaultConfig()
	// Under TCG a busy dom0 can be slow to answer pings: no keepalive.
	cfg.EnableKeepAlive = false
	cfg.ConnectionWriteTimeout = 60 * time.Second
	cfg.LogOutput = os.Stderr
	sess, err := yamux.Server(f, cfg)
	if err != nil {
		return err
	}
	defer sess.Close()
	for {
		st, err := sess.Accept()
		if err != nil {
			return err
		}
		go a.serve(st)
	}
}

func (a *dom0Agent) serve(st net.Conn) {
	defer st.Close()
	h, err := proto.ReadHeader(st)
	if err != nil {
		logf("stream: %v", err)
		return
	}
	switch h.Kind {
	case proto.KindXenstore:
		serveXenstore(st)
	case proto.KindExec:
		serveExec(st, h.Argv)
	case proto.KindReadFile:
		serveReadFile(st, h.Path)
	case proto.KindWriteFile:
		serveWriteFile(st, h.Path, h.Mode)
	case proto.KindInfo:
		a.serveInfo(st)
	case proto.KindShutdown:
		serveShutdown(st)
	default:
		proto.WriteError(st, &proto.RemoteError{Op: h.Kind, Msg: "unknown stream kind"})
	}
}

// serveXenstore pipes the stream to a new connection to the daemon, in
// both directions, until either side closes. The connect is
// realxs.DialSocket's: the daemon listens with a backlog of 1, and a
// quick run of dials (the differential test's twelve) meets EAGAIN when
// it is busy.
func serveXenstore(st net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*realxs.DialRetryFor)
	c, err := realxs.DialSocket(ctx, xenstoredSocket)
	cancel()
	if err != nil {
		proto.WriteError(st, proto.NewRemoteError("dial", xenstoredSocket, err))
		return
	}
	defer c.Close()
	if err := proto.WriteExit(st, 0); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(c, st); done <- struct{}{} }()
	go func() { io.Copy(st, c); done <- struct{}{} }()
	<-done
}

// frameWriter sends writes as frames of one type; writes from stdout and
// stderr go through one mutex.
type frameWriter struct {
	mu  *sync.Mutex
	w   io.Writer
	typ byte
}

func (fw frameWriter) Write(p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	for off := 0; off < len(p); off += 32 << 10 {
		end := min(off+32<<10, len(p))
		if err := proto.WriteFrame(fw.w, fw.typ, p[off:end]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// serveExec runs argv in its own process group. The host cancels by
// closing its side of the stream: the group is then killed.
func serveExec(st net.Conn, argv []string) {
	if len(argv) == 0 {
		proto.WriteError(st, &proto.RemoteError{Op: "exec", Msg: "empty argv"})
		return
	}
	var mu sync.Mutex
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	cmd.Dir = "/"
	cmd.Stdout = frameWriter{&mu, st, proto.FrameStdout}
	cmd.Stderr = frameWriter{&mu, st, proto.FrameStderr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A command that leaves a child holding its output open (a daemon, a
	// `sleep &`) must not hold the answer back.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		mu.Lock()
		proto.WriteError(st, proto.NewRemoteError("exec", argv[0], err))
		mu.Unlock()
		return
	}
	exited := make(chan struct{})
	go func() {
		var b [1]byte
		st.Read(b[:]) // returns when the host closes or resets the stream
		select {
		case <-exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	err := cmd.Wait()
	close(exited)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		} else if !errors.Is(err, exec.ErrWaitDelay) {
			mu.Lock()
			proto.WriteError(st, proto.NewRemoteError("exec", argv[0], err))
			mu.Unlock()
			return
		}
	}
	mu.Lock()
	proto.WriteExit(st, code)
	mu.Unlock()
}

func serveReadFile(st net.Conn, path string) {
	f, err := os.Open(path)
	if err != nil {
		proto.WriteError(st, proto.NewRemoteError("readfile", path, err))
		return
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if werr := proto.WriteFrame(st, proto.FrameData, buf[:n]); werr != nil {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			proto.WriteError(st, proto.NewRemoteError("readfile", path, err))
			return
		}
	}
	proto.WriteExit(st, 0)
}

func serveWriteFile(st net.Conn, path string, mode uint32) {
	if mode == 0 {
		mode = 0o644
	}
	fail := func(err error) { proto.WriteError(st, proto.NewRemoteError("writefile", path, err)) }
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fail(err)
		return
	}
	tmp := path + ".xbagent-tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(mode))
	if err != nil {
		fail(err)
		return
	}
	defer os.Remove(tmp)
	w := bufio.NewWriter(f)
	for {
		typ, p, err := proto.ReadFrame(st)
		if err != nil {
			f.Close()
			return // the host went away: leave nothing behind
		}
		if typ == proto.FrameExit {
			break
		}
		if typ != proto.FrameData {
			f.Close()
			fail(errors.New("unexpected frame"))
			return
		}
		if _, err := w.Write(p); err != nil {
			f.Close()
			fail(err)
			return
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		fail(err)
		return
	}
	if err := f.Close(); err != nil {
		fail(err)
		return
	}
	if err := os.Chmod(tmp, os.FileMode(mode)); err != nil {
		fail(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		fail(err)
		return
	}
	proto.WriteExit(st, 0)
}

func (a *dom0Agent) serveInfo(st net.Conn) {
	info := proto.Info{Trace: a.trace, Xenstored: a.daemon}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		info.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		var up float64
		if f := strings.Fields(string(b)); len(f) > 0 {
			json.Unmarshal([]byte(f[0]), &up)
		}
		info.Uptime = up
	}
	b, _ := json.Marshal(info)
	proto.WriteFrame(st, proto.FrameData, b)
	proto.WriteExit(st, 0)
}

// serveShutdown answers, then reboots: Xen resets the machine and QEMU,
// started with -no-reboot, exits.
func serveShutdown(st net.Conn) {
	proto.WriteExit(st, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	exec.CommandContext(ctx, "sync").Run()
	time.Sleep(300 * time.Millisecond)
	logf("rebooting (QEMU -no-reboot exits)")
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
}
