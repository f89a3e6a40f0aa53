package bench

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/bench/family"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// TestGeneratedUpToDate: the generated guards in the package are what the
// model generates now (go generate ./bench writes them again).
func TestGeneratedUpToDate(t *testing.T) {
	for n := 1; n <= MaxGenerated; n++ {
		want, err := family.Generate(n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(family.GeneratedFile(n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale (-file +generated):\n%s\nrun go generate ./bench", family.GeneratedFile(n), cmp.Diff(string(got), string(want)))
		}
	}
}

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

// TestGeneratedMatchesTables: on every reachable state of N = 1 and 2 and
// the first 200,000 of N = 3 (breadth-first), under both timer semantics
// (AnyTime lets timers fire at any time: more states),
// the generated guards yield exactly the successors of the compiled
// tables (which model's TestCompiledMatchesInterpreter checks against the
// interpreter): the same transitions and states, in the same order.
func TestGeneratedMatchesTables(t *testing.T) {
	for n := 1; n <= MaxGenerated; n++ {
		tables, err := AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := AttachDetachGenerated(n)
		if err != nil {
			t.Fatal(err)
		}
		if !gen.System.Generated() || tables.System.Generated() {
			t.Fatalf("N=%d: Generated() = %v for the generated system, %v for the tables'", n, gen.System.Generated(), tables.System.Generated())
		}
		for _, timers := range []model.TimerSemantics{model.LastResort, model.AnyTime} {
			want, got := tables.System.WithTimers(timers), gen.System.WithTimers(timers)
			init := want.Initial()
			seen := map[string]bool{string(init): true}
			queue := []model.State{init}
			compared := 0
			for len(queue) > 0 && (n < 3 || compared < 200000) {
				st := queue[0]
				queue = queue[1:]
				w, g := successors(want, st), successors(got, st)
				if !slices.Equal(w, g) {
					t.Fatalf("N=%d (timers %d): the generated successors of\n%s\ndiffer from the tables' (-tables +generated):\n%s", n, timers, want.Describe(st), cmp.Diff(w, g))
				}
				compared++
				for _, s := range w {
					if !seen[s.Next] {
						seen[s.Next] = true
						queue = append(queue, model.State(s.Next))
					}
				}
			}
			t.Logf("N=%d (timers %d): %d states compared", n, timers, compared)
		}
	}
}

// TestGeneratedCounts: the checker finds the same states and transitions
// and the same verdict with the generated guards as with the tables.
func TestGeneratedCounts(t *testing.T) {
	for n := 1; n <= MaxGenerated; n++ {
		tables, _ := AttachDetach(n)
		gen, err := AttachDetachGenerated(n)
		if err != nil {
			t.Fatal(err)
		}
		want := checker.Check(tables.System, tables.Properties, checker.Options{})
		got := checker.Check(gen.System, gen.Properties, checker.Options{})
		if got.Verdict != want.Verdict || got.Stats.States != want.Stats.States || got.Stats.Transitions != want.Stats.Transitions {
			t.Errorf("N=%d: generated %s, %d states, %d transitions; tables %s, %d, %d", n,
				got.Verdict, got.Stats.States, got.Stats.Transitions, want.Verdict, want.Stats.States, want.Stats.Transitions)
		}
	}
}

// TestGeneratedRefusesOtherSystems: guards generated for one N are not
// taken for another, whose offsets and transitions differ.
func TestGeneratedRefusesOtherSystems(t *testing.T) {
	c, err := AttachDetach(3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.System.WithGenerated(generated[2])
	if err == nil || !strings.Contains(err.Error(), "generate them again") {
		t.Errorf("N=3 with N=2's guards: err = %v, want one that says to generate them again", err)
	}
	if _, err := AttachDetachGenerated(MaxGenerated + 1); err == nil {
		t.Errorf("N=%d: no error, though no guards are generated for it", MaxGenerated+1)
	}
}
