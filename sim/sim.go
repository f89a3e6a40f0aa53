package sim

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// A Sim runs one scenario. It keeps buffers between runs and is not safe
// for concurrent use; make one per goroutine.
type Sim struct {
	// Scenario is the scenario's name and File its file, for traces.
	Scenario string
	File     string

	sys   *model.System
	timed *model.System // sys with AnyTime timers, for the clock
	props []checker.Property
	inv   []int
	stepP []int
	ev    []int
	dead  int

	init  model.State
	cur   model.State
	scr   model.State
	e     Enabled
	held  []bool
	res   Result
	yield func(t *model.Transition, next model.State) bool
}

// New returns a simulator of a compiled scenario.
func New(c *scenario.Compiled) *Sim {
	s := NewSystem(c.System, c.Properties)
	s.Scenario, s.File = c.Spec.Name, c.Spec.File
	if abs, err := filepath.Abs(c.Spec.File); err == nil && c.Spec.File != "" {
		s.File = abs
	}
	return s
}

// NewSystem returns a simulator of sys checking props.
func NewSystem(sys *model.System, props []checker.Property) *Sim {
	timed := *sys // a shallow copy: the same actors and transitions
	timed.Timers = model.AnyTime
	s := &Sim{Scenario: sys.Name, sys: sys, timed: &timed, props: props, dead: -1}
	for i, p := range props {
		switch p.Kind {
		case checker.Invariant:
			s.inv = append(s.inv, i)
		case checker.StepInvariant:
			s.stepP = append(s.stepP, i)
		case checker.Eventually:
			s.ev = append(s.ev, i)
		case checker.Deadlock:
			s.dead = i
		}
	}
	n := sys.Size()
	s.init = sys.Initial()
	s.cur = make(model.State, n)
	s.scr = make(model.State, n)
	s.held = make([]bool, len(props))
	s.e.size = n
	s.yield = func(t *model.Transition, next model.State) bool {
		e := &s.e
		i := len(e.ids)
		e.ids = append(e.ids, int32(t.ID))
		e.next = append(e.next, next...)
		if t.Fault != "" {
			e.faults = append(e.faults, i)
		} else {
			e.plain = append(e.plain, i)
		}
		return true
	}
	return s
}

// System returns the model the simulator drives.
func (s *Sim) System() *model.System { return s.sys }

// Properties returns the properties it checks.
func (s *Sim) Properties() []checker.Property { return s.props }

// An Enabled lists the steps a state enables, as model.Successors yields
// them: actors in declaration order, faults and protocol steps mixed. A
// Scheduler picks one by index. It is valid only during Pick.
type Enabled struct {
	// Step is the number of the step being chosen, from 1.
	Step int
	// Sys is the system stepped (with AnyTime timers under a clock).
	Sys *model.System
	// State is the current state; do not modify it.
	State model.State

	size   int
	ids    []int32
	next   []byte
	plain  []int // indexes of non-fault steps
	faults []int // indexes of fault steps
}

func (e *Enabled) reset() {
	e.ids, e.next, e.plain, e.faults = e.ids[:0], e.next[:0], e.plain[:0], e.faults[:0]
}

// Len is the number of enabled steps.
func (e *Enabled) Len() int { return len(e.ids) }

// Transition returns step i's transition.
func (e *Enabled) Transition(i int) *model.Transition { return &e.Sys.Trans[e.ids[i]] }

// ID returns step i's transition id.
func (e *Enabled) ID(i int) int32 { return e.ids[i] }

// Next returns the state step i leads to; do not modify or keep it.
func (e *Enabled) Next(i int) model.State { return e.next[i*e.size : (i+1)*e.size] }

// Plain returns the indexes of the enabled steps that are not faults.
func (e *Enabled) Plain() []int { return e.plain }

// Faults returns the indexes of the enabled fault steps.
func (e *Enabled) Faults() []int { return e.faults }

// Index returns the index of the step of transition id, or -1 when id is
// not enabled.
func (e *Enabled) Index(id int32) int {
	for i := 0; i < e.Len(); i++ {
		if e.ID(i) == id {
			return i
		}
	}
	return -1
}

// Top returns the actor that has an enabled step that is not a fault and
// the highest priority prio[actor] (among equals, the first in step
// order), or -1 when no such step is enabled. Priority schedulers (PCT,
// simtest's drawn priorities) give the step to it.
func (e *Enabled) Top(prio []int) int {
	best := -1
	for _, i := range e.Plain() {
		a := e.Transition(i).Actor
		if best < 0 || prio[a] > prio[best] {
			best = a
		}
	}
	return best
}

// PlainOf appends to buf the indexes of the enabled steps of actor a that
// are not faults.
func (e *Enabled) PlainOf(a int, buf []int) []int {
	for _, i := range e.Plain() {
		if e.Transition(i).Actor == a {
			buf = append(buf, i)
		}
	}
	return buf
}

// A Scheduler chooses the steps of runs.
type Scheduler interface {
	// Name describes the scheduler and its parameters, e.g. "pct(d=3,k=40)".
	Name() string
	// Start begins a run of sys from its initial state with seed.
	Start(sys *model.System, seed uint64)
	// Pick returns the index of the step to take, or -1 to stop the run.
	Pick(e *Enabled) int
}

// A Clocked scheduler orders steps by a virtual clock: the simulator
// offers it every timer whose actor waits, and records Now after each
// step.
type Clocked interface {
	Scheduler
	// Now is the virtual time of the step Pick chose last.
	Now() time.Duration
}

// An End says why a run stopped.
type End uint8

