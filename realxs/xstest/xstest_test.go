package xstest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// Two daemons run side by side, each with its own store, and each is gone
// after Kill.
func TestStartIsolated(t *testing.T) {
	d1 := xstest.Start(t, xstest.Options{})
	d2 := xstest.Start(t, xstest.Options{})
	if d1.SocketPath == d2.SocketPath {
		t.Fatalf("both daemons use %s", d1.SocketPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c1, c2 := d1.Dial(t), d2.Dial(t)
	if err := c1.Write(ctx, "/only/in/one", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Read(ctx, "/only/in/one"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("second daemon sees the first one's node: %v", err)
	}
	// The daemon starts with /tool/xenstored and the @ nodes.
	names, err := c2.Directory(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "@introduceDomain @releaseDomain local tool" {
		t.Errorf("Directory(/) = %q; want the daemon's initial nodes", got)
	}

	d1.Kill()
	select {
	case <-d1.Exited():
	default:
		t.Errorf("Exited not closed after Kill")
	}
	if _, err := os.Stat(d1.SocketPath); err == nil {
		t.Errorf("socket %s still there after Kill", d1.SocketPath)
	}
	d1.Kill() // a second Kill does nothing
	if _, err := c1.Read(ctx, "/only/in/one"); !errors.Is(err, realxs.ErrConnLost) {
		t.Errorf("Read from a killed daemon: %v; want ErrConnLost", err)
	}
	if _, err := c2.Read(ctx, "/tool/xenstored"); err != nil {
		t.Errorf("the other daemon stopped answering: %v", err)
	}
}

// Config keys reach the daemon: a smaller quota-maxsize changes where
// E2BIG starts.
func TestStartConfig(t *testing.T) {
	// Not below the length of the daemon's own path, which it writes to
	// /tool/xenstored at startup.
	d := xstest.Start(t, xstest.Options{Config: map[string]string{"quota-maxsize": "200"}})
	c := d.Dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, "/q", make([]byte, 200)); err != nil {
		t.Errorf("Write of 200 bytes: %v", err)
	}
	if err := c.Write(ctx, "/q", make([]byte, 201)); !errors.Is(err, realxs.E2BIG) {
		t.Errorf("Write of 201 bytes: %v; want E2BIG", err)
	}
	if _, err := os.Stat(d.LogPath); err != nil {
		t.Errorf("no daemon log: %v", err)
	}
}

func TestDir(t *testing.T) {
	t.Setenv(xstest.EnvVar, "/some/where")
	if got, err := xstest.Dir(); err != nil || got != "/some/where" {
		t.Errorf("Dir() = %q, %v; want /some/where", got, err)
	}
	t.Setenv(xstest.EnvVar, "")
	got, err := xstest.Dir()
	if err != nil {
		t.Skip(xstest.SkipHint)
	}
	if filepath.Base(got) != "xenstored" || filepath.Base(filepath.Dir(got)) != ".cache" {
		t.Errorf("Dir() = %q; want <module root>/.cache/xenstored", got)
	}
}
