package checker_test

import (
	"path/filepath"
	"testing"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// TestSymmetryAgrees: with and without symmetry reduction every scenario
// gets the same verdict, the same violated properties, counterexamples of
// the same length that replay on the model, and the reduced search never
// explores more states.
func TestSymmetryAgrees(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.toml")
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		full := checker.Check(c.System, c.Properties, checker.Options{})
		red := checker.Check(c.System, c.Properties, checker.Options{Symmetry: true})
		if full.Verdict != red.Verdict || len(full.Violations) != len(red.Violations) {
			t.Errorf("%s: verdict %s (%d violations) with symmetry, %s (%d) without", f, red.Verdict, len(red.Violations), full.Verdict, len(full.Violations))
			continue
		}
		for i := range full.Violations {
			fv, rv := full.Violations[i], red.Violations[i]
			if fv.Property != rv.Property || len(fv.Path) != len(rv.Path) {
				t.Errorf("%s: %s in %d steps with symmetry, %s in %d without", f, rv.Property, len(rv.Path), fv.Property, len(fv.Path))
			}
			if _, err := trace.FromPath(c.System, c.Spec.Name, rv.Property, rv.Path, rv.Loop); err != nil {
				t.Errorf("%s: reduced counterexample does not replay: %v", f, err)
			}
		}
		if red.Stats.States > full.Stats.States {
			t.Errorf("%s: %d states with symmetry > %d without", f, red.Stats.States, full.Stats.States)
		}
	}
}

// TestSymmetryOnTheBenchmark: the attach-detach family's devices are
// interchangeable, and the reduced counts are pinned.
func TestSymmetryOnTheBenchmark(t *testing.T) {
	for n, want := range map[int]int{1: 157, 2: 8308} {
		c, err := bench.AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		res := checker.Check(c.System, c.Properties, checker.Options{Symmetry: true})
		if res.Verdict != checker.Ok || res.Stats.States != want {
			t.Errorf("N=%d: %s with %d states; want ok with %d", n, res.Verdict, res.Stats.States, want)
		}
	}
}

// TestSymmetryCounterexampleIsReal: a violation found in the reduced
// space is reported as a run of the real model that violates the
// property at its last step.
func TestSymmetryCounterexampleIsReal(t *testing.T) {
	sp, err := scenario.Parse("two-vif-race.toml", []byte(`
[toolstack]
kind = "libxl"
version = "4.10"
[[domain]]
name = "D"
id = 1
kind = "driver"
state = "dead"
[[domain]]
name = "G"
id = 2
kind = "pv"
[[device]]
name = "vif0"
kind = "vif"
frontend = "G"
backend = "D"
devid = 0
[[device]]
name = "vif1"
kind = "vif"
frontend = "G"
backend = "D"
devid = 1
[[operation]]
kind = "remove"
device = "vif0"
[[operation]]
kind = "remove"
device = "vif1"
[check]
properties = ["result-reflects-state"]
expect = "violation"
violates = "result-reflects-state"
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := scenario.Build(sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.System.SymmetryGroups()) != 1 {
		t.Fatalf("symmetry groups %v; want the two vifs", c.System.SymmetryGroups())
	}
	full := checker.Check(c.System, c.Properties, checker.Options{})
	red := checker.Check(c.System, c.Properties, checker.Options{Symmetry: true})
	if full.Verdict != red.Verdict {
		t.Fatalf("verdict %s with symmetry, %s without", red.Verdict, full.Verdict)
	}
	if red.Verdict != checker.Violation {
		t.Fatalf("verdict %s; want a violation", red.Verdict)
	}
	v := red.Violations[0]
	if len(v.Path) != len(full.Violations[0].Path) {
		t.Errorf("counterexample has %d steps with symmetry, %d without", len(v.Path), len(full.Violations[0].Path))
	}
	// Replay the run and check its last step violates the property.
	sys := c.System
	st := sys.Initial()
	for i, id := range v.Path {
		tr := &sys.Trans[id]
		if !sys.Enabled(st, tr) {
			t.Fatalf("step %d (%s) is not enabled", i+1, tr.Name)
		}
		next := sys.Apply(st, tr)
		if i == len(v.Path)-1 && c.Properties[0].Step(st, id, next) {
			t.Errorf("the last step does not violate %s", v.Property)
		}
		st = next
	}
}
