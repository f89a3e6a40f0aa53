package checker

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrew runs phases on crews of 1 to 8 workers, back to back (the
// workers catch the next phase spinning) and after pauses longer than
// crewSpin (they sleep and are woken), and checks that each phase runs
// once on every worker, that run returns only when all are done, and
// that close ends the workers' goroutines. A crew that loses a wake-up
// hangs: the test fails after a deadline instead.
func TestCrew(t *testing.T) {
	// Some workers stall after their decrement: past the start of the
	// next phase and past worker 0's spinning.
	var calls atomic.Int64
	crewHook = func() {
		if calls.Add(1)%13 == 0 {
			time.Sleep(2 * crewSpin)
		}
	}
	defer func() { crewHook = nil }()
	for _, n := range []int{1, 2, 3, 8} {
		done := make(chan string, 1)
		go func() {
			c := newCrew(n)
			counts := make([]atomic.Int32, n)
			var active atomic.Int32 // workers inside the phase's function
			for phase := 0; phase < 2000; phase++ {
				var ran atomic.Int32
				c.run(func(w int) {
					active.Add(1)
					switch {
					case phase%7 == 0:
						time.Sleep(50 * time.Microsecond) // an uneven phase
					case phase%3 == w%3:
						runtime.Gosched() // (more workers than processors)
					}
					counts[w].Add(1)
					ran.Add(1)
					active.Add(-1)
				})
				if got := ran.Load(); got != int32(n) || active.Load() != 0 {
					done <- "run returned before every worker was done with the phase"
					return
				}
				for w := range counts {
					if got := counts[w].Load(); got != int32(phase+1) {
						done <- "a worker missed a phase or ran one twice"
						return
					}
				}
				if phase%100 == 99 {
					time.Sleep(3 * crewSpin) // the workers go to sleep
				}
			}
			c.close()
			done <- ""
		}()
		select {
		case msg := <-done:
			if msg != "" {
				t.Fatalf("%d workers: %s", n, msg)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%d workers: the crew hangs (a lost wake-up)", n)
		}
	}
}
