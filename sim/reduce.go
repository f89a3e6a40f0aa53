package sim

import "github.com/xbcheck/xbcheck/model"

// Reduce shortens a failing untimed run, as a delta-debugging reducer:
// it drops one step at a time and replays the rest, skipping the steps
// that are no longer enabled, and keeps the shorter run whenever the
// same property still fails (for a property checked at the end of a run,
// the shorter run must end too). It repeats until no single drop helps,
// so the result is 1-minimal: removing any one of its steps loses the
// violation. A run that did not fail, or ran on a clock, is returned as
// is (cloned). A shortened run's Scheduler ends in "/reduced".
func (s *Sim) Reduce(r *Result) *Result {
	if !r.Failed() || r.clocked {
		return r.Clone()
	}
	orig := r.Clone() // r belongs to the Sim: the runs below overwrite it
	best := orig
	want := orig.Violations[0]
	l := &lenient{}
	cand := make([]int32, 0, len(best.Path))
	for improved := true; improved; {
		improved = false
		for i := len(best.Path) - 1; i >= 0; i-- {
			if i >= len(best.Path) {
				continue
			}
			cand = append(append(cand[:0], best.Path[:i]...), best.Path[i+1:]...)
			l.ids = cand
			got := s.Run(l, 0, len(cand))
			if len(got.Path) < len(best.Path) && violates(got, want) {
				best = got.Clone()
				improved = true
			}
		}
	}
	if best != orig {
		best.Scheduler, best.Seed = orig.Scheduler+"/reduced", orig.Seed
	}
	return best
}

func violates(r *Result, want Violation) bool {
	for _, v := range r.Violations {
		if v.Property == want.Property {
			return true
		}
	}
	return false
}

// lenient replays transition ids, skipping those not enabled, and stops
// the run when they run out.
type lenient struct {
	ids []int32
	pos int
}

func (l *lenient) Name() string                { return "lenient" }
func (l *lenient) Start(*model.System, uint64) { l.pos = 0 }
func (l *lenient) Pick(e *Enabled) int {
	for ; l.pos < len(l.ids); l.pos++ {
		if i := e.Index(l.ids[l.pos]); i >= 0 {
			l.pos++
			return i
		}
	}
	return -1
}
