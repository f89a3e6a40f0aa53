package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/trace"
)

// A Divergence is the first step of a trace that the model does not
// reproduce: the step is not enabled, or it leads elsewhere than recorded.
type Divergence struct {
	// Step is the step's number, from 1.
	Step int
	Msg  string
	// Diff is the go-cmp diff between the recorded step and the one the
	// model takes (-recorded +model), when there is one to compare.
	Diff string
}

func (d *Divergence) Error() string {
	s := fmt.Sprintf("step %d: %s", d.Step, d.Msg)
	if d.Diff != "" {
		s += " (-recorded +model):\n" + d.Diff
	}
	return s
}

// A Replay is the outcome of re-executing a trace.
type Replay struct {
	// Steps is the number of steps replayed.
	Steps int
	// Path is the transitions those steps took (the ids a text trace
	// does not record).
	Path []int32
	// Violations are the properties that failed, each at its first step.
	Violations []Violation
	// Ends reports whether no transition but faults is enabled after the
	// last step.
	Ends bool
	// Closes reports, for a lasso (0 <= Loop < len(Steps)), whether the
	// last step returns to the state before step Loop+1.
	Closes bool
}

var stepCmp = cmpopts.IgnoreFields(trace.Step{}, "ID", "At")

// Replay re-executes tr against the model: every step must be enabled and
// lead where the trace says (actor, transition, locations, operations,
// changes). Steps are found by actor and transition name, the ids of a
// JSON trace only break ties. A trace with timers=clock is replayed with
// every timer a candidate while its actor waits, and its times are
// checked: they never go back, and no timer fires before its deadline.
// The first difference is returned as a *Divergence. Properties are
// checked on the way, without stopping at a violation.
func (s *Sim) Replay(tr *trace.Trace) (*Replay, error) {
	sys := s.sys
	clocked := tr.Timers == "clock"
	if clocked {
		sys = s.timed
	} else if tr.Timers != "" {
		return nil, fmt.Errorf("trace: unknown timers %q (want clock)", tr.Timers)
	}
	out := &Replay{}
	st := sys.Initial()
	held := make([]bool, len(s.props))
	failed := make([]bool, len(s.props))
	note := func(pi, step int) {
		if !failed[pi] {
			failed[pi] = true
			out.Violations = append(out.Violations, Violation{Property: s.props[pi].Name, Kind: s.props[pi].Kind, Step: step})
		}
	}
	checkState := func(st model.State, step int) {
		for _, pi := range s.inv {
			if !s.props[pi].State(st) {
				note(pi, step)
			}
		}
		for _, pi := range s.ev {
			held[pi] = held[pi] || s.props[pi].State(st)
		}
	}
	checkState(st, 0)
	states := []model.State{st}
	entered := make([]time.Duration, len(sys.Actors))
	var now time.Duration
	for i, rec := range tr.Steps {
		n := i + 1
		t, next, err := s.resolve(sys, st, rec, n)
		if err != nil {
			return out, err
		}
		if clocked {
			if rec.At < now {
				return out, &Divergence{Step: n, Msg: fmt.Sprintf("time goes back from %s to %s", now, rec.At)}
			}
			now = rec.At
			if t.Timeout > 0 {
				if dl := entered[t.Actor] + time.Duration(t.Timeout)*time.Millisecond; now < dl {
					return out, &Divergence{Step: n, Msg: fmt.Sprintf("timer %q fires at %s, before its deadline %s", t.Name, now, dl)}
				}
			}
			for a := range sys.Actors {
				if sys.LocOf(st, a) != sys.LocOf(next, a) {
					entered[a] = now
				}
			}
		}
		for _, pi := range s.stepP {
			if !s.props[pi].Step(st, int32(t.ID), next) {
				note(pi, n)
			}
		}
		checkState(next, n)
		st = next
		states = append(states, st)
		out.Steps = n
		out.Path = append(out.Path, int32(t.ID))
	}
	// The run may end where nothing but faults is enabled: faults need
	// not happen.
	out.Ends = true
	sys.Successors(st, make(model.State, len(st)), func(t *model.Transition, _ model.State) bool {
		if t.Fault != "" {
			return true
		}
		out.Ends = false
		return false
	})
	if out.Ends {
		if s.dead >= 0 && !s.sys.Quiescent(st) {
			note(s.dead, out.Steps)
		}
		for _, pi := range s.ev {
			if !held[pi] {
				note(pi, out.Steps)
			}
		}
	}
	if tr.Loop >= 0 && tr.Loop < len(tr.Steps) {
		out.Closes = bytes.Equal(states[tr.Loop], st)
		if out.Closes {
			for _, pi := range s.ev {
				if !held[pi] {
					note(pi, out.Steps)
				}
			}
		}
	}
	return out, nil
}

