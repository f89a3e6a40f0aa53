package model_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/model"
)

// succ is one successor as Successors yields it.
type succ struct {
	ID   int
	Next string
}

func successors(sys *model.System, st model.State) []succ {
	var out []succ
	sys.Successors(st, make(model.State, sys.Size()), func(t *model.Transition, next model.State) bool {
		out = append(out, succ{t.ID, string(next)})
		return true
	})
	return out
}

// TestCompiledMatchesInterpreter: on every reachable state of every
// scenario, and of the benchmark family for N = 2, under both timer
// semantics, the compiled guards (compile.go) yield exactly the
// interpreter's successors, transitions and states, in the same order;
// and every byte a successor changes is in a word its transition's
// WriteWords give (which the checker's fingerprints rely on).
func TestCompiledMatchesInterpreter(t *testing.T) {
	type system struct {
		name string
		sys  *model.System
	}
	var systems []system
	loaded := loadSystems(t, "../scenarios/*.toml")
	for _, name := range slices.Sorted(maps.Keys(loaded)) {
		systems = append(systems, system{name, loaded[name]})
	}
	c, err := bench.AttachDetach(2)
	if err != nil {
		t.Fatal(err)
	}
	systems = append(systems, system{"attach-detach-2", c.System})
	// Breadth-first, at most perSystem states of each system and timer
	// semantics: every state of every scenario but the biggest, whose
	// first levels are compared.
	const perSystem = 50000
	total, whole := 0, 0
	for _, sc := range systems {
		for _, timers := range []model.TimerSemantics{model.LastResort, model.AnyTime} {
			fast := sc.sys.WithTimers(timers)
			ww := fast.WriteWords()
			slow := fast.Interpreted()
			init := fast.Initial()
			seen := map[string]bool{string(init): true}
			queue := []model.State{init}
			n := 0
			for len(queue) > 0 && n < perSystem {
				n++
				st := queue[0]
				queue = queue[1:]
				got, want := successors(fast, st), successors(slow, st)
				if !slices.Equal(got, want) {
					diff := cmp.Diff(want, got)
					t.Fatalf("%s (timers %d): the compiled successors of\n%s\ndiffer from the interpreter's (-interpreted +compiled):\n%s", sc.name, timers, fast.Describe(st), diff)
				}
				for _, sc2 := range want {
					if ww == nil {
						break
					}
					for o := range st {
						if st[o] != sc2.Next[o] && ww[sc2.ID]&(1<<(o/8)) == 0 {
							t.Fatalf("%s: %s changes %s, outside its WriteWords", sc.name, fast.Trans[sc2.ID].Name, fast.OffsetName(o))
						}
					}
				}
				total++
				slow.Successors(st, make(model.State, slow.Size()), func(_ *model.Transition, next model.State) bool {
					if !seen[string(next)] {
						seen[string(next)] = true
						queue = append(queue, append(model.State(nil), next...))
					}
					return true
				})
			}
			if len(queue) == 0 {
				whole++
			}
		}
	}
	t.Logf("%d states compared, the whole state space of %d of %d systems", total, whole, 2*len(systems))
	if total < 30000 {
		t.Errorf("only %d states compared", total)
	}
}

// BenchmarkSuccessors generates the successors of the first 100,000
// states (breadth-first) of the benchmark family for N = 3, through the
// compiled guards, the guards generated to Go (gen.go) and the
// interpreter alone.
func BenchmarkSuccessors(b *testing.B) {
	c, err := bench.AttachDetach(3)
	if err != nil {
		b.Fatal(err)
	}
	sys := c.System
	gen, err := bench.AttachDetachGenerated(3)
	if err != nil {
		b.Fatal(err)
	}
	init := sys.Initial()
	seen := map[string]bool{string(init): true}
	states := []model.State{init}
	buf := make(model.State, sys.Size())
	for i := 0; i < len(states) && len(states) < 100000; i++ {
		sys.Successors(states[i], buf, func(_ *model.Transition, next model.State) bool {
			if !seen[string(next)] {
				seen[string(next)] = true
				states = append(states, append(model.State(nil), next...))
			}
			return true
		})
	}
	flat := make([]byte, 0, len(states)*sys.Size())
	for _, st := range states {
		flat = append(flat, st...)
	}
	for _, sc := range []struct {
		name string
		sys  *model.System
	}{{"compiled", sys}, {"generated", gen.System}, {"interpreted", sys.Interpreted()}} {
		b.Run(sc.name, func(b *testing.B) {
			n, size := 0, sys.Size()
			yield := func(*model.Transition, model.State) bool { n++; return true }
			for i := 0; i < b.N; i++ {
				for k := 0; k+size <= len(flat); k += size {
					sc.sys.Successors(flat[k:k+size], buf, yield)
				}
			}
			b.ReportMetric(float64(len(states))*float64(b.N)/b.Elapsed().Seconds(), "states/s")
		})
	}
}