// The ends of a run.
const (
	// Bound: the step bound was reached.
	Bound End = iota
	// Stopped: no transition is enabled (the model's run ends). A run
	// may also end where only faults are enabled: it is then judged as
	// stopped, and ends Violated when that finds a violation.
	Stopped
	// Violated: a property failed.
	Violated
	// Aborted: the scheduler stopped the run (a replayed schedule ran out
	// or its next step was not enabled).
	Aborted
)

var endNames = [...]string{"bound", "stopped", "violated", "aborted"}

func (e End) String() string { return endNames[e] }

// A Violation is a property that failed during a run.
type Violation struct {
	Property string
	Kind     checker.Kind
	// Step is the number of steps taken when it was found: the violating
	// step for a step invariant, the step into the violating state for an
	// invariant (0: the initial state), the last step for a property
	// checked at the end of the run.
	Step int
}

// A Result is one run.
type Result struct {
	Scheduler string
	Seed      uint64
	// Path is the transition ids taken, in order.
	Path []int32
	// At, under a clock, is the virtual time of each step.
	At         []time.Duration
	End        End
	Violations []Violation
	clocked    bool
}

// Clone returns a copy of r that the next run does not overwrite.
func (r *Result) Clone() *Result {
	c := *r
	c.Path = append([]int32(nil), r.Path...)
	if r.At != nil {
		c.At = append([]time.Duration(nil), r.At...)
	}
	c.Violations = append([]Violation(nil), r.Violations...)
	return &c
}

// Failed reports whether a property failed.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// Run runs the scenario once from its initial state for at most maxSteps
// steps, choosing with sched started with seed. The Result belongs to
// the Sim and is overwritten by the next Run; Clone it to keep it.
func (s *Sim) Run(sched Scheduler, seed uint64, maxSteps int) *Result {
	sys := s.sys
	clk, clocked := sched.(Clocked)
	if clocked {
		sys = s.timed
	}
	sched.Start(sys, seed)
	r := &s.res
	*r = Result{Scheduler: sched.Name(), Seed: seed, Path: r.Path[:0], At: r.At[:0], Violations: r.Violations[:0], clocked: clocked}
	copy(s.cur, s.init)
	clear(s.held)
	s.checkState(r, s.cur, 0)
	if len(r.Violations) > 0 {
		r.End = Violated
		return r
	}
	e := &s.e
	e.Sys = sys
	for step := 1; ; step++ {
		e.reset()
		e.Step, e.State = step, s.cur
		sys.Successors(s.cur, s.scr, s.yield)
		if len(e.plain) == 0 {
			// Nothing but faults, which need not happen: the run may end
			// here, so it is judged as an end (as the checker does); it
			// goes on with a fault only when that judgement finds nothing.
			s.checkEnd(r, s.cur, step-1)
			if len(r.Violations) > 0 {
				r.End = Violated
				return r
			}
		}
		if e.Len() == 0 {
			r.End = Stopped
			return r
		}
		if step > maxSteps {
			r.End = Bound
			return r
		}
		i := sched.Pick(e)
		if i < 0 || i >= e.Len() {
			r.End = Aborted
			return r
		}
		id, post := e.ids[i], e.Next(i)
		r.Path = append(r.Path, id)
		if clocked {
			r.At = append(r.At, clk.Now())
		}
		for _, pi := range s.stepP {
			if !s.props[pi].Step(s.cur, id, post) {
				r.Violations = append(r.Violations, Violation{Property: s.props[pi].Name, Kind: s.props[pi].Kind, Step: step})
			}
		}
		s.checkState(r, post, step)
		if len(r.Violations) > 0 {
			r.End = Violated
			return r
		}
		copy(s.cur, post)
	}
}

// checkState checks the invariants in st and notes the eventually-
// properties that hold there.
func (s *Sim) checkState(r *Result, st model.State, step int) {
	for _, pi := range s.inv {
		if !s.props[pi].State(st) {
			r.Violations = append(r.Violations, Violation{Property: s.props[pi].Name, Kind: s.props[pi].Kind, Step: step})
		}
	}
	for _, pi := range s.ev {
		if !s.held[pi] && s.props[pi].State(st) {
			s.held[pi] = true
		}
	}
}

// checkEnd checks a state without successors other than faults:
// deadlock, and the eventually-properties that never held.
func (s *Sim) checkEnd(r *Result, st model.State, step int) {
	if s.dead >= 0 && !s.sys.Quiescent(st) {
		r.Violations = append(r.Violations, Violation{Property: s.props[s.dead].Name, Kind: checker.Deadlock, Step: step})
	}
	for _, pi := range s.ev {
		if !s.held[pi] {
			r.Violations = append(r.Violations, Violation{Property: s.props[pi].Name, Kind: checker.Eventually, Step: step})
		}
	}
}

// Trace renders a run as a trace in the checker's format. A failed run
// is the counterexample of its first violation.
func (s *Sim) Trace(r *Result) (*trace.Trace, error) {
	sys := s.sys
	if r.clocked {
		sys = s.timed
	}
	prop, loop := "", -1
	switch {
	case len(r.Violations) > 0:
		v := r.Violations[0]
		prop = v.Property
		if v.Kind == checker.Eventually {
			loop = len(r.Path)
		}
	case r.End == Stopped:
		loop = len(r.Path)
	}
	tr, err := trace.FromPath(sys, s.Scenario, prop, r.Path, loop)
	if err != nil {
		return nil, fmt.Errorf("sim: internal error: run does not replay: %v", err)
	}
	tr.Scheduler, tr.Seed, tr.File = r.Scheduler, r.Seed, s.File
	if r.clocked {
		tr.Timers = "clock"
		for i := range tr.Steps {
			tr.Steps[i].At = r.At[i]
		}
	}
	return tr, nil
}
