// Package hosttest checks the real Xen test host itself (package
// xenhost): that dom0 runs commands and moves files, that its xenstore
// daemon answers a client, that a guest comes up with its agent, and that
// Close leaves nothing running. The real-host tests (package realhost)
// run these checks on the hosts they boot, one per daemon for the whole
// run: a host of its own for them cost two more boots under TCG, about
// 25 s of the test suite.
package hosttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xenhost"
)

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// run runs argv in dom0 and fails t unless it exits 0.
func run(t *testing.T, h *xenhost.Host, argv ...string) xenhost.Result {
	t.Helper()
	r, err := h.Run(timeout(t, 60*time.Second), argv...)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 {
		t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", argv, r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

// Dom0 checks commands and files in dom0: xl info, a file written and
// read back, a missing file's error, a command's exit code and stderr,
// and a cancelled command that stops.
func Dom0(t *testing.T, h *xenhost.Host) {
	r := run(t, h, "xl", "info")
	if !strings.Contains(string(r.Stdout), "xen_version") {
		t.Fatalf("xl info: %s", r.Stdout)
	}
	t.Logf("accel %s, boot %v, xl info in %v", h.Accel(), h.BootTime(), r.Duration)
	ctx := timeout(t, 30*time.Second)
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

// Xenstore reads dom0's name, writes, reads and removes a node, watches
// one with its event (fired by a second client's write), and commits a
// transaction, over new connections to dom0's daemon. It writes
// /xbtest/node (AccessLog looks for it).
func Xenstore(t *testing.T, h *xenhost.Host) {
	ctx := timeout(t, 60*time.Second)
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

// AccessLog checks that the daemon's trace (TracePath) holds Xenstore's
// write of /xbtest/node: run it after Xenstore.
func AccessLog(t *testing.T, h *xenhost.Host) {
	b, err := h.ReadFile(timeout(t, 30*time.Second), h.TracePath())
	if err != nil || len(b) == 0 {
		t.Fatalf("the daemon's trace %s: %d bytes, %v", h.TracePath(), len(b), err)
	}
	if !strings.Contains(string(b), "/xbtest/node") {
		t.Errorf("the daemon's trace %s lacks the write of /xbtest/node (%d bytes)", h.TracePath(), len(b))
	}
}

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

func parseProbe(t *testing.T, r xenhost.Result, err error) probeReport {
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

// ProbeDom0 runs the agent's xenbus probe in dom0 (xbagent xenbus-probe:
// the xenbus device, then requests through it).
func ProbeDom0(t *testing.T, h *xenhost.Host) {
	r, err := h.Run(timeout(t, 60*time.Second), "/data/xbagent", "xenbus-probe")
	rep := parseProbe(t, r, err)
	if rep.DomID != 0 {
		t.Fatalf("probe in dom0 says domid %d", rep.DomID)
	}
	t.Logf("dom0 probe over %s: %d checks passed", rep.Device, len(rep.Checks))
}

// Guest creates a guest named name with a disk and a vif, waits for its
// agent, runs commands in it (exit code, stderr, output over several
// chunks), the xenbus probe there (a guest's requests outside its own
// tree are refused with EACCES), a background command holding the disk
// open, and destroys it.
func Guest(t *testing.T, h *xenhost.Host, name string) {
	ctx := timeout(t, 3*time.Minute)
	t0 := time.Now()
	g, err := h.CreateGuest(ctx, xenhost.GuestConfig{
		Name:  name,
		Disks: []string{"/data/" + name + ".img,raw,xvda,w"},
		Vifs:  []string{"bridge=xenbr0,mac=00:16:3e:00:00:7f"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest %s is domain %d, agent ready after %v", g.Name(), g.DomID(), time.Since(t0))

	r, err := g.Run(ctx, "sh", "-c", "cat /sys/block/xvda/size; seq 1 2000 | wc -c; echo err >&2; exit 4")
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 4 || strings.TrimSpace(string(r.Stderr)) != "err" || !strings.HasSuffix(strings.TrimSpace(string(r.Stdout)), "8893") {
		t.Fatalf("guest run: %+v (stdout %q)", r, r.Stdout)
	}
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
	if strings.Contains(string(rl.Stdout), name) {
		t.Fatalf("%s still listed:\n%s", name, rl.Stdout)
	}
}

// Close closes h and checks what Close promises: QEMU gone, a second
// Close harmless, dom0's console log and the daemon's trace in LogDir.
func Close(t *testing.T, h *xenhost.Host) {
	pid, trace := h.QEMUPid(), h.TracePath()
	if err := h.Close(); err != nil {
		t.Errorf("closing the host: %v", err)
	}
	if pid == 0 {
		t.Errorf("closing the host: no QEMU process to check")
	} else if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("QEMU (pid %d) still there after Close", pid)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.LogDir(), "console.log")); err != nil {
		t.Error(err)
	}
	if st, err := os.Stat(filepath.Join(h.LogDir(), "dom0", strings.TrimPrefix(trace, "/var/log/"))); err != nil || st.Size() == 0 {
		t.Errorf("the daemon's trace %s not copied into %s: %v", trace, h.LogDir(), err)
	}
	t.Logf("logs in %s", h.LogDir())
}