// resolve finds the transition that step n of a trace takes from st.
func (s *Sim) resolve(sys *model.System, st model.State, rec trace.Step, n int) (*model.Transition, model.State, error) {
	actor := -1
	for a := range sys.Actors {
		if sys.Actors[a].Name == rec.Actor {
			actor = a
		}
	}
	if actor < 0 {
		return nil, nil, &Divergence{Step: n, Msg: fmt.Sprintf("no actor %q in the scenario", rec.Actor)}
	}
	var first *trace.Step
	var match *model.Transition
	var matchNext model.State
	for _, ti := range sys.Actors[actor].Trans {
		t := &sys.Trans[ti]
		if t.Name != rec.Transition || !sys.Enabled(st, t) {
			continue
		}
		next := sys.Apply(st, t)
		got := trace.Describe(sys, st, t, next)
		if cmp.Equal(rec, got, stepCmp) && (match == nil || int32(t.ID) == rec.ID) {
			match, matchNext = t, next
		}
		if first == nil {
			first = &got
		}
	}
	if match != nil {
		return match, matchNext, nil
	}
	if first != nil {
		return nil, nil, &Divergence{Step: n, Msg: fmt.Sprintf("%s %q does not lead to the recorded state", rec.Actor, rec.Transition),
			Diff: cmp.Diff(rec, *first, stepCmp)}
	}
	// Not enabled: compare with what the actor can do here, and list the
	// steps that are enabled.
	var enabled []string
	var other *trace.Step
	sys.Successors(st, make(model.State, len(st)), func(t *model.Transition, next model.State) bool {
		enabled = append(enabled, fmt.Sprintf("%s %q", sys.Actors[t.Actor].Name, t.Name))
		if t.Actor == actor && other == nil {
			d := trace.Describe(sys, st, t, next)
			other = &d
		}
		return true
	})
	d := &Divergence{Step: n, Msg: fmt.Sprintf("%s %q is not enabled (enabled: %s)", rec.Actor, rec.Transition, strings.Join(enabled, ", "))}
	if len(enabled) == 0 {
		d.Msg = fmt.Sprintf("%s %q is not enabled (no transition is)", rec.Actor, rec.Transition)
	}
	if other != nil {
		d.Diff = cmp.Diff(rec, *other, stepCmp)
	}
	return nil, nil, d
}

// Agrees checks that a replay ends in the violation the trace records: the
// trace's property fails at its last step (for a safety property or a
// deadlock), at the end of a run without successors, or on its lasso.
// A trace without a property must replay without a violation.
func (r *Replay) Agrees(tr *trace.Trace) error {
	if tr.Property == "" {
		if len(r.Violations) > 0 {
			v := r.Violations[0]
			return fmt.Errorf("the trace records no violation, but %s fails at step %d", v.Property, v.Step)
		}
		return nil
	}
	for _, v := range r.Violations {
		if v.Property != tr.Property {
			continue
		}
		if v.Step != len(tr.Steps) {
			return fmt.Errorf("%s fails at step %d, not at the last step %d", v.Property, v.Step, len(tr.Steps))
		}
		if v.Kind == checker.Eventually && !r.Ends && !r.Closes {
			return fmt.Errorf("%s: the trace neither ends nor closes its cycle", v.Property)
		}
		return nil
	}
	var got []string
	for _, v := range r.Violations {
		got = append(got, fmt.Sprintf("%s at step %d", v.Property, v.Step))
	}
	if len(got) == 0 {
		got = []string{"none"}
	}
	return fmt.Errorf("the trace records a violation of %s; the replay finds %s", tr.Property, strings.Join(got, ", "))
}

// FindScenario returns the scenario file of a trace read from traceFile:
// the trace's own file= when it exists (as given, or relative to the
// trace's directory), else NAME.toml in the trace's directory, in a
// scenarios/ directory beside it or beside any of its parents, or in
// ./scenarios.
func FindScenario(tr *trace.Trace, traceFile string) (string, error) {
	dir := filepath.Dir(traceFile)
	var tried []string
	exists := func(p string) bool {
		tried = append(tried, p)
		fi, err := os.Stat(p)
		return err == nil && !fi.IsDir()
	}
	if tr.File != "" {
		if exists(tr.File) {
			return tr.File, nil
		}
		if !filepath.IsAbs(tr.File) && exists(filepath.Join(dir, tr.File)) {
			return filepath.Join(dir, tr.File), nil
		}
	}
	name := tr.Scenario + ".toml"
	if strings.ContainsAny(tr.Scenario, `/\`) {
		return "", errors.New("trace: scenario name with a path separator")
	}
	if exists(filepath.Join(dir, name)) {
		return filepath.Join(dir, name), nil
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		for d := abs; ; d = filepath.Dir(d) {
			if p := filepath.Join(d, "scenarios", name); exists(p) {
				return p, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if p := filepath.Join("scenarios", name); exists(p) {
		return p, nil
	}
	return "", fmt.Errorf("scenario %s of %s not found (tried %s); give it with --scenario", tr.Scenario, traceFile, strings.Join(tried, ", "))
}
