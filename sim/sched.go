package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/xbcheck/xbcheck/model"
)

// A FaultPoint injects a fault at a chosen point of a run: at the first
// step at or after Step where a transition with that Fault name is
// enabled.
type FaultPoint struct {
	Step  int
	Fault string
}

// ParseFaultPoint reads "NAME@STEP", e.g. "eagain@3" or
// "domain-destroy:D@5".
func ParseFaultPoint(s string) (FaultPoint, error) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 {
		return FaultPoint{}, fmt.Errorf("fault point %q: want NAME@STEP", s)
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 {
		return FaultPoint{}, fmt.Errorf("fault point %q: want a step number from 1", s)
	}
	return FaultPoint{Step: n, Fault: s[:i]}, nil
}

func (p FaultPoint) String() string { return fmt.Sprintf("%s@%d", p.Fault, p.Step) }

// faults is the fault policy the seeded schedulers share.
type faults struct {
	prob   float64
	points []FaultPoint
	done   []bool
}

func newFaults(prob float64, points []FaultPoint) faults {
	return faults{prob: prob, points: points, done: make([]bool, len(points))}
}

func (f *faults) start() { clear(f.done) }

// pick returns a fault step to take, if the policy wants one now: when
// nothing else is enabled, at a due fault point, or at random.
func (f *faults) pick(e *Enabled, r *rand.Rand) (int, bool) {
	fl := e.Faults()
	if len(fl) == 0 {
		return 0, false
	}
	if len(e.Plain()) == 0 {
		return fl[r.IntN(len(fl))], true
	}
	for j, p := range f.points {
		if f.done[j] || e.Step < p.Step {
			continue
		}
		for _, i := range fl {
			if e.Transition(i).Fault == p.Fault {
				f.done[j] = true
				return i, true
			}
		}
	}
	if f.prob > 0 && r.Float64() < f.prob {
		return fl[r.IntN(len(fl))], true
	}
	return 0, false
}

func (f *faults) suffix() string {
	var b strings.Builder
	if f.prob > 0 {
		fmt.Fprintf(&b, ",faults=%g", f.prob)
	}
	for _, p := range f.points {
		fmt.Fprintf(&b, ",fault=%s", p)
	}
	return b.String()
}

// seedStreams derives the generator of a run from its seed.
func seedStream(seed uint64) *rand.PCG { return rand.NewPCG(seed, 0x9e3779b97f4a7c15) }

// Random picks uniformly among the enabled non-fault steps.
type Random struct {
	name   string
	pcg    *rand.PCG
	r      *rand.Rand
	faults faults
}

// NewRandom returns the uniform random scheduler with a fault policy.
func NewRandom(faultProb float64, points []FaultPoint) *Random {
	p := seedStream(0)
	s := &Random{pcg: p, r: rand.New(p), faults: newFaults(faultProb, points)}
	s.name = "random" + paren(s.faults.suffix())
	return s
}

// Name implements Scheduler.
func (s *Random) Name() string { return s.name }

// Start implements Scheduler.
func (s *Random) Start(_ *model.System, seed uint64) {
	s.pcg.Seed(seed, 0x9e3779b97f4a7c15)
	s.faults.start()
}

// Pick implements Scheduler.
func (s *Random) Pick(e *Enabled) int {
	if i, ok := s.faults.pick(e, s.r); ok {
		return i
	}
	p := e.Plain()
	return p[s.r.IntN(len(p))]
}

// paren turns ",a,b" into "(a,b)".
func paren(suffix string) string {
	if suffix == "" {
		return ""
	}
	return "(" + suffix[1:] + ")"
}

// PCT is probabilistic concurrency testing: every actor gets a random
// priority, the highest-priority actor with an enabled step takes it (a
// random one of its steps when it has several), and at d-1 random steps
// among the first k the running actor drops below every other.
type PCT struct {
	name   string
	d, k   int
	pcg    *rand.PCG
	r      *rand.Rand
	faults faults
	prio   []int
	change []int // the steps where priorities change, ascending
	nextCh int
	mine   []int
}

// NewPCT returns a PCT scheduler for bugs of depth d with k the number of
// steps over which the change points are spread (about a run's length).
func NewPCT(d, k int, faultProb float64, points []FaultPoint) *PCT {
	if d < 1 {
		d = 1
	}
	if k < 1 {
		k = 1
	}
	p := seedStream(0)
	s := &PCT{d: d, k: k, pcg: p, r: rand.New(p), faults: newFaults(faultProb, points)}
	s.name = fmt.Sprintf("pct(d=%d,k=%d%s)", s.d, s.k, s.faults.suffix())
	return s
}

// Name implements Scheduler.
func (s *PCT) Name() string { return s.name }

// Start implements Scheduler.
func (s *PCT) Start(sys *model.System, seed uint64) {
	s.pcg.Seed(seed, 0x9e3779b97f4a7c15)
	s.faults.start()
	n := len(sys.Actors)
	if cap(s.prio) < n {
		s.prio = make([]int, n)
	}
	s.prio = s.prio[:n]
	// Initial priorities d .. d+n-1 in random order; change point i
	// (from 1) lowers the running actor to priority d-i.
	for i := range s.prio {
		s.prio[i] = s.d + i
	}
	s.r.Shuffle(n, func(i, j int) { s.prio[i], s.prio[j] = s.prio[j], s.prio[i] })
	s.change = s.change[:0]
	for i := 1; i < s.d; i++ {
		s.change = append(s.change, 1+s.r.IntN(s.k))
	}
	sort.Ints(s.change)
	s.nextCh = 0
}

// Pick implements Scheduler.
func (s *PCT) Pick(e *Enabled) int {
	if i, ok := s.faults.pick(e, s.r); ok {
		return i
	}
	a := e.Top(s.prio)
	for s.nextCh < len(s.change) && s.change[s.nextCh] <= e.Step {
		if s.change[s.nextCh] == e.Step {
			s.prio[a] = s.d - 1 - s.nextCh
			a = e.Top(s.prio)
		}
		s.nextCh++
	}
	s.mine = e.PlainOf(a, s.mine[:0])
	return s.mine[s.r.IntN(len(s.mine))]
}

// Schedule replays a recorded list of transition ids: it stops the run
// (Pick returns -1) when the list runs out or its next transition is not
// enabled; Diverged then says at which step.
type Schedule struct {
	IDs []int32
	// Diverged is the step (from 1) whose transition was not enabled, or 0.
	Diverged int
}

// Name implements Scheduler.
func (s *Schedule) Name() string { return "schedule" }

// Start implements Scheduler.
func (s *Schedule) Start(*model.System, uint64) { s.Diverged = 0 }

// Pick implements Scheduler.
func (s *Schedule) Pick(e *Enabled) int {
	if e.Step > len(s.IDs) {
		return -1
	}
	if i := e.Index(s.IDs[e.Step-1]); i >= 0 {
		return i
	}
	s.Diverged = e.Step
	return -1
}
