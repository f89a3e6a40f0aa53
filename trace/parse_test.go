package trace_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/trace"
)

// goldens returns the checker's golden counterexamples, written by the
// same Text that xbcheck --trace-dir uses.
func goldens(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../scenario/testdata/counterexamples/*.trace")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden counterexamples: %v", err)
	}
	return files
}

// roundTrip checks that format → parse → format gives the same bytes in
// both forms, and that parsing gives back the same trace.
func roundTrip(t *testing.T, name string, tr *trace.Trace) {
	t.Helper()
	text := tr.Text()
	back, err := trace.Parse([]byte(text))
	if err != nil {
		t.Fatalf("%s: parsing the text form: %v\n%s", name, err, text)
	}
	if got := back.Text(); got != text {
		t.Errorf("%s: text → parse → text changed (-first +second):\n%s", name, cmp.Diff(text, got))
	}
	js, err := tr.JSON()
	if err != nil {
		t.Fatal(err)
	}
	jback, err := trace.Parse(js)
	if err != nil {
		t.Fatalf("%s: parsing the JSON form: %v", name, err)
	}
	js2, _ := jback.JSON()
	if string(js2) != string(js) {
		t.Errorf("%s: JSON → parse → JSON changed (-first +second):\n%s", name, cmp.Diff(string(js), string(js2)))
	}
	if diff := cmp.Diff(tr, jback); diff != "" {
		t.Errorf("%s: JSON parse mismatch (-want +got):\n%s", name, diff)
	}
	// The text form has no transition ids; everything else survives.
	noIDs := *jback
	noIDs.Steps = append([]trace.Step(nil), jback.Steps...)
	for i := range noIDs.Steps {
		noIDs.Steps[i].ID = 0
	}
	if diff := cmp.Diff(&noIDs, back); diff != "" {
		t.Errorf("%s: text parse mismatch (-want +got):\n%s", name, diff)
	}
}

// TestParseGoldens: every checker counterexample reads back from its file
// and formats to the same bytes.
func TestParseGoldens(t *testing.T) {
	for _, f := range goldens(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := trace.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got := tr.Text(); got != string(data) {
			t.Errorf("%s: parse → text changed (-file +text):\n%s", f, cmp.Diff(string(data), got))
		}
		roundTrip(t, f, tr)
	}
}

// TestRoundTripFromModel: traces built from checker counterexamples, and
// the same with every field a simulation adds.
func TestRoundTripFromModel(t *testing.T) {
	for _, file := range []string{"../scenarios/seed1-backend-gone-4.10.toml", "../scenarios/seed4-xend-vfb-first-liveness.toml"} {
		c, v := counterexample(t, file)
		tr, err := trace.FromPath(c.System, c.Spec.Name, v.Property, v.Path, v.Loop)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, file, tr)
		sim := *tr
		sim.Scheduler, sim.Seed, sim.Timers, sim.File = "pct(d=3,k=40)", 18446744073709551615, "clock", "/tmp/a dir/x \"y\".toml"
		sim.Steps = append([]trace.Step(nil), tr.Steps...)
		for i := range sim.Steps {
			sim.Steps[i].At = time.Duration(i)*2*time.Second + 1234567*time.Nanosecond
		}
		roundTrip(t, file+" (simulated)", &sim)
	}
	plain := &trace.Trace{Scenario: "odd name", Property: "p=q", Loop: -1, Scheduler: "random", Seed: 0}
	roundTrip(t, "empty", plain)
}

// TestParseErrors: each malformed text is refused with its line.
func TestParseErrors(t *testing.T) {
	const head = "trace scenario=s loop=-1\n"
	for _, tc := range []struct {
		text string
		line int
		want string
	}{
		{"", 1, "empty trace"},
		{"tracex scenario=s loop=-1\n", 1, "want \"trace scenario"},
		{"trace loop=-1\n", 1, "no scenario"},
		{"trace scenario=s\n", 1, "no loop"},
		{"trace scenario=s loop=x\n", 1, "bad loop"},
		{"trace loop=-1 scenario=s\n", 1, "misplaced"},
		{"trace scenario=s loop=-1 seed=3\n", 1, "scheduler and seed go together"},
		{"trace scenario=s loop=-1 color=red\n", 1, "unknown"},
		{head + "step 2 a \"t\" x -> y\n", 2, "want 1"},
		{head + "step 1 a t x -> y\n", 2, "want ACTOR"},
		{head + "step 1 a \"t\" x y\n", 2, "want FROM -> TO"},
		{head + "  op WRITE /a \"1\"\n", 2, "before the first step"},
		{head + "step 1 a \"t\" x -> y\n  = /a = \"1\"\n  op READ /a\n", 4, "op after"},
		{head + "step 1 a \"t\" x -> y\n  op READ /a\n  at 1s\n", 4, "right after"},
		{head + "step 1 a \"t\" x -> y\n  at soon\n", 3, "bad time"},
		{head + "step 1 a \"t\" x -> y\nhello\n", 3, "unexpected line"},
		{head + "step 1 a \"t\" x -> y\nend: no transition is enabled\n", 3, "loop=-1"},
		{"trace scenario=s loop=1\nstep 1 a \"t\" x -> y\n", 2, "is missing"},
		{"trace scenario=s loop=0\nstep 1 a \"t\" x -> y\n", 1, "cycle marker"},
		{"trace scenario=s loop=5\nstep 1 a \"t\" x -> y\n", 1, "out of range"},
	} {
		_, err := trace.ParseText([]byte(tc.text))
		var se *trace.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v; want a SyntaxError", tc.text, err)
			continue
		}
		if se.Line != tc.line || !strings.Contains(se.Msg, tc.want) {
			t.Errorf("%q: error %q at line %d; want %q at line %d", tc.text, se.Msg, se.Line, tc.want, tc.line)
		}
	}
	if _, err := trace.Parse([]byte(`{"scenario": "s", "loop": 3, "steps": []}`)); err == nil {
		t.Errorf("a JSON trace with loop out of range was accepted")
	}
	if _, err := trace.Parse([]byte(`{"loop": -1}`)); err == nil {
		t.Errorf("a JSON trace without scenario was accepted")
	}
}

// FuzzParseText: whatever parses formats to a text that parses to the
// same trace and formats to the same bytes.
func FuzzParseText(f *testing.F) {
	files, _ := filepath.Glob("../scenario/testdata/counterexamples/*.trace")
	for _, g := range files {
		if data, err := os.ReadFile(g); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("trace scenario=\"a b\" loop=0 scheduler=clock seed=7 timers=clock file=\"x\"\ncycle: the steps below repeat forever\nstep 1 a \"t\" x -> y\n  at 1.5s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := trace.ParseText(data)
		if err != nil {
			return
		}
		text := tr.Text()
		back, err := trace.ParseText([]byte(text))
		if err != nil {
			t.Fatalf("formatted trace does not parse: %v\n%s", err, text)
		}
		if diff := cmp.Diff(tr, back); diff != "" {
			t.Fatalf("parse(format(t)) != t (-want +got):\n%s", diff)
		}
		if back.Text() != text {
			t.Fatalf("format is not stable")
		}
	})
}
