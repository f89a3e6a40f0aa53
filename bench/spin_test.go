package bench

import (
	"context"
	"testing"

	"github.com/xbcheck/xbcheck/checker"
)

// TestSPINCountsTheSameStates: the Promela translation of the benchmark
// has exactly the checker's reachable states, so the two tools are timed
// on the same state space.
func TestSPINCountsTheSameStates(t *testing.T) {
	if !HaveSPIN() {
		t.Skip("spin or gcc not installed: `make bench-deps` (apt-get install spin) enables the SPIN comparison")
	}
	for _, n := range []int{1, 2} {
		c, err := AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		pml, err := c.System.Promela()
		if err != nil {
			t.Fatal(err)
		}
		want := checker.Check(c.System, c.Properties, checker.Options{}).Stats
		got, err := RunSPIN(context.Background(), pml, SPINModes[0], 1024, 18, "-O0")
		if err != nil {
			t.Fatal(err)
		}
		if got.States != want.States {
			t.Errorf("N=%d: SPIN stored %d states; xbcheck explored %d", n, got.States, want.States)
		}
		// SPIN counts one more transition: the initial state's arrival.
		if got.Transitions != want.Transitions+1 {
			t.Errorf("N=%d: SPIN counted %d transitions; xbcheck %d (+1 expected)", n, got.Transitions, want.Transitions)
		}
	}
}
