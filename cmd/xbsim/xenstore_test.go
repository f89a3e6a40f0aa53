package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/realxs/xstest"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// A counterexample of a seed, written as a trace file.
func seedTrace(t *testing.T) string {
	file := "../../scenarios/seed1-backend-gone-4.10.toml"
	c, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	res := checker.Check(c.System, c.Properties, checker.Options{})
	if len(res.Violations) == 0 {
		t.Fatal("no counterexample")
	}
	v := res.Violations[0]
	tr, err := trace.FromPath(c.System, c.Spec.Name, v.Property, v.Path, v.Loop)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tr.JSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cx.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// xbsim replay --xenstore SOCKET --root PATH performs the trace against a
// live daemon; --root alone uses the model's own store.
func TestReplayXenstore(t *testing.T) {
	p := seedTrace(t)
	file := "../../scenarios/seed1-backend-gone-4.10.toml"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"replay", "--scenario", file, "--root", "/m", p}, &out, &errb); code != 0 {
		t.Fatalf("replay --root: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "the model's own store") || !strings.Contains(out.String(), "agrees") {
		t.Errorf("replay --root output:\n%s", out.String())
	}
	d := xstest.Start(t, xstest.Options{})
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"replay", "--scenario", file, "--xenstore", d.SocketPath, "--root", "/live", p}, &out, &errb); code != 0 {
		t.Fatalf("replay --xenstore: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "steps performed; the daemon agrees") {
		t.Errorf("replay --xenstore output:\n%s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"replay", "--scenario", file, "--xenstore", d.SocketPath, "--live", "--domain", "1", "--device", "vif0", p}, &out, &errb); code != 2 {
		t.Errorf("replay --live without --confirm: exit %d; want 2", code)
	}
}

// --play is refused, before anything is dialled, without --live or
// without the digest of a dry run of the same trace.
func TestReplayPlayNeedsConfirmation(t *testing.T) {
	p := seedTrace(t)
	file := "../../scenarios/seed1-backend-gone-4.10.toml"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--xenstore", "/nonexistent/socket", "--play"}, "--play needs --live"},
		{[]string{"--xenstore", "/nonexistent/socket", "--play", "--live", "--domain", "2", "--device", "vif0"}, "run with --dry-run first"},
		{[]string{"--xenstore", "/nonexistent/socket", "--play", "--live", "--domain", "2", "--device", "vif0", "--confirm", "0123456789abcdef"}, "run with --dry-run first"},
	} {
		var out, errb bytes.Buffer
		args := append(append([]string{"replay", "--scenario", file}, tc.args...), p)
		if code := run(context.Background(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
