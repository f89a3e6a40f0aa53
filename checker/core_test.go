package checker_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

// case_ is one model with its properties, for the tests that run every
// scenario and the benchmark family.
type case_ struct {
	name string
	c    *scenario.Compiled
}

func allCases(t *testing.T, family ...int) []case_ {
	t.Helper()
	files, _ := filepath.Glob("../scenarios/*.toml")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	var out []case_
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, case_{filepath.Base(f), c})
	}
	for _, n := range family {
		c, err := bench.AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, case_{fmt.Sprintf("attach-detach-%d", n), c})
		if n >= 2 {
			// The same model with a violation deep in wide levels, so that
			// which of many shortest runs is reported shows.
			d, err := bench.AttachDetach(n)
			if err != nil {
				t.Fatal(err)
			}
			sys := d.System
			connected := model.StateConnected.Value()
			d.Properties = append(d.Properties, checker.Property{Name: "never-all-connected", Kind: checker.Invariant, Symmetric: true,
				State: func(st []byte) bool {
					for i := range sys.Devices {
						if sys.Get(st, sys.Devices[i].FEState) != connected {
							return true
						}
					}
					return false
				}})
			out = append(out, case_{fmt.Sprintf("attach-detach-%d-all-connected", n), d})
		}
	}
	return out
}

// outcome is what must not depend on how the search ran: the verdict, the
// counts and the counterexamples.
type outcome struct {
	Verdict     checker.Verdict
	States      int
	Transitions int
	Depth       int
	Complete    bool
	Reduced     int
	Violations  []checker.Counterexample
}

func outcomeOf(r checker.Result) outcome {
	return outcome{r.Verdict, r.Stats.States, r.Stats.Transitions, r.Stats.Depth, r.Stats.Complete, r.Stats.Reduced, r.Violations}
}

// TestWorkersAgree: every scenario and the benchmark family (N = 1, 2)
// give the same verdicts, counts and counterexamples with 1, 2, 3 and 8
// workers, unreduced, with symmetry, and with partial-order reduction
// (its own counterexamples, before any search again).
func TestWorkersAgree(t *testing.T) {
	for _, tc := range allCases(t, 1, 2) {
		for _, mode := range []string{"plain", "symmetry", "por"} {
			var want outcome
			for i, w := range []int{1, 2, 3, 8} {
				opt := checker.Options{Workers: w}
				switch mode {
				case "symmetry":
					opt.Symmetry = true
				case "por":
					opt.POR, opt.ReducedCounterexamples = tc.c.POR, true
				}
				got := outcomeOf(checker.Check(tc.c.System, tc.c.Properties, opt))
				if i == 0 {
					want = got
					continue
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s (%s): %d workers differ from 1 (-1 +%d):\n%s", tc.name, mode, w, w, diff)
				}
			}
		}
	}
}

// TestExactAgrees: storing full states (Options.Exact) gives the
// fingerprinted run's verdicts, counts and counterexamples on every
// scenario and the benchmark family, and another hash seed changes
// nothing either.
func TestExactAgrees(t *testing.T) {
	for _, tc := range allCases(t, 1, 2) {
		fp := checker.Check(tc.c.System, tc.c.Properties, checker.Options{Symmetry: true})
		for _, opt := range []checker.Options{{Symmetry: true, Exact: true}, {Symmetry: true, HashSeed: 0x9e3779b97f4a7c15}} {
			got := checker.Check(tc.c.System, tc.c.Properties, opt)
			if diff := cmp.Diff(outcomeOf(fp), outcomeOf(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: exact=%v seed=%#x differs from the fingerprinted run (-fingerprints +other):\n%s", tc.name, opt.Exact, opt.HashSeed, diff)
			}
			if opt.Exact && !got.Stats.Exact {
				t.Errorf("%s: Stats.Exact = false with Options.Exact", tc.name)
			}
			if !opt.Exact && got.Stats.Exact != fp.Stats.Exact {
				t.Errorf("%s: Stats.Exact %v with another seed, %v before", tc.name, got.Stats.Exact, fp.Stats.Exact)
			}
		}
	}
}
