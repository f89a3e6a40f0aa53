package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/sim"
)

// writeTextTrace writes seed 1's counterexample in the text form, which
// records no transition ids.
func writeTextTrace(t *testing.T, dir string) string {
	t.Helper()
	c, err := scenario.Load("../../scenarios/seed2-qemu-bodge-4.2.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(c)
	r := s.Run(sim.NewRandom(0, nil), 59, 1000)
	tr, err := s.Trace(r)
	if err != nil {
		t.Fatal(err)
	}
	tr.File = "../../scenarios/seed2-qemu-bodge-4.2.toml"
	p := filepath.Join(dir, "bodge.trace")
	if err := os.WriteFile(p, []byte(tr.Text()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReplayTextTraceOnStore: a text trace has no transition ids; the
// xenstore run takes the replay's, instead of transition 0 for every
// step.
func TestReplayTextTraceOnStore(t *testing.T) {
	p := writeTextTrace(t, t.TempDir())
	code, out, errb := xbsim(t, "replay", "--root", "/xbt", p)
	if code != 0 || !strings.Contains(out, "the daemon agrees with the model") {
		t.Errorf("exit %d; want 0 and agreement:\n%s%s", code, out, errb)
	}
}

func TestHTMLRunAndReplay(t *testing.T) {
	dir := t.TempDir()
	code, _, errb := xbsim(t, "run", "../../scenarios/seed2-qemu-bodge-4.2.toml", "--seed", "59", "--html", dir)
	if code != 1 || !strings.Contains(errb, "report written to "+filepath.Join(dir, "seed2-qemu-bodge-4.2.seed59.html")) {
		t.Fatalf("run --html: exit %d (want 1: seed 59 fails), stderr %q", code, errb)
	}
	page, err := os.ReadFile(filepath.Join(dir, "seed2-qemu-bodge-4.2.seed59.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "counterexample of no-premature-teardown") {
		t.Errorf("the run's report lacks its counterexample")
	}
	code, _, errb = xbsim(t, "run", "../../scenarios/seed2-qemu-bodge-4.2.toml", "--seed", "1", "--runs", "100", "--html", dir)
	if _, err := os.Stat(filepath.Join(dir, "seed2-qemu-bodge-4.2.seeds1-100.html")); code != 1 || err != nil {
		t.Errorf("run --runs --html: exit %d, %v, %s", code, err, errb)
	}
	p := writeTextTrace(t, dir)
	code, _, errb = xbsim(t, "replay", "--root", "/xbt", "--html", dir, p)
	if code != 0 {
		t.Fatalf("replay --html: exit %d: %s", code, errb)
	}
	page, err = os.ReadFile(filepath.Join(dir, "bodge.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`class="panel real"`, "xenstore run against the model's own store, root /xbt", `"who":"libxl-destroy(G)"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the replay's report lacks %q", want)
		}
	}
	if code, _, errb := xbsim(t, "replay", "--html", filepath.Join(p, "x"), p); code != 2 || !strings.Contains(errb, "xbsim: --html: mkdir") {
		t.Errorf("replay --html into a file: exit %d, stderr %q", code, errb)
	}
}
