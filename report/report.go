package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/trace"
)

// A Run is what one report shows: the scenarios of one invocation.
type Run struct {
	// Title heads the page ("xbcheck scenarios/").
	Title string
	// Command is the command line that made the run, shown under the
	// title ("" for none).
	Command   string
	Scenarios []Scenario
}

// A Scenario is one scenario's result.
type Scenario struct {
	Name, File, Description string
	// Verdict is the checker's verdict, or for a simulation run "violation"
	// when a property failed and "ok" otherwise; "" when the scenario did
	// not load (see Error).
	Verdict checker.Verdict
	// Violated lists the properties found violated.
	Violated []string
	// Expect is the expected verdict as printed: "ok" or
	// "violation(PROPERTY)"; "" when there is nothing to compare with (a
	// simulation).
	Expect string
	Match  bool
	// Reason says why a verdict is unknown.
	Reason string
	// Stats are the checker's statistics (nil for a simulation).
	Stats *checker.Stats
	// Error is why the scenario could not be checked ("" when it was).
	Error string
	// System is the compiled model the traces are runs of; the
	// step-throughs need it. Nil only when Traces is empty.
	System *model.System
	Traces []Trace
}

// A Trace is one run to step through: a counterexample or a simulation.
type Trace struct {
	// Trace is the run; each step's ID must be the transition taken (as
	// trace.FromPath and sim set it).
	Trace *trace.Trace
	// Kind is the violated property's kind ("" for a run without one).
	Kind checker.Kind
	// Real is what a real host did during the same run, or nil.
	Real *RealTrace
}

// A RealTrace is a real host's record of the run a model trace stands
// for, shown beside the model's steps: the hook for real-host replays.
// Each entry names the model step it belongs to.
type RealTrace struct {
	// Source says where it was recorded ("oxenstored 4.17 on host h1").
	Source  string      `json:"source"`
	Entries []RealEntry `json:"entries"`
}

// A RealEntry is one thing the real host did.
type RealEntry struct {
	// Step is the model step (from 1) the entry is explained by; 0 for
	// before the first step, -1 for none (shown as unexplained).
	Step int `json:"step"`
	// Who did it: "kernel ring of domain 1", "toolstack", "hotplug script".
	Who string `json:"who"`
	// Text is the request and its result as recorded.
	Text string `json:"text"`
}

// The page's data: one cexData per trace, read by the page's script.
type pageData struct {
	Traces []*cexData `json:"traces"`
}

type cexData struct {
	ID        string       `json:"id"`
	Scenario  string       `json:"scenario"`
	Title     string       `json:"title"`
	Property  string       `json:"property,omitempty"`
	Kind      string       `json:"kind,omitempty"`
	Loop      int          `json:"loop"`
	Violating int          `json:"violating"` // the step to jump to (v); 0 for none
	Bad       []int        `json:"bad"`       // the steps that are the violation
	Note      string       `json:"note"`      // what the red steps mean
	Actors    []actorData  `json:"actors"`
	Paths     []pathData   `json:"paths"` // in tree order
	Values    []string     `json:"values"`
	StateName []string     `json:"stateName"` // per value: its XenbusState name, or ""
	Watches   []watchData  `json:"watches"`
	States    []stateData  `json:"states"`
	Steps     []stepData   `json:"steps"`
	Real      *RealTrace   `json:"real,omitempty"`
	Shared    []sharedData `json:"shared"`
}

type actorData struct {
	Name   string    `json:"name"`
	Kind   string    `json:"kind"`
	Domain string    `json:"domain"`
	Locs   []locData `json:"locs"`
	Chart  bool      `json:"chart"` // a chart of the actor is on the page
}

type locData struct {
	Name  string `json:"name"`
	Desc  string `json:"desc"`
	Final bool   `json:"final,omitempty"`
}

type pathData struct {
	ID    int    `json:"id"` // index into a state's store
	Name  string `json:"name"`
	Base  string `json:"base"`
	Depth int    `json:"depth"`
	State bool   `json:"state,omitempty"` // a XenbusState node
}

type watchData struct {
	Actor int    `json:"actor"`
	Name  string `json:"name"`
	Path  string `json:"path"`
}

type sharedData struct {
	Name string `json:"name"`
}

type stateData struct {
	Loc    []int      `json:"loc"`
	Store  []int      `json:"store"`
	Watch  []int      `json:"watch"` // 0 off, 1 registered, 2 event pending
	Vars   [][]string `json:"vars"`  // per actor: "name = value"
	Shared []string   `json:"shared"`
	Txn    []txnData  `json:"txn"`
	Mark   []string   `json:"mark"` // element ids marked xb-cur
}

type txnData struct {
	Actor int      `json:"actor"`
	Body  string   `json:"body"`
	Desc  string   `json:"desc"`
	Ops   []string `json:"ops"`
}

