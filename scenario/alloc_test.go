package scenario_test

import (
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

// TestSuccessorsDoNotAllocate: the checker's inner loop (successor
// generation and fingerprinting) allocates nothing.
func TestSuccessorsDoNotAllocate(t *testing.T) {
	c, err := scenario.Load("../scenarios/vbd-add-4.17.toml")
	if err != nil {
		t.Fatal(err)
	}
	sys := c.System
	st := sys.Initial()
	buf := make(model.State, sys.Size())
	var sum uint64
	yield := func(_ *model.Transition, next model.State) bool {
		sum += model.Fingerprint(next)
		return true
	}
	allocs := testing.AllocsPerRun(100, func() { sys.Successors(st, buf, yield) })
	if allocs != 0 {
		t.Errorf("Successors+Fingerprint allocate %.1f times per state; want 0", allocs)
	}
}

func BenchmarkCheckScenarios(b *testing.B) {
	for _, f := range []string{"seed3-concurrent-attach-4.17", "seed4-xend-vfb-first-liveness", "vbd-add-4.17"} {
		c, err := scenario.Load("../scenarios/" + f + ".toml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f, func(b *testing.B) {
			states := 0
			for i := 0; i < b.N; i++ {
				states = checkStates(c)
			}
			b.ReportMetric(float64(states), "states")
		})
	}
}
