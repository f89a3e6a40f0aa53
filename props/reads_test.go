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
