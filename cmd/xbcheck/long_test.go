package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
)

// Tests of long runs: the memory budget of the whole process, checkpoints
// and resume. Some run xbcheck as a child process (this test binary, with
// XBCHECK_TEST_MAIN set, is xbcheck), to measure its peak resident set or
// to interrupt and kill it.

func TestMain(m *testing.M) {
	if os.Getenv("XBCHECK_TEST_MAIN") == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// child returns the command running xbcheck with args in a child process.
func child(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "XBCHECK_TEST_MAIN=1")
	return cmd
}

// familyFile writes the benchmark family's scenario with n disks, named
// name, with the extra properties (the first expected to be violated),
// and returns its path.
func familyFile(t *testing.T, dir, name string, n int, extra ...string) string {
	t.Helper()
	src := bench.AttachDetachSource(n)
	src = strings.Replace(src, fmt.Sprintf("name = \"attach-detach-%d\"", n), fmt.Sprintf("name = %q", name), 1)
	if len(extra) > 0 {
		src = strings.Replace(src, `"deadlock"]`, `"deadlock", "`+strings.Join(extra, `", "`)+`"]`, 1)
		src = strings.Replace(src, `expect = "ok"`, `expect = "violation"`+"\n"+`violates = "`+extra[0]+`"`, 1)
	}
	f := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func parseReport(t *testing.T, out []byte) ScenarioReport {
	t.Helper()
	var rep Report
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Scenarios) != 1 {
		t.Fatalf("not a one-scenario JSON report (%v):\n%s", err, out)
	}
	return rep.Scenarios[0]
}

// TestMemoryBudgetBoundsTheProcess: the family at N = 4 without symmetry
// (hundreds of millions of states) under a 150 MB budget stops with
// verdict unknown, says why and how far it got, and the child's peak
// resident set stays within 10% of the budget. N = 4 and 150 MB: the stop
// comes after a second or two; the whole process (runtime, model, and the
// frontier of full states) is what is bounded, not the seen set alone.
func TestMemoryBudgetBoundsTheProcess(t *testing.T) {
	const budget = 150e6
	f := familyFile(t, t.TempDir(), "family-4", 4)
	cmd := child("--json", "--symmetry=false", "--por=false", "--memory", "150MB", f)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v; want 1 (unknown is not the expected ok)\n%s", err, stderr.String())
	}
	sr := parseReport(t, out)
	if sr.Verdict != checker.Unknown || !strings.HasPrefix(sr.Reason, "memory budget reached") || sr.Stats.States == 0 {
		t.Errorf("verdict %s (%s) after %d states; want unknown for the budget, after some states", sr.Verdict, sr.Reason, sr.Stats.States)
	}
	if !strings.Contains(sr.Reason, "stopped at depth") {
		t.Errorf("reason %q does not say how far the search got", sr.Reason)
	}
	peak := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) * 1024
	t.Logf("peak RSS %.1f MB for a %.0f MB budget (%.1f%%), %d states, depth %d", peak/1e6, budget/1e6, 100*peak/budget, sr.Stats.States, sr.Stats.Depth)
	if peak > 1.10*budget {
		t.Errorf("peak RSS %.1f MB; want at most 110%% of the %.0f MB budget", peak/1e6, budget/1e6)
	}
	if peak < 0.5*budget {
		t.Errorf("peak RSS %.1f MB; the search stopped long before it used the %.0f MB budget", peak/1e6, budget/1e6)
	}
}

// outcome is what must not depend on how often a check was interrupted.
type outcome struct {
	Verdict         checker.Verdict
	Violated        []string
	States          int
	Transitions     int
	Depth           int
	Complete        bool
	Counterexamples []Counterexample
}

func outcomeOf(sr ScenarioReport) outcome {
	return outcome{sr.Verdict, sr.Violated, sr.Stats.States, sr.Stats.Transitions, sr.Stats.Depth, sr.Stats.Complete, sr.Counterexamples}
}

func inProcess(t *testing.T, args ...string) ScenarioReport {
	t.Helper()
	code, out, errs := runXbcheck(t, append([]string{"--json"}, args...)...)
	if code == 2 {
		t.Fatalf("xbcheck %v: exit 2: %s", args, errs)
	}
	return parseReport(t, []byte(out))
}

