//go:build realhost

package xenhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
)

// One C boot and one O boot for the whole package, shared by the tests
// in source order; TestMain closes whatever is left.
type sharedHost struct {
	once sync.Once
	h    *Host
	err  error
}

var (
	shared = map[string]*sharedHost{CXenstored: {}, OXenstored: {}}
	times  = map[string]time.Duration{}
	timeMu sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range shared {
		if s.h != nil {
			s.h.Close()
		}
	}
	if len(times) > 0 {
		var parts []string
		for k, v := range times {
			parts = append(parts, fmt.Sprintf("%s=%.1fs", k, v.Seconds()))
		}
		fmt.Println("xenhost timings:", strings.Join(parts, " "))
	}
	os.Exit(code)
}

func record(name string, d time.Duration) {
	timeMu.Lock()
	times[name] = d
	timeMu.Unlock()
}

// host returns the shared host running daemon, booting it on first use.
// Without the images it skips (outside CI) or fails (CI=true), in one line.
func host(t *testing.T, daemon string) *Host {
	t.Helper()
	s := shared[daemon]
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		logDir := os.Getenv("XBCHECK_XENHOST_LOGS")
		if logDir != "" {
			logDir = filepath.Join(logDir, daemon)
		}
		s.h, s.err = Boot(ctx, Config{Xenstored: daemon, LogDir: logDir, Log: testLog{}})
		if s.err == nil {
			record("boot-"+daemon, s.h.BootTime())
		}
	})
	if s.err != nil {
		if (errors.Is(s.err, ErrNoCache) || errors.Is(s.err, ErrStaleCache)) && os.Getenv("CI") != "true" {
			t.Skipf("xenhost: images not built; `make xenhost` fixes it (%v)", s.err)
		}
		t.Fatalf("xenhost: boot with %s failed: %v", daemon, s.err)
	}
	if s.h.closed {
		t.Fatalf("xenhost: the %s host was closed by an earlier test", daemon)
	}
	return s.h
}

type testLog struct{}

