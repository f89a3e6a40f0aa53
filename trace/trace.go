// Package trace is the one format of every run the project writes: a
// checker counterexample or a simulation run of a scenario, as a list of
// steps, each with its actor, transition, xenstore operations and the
// changes it makes to the state. It has a text form for people and a JSON
// form for machines.
package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/model"
)

// A Trace is a run of a scenario from its initial state.
type Trace struct {
	Scenario string `json:"scenario"`
	// Property is the property a counterexample violates ("" for a run).
	Property string `json:"property,omitempty"`
	Steps    []Step `json:"steps"`
	// Loop, for the lasso of an eventually-property, is the index of the
	// first step of the cycle (Steps[Loop:] returns to the state before
	// Steps[Loop]); len(Steps) when the run stops with no successor; -1
	// for a plain run.
	Loop int `json:"loop"`
	// Scheduler and Seed say how a simulation chose its steps (xbsim run
	// --scheduler S --seed N replays it); empty for a checker
	// counterexample.
	Scheduler string `json:"scheduler,omitempty"`
	Seed      uint64 `json:"seed,omitempty"`
	// Timers is "clock" when the run's timers fired by a virtual clock
	// (every step has its time in At) rather than by the scenario's timer
	// semantics; a replay then lets a timer fire whenever its actor waits.
	Timers string `json:"timers,omitempty"`
	// File is the scenario file the run was made from, when known.
	File string `json:"file,omitempty"`
}

// A Step is one transition of one actor.
type Step struct {
	Actor      string   `json:"actor"`
	Transition string   `json:"transition"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Ops        []string `json:"ops,omitempty"`
	// Changes are the nodes and variables the step changed, as
	// "path = value" (⊥ for a removed node).
	Changes []string `json:"changes,omitempty"`
	// ID is the transition's index in the compiled model.
	ID int32 `json:"id"`
	// At is the virtual time of the step in a clocked simulation.
	At time.Duration `json:"at,omitempty"`
}

// FromPath replays the transitions ids from sys's initial state and
// returns the trace. It fails if a transition is not enabled where the
// path takes it.
func FromPath(sys *model.System, scenario, property string, ids []int32, loop int) (*Trace, error) {
	t := &Trace{Scenario: scenario, Property: property, Loop: loop}
	st := sys.Initial()
	for i, id := range ids {
		if int(id) < 0 || int(id) >= len(sys.Trans) {
			return nil, fmt.Errorf("step %d: no transition %d", i+1, id)
		}
		tr := &sys.Trans[id]
		if !sys.Enabled(st, tr) {
			return nil, fmt.Errorf("step %d: %s %q is not enabled", i+1, sys.Actors[tr.Actor].Name, tr.Name)
		}
		next := sys.Apply(st, tr)
		t.Steps = append(t.Steps, Describe(sys, st, tr, next))
		st = next
	}
	return t, nil
}

// Describe returns the step tr makes from pre to post: its actor,
// transition, locations, operations and changes.
func Describe(sys *model.System, pre model.State, tr *model.Transition, post model.State) Step {
	a := &sys.Actors[tr.Actor]
	s := Step{Actor: a.Name, Transition: tr.Name, ID: int32(tr.ID),
		From: a.LocName(sys.LocOf(pre, tr.Actor)), To: a.LocName(sys.LocOf(post, tr.Actor))}
	if tr.Kind == model.Commit {
		if body := sys.OpenBody(pre, tr.Actor); body != nil {
			for _, op := range body.Ops {
				if op.Kind.IsWrite() {
					s.Ops = append(s.Ops, "(txn) "+sys.FormatOp(op, nil))
				}
			}
		}
	}
	for _, op := range tr.Ops {
		f := sys.FormatOp(op, pre)
		if tr.Kind == model.TxnBody && op.Kind.IsWrite() {
			f += " (at commit)"
		}
		s.Ops = append(s.Ops, f)
	}
	for p := range sys.Paths {
		if pre[p] != post[p] {
			s.Changes = append(s.Changes, sys.Paths[p].Name+" = "+sys.FormatValue(model.Value(post[p])))
		}
	}
	for v := range sys.Vars {
		id := model.VarID(v)
		if sys.VarValue(pre, id) != sys.VarValue(post, id) && id != a.Loc && !isLoc(sys, id) {
			s.Changes = append(s.Changes, sys.Vars[v].Name+" = "+sys.FormatVar(id, sys.VarValue(post, id)))
		}
	}
	for ai := range sys.Actors {
		if ai != tr.Actor && sys.LocOf(pre, ai) != sys.LocOf(post, ai) {
			o := &sys.Actors[ai]
			s.Changes = append(s.Changes, o.Name+" @ "+o.LocName(sys.LocOf(post, ai)))
		}
	}
	return s
}

func isLoc(sys *model.System, v model.VarID) bool {
	for i := range sys.Actors {
		if sys.Actors[i].Loc == v {
			return true
		}
	}
	return false
}

// Text renders t in the text form:
//
//	trace scenario=NAME property=PROP loop=N
//	step 1 ACTOR "TRANSITION" FROM -> TO
//	  op OPERATION
//	  = CHANGE
//
// A simulation run adds scheduler=S seed=N (and timers=clock, file="F")
// to the first line, and a line "  at TIME" after each step's first line
// when it ran on a virtual clock. Parse reads the text back.
func (t *Trace) Text() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "trace scenario=%s", word(t.Scenario))
	if t.Property != "" {
		fmt.Fprintf(&b, " property=%s", word(t.Property))
	}
	fmt.Fprintf(&b, " loop=%d", t.Loop)
	if t.Scheduler != "" {
		fmt.Fprintf(&b, " scheduler=%s seed=%d", word(t.Scheduler), t.Seed)
	}
	if t.Timers != "" {
		fmt.Fprintf(&b, " timers=%s", word(t.Timers))
	}
	if t.File != "" {
		fmt.Fprintf(&b, " file=%q", t.File)
	}
	b.WriteByte('\n')
	for i, s := range t.Steps {
		if t.Loop >= 0 && i == t.Loop && t.Loop < len(t.Steps) {
			b.WriteString("cycle: the steps below repeat forever\n")
		}
		fmt.Fprintf(&b, "step %d %s %q %s -> %s\n", i+1, s.Actor, s.Transition, s.From, s.To)
		if s.At != 0 {
			fmt.Fprintf(&b, "  at %s\n", s.At)
		}
		for _, op := range s.Ops {
			fmt.Fprintf(&b, "  op %s\n", op)
		}
		for _, c := range s.Changes {
			fmt.Fprintf(&b, "  = %s\n", c)
		}
	}
	if t.Loop == len(t.Steps) {
		b.WriteString(endLine + "\n")
	}
	return b.String()
}

// word renders a header value: as it is when it is one plain word, quoted
// otherwise, so that Parse can read it back.
func word(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=\\") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// JSON renders t as indented JSON.
func (t *Trace) JSON() ([]byte, error) { return json.MarshalIndent(t, "", "  ") }

// Summary is the trace as one line of "actor: transition" steps.
func (t *Trace) Summary() string {
	parts := make([]string, len(t.Steps))
	for i, s := range t.Steps {
		parts[i] = s.Actor + "." + s.Transition
	}
	return strings.Join(parts, " → ")
}
