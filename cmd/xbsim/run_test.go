package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/sim"
	"github.com/xbcheck/xbcheck/trace"
)

func xbsim(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const bodge = "../../scenarios/seed2-qemu-bodge-4.2.toml"

// TestRunPrintsSeedAndRepeats: a run prints its seed, and the same seed
// prints the same trace.
func TestRunPrintsSeedAndRepeats(t *testing.T) {
	code, out1, err1 := xbsim(t, "run", bodge, "--scheduler", "pct", "--seed", "7")
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, err1)
	}
	if !strings.Contains(err1, "seed 7") || !strings.Contains(out1, " seed=7 ") {
		t.Errorf("the seed is not printed:\n%s\n%s", err1, out1)
	}
	_, out2, _ := xbsim(t, "run", "--seed", "7", "--scheduler", "pct", bodge)
	if out1 != out2 {
		t.Errorf("the same seed gave two runs")
	}
	_, _, err3 := xbsim(t, "run", bodge)
	if !regexp.MustCompile(`seed \d+`).MatchString(err3) {
		t.Errorf("a run without --seed does not print its seed: %s", err3)
	}
}

// TestRunExitCodes: 1 when a property fails, 0 when none does, 2 on bad
// usage.
func TestRunExitCodes(t *testing.T) {
	if code, _, errs := xbsim(t, "run", "../../scenarios/seed1-backend-gone-4.10.toml", "--seed", "1"); code != 1 || !strings.Contains(errs, "result-reflects-state (step) fails at step 7") {
		t.Errorf("buggy scenario: exit %d, %s", code, errs)
	}
	if code, _, errs := xbsim(t, "run", "../../scenarios/seed1-backend-gone-4.11.toml", "--seed", "1"); code != 0 {
		t.Errorf("fixed scenario: exit %d, %s", code, errs)
	}
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"run"},
		{"run", bodge, "--scheduler", "fifo"},
		{"run", bodge, "--fault", "eagain"},
		{"run", bodge, "--fault", "eagain@2"},
		{"run", bodge, "--delay", "qemu-exit=exp(1s)"},
		{"run", bodge, "--scheduler", "clock", "--delay", "qemu-exit=soon"},
		{"run", "no-such.toml"},
		{"replay"},
		{"replay", "no-such.trace"},
	} {
		if code, _, _ := xbsim(t, args...); code != 2 {
			t.Errorf("%v: exit %d; want 2", args, code)
		}
	}
}

// TestRunManySummary: --runs prints the failure count and rate of each
// property, and the first failing seed reproduces the failure.
func TestRunManySummary(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := xbsim(t, "run", bodge, "--scheduler", "clock", "--delay", "qemu-exit=fixed(3s)", "--runs", "50", "--seed", "100", "--trace-dir", dir)
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{"50 runs (seeds 100 to 149)", "no-premature-teardown", "50  100.00%", "xbsim run " + bodge + " --seed 100"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = xbsim(t, "run", bodge, "--scheduler", "clock", "--delay", "qemu-exit=fixed(1s)", "--runs", "50", "--json")
	var sum sim.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if code != 0 || sum.Runs != 50 || sum.Properties[0].Failures != 0 {
		t.Errorf("qemu exiting in 1 s: exit %d, %+v", code, sum)
	}
	// The first failure was written and replays.
	files, _ := filepath.Glob(filepath.Join(dir, "*.trace"))
	if len(files) != 1 {
		t.Fatalf("trace files %v; want one", files)
	}
	code, out, errs = xbsim(t, "replay", files[0])
	if code != 0 || !strings.Contains(out, "ends in the recorded violation of no-premature-teardown") {
		t.Errorf("replay of %s: exit %d\n%s%s", files[0], code, out, errs)
	}
}

// TestReplayGoldenCounterexamples: every counterexample text the checker
// writes (the golden files are Trace.Text, as xbcheck --trace-dir writes
// them) replays unchanged and ends in the same violation.
func TestReplayGoldenCounterexamples(t *testing.T) {
	files, _ := filepath.Glob("../../scenario/testdata/counterexamples/*.trace")
	if len(files) == 0 {
		t.Fatal("no golden counterexamples")
	}
	for _, f := range files {
		code, out, errs := xbsim(t, "replay", f)
		if code != 0 || !strings.Contains(out, "ends in the recorded violation of") {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errs)
		}
	}
}

// TestReplayXbcheckTraceDir runs the real xbcheck --trace-dir over every
// scenario and replays each file it writes, text and JSON.
func TestReplayXbcheckTraceDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds xbcheck")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "xbcheck")
	if out, err := exec.Command("go", "build", "-o", bin, "../xbcheck").CombinedOutput(); err != nil {
		t.Fatalf("building xbcheck: %v\n%s", err, out)
	}
	traces := filepath.Join(dir, "traces")
	cmd := exec.Command(bin, "--quiet", "--trace-dir", traces, "../../scenarios")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("xbcheck: %v\n%s", err, out) // a verdict mismatch is not this test's business
	}
	files, _ := filepath.Glob(filepath.Join(traces, "*"))
	if len(files) == 0 {
		t.Fatal("xbcheck wrote no traces")
	}
	for _, f := range files {
		// The scenario is found from the trace's name: here through
		// --scenario, as the trace directory is outside the repository.
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := trace.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		code, out, errs := xbsim(t, "replay", "--scenario", "../../scenarios/"+tr.Scenario+".toml", f)
		if code != 0 || !strings.Contains(out, "ends in the recorded violation of "+tr.Property) {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errs)
		}
	}
	t.Logf("replayed %d files written by xbcheck --trace-dir", len(files))
}

// TestReplayRejectsEditedTrace: an impossible step is reported with its
// number and a diff, and the exit status is 1.
func TestReplayRejectsEditedTrace(t *testing.T) {
	src := "../../scenario/testdata/counterexamples/seed2-qemu-bodge-4.2.no-premature-teardown.trace"
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Qemu answers before it was signalled: step 2 is not enabled there.
	edited := strings.Replace(string(data), `step 2 libxl-destroy(G) "SIGHUP qemu" destroy-device-model -> devices-destroy`,
		`step 2 libxl-destroy(G) "removals done" destroy-device-model -> devices-destroy`, 1)
	if edited == string(data) {
		t.Fatal("edit did not apply")
	}
	f := filepath.Join(dir, "seed2-qemu-bodge-4.2.trace")
	os.WriteFile(f, []byte(edited), 0o644)
	code, out, errs := xbsim(t, "replay", "--scenario", bodge, f)
	if code != 1 || !strings.Contains(out, `diverges at step 2: libxl-destroy(G) "removals done" is not enabled`) || !strings.Contains(out, "-recorded +model") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = xbsim(t, "replay", "--json", "--scenario", bodge, f)
	var rep ReplayReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 1 || rep.Agrees || rep.Diverged == nil || rep.Diverged.Step != 2 || rep.Diverged.Diff == "" {
		t.Errorf("--json: exit %d, %+v", code, rep)
	}
}

// TestRunTraceReplays: every scheduler's trace, written with --trace-dir,
// replays (the clock's with its times checked), in both forms.
func TestRunTraceReplays(t *testing.T) {
	dir := t.TempDir()
	for _, sched := range sim.Schedulers {
		xbsim(t, "run", bodge, "--scheduler", sched, "--seed", "11", "--trace-dir", filepath.Join(dir, sched), "--fault-prob", "0")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	if len(files) != 2*len(sim.Schedulers) {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		if code, out, errs := xbsim(t, "replay", f); code != 0 {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errs)
		}
	}
}
