package bench

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/props"
	"github.com/xbcheck/xbcheck/scenario"
)

// TestSPINCountsTheSameStates: the Promela translation of the benchmark,
// with the same properties as assertions and the deadlock check, has
// exactly the checker's reachable states in SPIN's depth-first mode (and
// hash-compaction mode, N = 1), so the tools are timed on the same state space
// doing the same work, and neither finds a violation.
func TestSPINCountsTheSameStates(t *testing.T) {
	needSPIN(t)
	for _, n := range []int{1, 2} {
		c, err := AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		pml, err := props.Promela(c.System, c.Spec.Check.Properties, false)
		if err != nil {
			t.Fatal(err)
		}
		want := checker.Check(c.System, c.Properties, checker.Options{}).Stats
		modes := []SPINMode{SPINDFS}
		if n == 1 {
			modes = append(modes, SPINHC4) // the same model, hashed
		}
		for _, mode := range modes {
			got, err := RunSPIN(context.Background(), pml, mode, 1024, 18, CountOnly)
			if err != nil {
				t.Fatal(err)
			}
			if got.States != want.States || got.Errors != 0 {
				t.Errorf("N=%d %s: SPIN stored %d states with %d errors; xbcheck explored %d, ok", n, mode.Name, got.States, got.Errors, want.States)
			}
			// SPIN counts one more transition: the initial state's arrival.
			if got.Transitions != want.Transitions+1 {
				t.Errorf("N=%d %s: SPIN counted %d transitions; xbcheck %d (+1 expected)", n, mode.Name, got.Transitions, want.Transitions)
			}
		}
	}
}

// TestSPINFindsTheSameViolations: on every scenario that translates (its
// properties are safety properties, under the oxenstored conflict rule),
// SPIN with the translated assertions and deadlock check finds exactly the
// properties the checker finds violated, and states as many states when
// nothing is violated.
func TestSPINFindsTheSameViolations(t *testing.T) {
	needSPIN(t)
	files, _ := filepath.Glob("../scenarios/*.toml")
	type job struct {
		name string
		c    *scenario.Compiled
		pml  string
	}
	var jobs []job
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		pml, err := props.Promela(c.System, c.Spec.Check.Properties, false)
		if err != nil {
			continue // an eventually-property, or C xenstored
		}
		jobs = append(jobs, job{filepath.Base(f), c, pml})
	}
	if len(jobs) < 10 {
		t.Fatalf("only %d scenarios translate", len(jobs))
	}
	var wg sync.WaitGroup
	sem := make(chan bool, 2)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- true
			defer func() { <-sem }()
			res := checker.Check(j.c.System, j.c.Properties, checker.Options{Workers: 1})
			var want []string
			for _, v := range res.Violations {
				want = append(want, v.Property)
			}
			sort.Strings(want)
			// Explore everything: -c0 goes on after errors.
			got, err := RunSPIN(context.Background(), j.pml, SPINDFS, 512, 16, CountOnly, "-c0")
			if err != nil {
				t.Errorf("%s: %v", j.name, err)
				return
			}
			if diff := cmp.Diff(want, got.Violations); diff != "" {
				t.Errorf("%s: violated properties differ (-xbcheck +SPIN):\n%s", j.name, diff)
			}
			if len(want) == 0 && got.States != res.Stats.States {
				t.Errorf("%s: SPIN stored %d states; xbcheck explored %d", j.name, got.States, res.Stats.States)
			}
		}()
	}
	wg.Wait()
}

// needSPIN skips the test without spin or gcc, or fails it under CI=true,
// where `make test` installs them (make bench-deps).
func needSPIN(t *testing.T) {
	t.Helper()
	if HaveSPIN() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("spin or gcc is not installed (make test installs them: make bench-deps)")
	}
	t.Skip("spin or gcc is not installed: `make bench-deps` (apt-get install spin gcc tcc) enables the SPIN comparison")
}
