package checker_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
)

// TestPORAgrees: with and without partial-order reduction every scenario
// gets the same verdict and the same counterexamples, and the reduced
// search never explores more states.
func TestPORAgrees(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.toml")
	reducedSomewhere := false
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if c.POR == nil {
			continue // eventually-properties: never reduced
		}
		full := checker.Check(c.System, c.Properties, checker.Options{})
		red := checker.Check(c.System, c.Properties, checker.Options{Ample: c.POR.Ample})
		if full.Verdict != red.Verdict {
			t.Errorf("%s: verdict %s with POR, %s without", f, red.Verdict, full.Verdict)
			continue
		}
		if diff := cmp.Diff(full.Violations, red.Violations); diff != "" {
			t.Errorf("%s: counterexamples differ with POR (-without +with):\n%s", f, diff)
		}
		if red.Stats.States > full.Stats.States {
			t.Errorf("%s: %d states with POR > %d without", f, red.Stats.States, full.Stats.States)
		}
		if red.Stats.Reduced > 0 {
			reducedSomewhere = true
		}
	}
	if !reducedSomewhere {
		t.Log("no scenario's search used an ample set")
	}
}

// TestPOROnTheBenchmark pins what partial-order reduction does on the
// benchmark family.
func TestPOROnTheBenchmark(t *testing.T) {
	for _, n := range []int{1, 2} {
		c, err := bench.AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		full := checker.Check(c.System, c.Properties, checker.Options{})
		red := checker.Check(c.System, c.Properties, checker.Options{Ample: c.POR.Ample})
		safe, total := c.POR.Safe()
		t.Logf("N=%d: %d states without POR, %d with (%d expanded through an ample set); %d of %d actor locations qualify",
			n, full.Stats.States, red.Stats.States, red.Stats.Reduced, safe, total)
		if red.Verdict != checker.Ok || red.Stats.States > full.Stats.States {
			t.Errorf("N=%d: %s with %d states; want ok with at most %d", n, red.Verdict, red.Stats.States, full.Stats.States)
		}
	}
}
