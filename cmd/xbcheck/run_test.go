package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func runXbcheck(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitZeroWhenExpected(t *testing.T) {
	code, out, _ := runXbcheck(t, "../../scenarios/seed1-backend-gone-4.10.toml", "../../scenarios/seed1-backend-gone-4.11.toml")
	if code != 0 {
		t.Fatalf("exit %d; want 0\n%s", code, out)
	}
	for _, want := range []string{
		"seed1-backend-gone-4.10", "violation(result-reflects-state)",
		"seed1-backend-gone-4.11", "2 of 2 scenarios as expected",
		`step 2 libxl-remove(vif0) "backend state missing" txn -> commit`,
		"op READ /local/domain/1/backend/vif/2/0/state = ⊥",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestExitOneOnMismatch(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../scenarios/seed1-backend-gone-4.10.toml")
	if err != nil {
		t.Fatal(err)
	}
	// The buggy version with the fixed version's expectation.
	s := strings.Replace(string(src), "expect = \"violation\"\nviolates = \"result-reflects-state\"", "expect = \"ok\"", 1)
	f := filepath.Join(dir, "wrong.toml")
	os.WriteFile(f, []byte(s), 0o644)
	code, out, _ := runXbcheck(t, "--quiet", f)
	if code != 1 || !strings.Contains(out, "MISMATCH") {
		t.Errorf("exit %d; want 1 with MISMATCH:\n%s", code, out)
	}
}

func TestExitTwoOnBadInput(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../scenarios/seed1-backend-gone-4.10.toml")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "bad.toml")
	os.WriteFile(f, []byte(strings.Replace(string(src), `version = "4.10"`, `version = "9.9"`, 1)), 0o644)
	line := 1 + strings.Count(string(src[:strings.Index(string(src), `version = "4.10"`)]), "\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{f}, f + ":" + strconv.Itoa(line) + ": "},
		{[]string{filepath.Join(dir, "missing.toml")}, "missing.toml"},
		{[]string{}, "no scenario given"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{dir + "/empty"}, "no such file"},
	} {
		code, _, errs := runXbcheck(t, tc.args...)
		if code != 2 {
			t.Errorf("%v: exit %d; want 2", tc.args, code)
		}
		if !strings.Contains(errs, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errs, tc.want)
		}
		if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine ") {
			t.Errorf("%v: stderr looks like a crash:\n%s", tc.args, errs)
		}
	}
}

func TestJSONReport(t *testing.T) {
	code, out, _ := runXbcheck(t, "--json", "../../scenarios/seed3-pci-attach-4.16.toml", "../../scenarios/seed3-pci-attach-4.17.toml")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	type brief struct {
		Name     string
		Verdict  string
		Violated []string
		Match    bool
		Steps    int
	}
	var got []brief
	for _, s := range rep.Scenarios {
		b := brief{Name: s.Name, Verdict: string(s.Verdict), Violated: s.Violated, Match: s.Match}
		for _, c := range s.Counterexamples {
			b.Steps += len(c.Trace.Steps)
		}
		got = append(got, b)
	}
	want := []brief{
		{Name: "seed3-pci-attach-4.16", Verdict: "violation", Violated: []string{"wait-only-on-existing-backend"}, Match: true, Steps: 2},
		{Name: "seed3-pci-attach-4.17", Verdict: "ok", Match: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report mismatch (-want +got):\n%s", diff)
	}
	if !rep.Match {
		t.Errorf("report match = false; want true")
	}
}

func TestTraceDir(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runXbcheck(t, "--quiet", "--trace-dir", dir, "../../scenarios/seed4-xend-vfb-first.toml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, ext := range []string{".trace", ".json"} {
		b, err := os.ReadFile(filepath.Join(dir, "seed4-xend-vfb-first.backend-created-by-toolstack"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "write vkbd state 5") {
			t.Errorf("%s lacks the violating step:\n%s", ext, b)
		}
	}
}

func TestHelpAndProperties(t *testing.T) {
	if code, _, errs := runXbcheck(t, "--help"); code != 0 || !strings.Contains(errs, "usage: xbcheck") {
		t.Errorf("--help: exit %d, stderr %q", code, errs)
	}
	code, out, _ := runXbcheck(t, "--properties")
	if code != 0 || !strings.Contains(out, "no-resurrection") || !strings.Contains(out, "eventually") {
		t.Errorf("--properties: exit %d:\n%s", code, out)
	}
}

func TestFlagsAfterFiles(t *testing.T) {
	code, out, _ := runXbcheck(t, "../../scenarios/seed1-backend-gone-4.11.toml", "--quiet")
	if code != 0 || strings.Contains(out, "step 1") {
		t.Errorf("exit %d; want 0 and no trace:\n%s", code, out)
	}
}

func TestMemoryBudgetGivesUnknown(t *testing.T) {
	code, out, _ := runXbcheck(t, "--quiet", "--memory", "1KB", "../../scenarios/vbd-add-4.17.toml")
	if code != 1 || !strings.Contains(out, "unknown") || !strings.Contains(out, "memory budget reached") {
		t.Errorf("exit %d; want 1 with an unknown verdict and the reason:\n%s", code, out)
	}
	if code, _, errs := runXbcheck(t, "--memory", "lots", "../../scenarios/vbd-add-4.17.toml"); code != 2 || !strings.Contains(errs, "not a size") {
		t.Errorf("bad --memory: exit %d, stderr %q", code, errs)
	}
}

func TestPORFlagKeepsVerdicts(t *testing.T) {
	code, out, _ := runXbcheck(t, "--quiet", "--por", "../../scenarios/")
	if code != 0 || !strings.Contains(out, "scenarios as expected") {
		t.Errorf("exit %d with --por:\n%s", code, out)
	}
}

// TestCollisionBound: an ok reached through fingerprints carries the bound
// on a missed state (text and JSON); an exact run, a violation and an
// eventually-property (always exact) do not.
func TestCollisionBound(t *testing.T) {
	ok := "../../scenarios/seed2-bodge-resurrection-4.17.toml" // safety only, ok
	bad := "../../scenarios/seed2-bodge-resurrection-4.2.toml" // violation
	live := "../../scenarios/seed1-backend-gone-4.17.toml"     // ok with an eventually-property
	bound := func(args ...string) map[string]*float64 {
		t.Helper()
		code, out, errs := runXbcheck(t, append([]string{"--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var rep Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		m := map[string]*float64{}
		for _, s := range rep.Scenarios {
			m[s.Name] = s.FingerprintCollisionBound
		}
		return m
	}
	got := bound(ok, bad, live)
	if b := got["seed2-bodge-resurrection-4.17"]; b == nil || *b <= 0 || *b > 1e-15 {
		t.Errorf("fingerprinted ok: bound %v; want a small positive number", b)
	}
	for _, name := range []string{"seed2-bodge-resurrection-4.2", "seed1-backend-gone-4.17"} {
		if b := got[name]; b != nil {
			t.Errorf("%s: bound %v; want none (violation, or exact)", name, *b)
		}
	}
	if b := bound("--exact", ok)["seed2-bodge-resurrection-4.17"]; b != nil {
		t.Errorf("--exact: bound %v; want none", *b)
	}
	_, out, _ := runXbcheck(t, "--quiet", "--hash-seed", "7", ok)
	if !strings.Contains(out, "P(missed state)≤") {
		t.Errorf("text output lacks the bound:\n%s", out)
	}
}

// TestCoverage: --coverage ends with the total line, counts a
// violating scenario's whole state space (not only up to its
// counterexample), and gives the same figures in JSON.
func TestCoverage(t *testing.T) {
	files := []string{"../../scenarios/seed1-backend-gone-4.10.toml", "../../scenarios/seed1-backend-gone-4.11.toml"}
	code, out, _ := runXbcheck(t, append([]string{"--coverage"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	var x, y int
	if _, err := fmt.Sscanf(last, "coverage: %d of %d transitions fired", &x, &y); err != nil || x == 0 || x > y {
		t.Fatalf("last line %q: want \"coverage: X of Y transitions fired\" with 0 < X <= Y", last)
	}
	if !strings.Contains(out, "libxl-remove(·)") || !strings.Contains(out, "[libxl 4.10, libxl 4.11]") {
		t.Errorf("no libxl-remove line with its two versions:\n%s", out)
	}
	code, js, _ := runXbcheck(t, append([]string{"--coverage", "--json"}, files...)...)
	var rep Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d, JSON %v", code, err)
	}
	if rep.Coverage == nil || rep.Coverage.Fired != x || rep.Coverage.Total != y {
		t.Fatalf("JSON coverage %+v; the text says %d of %d", rep.Coverage, x, y)
	}
	// The 4.10 scenario violates result-reflects-state; its coverage
	// must come from the whole state space, not stop at the violation.
	if len(rep.Coverage.Incomplete) != 0 {
		t.Errorf("explored only in part: %v", rep.Coverage.Incomplete)
	}
}
