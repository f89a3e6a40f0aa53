package xstest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
)

// EnvVar names the environment variable that points at the daemon folder
// made by `make xenstored`.
const EnvVar = "XBCHECK_XENSTORED"

// SkipHint is the message of the skip when no daemon folder is found.
const SkipHint = "no test xenstored: run `make test`, or `make xenstored` and set " + EnvVar + "=<repo>/.cache/xenstored"

// Files inside the daemon folder.
const (
	BinPath  = "root/usr/lib/xen-4.17/bin/oxenstored"
	LibDir   = "root/usr/lib/x86_64-linux-gnu"
	ShimPath = "shim.so"
	ConfPath = "oxenstored.conf"
	// StampPath is written last by the setup, once all of it worked.
	StampPath = "stamp"
)

// StartTimeout bounds how long [Start] waits for a new daemon to answer.
const StartTimeout = 15 * time.Second

// Options configure a daemon started by [Start].
type Options struct {
	// TestEAGAIN makes the daemon fail about one commit in three with
	// EAGAIN at random (its test-eagain setting).
	TestEAGAIN bool
	// Config sets further keys of oxenstored.conf, such as
	// "quota-maxsize"; they override the repository's defaults.
	Config map[string]string
	_      struct{}
}

// A Daemon is a running oxenstored started by [Start].
type Daemon struct {
	// SocketPath is the path of the daemon's socket, as seen from
	// outside its mount namespace.
	SocketPath string
	// Pid is the daemon's process id.
	Pid int
	// LogPath is the daemon's log file, kept in the test's temporary
	// folder.
	LogPath string

	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
	err    error // from cmd.Wait, once exited is closed
}

// Dir returns the daemon folder, from $XBCHECK_XENSTORED or as
// .cache/xenstored at the root of the module that contains the working
// directory. It fails when $XBCHECK_XENSTORED is empty and no such folder
// holds a completed setup.
func Dir() (string, error) {
	if d := os.Getenv(EnvVar); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, ".cache", "xenstored")
			if _, err := os.Stat(filepath.Join(dir, StampPath)); err != nil {
				return "", err
			}
			return dir, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no go.mod above " + wd)
		}
	}
}

// Start starts a private oxenstored for the test, waits until it answers
// on its socket, and stops it when the test ends (printing the end of its
// log if the test failed). Without a daemon folder it skips the test.
func Start(t testing.TB, opts Options) *Daemon {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Skip(SkipHint)
	}
	for _, f := range []string{BinPath, ShimPath, ConfPath} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("xstest: %s=%s is incomplete (rerun `make xenstored`): %v", EnvVar, dir, err)
		}
	}
	tmp := t.TempDir()
	d := &Daemon{LogPath: filepath.Join(tmp, "xenstored.log"), out: new(lockedBuffer), exited: make(chan struct{})}
	conf, err := writeConfig(filepath.Join(dir, ConfPath), tmp, d.LogPath, opts)
	if err != nil {
		t.Fatalf("xstest: %v", err)
	}

	// unshare execs sh, which execs env, which execs oxenstored: the
	// daemon keeps the pid of the started process.
	args := []string{"-m", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append(args, "--map-root-user")
	}
	args = append(args, "sh", "-c",
		`mount -t tmpfs -o mode=0755 xstest /run && mkdir -p /run/xenstored && exec "$@"`, "sh",
		"env",
		"LD_PRELOAD="+filepath.Join(dir, ShimPath),
		"LD_LIBRARY_PATH="+filepath.Join(dir, LibDir),
		filepath.Join(dir, BinPath),
		"--no-domain-init", "--no-fork", "--no-access-log",
		"--config-file", conf,
	)
	d.cmd = exec.Command("unshare", args...)
	d.cmd.Stdout = d.out
	d.cmd.Stderr = d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("xstest: starting oxenstored: %v", err)
	}
	d.Pid = d.cmd.Process.Pid
	d.SocketPath = fmt.Sprintf("/proc/%d/root/run/xenstored/socket", d.Pid)
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			d.logTail(t)
		}
	})
	if err := d.waitReady(); err != nil {
		t.Fatalf("xstest: oxenstored did not come up: %v\n%s", err, d.out.String())
	}
	return d
}

// writeConfig writes the repository's config with the test's settings on
// top and returns its path.
func writeConfig(base, tmp, logPath string, opts Options) (string, error) {
	b, err := os.ReadFile(base)
	if err != nil {
		return "", err
	}
	set := map[string]string{
		// Inside the private tmpfs; nothing of the host is touched.
		"pid-file":            "/run/xenstored/xenstored.pid",
		"xenstored-log-file":  logPath,
		"xenstored-log-level": "info",
		"test-eagain":         fmt.Sprint(opts.TestEAGAIN),
		"persistent":          "false",
	}
	for k, v := range opts.Config {
		set[k] = v
	}
	var out strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		key, _, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if ok && !strings.HasPrefix(key, "#") {
			if _, over := set[key]; over {
				continue
			}
		}
		out.WriteString(line + "\n")
	}
	out.WriteString("\n# set by xstest\n")
	for k, v := range set {
		fmt.Fprintf(&out, "%s = %s\n", k, v)
	}
	conf := filepath.Join(tmp, "oxenstored.conf")
	return conf, os.WriteFile(conf, []byte(out.String()), 0o644)
}

func (d *Daemon) waitReady() error {
	deadline := time.Now().Add(StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			return fmt.Errorf("it exited: %v", d.err)
		default:
		}
		if _, err := os.Stat(d.SocketPath); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			c, err := realxs.Dial(ctx, d.SocketPath)
			if err == nil {
				_, err = c.GetDomainPath(ctx, 0)
				c.Close()
			}
			cancel()
			if err == nil {
				return nil
			}
			last = err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no answer within %v (last error: %v)", StartTimeout, last)
}

// Dial connects a new client to the daemon and closes it when the test
// ends.
func (d *Daemon) Dial(t testing.TB) *realxs.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := realxs.Dial(ctx, d.SocketPath)
	if err != nil {
		t.Fatalf("xstest: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Kill stops the daemon at once with SIGKILL and waits for it to exit; its
// mount namespace and tmpfs go with it. Calling Kill again does nothing.
func (d *Daemon) Kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
}

// Exited returns a channel that is closed when the daemon process ends.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

func (d *Daemon) logTail(t testing.TB) {
	t.Helper()
	if s := d.out.String(); s != "" {
		t.Logf("xstest: oxenstored output:\n%s", s)
	}
	b, err := os.ReadFile(d.LogPath)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	t.Logf("xstest: end of %s:\n%s", d.LogPath, strings.Join(lines, "\n"))
}

// lockedBuffer collects the daemon's output; it is written by exec's
// copying goroutine and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