type stepData struct {
	Actor      int      `json:"actor"`
	Transition string   `json:"transition"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Desc       string   `json:"desc"`
	Guard      string   `json:"guard"`
	What       string   `json:"what"` // watch event, timer, fault
	Ops        []string `json:"ops"`
	Changes    []string `json:"changes"`
	At         string   `json:"at,omitempty"`
	Mark       []string `json:"mark"` // element ids marked xb-step
}

// traceStates replays tr on sys and returns the states it visits (the
// initial state first) and the transitions it takes. It fails when a
// step's ID is not the recorded transition or is not enabled.
func traceStates(sys *model.System, tr *trace.Trace) ([]model.State, []*model.Transition, error) {
	st := sys.Initial()
	states := []model.State{st}
	var ts []*model.Transition
	for i, s := range tr.Steps {
		id := int(s.ID)
		if id < 0 || id >= len(sys.Trans) {
			return nil, nil, fmt.Errorf("report: %s: step %d: no transition %d", tr.Scenario, i+1, id)
		}
		t := &sys.Trans[id]
		if sys.Actors[t.Actor].Name != s.Actor || t.Name != s.Transition {
			return nil, nil, fmt.Errorf("report: %s: step %d: transition %d is %s %q, the trace says %s %q (a trace without transition ids?)",
				tr.Scenario, i+1, id, sys.Actors[t.Actor].Name, t.Name, s.Actor, s.Transition)
		}
		if !sys.Enabled(st, t) {
			return nil, nil, fmt.Errorf("report: %s: step %d: %s %q is not enabled", tr.Scenario, i+1, s.Actor, s.Transition)
		}
		st = sys.Apply(st, t)
		states = append(states, st)
		ts = append(ts, t)
	}
	return states, ts, nil
}

// badSteps returns the steps (from 1) that are the violation, as the
// sequence diagram colours them, and the step to jump to.
func badSteps(tr *trace.Trace) (bad []int, jump int, note string) {
	n := len(tr.Steps)
	if tr.Property == "" || n == 0 {
		return []int{}, 0, ""
	}
	switch {
	case tr.Loop >= 0 && tr.Loop < n:
		for i := tr.Loop; i < n; i++ {
			bad = append(bad, i+1)
		}
		return bad, tr.Loop + 1, fmt.Sprintf("steps %d to %d repeat forever: %s never holds on this cycle", tr.Loop+1, n, tr.Property)
	case tr.Loop == n:
		return []int{n}, n, fmt.Sprintf("after step %d no step is enabled: %s is violated where the run ends", n, tr.Property)
	}
	return []int{n}, n, fmt.Sprintf("step %d violates %s", n, tr.Property)
}

// buildTrace computes the page data of one trace: the states and steps,
// with the element ids of the charts each marks.
func buildTrace(id string, sc *Scenario, t *Trace, ch *traceCharts) (*cexData, error) {
	sys, tr := sc.System, t.Trace
	states, trans, err := traceStates(sys, tr)
	if err != nil {
		return nil, err
	}
	d := &cexData{ID: id, Scenario: sc.Name, Property: tr.Property, Kind: string(t.Kind), Loop: tr.Loop, Real: t.Real}
	d.Title = "run of " + tr.Scenario
	if tr.Scheduler != "" {
		d.Title += fmt.Sprintf(" (scheduler %s, seed %d)", tr.Scheduler, tr.Seed)
	}
	if tr.Property != "" {
		d.Title = "counterexample of " + tr.Property + " in " + tr.Scenario
		if t.Kind != "" {
			d.Title += " (" + string(t.Kind) + ")"
		}
	}
	d.Bad, d.Violating, d.Note = badSteps(tr)
	for ai := range sys.Actors {
		a := &sys.Actors[ai]
		ad := actorData{Name: a.Name, Kind: a.Kind.String(), Domain: sys.DomainNames[a.Domain], Chart: ch != nil && ch.actors[ai] != nil}
		for _, l := range a.Locs {
			ad.Locs = append(ad.Locs, locData{Name: l.Name, Desc: l.Desc, Final: l.Final})
		}
		d.Actors = append(d.Actors, ad)
	}
	d.Paths = treeOrder(sys)
	for v := range sys.Values {
		d.Values = append(d.Values, sys.FormatValue(model.Value(v)))
		name := ""
		if v >= 2 && v <= 10 && sys.Values[v] == fmt.Sprint(v-2) {
			name = model.XenbusState(v - 2).String()
		}
		d.StateName = append(d.StateName, name)
	}
	d.Watches = []watchData{}
	for _, w := range sys.Watches {
		d.Watches = append(d.Watches, watchData{Actor: w.Actor, Name: w.Name, Path: sys.Paths[w.Path].Name})
	}
	locVar := map[model.VarID]bool{}
	for ai := range sys.Actors {
		locVar[sys.Actors[ai].Loc] = true
	}
	for k, st := range states {
		sd := stateData{Loc: []int{}, Store: []int{}, Watch: []int{}, Vars: [][]string{}, Shared: []string{}, Txn: []txnData{}, Mark: []string{}}
		for ai := range sys.Actors {
			sd.Loc = append(sd.Loc, int(sys.LocOf(st, ai)))
			var vars []string
			for v := range sys.Vars {
				vr := &sys.Vars[v]
				if vr.Actor == ai && !locVar[model.VarID(v)] {
					vars = append(vars, strings.TrimPrefix(vr.Name, sys.Actors[ai].Name+".")+" = "+sys.FormatVar(model.VarID(v), sys.VarValue(st, model.VarID(v))))
				}
			}
			if vars == nil {
				vars = []string{}
			}
			sd.Vars = append(sd.Vars, vars)
			if body := sys.OpenBody(st, ai); body != nil {
				td := txnData{Actor: ai, Body: body.Name, Desc: body.Desc, Ops: []string{}}
				for _, op := range body.Ops {
					s := sys.FormatOp(op, nil)
					if op.Kind.IsWrite() {
						s += " (at commit)"
					}
					td.Ops = append(td.Ops, s)
				}
				sd.Txn = append(sd.Txn, td)
			}
		}
		for p := range sys.Paths {
			sd.Store = append(sd.Store, int(sys.Get(st, model.PathID(p))))
		}
		for w := range sys.Watches {
			x := 0
			if sys.WatchRegistered(st, model.WatchID(w)) {
				x = 1
			}
			if sys.WatchPending(st, model.WatchID(w)) {
				x = 2
			}
			sd.Watch = append(sd.Watch, x)
		}
		for v := range sys.Vars {
			if sys.Vars[v].Actor < 0 && !locVar[model.VarID(v)] {
				sd.Shared = append(sd.Shared, sys.Vars[v].Name+" = "+sys.FormatVar(model.VarID(v), sys.VarValue(st, model.VarID(v))))
			}
		}
		if ch != nil {
			sd.Mark = append(sd.Mark, ch.stateMarks(sys, st, k)...)
		}
		d.States = append(d.States, sd)
	}
	for i, s := range tr.Steps {
		t := trans[i]
		sd := stepData{Actor: t.Actor, Transition: s.Transition, From: s.From, To: s.To, Desc: t.Desc, Ops: s.Ops, Changes: s.Changes, Mark: []string{}}
		if sd.Ops == nil {
			sd.Ops = []string{}
		}
		if sd.Changes == nil {
			sd.Changes = []string{}
		}
		if len(t.Guard) > 0 {
			sd.Guard = sys.FormatGuard(t.Guard)
		}
		switch {
		case t.Fault != "":
			sd.What = "fault " + t.Fault
		case t.Timeout > 0:
			sd.What = fmt.Sprintf("timer (%s)", time.Duration(t.Timeout)*time.Millisecond)
		case t.Watch != model.NoWatch:
			sd.What = "watch event on " + sys.Paths[sys.Watches[t.Watch].Path].Name
		case t.Kind == model.TxnBody:
			sd.What = "transaction body (its writes apply at the commit)"
		case t.Kind == model.Commit:
			sd.What = "transaction commit"
		case t.Kind == model.EAGAIN:
			sd.What = "transaction commit fails with EAGAIN"
		}
		if s.At != 0 {
			sd.At = s.At.String()
		}
		if ch != nil {
			sd.Mark = append(sd.Mark, ch.stepMarks(sys, states[i], t, states[i+1], i)...)
		}
		d.Steps = append(d.Steps, sd)
	}
	for v := range sys.Vars {
		if sys.Vars[v].Actor < 0 && !locVar[model.VarID(v)] {
			d.Shared = append(d.Shared, sharedData{Name: sys.Vars[v].Name})
		}
	}
	if d.Shared == nil {
		d.Shared = []sharedData{}
	}
	return d, nil
}

// treeOrder lists the paths of sys depth-first, children by name.
func treeOrder(sys *model.System) []pathData {
	var out []pathData
	var walk func(p model.PathID, depth int)
	walk = func(p model.PathID, depth int) {
		name := sys.Paths[p].Name
		base := name[strings.LastIndexByte(name, '/')+1:]
		if name == "/" {
			base = "/"
		}
		out = append(out, pathData{ID: int(p), Name: name, Base: base, Depth: depth, State: strings.HasSuffix(name, "/state")})
		kids := append([]model.PathID(nil), sys.Paths[p].Children...)
		sort.Slice(kids, func(i, j int) bool { return sys.Paths[kids[i]].Name < sys.Paths[kids[j]].Name })
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	for p := range sys.Paths {
		if sys.Paths[p].Parent == model.NoPath {
			walk(model.PathID(p), 0)
		}
	}
	return out
}
