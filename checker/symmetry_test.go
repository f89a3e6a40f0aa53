package checker_test

import (
	"testing"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/props"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// TestSymmetryAgrees: with and without symmetry reduction every scenario
// and the benchmark family get the same verdict, the same violated
// properties, counterexamples of the same length that are real runs
// violating their property at the end, and the reduced search never
// explores more states. The reduction must be real: some ok scenario and
// some violating one are reduced.
func TestSymmetryAgrees(t *testing.T) {
	reducedOk, reducedViolation := false, false
	for _, tc := range allCases(t, 1, 2) {
		c := tc.c
		full := checker.Check(c.System, c.Properties, checker.Options{})
		red := checker.Check(c.System, c.Properties, checker.Options{Symmetry: true})
		if full.Verdict != red.Verdict || len(full.Violations) != len(red.Violations) || red.Err != nil {
			t.Errorf("%s: verdict %s (%d violations, %v) with symmetry, %s (%d) without", tc.name, red.Verdict, len(red.Violations), red.Err, full.Verdict, len(full.Violations))
			continue
		}
		for i := range full.Violations {
			fv, rv := full.Violations[i], red.Violations[i]
			if fv.Property != rv.Property || len(fv.Path) != len(rv.Path) {
				t.Errorf("%s: %s in %d steps with symmetry, %s in %d without", tc.name, rv.Property, len(rv.Path), fv.Property, len(fv.Path))
			}
			checkRun(t, tc.name, c, rv)
			if _, err := trace.FromPath(c.System, c.Spec.Name, rv.Property, rv.Path, rv.Loop); err != nil {
				t.Errorf("%s: reduced counterexample does not replay: %v", tc.name, err)
			}
		}
		if red.Stats.States > full.Stats.States {
			t.Errorf("%s: %d states with symmetry > %d without", tc.name, red.Stats.States, full.Stats.States)
		}
		if red.Stats.Symmetry && red.Stats.States < full.Stats.States {
			if red.Verdict == checker.Violation {
				reducedViolation = true
			} else {
				reducedOk = true
			}
		}
	}
	if !reducedOk || !reducedViolation {
		t.Errorf("symmetry reduced an ok scenario: %v, a violating one: %v; want both", reducedOk, reducedViolation)
	}
}

// TestSymmetricPropertiesAreSymmetric: on every scenario with
// interchangeable devices, every property that declares it treats devices
// alike has the same value on a reachable state (or step) and on its image
// under each checked swap of devices, and the canonical representative of
// a state and of its image are the same.
func TestSymmetricPropertiesAreSymmetric(t *testing.T) {
	checked := 0
	for _, tc := range allCases(t, 2) {
		sys := tc.c.System
		swaps := sys.Swaps()
		if len(swaps) == 0 {
			continue
		}
		var names []string
		for _, n := range props.Names() {
			if props.Defs[n].Symmetric {
				names = append(names, n)
			}
		}
		ps, err := props.Build(sys, names)
		if err != nil {
			t.Fatal(err)
		}
		canon := sys.NewCanonicalizer()
		c1, c2 := make([]byte, sys.Size()), make([]byte, sys.Size())
		img, imgNext := make(model.State, sys.Size()), make(model.State, sys.Size())
		bad := map[string]bool{}
		init := sys.Initial()
		seen := map[string]bool{string(init): true}
		queue := []model.State{init}
		buf := make(model.State, sys.Size())
		for len(queue) > 0 {
			st := queue[0]
			queue = queue[1:]
			for _, sw := range swaps {
				sw.State(st, img)
				canon.Canonical(st, c1)
				canon.Canonical(img, c2)
				if string(c1) != string(c2) {
					bad["canonical form differs on a state and its image"] = true
				}
				for _, p := range ps {
					if p.Kind == checker.Eventually && p.State(st) != p.State(img) {
						bad[p.Name] = true
					}
				}
			}
			sys.Successors(st, buf, func(tr *model.Transition, next model.State) bool {
				for _, sw := range swaps {
					sw.State(st, img)
					sw.State(next, imgNext)
					id := int32(sw.Transition(tr.ID))
					for _, p := range ps {
						switch p.Kind {
						case checker.StepInvariant:
							if p.Step(st, int32(tr.ID), next) != p.Step(img, id, imgNext) {
								bad[p.Name] = true
							}
						case checker.Invariant:
							if p.State(next) != p.State(imgNext) {
								bad[p.Name] = true
							}
						}
					}
				}
				if !seen[string(next)] {
					seen[string(next)] = true
					queue = append(queue, append(model.State(nil), next...))
				}
				return true
			})
			checked++
		}
		for k := range bad {
			t.Errorf("%s: %s does not respect the symmetry", tc.name, k)
		}
	}
	if checked == 0 {
		t.Error("no scenario has interchangeable devices")
	}
}

// TestSymmetryGroupsAreChecked: devices that look alike but do not behave
// alike are not grouped. Two disks removed by the same libxl differ only
// in their initial state (one connected, one closed): every role,
// relative path and count matches, but the swap does not map the initial
// state onto itself. With the same initial state they are grouped.
func TestSymmetryGroupsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		second string
		groups int
	}{{"connected", 1}, {"closed", 0}} {
		sp, err := scenario.Parse("two-disks.toml", []byte(`
[toolstack]
kind = "libxl"
version = "4.17"
[[domain]]
name = "G"
id = 1
kind = "pv"
[[device]]
name = "xvda"
kind = "vbd"
frontend = "G"
devid = 51712
state = "connected"
[[device]]
name = "xvdb"
kind = "vbd"
frontend = "G"
devid = 51728
state = "`+tc.second+`"
[[operation]]
kind = "remove"
device = "xvda"
[[operation]]
kind = "remove"
device = "xvdb"
[check]
properties = ["result-reflects-state"]
expect = "ok"
`))
		if err != nil {
			t.Fatal(err)
		}
		c, err := scenario.Build(sp)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(c.System.SymmetryGroups()); got != tc.groups {
			t.Errorf("second disk %s: %d symmetry groups; want %d", tc.second, got, tc.groups)
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

// TestSymmetryNeedsSymmetricProperties: a property that does not declare
// that it treats devices alike turns symmetry reduction off, and the
// result says why.
func TestSymmetryNeedsSymmetricProperties(t *testing.T) {
	c, err := bench.AttachDetach(2)
	if err != nil {
		t.Fatal(err)
	}
	ps := append([]checker.Property(nil), c.Properties...)
	ps[0].Symmetric = false
	res := checker.Check(c.System, ps, checker.Options{Symmetry: true})
	if res.Stats.Symmetry || res.Stats.States != 16488 || len(res.Notes) != 1 {
		t.Errorf("symmetry %v, %d states, notes %q; want no symmetry, 16488 states and one note", res.Stats.Symmetry, res.Stats.States, res.Notes)
	}
}
