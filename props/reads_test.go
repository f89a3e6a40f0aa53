package props_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/props"
	"github.com/xbcheck/xbcheck/scenario"
)

type step struct {
	pre, post model.State
	id        int32
}

// reachable returns every reachable transition of a small system.
func reachable(sys *model.System) []step {
	var out []step
	sys.Walk(nil, func(st model.State, t *model.Transition, next model.State) bool {
		out = append(out, step{append(model.State(nil), st...), append(model.State(nil), next...), int32(t.ID)})
		return true
	})
	return out
}

// maxSteps bounds the steps tried per scenario.
const maxSteps = 3000

// perturbations of byte value v: the small values states use, and a
// neighbour of v.
func perturbations(v byte) []byte {
	out := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, v + 1}
	return out
}

// TestPropertyReadsAreComplete ties what each safety property declares it
// reads (props.Visible, which partial-order reduction trusts) to its
// predicate: on every reachable transition of every scenario (every k-th
// of the few large ones), changing any
// byte the property does not declare, before or after the step, never
// changes the predicate's value, and a predicate that inspects marks
// declares it.
func TestPropertyReadsAreComplete(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.toml")
	var names []string
	for _, n := range props.Names() {
		if props.Defs[n].Kind != checker.Eventually && props.Defs[n].Kind != checker.Deadlock {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		sys := c.System
		steps := reachable(sys)
		if len(steps) > maxSteps {
			// The large scenarios (two disks) repeat the small ones'
			// devices: every k-th step keeps the test fast.
			var some []step
			for i := 0; i < len(steps); i += len(steps)/maxSteps + 1 {
				some = append(some, steps[i])
			}
			steps = some
		}
		for _, name := range names {
			reads, marks, ok := props.Visible(sys, []string{name})
			if !ok {
				t.Fatalf("%s: no reads declared", name)
			}
			ps, err := props.Build(sys, []string{name})
			if err != nil {
				t.Fatal(err)
			}
			p := ps[0]
			eval := func(pre model.State, id int32, post model.State) (v bool, panicked bool) {
				defer func() {
					if recover() != nil {
						panicked = true
					}
				}()
				if p.Kind == checker.Invariant {
					return p.State(post), false
				}
				return p.Step(pre, id, post), false
			}
			bad := map[string]bool{}
			for _, s := range steps {
				want, _ := eval(s.pre, s.id, s.post)
				if tr := &sys.Trans[s.id]; !marks && len(tr.Marks) > 0 {
					saved := tr.Marks
					tr.Marks = nil
					got, panicked := eval(s.pre, s.id, s.post)
					tr.Marks = saved
					if panicked || got != want {
						bad[fmt.Sprintf("the marks of %q", tr.Name)] = true
					}
				}
				for side, st := range [2]model.State{s.pre, s.post} {
					for o := range st {
						if reads[o] {
							continue
						}
						orig := st[o]
						for _, v := range perturbations(orig) {
							if v == orig {
								continue
							}
							st[o] = v
							got, panicked := eval(s.pre, s.id, s.post)
							st[o] = orig
							if panicked || got != want {
								bad[fmt.Sprintf("%s byte %d (%s)", [2]string{"pre", "post"}[side], o, describe(sys, o))] = true
							}
						}
					}
				}
			}
			if len(bad) > 0 {
				var list []string
				for k := range bad {
					list = append(list, k)
				}
				sort.Strings(list)
				t.Errorf("%s: %s reads what it does not declare: %v", filepath.Base(f), name, list)
			}
		}
	}
}

// describe names state offset o.
func describe(sys *model.System, o int) string {
	return sys.OffsetName(o)
}

// TestStepReadsAreComplete ties the per-step reads of the step invariants
// that declare them (model.Visibility.Steps, which partial-order reduction
// trusts: it keeps only these bytes from changing around the property's
// own steps) to their predicates: on every reachable transition of every
// scenario (every k-th of the large ones), changing any byte of the state
// before the step that the property does not declare for that transition,
// in a state where the transition is still enabled, and taking the
// transition's result as the state after, never changes the predicate's
// value. A change that leaves a node without its parent, or a missing
// node with a child, is no state and is not tried. Some property must
// declare per-step reads, and some step must declare some, or the test
// shows nothing.
func TestStepReadsAreComplete(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.toml")
	declared, judged := 0, 0
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		sys := c.System
		pathAt := map[int]model.PathID{}
		for i := range sys.Paths {
			pathAt[sys.PathOffset(model.PathID(i))] = model.PathID(i)
		}
		steps := reachable(sys)
		if len(steps) > maxSteps {
			var some []step
			for i := 0; i < len(steps); i += len(steps)/maxSteps + 1 {
				some = append(some, steps[i])
			}
			steps = some
		}
		for _, name := range props.Names() {
			if props.Defs[name].Kind != checker.StepInvariant {
				continue
			}
			v, ok := props.VisibilityOf(sys, []string{name})
			if !ok {
				t.Fatalf("%s: no reads declared", name)
			}
			if v.Steps == nil {
				continue
			}
			declared++
			ps, err := props.Build(sys, []string{name})
			if err != nil {
				t.Fatal(err)
			}
			p := ps[0]
			var post model.State // (eval's, reused)
			eval := func(pre model.State, id int32) (v bool, ok bool) {
				defer func() {
					if recover() != nil {
						ok = false
					}
				}()
				post = sys.AppendApply(post, pre, &sys.Trans[id])
				return p.Step(pre, id, post), true
			}
			bad := map[string]bool{}
			for _, s := range steps {
				tr := &sys.Trans[s.id]
				reads := map[int]bool{}
				for _, o := range v.Steps[s.id] {
					reads[o] = true
				}
				if len(reads) > 0 {
					judged++
				}
				want := p.Step(s.pre, s.id, s.post)
				if len(reads) == 0 && !want {
					// The checker does not call Step on such a step
					// (Property.Judges).
					bad[fmt.Sprintf("fails on %q, a step it declares no reads for", tr.Name)] = true
				}
				if p.Judges(s.id) != (len(reads) > 0) {
					bad[fmt.Sprintf("Judges(%q) is %v with %d reads declared", tr.Name, p.Judges(s.id), len(reads))] = true
				}
				pre := append(model.State(nil), s.pre...)
				for o := range pre {
					if reads[o] {
						continue
					}
					orig := pre[o]
					for _, x := range perturbations(orig) {
						if x == orig {
							continue
						}
						pre[o] = x
						if q, isPath := pathAt[o]; isPath && !wellFormed(sys, pre, q) {
							pre[o] = orig
							continue
						}
						got, ok := eval(pre, s.id)
						if ok && got != want && sys.Enabled(pre, tr) {
							bad[fmt.Sprintf("byte %d (%s) on %q", o, describe(sys, o), tr.Name)] = true
						}
						pre[o] = orig
					}
				}
			}
			if len(bad) > 0 {
				var list []string
				for k := range bad {
					list = append(list, k)
				}
				sort.Strings(list)
				t.Errorf("%s: %s reads on a step what it does not declare for it: %v", filepath.Base(f), name, list)
			}
		}
	}
	if declared == 0 || judged == 0 {
		t.Errorf("%d properties declare per-step reads, on %d steps: the test shows nothing", declared, judged)
	}
}

// wellFormed reports whether node q, in st, has its parent if it exists
// and no child if it is missing.
func wellFormed(sys *model.System, st model.State, q model.PathID) bool {
	if sys.Exists(st, q) {
		par := sys.Paths[q].Parent
		return par == model.NoPath || sys.Exists(st, par)
	}
	for _, c := range sys.Paths[q].Children {
		if sys.Exists(st, c) {
			return false
		}
	}
	return true
}