// resumeMatches resumes from dir and compares with the uninterrupted run.
func resumeMatches(t *testing.T, how string, want outcome, dir, file string) {
	t.Helper()
	got := inProcess(t, "--resume", dir, file)
	if got.ResumedFrom == nil {
		t.Errorf("%s: the resumed run does not say it resumed", how)
	} else {
		t.Logf("%s: resumed at depth %d with %d states", how, got.ResumedFrom.Depth, got.ResumedFrom.States)
	}
	if diff := cmp.Diff(want, outcomeOf(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: resumed run differs from the uninterrupted one (-want +got):\n%s", how, diff)
	}
}

// TestInterruptAndResume: the family at N = 3 and the family at N = 2
// with an eventually-property violated by a lasso (exact states and the
// graph), stopped at several points by --max-states and resumed with
// --resume, give the uninterrupted run's verdict, counts and
// counterexamples; and so does the N = 3 run interrupted by SIGINT (it
// writes a checkpoint and says so) and killed by SIGKILL, both while it
// writes a checkpoint at every level (after a kill, the last complete one
// is used).
func TestInterruptAndResume(t *testing.T) {
	dir := t.TempDir()
	three := familyFile(t, dir, "family-3", 3)
	lasso := familyFile(t, dir, "family-2-lasso", 2, "devices-connected")
	for _, tc := range []struct {
		file   string
		points []int
	}{{three, []int{4_000}}, {lasso, []int{100, 3_000, 12_000}}} { // three: 8,115 classes with symmetry and POR
		full := inProcess(t, tc.file)
		want := outcomeOf(full)
		if !full.Stats.Complete {
			t.Fatalf("%s: the uninterrupted run is incomplete: %s", tc.file, full.Reason)
		}
		for _, n := range tc.points {
			ck := t.TempDir()
			part := inProcess(t, "--checkpoint", ck, "--max-states", itoa(n), tc.file)
			if part.Checkpoint == nil || part.Stats.Complete {
				t.Fatalf("%s stopped at %d states: complete %v, checkpoint %v", tc.file, n, part.Stats.Complete, part.Checkpoint)
			}
			resumeMatches(t, filepath.Base(tc.file)+" at "+itoa(n)+" states", want, ck, tc.file)
		}
		if tc.file != three {
			continue
		}
		// SIGINT and SIGKILL after some levels (of 81), each written to a
		// checkpoint.
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
			ck := t.TempDir()
			cmd := child("--json", "--workers", "1", "--checkpoint", ck, "--checkpoint-every", "1ns", tc.file)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			writes := 25
			if sig == syscall.SIGKILL {
				writes = 45
			}
			waitForCheckpoints(t, ckFile(ck, "family-3"), writes)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if sig == syscall.SIGINT {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("SIGINT: exit %v; want 1 (unknown)\n%s", err, stderr.String())
				}
				sr := parseReport(t, stdout.Bytes())
				if sr.Verdict != checker.Unknown || sr.Reason != "interrupted" || sr.Checkpoint == nil {
					t.Errorf("SIGINT: verdict %s (%s), checkpoint %v; want unknown, interrupted, with a checkpoint", sr.Verdict, sr.Reason, sr.Checkpoint)
				}
			}
			resumeMatches(t, sig.String(), want, ck, tc.file)
		}
	}
}

// waitForCheckpoints waits until path has been written n times (each
// write renames a new file over it).
func waitForCheckpoints(t *testing.T, path string, n int) {
	t.Helper()
	var last uint64
	seen := 0
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		if ino := fi.Sys().(*syscall.Stat_t).Ino; ino != last {
			last = ino
			if seen++; seen >= n {
				return
			}
		}
	}
	t.Fatalf("%s was not written %d times", path, n)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestResumeRefusesAnotherScenario: a checkpoint of another scenario of
// the same name is refused with one line and exit 2, and nothing is
// checked; so are bad flag values.
func TestResumeRefusesAnotherScenario(t *testing.T) {
	dir, ck := t.TempDir(), t.TempDir()
	f := familyFile(t, dir, "family-2", 2)
	if code, _, errs := runXbcheck(t, "--quiet", "--checkpoint", ck, "--max-states", "100", f); code != 1 {
		t.Fatalf("exit %d; want 1 (unknown): %s", code, errs)
	}
	src, _ := os.ReadFile(f)
	os.WriteFile(f, []byte(strings.Replace(string(src), `"no-resurrection", `, "", 1)), 0o644)
	code, out, errs := runXbcheck(t, "--resume", ck, f)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != 2 || len(lines) != 1 || !strings.Contains(errs, "checkpoint resume") || !strings.Contains(errs, "not of scenario") || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line saying the checkpoint is of another scenario", code, out, errs)
	}
	// A scenario without a checkpoint in DIR (ended, or not reached, when
	// the run stopped) is checked from the start, and says so.
	code, out, _ = runXbcheck(t, "--quiet", "--resume", t.TempDir(), f)
	if code != 0 || !strings.Contains(out, "note: no checkpoint of this scenario in ") {
		t.Errorf("--resume DIR without its checkpoint: exit %d; want 0 and a note:\n%s", code, out)
	}
	for _, args := range [][]string{{"--checkpoint-every", "0s", "--checkpoint", ck, f}, {"--resume", f, f}} {
		if code, _, errs := runXbcheck(t, args...); code != 2 || !strings.HasPrefix(errs, "xbcheck: --") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line naming the flag", args, code, errs)
		}
	}
}

// TestHelpTeachesLongRuns: --help names the flags of long runs.
func TestHelpTeachesLongRuns(t *testing.T) {
	_, _, errs := runXbcheck(t, "--help")
	for _, want := range []string{"-memory SIZE", "whole process", "-checkpoint DIR", "-checkpoint-every DURATION", "-resume DIR", "uninterrupted"} {
		if !strings.Contains(errs, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestProgressLine: a report states the rate, the memory against the
// budget and the last checkpoint.
func TestProgressLine(t *testing.T) {
	p := checker.Progress{Stats: checker.Stats{States: 1200, Transitions: 5000, Depth: 7}, Frontier: 300, Expanded: 100, Rate: 51234.4,
		Memory: 412e6, Budget: 500e6, Checkpoint: &checker.CheckpointInfo{Depth: 6, Time: time.Now().Add(-12 * time.Second)}}
	got := progressLine(p, true)
	want := "depth 7 (100 of 300 expanded), 1200 states, 5000 transitions, 51234 states/s, memory 412 MB of 500 MB, last checkpoint 12s ago (depth 6)"
	if got != want {
		t.Errorf("progress line\n got %q\nwant %q", got, want)
	}
	p.Checkpoint, p.Budget = nil, 0
	if got := progressLine(p, true); !strings.HasSuffix(got, "memory 412 MB, no checkpoint yet") {
		t.Errorf("without budget or checkpoint: %q", got)
	}
}