func (testLog) Write(p []byte) (int, error) {
	fmt.Print(string(p))
	return len(p), nil
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func run(t *testing.T, h *Host, argv ...string) Result {
	t.Helper()
	r, err := h.Run(ctxT(t, 60*time.Second), argv...)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 {
		t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", argv, r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

func TestCXlInfo(t *testing.T) {
	h := host(t, CXenstored)
	r := run(t, h, "xl", "info")
	if !strings.Contains(string(r.Stdout), "xen_version") {
		t.Fatalf("xl info: %s", r.Stdout)
	}
	t.Logf("accel %s, boot %v, xl info in %v", h.Accel(), h.BootTime(), r.Duration)
	// Files both ways, and a command's exit code and stderr.
	ctx := ctxT(t, 30*time.Second)
	if err := h.WriteFile(ctx, "/data/xbtest/f", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	b, err := h.ReadFile(ctx, "/data/xbtest/f")
	if err != nil || string(b) != "hello" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := h.ReadFile(ctx, "/nonexistent"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	r2, err := h.Run(ctx, "sh", "-c", "echo oops >&2; exit 3")
	if err != nil || r2.ExitCode != 3 || strings.TrimSpace(string(r2.Stderr)) != "oops" {
		t.Fatalf("Run exit 3: %+v, %v", r2, err)
	}
	// Cancelling kills the command.
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if _, err := h.Run(cctx, "sleep", "30"); err == nil || time.Since(t0) > 10*time.Second {
		t.Fatalf("cancelled Run: %v after %v", err, time.Since(t0))
	}
}

// xenstoreBasics reads dom0's name, writes, reads and removes a node,
// watches one with its event, and commits a transaction, over a new
// connection to dom0's daemon.
func xenstoreBasics(t *testing.T, h *Host) {
	ctx := ctxT(t, 60*time.Second)
	c, err := h.DialXenstore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name, err := c.Read(ctx, "/local/domain/0/name")
	if err != nil || string(name) != "Domain-0" {
		t.Fatalf("read name = %q, %v", name, err)
	}
	const p = "/xbtest/node"
	if err := c.Write(ctx, p, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if b, err := c.Read(ctx, p); err != nil || string(b) != "v1" {
		t.Fatalf("read back %q, %v", b, err)
	}
	w, err := c.Watch(ctx, "/xbtest/w", "tok")
	if err != nil {
		t.Fatal(err)
	}
	waitEv := func(want string) {
		t.Helper()
		for {
			select {
			case ev := <-w.Events():
				if ev.Path == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no watch event for %s", want)
			}
		}
	}
	waitEv("/xbtest/w")
	// A second client's write fires the first one's watch.
	c2, err := h.DialXenstore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Write(ctx, "/xbtest/w/x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	waitEv("/xbtest/w/x")
	err = c.Transact(ctx, func(tx *realxs.Tx) error {
		return tx.Write(ctx, "/xbtest/tx", []byte("committed"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := c2.Read(ctx, "/xbtest/tx"); err != nil || string(b) != "committed" {
		t.Fatalf("after commit %q, %v", b, err)
	}
	if err := c.Rm(ctx, "/xbtest"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, p); !errors.Is(err, realxs.ENOENT) {
		t.Fatalf("read after rm: %v", err)
	}
}

func TestCXenstore(t *testing.T) { xenstoreBasics(t, host(t, CXenstored)) }

type probeReport struct {
	Device string `json:"device"`
	DomID  int    `json:"domid"`
	OK     bool   `json:"ok"`
	Checks []struct {
		Name, Detail string
		OK           bool
	}
	Refused []struct {
		Op, Path, Perms, Errno string
		Refused                bool
	}
}

func parseProbe(t *testing.T, r Result, err error) probeReport {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var rep probeReport
	if jerr := json.Unmarshal(r.Stdout, &rep); jerr != nil {
		t.Fatalf("probe output (exit %d): %v\n%s\n%s", r.ExitCode, jerr, r.Stdout, r.Stderr)
	}
	if !rep.OK || r.ExitCode != 0 {
		t.Fatalf("probe failed (exit %d):\n%s", r.ExitCode, r.Stdout)
	}
	return rep
}

func TestCProbeDom0(t *testing.T) {
	h := host(t, CXenstored)
	r, err := h.Run(ctxT(t, 60*time.Second), "/data/xbagent", "xenbus-probe")
	rep := parseProbe(t, r, err)
	if rep.DomID != 0 {
		t.Fatalf("probe in dom0 says domid %d", rep.DomID)
	}
	t.Logf("dom0 probe over %s: %d checks passed", rep.Device, len(rep.Checks))
}

func TestCGuest(t *testing.T) {
	h := host(t, CXenstored)
	ctx := ctxT(t, 3*time.Minute)
	t0 := time.Now()
	g, err := h.CreateGuest(ctx, GuestConfig{
		Name:  "guest1",
		Disks: []string{"/data/disk1.img,raw,xvda,w"},
		Vifs:  []string{"bridge=xenbr0,mac=00:16:3e:00:00:01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	record("guest-ready", time.Since(t0))
	t.Logf("guest %s is domain %d, agent ready after %v", g.Name(), g.DomID(), time.Since(t0))

	r, err := g.Run(ctx, "sh", "-c", "cat /sys/block/xvda/size; seq 1 2000 | wc -c; echo err >&2; exit 4")
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 4 || strings.TrimSpace(string(r.Stderr)) != "err" || !strings.HasSuffix(strings.TrimSpace(string(r.Stdout)), "8893") {
		t.Fatalf("guest run: %+v (stdout %q)", r, r.Stdout)
	}
	// Output over several chunks.
	r, err = g.Run(ctx, "seq", "1", "3000")
	if err != nil || r.ExitCode != 0 || !strings.HasSuffix(string(r.Stdout), "\n2999\n3000\n") {
		t.Fatalf("guest seq: %v, %d bytes", err, len(r.Stdout))
	}

	r, err = g.Run(ctx, "/bin/xbagent", "xenbus-probe")
	rep := parseProbe(t, r, err)
	if rep.DomID != g.DomID() {
		t.Fatalf("guest probe says domid %d, want %d", rep.DomID, g.DomID())
	}
	eacces := 0
	for _, r := range rep.Refused {
		t.Logf("refused: %s %s (perms %s): %s", r.Op, r.Path, r.Perms, r.Errno)
		if r.Errno == "EACCES" {
			eacces++
		}
	}
	if eacces == 0 {
		t.Fatalf("no request refused with EACCES: %+v", rep.Refused)
	}

	// A background command holding the disk open.
	if err := g.Spawn(ctx, "sh", "-c", "exec 3</dev/xvda; sleep 600"); err != nil {
		t.Fatal(err)
	}
	r, err = g.Run(ctx, "sh", "-c", "sleep 0.5; ls -l /proc/*/fd/ 2>/dev/null | grep -c xvda")
	if err != nil || strings.TrimSpace(string(r.Stdout)) == "0" {
		t.Fatalf("spawned holder not found: %+v, %v", r, err)
	}

	if err := g.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	rl := run(t, h, "xl", "list")
	if strings.Contains(string(rl.Stdout), "guest1") {
		t.Fatalf("guest1 still listed:\n%s", rl.Stdout)
	}
}

// qemuRunning lists qemu-system processes, from /proc.
func qemuRunning() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "qemu-system") {
			out = append(out, e.Name())
		}
	}
	return out
}

func closeAndCheck(t *testing.T, h *Host, name string) {
	t0 := time.Now()
	if err := h.Close(); err != nil {
		t.Error(err)
	}
	record("close-"+name, time.Since(t0))
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if ps := qemuRunning(); len(ps) > 0 {
		t.Fatalf("qemu still running after Close: pids %v", ps)
	}
	if _, err := os.Stat(filepath.Join(h.LogDir(), "console.log")); err != nil {
		t.Error(err)
	}
	t.Logf("logs in %s", h.LogDir())
}

func TestCClose(t *testing.T) {
	h := host(t, CXenstored)
	trace := h.TracePath()
	closeAndCheck(t, h, CXenstored)
	if st, err := os.Stat(filepath.Join(h.LogDir(), "dom0", strings.TrimPrefix(trace, "/var/log/"))); err != nil || st.Size() == 0 {
		t.Errorf("trace %s not copied: %v", trace, err)
	}
}

func TestOXenstored(t *testing.T) {
	h := host(t, OXenstored)
	run(t, h, "xl", "info")
	xenstoreBasics(t, h)
	b, err := h.ReadFile(ctxT(t, 30*time.Second), h.TracePath())
	if err != nil || len(b) == 0 {
		t.Fatalf("oxenstored access log %s: %d bytes, %v", h.TracePath(), len(b), err)
	}
	if !strings.Contains(string(b), "/xbtest/node") {
		t.Errorf("access log lacks the test's write:\n%s", b)
	}
	closeAndCheck(t, h, OXenstored)
}
