package checker_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/props"
	"github.com/xbcheck/xbcheck/scenario"
)

// porFor returns the partial-order reduction for tc's properties: the
// scenario's own, or, for the family's "never-all-connected" case (a
// property the scenario does not name), one that also keeps the
// frontends' state nodes visible.
func porFor(t *testing.T, tc case_) *model.POR {
	t.Helper()
	c := tc.c
	if !strings.HasSuffix(tc.name, "-all-connected") {
		return c.POR
	}
	v, ok := props.VisibilityOf(c.System, c.Spec.Check.Properties)
	if !ok {
		t.Fatalf("%s: no reads", tc.name)
	}
	for i := range c.System.Devices {
		v.Offsets[c.System.PathOffset(c.System.Devices[i].FEState)] = true
	}
	return c.System.NewPORFor(v)
}

// TestPORAgrees: on every scenario and the benchmark family, the
// partial-order reduced search, alone and with symmetry, with its own
// counterexamples (before any search again), finds the same violated
// properties as the full search, each counterexample is a real run whose
// last step (or state) violates its property and is no shorter than the
// full search's, the reduced search never explores more states when the
// full one is complete, and after
// the search again the counterexamples are the full search's. The
// reduction must be real: some scenario with a violation, and some
// without, saves states.
func TestPORAgrees(t *testing.T) {
	reducedViolation, reducedOk := false, false
	for _, tc := range allCases(t, 1, 2) {
		c := tc.c
		por := porFor(t, tc)
		for _, sym := range []bool{false, true} {
			name := tc.name
			if sym {
				name += " (symmetry)"
			}
			full := checker.Check(c.System, c.Properties, checker.Options{Symmetry: sym})
			red := checker.Check(c.System, c.Properties, checker.Options{POR: por, ReducedCounterexamples: true, Symmetry: sym})
			if len(red.Notes) > 0 && red.Stats.Reduced > 0 {
				t.Errorf("%s: notes %q although the reduction was used", name, red.Notes)
			}
			if full.Verdict != red.Verdict {
				t.Errorf("%s: verdict %s with POR, %s without", name, red.Verdict, full.Verdict)
				continue
			}
			if diff := cmp.Diff(violated(full), violated(red)); diff != "" {
				t.Errorf("%s: violated properties differ with POR (-without +with):\n%s", name, diff)
			}
			for _, v := range red.Violations {
				checkRun(t, name, c, v)
				for _, w := range full.Violations {
					if w.Property == v.Property && len(v.Path) < len(w.Path) {
						t.Errorf("%s: %s in %d steps with POR, shorter than the shortest (%d)", name, v.Property, len(v.Path), len(w.Path))
					}
				}
			}
			// A search stops once every property fails (and a reduced one
			// may find a violation a level later): compare complete ones.
			if full.Stats.Complete && red.Stats.States > full.Stats.States {
				t.Errorf("%s: %d states with POR > %d without", name, red.Stats.States, full.Stats.States)
			}
			if red.Stats.Reduced > 0 && len(c.System.Devices) > 0 && !sym {
				if red.Verdict == checker.Violation {
					reducedViolation = true
				} else if red.Stats.States < full.Stats.States {
					reducedOk = true
				}
			}
			again := checker.Check(c.System, c.Properties, checker.Options{POR: por, Symmetry: sym})
			if diff := cmp.Diff(full.Violations, again.Violations); diff != "" {
				t.Errorf("%s: counterexamples after the search again differ (-without POR +with):\n%s", name, diff)
			}
		}
	}
	if !reducedViolation || !reducedOk {
		t.Errorf("reduction used on a violating scenario: %v, saving states on an ok one: %v; want both", reducedViolation, reducedOk)
	}
}

func violated(r checker.Result) []string {
	var out []string
	for _, v := range r.Violations {
		out = append(out, v.Property)
	}
	return out
}

// checkRun replays v on the model: every step is enabled, and the
// violation is at the end (the last step violates a step property, the
// last state an invariant, the last state is stuck for deadlock).
func checkRun(t *testing.T, name string, c *scenario.Compiled, v checker.Counterexample) {
	t.Helper()
	sys := c.System
	var p checker.Property
	for _, q := range c.Properties {
		if q.Name == v.Property {
			p = q
		}
	}
	st := sys.Initial()
	for i, id := range v.Path {
		tr := &sys.Trans[id]
		if !sys.Enabled(st, tr) {
			t.Errorf("%s: %s: step %d (%s) is not enabled", name, v.Property, i+1, tr.Name)
			return
		}
		next := sys.Apply(st, tr)
		if i == len(v.Path)-1 && p.Kind == checker.StepInvariant && p.Step(st, id, next) {
			t.Errorf("%s: the last step does not violate %s", name, v.Property)
		}
		st = next
	}
	switch p.Kind {
	case checker.Invariant:
		if p.State(st) {
			t.Errorf("%s: the last state does not violate %s", name, v.Property)
		}
	case checker.Deadlock:
		moves := 0
		sys.Next(st, make([]byte, sys.Size()), func(_, _ int32, fault bool, _ []byte) bool {
			if !fault {
				moves++
			}
			return true
		})
		if moves > 0 || sys.Quiescent(st) {
			t.Errorf("%s: the last state of the deadlock is not stuck", name)
		}
	}
}

// TestPOROnTheBenchmark pins what partial-order reduction does on the
// benchmark family, alone and with symmetry (unreduced: 157, 16,488 and
// 2,051,606 states for N = 1, 2, 3; with symmetry alone 157, 8,308,
// 350,134 and 11,360,560 classes for N = 1 to 4), with the cycle check
// after the search (the family's graph has no cycle, so the reduced
// search stands, without notes) and with the breadth-first proviso.
func TestPOROnTheBenchmark(t *testing.T) {
	for _, tc := range []struct {
		n          int
		sym        bool
		bfsProviso bool
		want       int
		long       bool
	}{
		{1, false, false, 134, false}, {2, false, false, 2694, false}, {3, false, false, 44341, false},
		{2, true, false, 1356, false}, {3, true, false, 8115, false}, {4, true, false, 36233, false},
		{1, false, true, 135, false}, {2, false, true, 7078, false}, {3, false, true, 364641, true},
		{2, true, true, 3433, false}, {3, true, true, 52878, false},
	} {
		if tc.long && testing.Short() {
			continue
		}
		c, err := bench.AttachDetach(tc.n)
		if err != nil {
			t.Fatal(err)
		}
		red := checker.Check(c.System, c.Properties, checker.Options{POR: c.POR, Symmetry: tc.sym, BFSProviso: tc.bfsProviso})
		if red.Verdict != checker.Ok || red.Stats.States != tc.want || len(red.Notes) > 0 {
			t.Errorf("N=%d, symmetry %v, BFS proviso %v: %s with %d states, notes %q; want ok with %d, no notes", tc.n, tc.sym, tc.bfsProviso, red.Verdict, red.Stats.States, red.Notes, tc.want)
		}
	}
}

// reach explores sys breadth-first, through por's ample sets when por is
// set (with the breadth-first cycle proviso), and returns the projections
// of the reachable states onto the visible offsets (v.Offsets), with, for
// every step by a transition t whose per-step reads v.Steps[t] are not
// empty, t and the projection of the state before it onto them, and the
// number of stuck states (no move but faults, not quiescent). Transaction
// records are left out of the state projections: the reduction takes
// them as read only to know what a commit of their own actor applies
// (model.NewPOR), which TestRecordsReadOnlyForOwnSteps checks.
func reach(sys *model.System, por *model.POR, v model.Visibility) (proj map[string]bool, stuck, states int) {
	record := map[int]bool{}
	for a := range sys.Actors {
		for _, o := range sys.TxnOffsets(a) {
			record[o] = true
		}
	}
	var offs []int
	for o := range v.Offsets {
		if !record[o] {
			offs = append(offs, o)
		}
	}
	sort.Ints(offs)
	key := func(st []byte) string {
		b := make([]byte, len(offs))
		for i, o := range offs {
			b[i] = st[o]
		}
		return string(b)
	}
	stepKey := func(id int32, st []byte) string {
		if v.Steps == nil || len(v.Steps[id]) == 0 {
			return ""
		}
		b := []byte(fmt.Sprintf("step %d:", id))
		for _, o := range v.Steps[id] {
			b = append(b, st[o])
		}
		return string(b)
	}
	seen := map[string]bool{}
	proj = map[string]bool{}
	level := [][]byte{sys.InitialState()}
	seen[string(level[0])] = true
	buf := make([]byte, sys.Size())
	for len(level) > 0 {
		var next [][]byte
		for _, st := range level {
			proj[key(st)] = true
			var succ [][]byte
			var steps []string
			moves := 0
			yield := func(id, _ int32, fault bool, n []byte) bool {
				if !fault {
					moves++
				}
				succ = append(succ, append([]byte(nil), n...))
				if k := stepKey(id, st); k != "" {
					steps = append(steps, k)
				}
				return true
			}
			reduced := false
			if por != nil && por.Ample(st, buf, yield) && moves > 0 {
				reduced = true
				for _, n := range succ {
					if seen[string(n)] {
						reduced = false // proviso
					}
				}
			}
			if !reduced {
				succ, steps, moves = nil, nil, 0
				sys.Next(st, buf, yield)
				if moves == 0 && !sys.Quiescent(st) {
					stuck++
				}
			}
			for _, k := range steps {
				proj[k] = true
			}
			for _, n := range succ {
				if !seen[string(n)] {
					seen[string(n)] = true
					next = append(next, n)
				}
			}
		}
		level = next
	}
	return proj, stuck, len(seen)
}

// TestPORPreservesVisibleStates: partial-order reduction reaches every
// combination of visible bytes (what the properties without per-step
// reads read) that the full search reaches, takes every transition with
// per-step reads from every combination of those bytes that the full
// search takes it from, and finds stuck states exactly when it does, on
// every scenario under its own timer semantics and under any-time timers,
// and on the benchmark family (N = 1; N = 2 is a scenario). The reduction
// must be real on some of them, and some scenario must have steps with
// per-step reads.
func TestPORPreservesVisibleStates(t *testing.T) {
	saved, judged := 0, 0
	for _, tc := range allCases(t, 1) { // N = 2 is scenarios/two-disks-attach-detach-4.17
		if strings.Contains(tc.name, "all-connected") {
			continue
		}
		visible, ok := props.VisibilityOf(tc.c.System, tc.c.Spec.Check.Properties)
		if !ok {
			t.Fatalf("%s: no reads", tc.name)
		}
		for _, timers := range []model.TimerSemantics{tc.c.System.Timers, model.AnyTime} {
			sys := tc.c.System.WithTimers(timers)
			por := sys.NewPORFor(visible)
			fullProj, fullStuck, fullN := reach(sys, nil, visible)
			redProj, redStuck, redN := reach(sys, por, visible)
			for k := range fullProj {
				if strings.HasPrefix(k, "step ") {
					judged++
				}
				if !redProj[k] {
					t.Errorf("%s (timers %d): a visible combination (or a judged step's) reached without reduction is missed with it: %q", tc.name, timers, k)
					break
				}
			}
			if (fullStuck > 0) != (redStuck > 0) {
				t.Errorf("%s (timers %d): %d stuck states without reduction, %d with", tc.name, timers, fullStuck, redStuck)
			}
			saved += fullN - redN
		}
	}
	if saved == 0 {
		t.Error("partial-order reduction saved no state anywhere")
	}
	if judged == 0 {
		t.Error("no step with per-step reads anywhere: the test shows nothing of them")
	}
}

// timerRace builds two fair actors under any-time timers. A, at
// "start", writes /x (an invisible step); with own, A may instead time out
// to "late", from where it writes /seen-late. B waits at "wait" and, on
// its timer, writes /seen-timer while /x is absent (or gives up). The
// full search writes both visible nodes; an ample set {A's moves} that
// left A's timer out would miss /seen-late, and one that ignored B's
// timer in the independence check would miss /seen-timer.
func timerRace(t *testing.T, own bool) (*model.System, map[int]bool) {
	t.Helper()
	b := model.NewBuilder("timer-race")
	b.SetTimers(model.AnyTime)
	x, late, seen := b.Path("/x"), b.Path("/seen-late"), b.Path("/seen-timer")
	one := b.Value("1")
	a := b.Actor("A", model.Toolstack, -1, true)
	start, done := a.Loc("start", ""), a.Final("done", "")
	a.T(model.Transition{Name: "write x", From: start, To: done, Ops: []model.Op{model.Write(x, one)}})
	if own {
		l := a.Loc("late", "")
		a.T(model.Transition{Name: "timer", From: start, To: l, Timeout: 1000})
		a.T(model.Transition{Name: "late", From: l, To: done, Ops: []model.Op{model.Write(late, one)}})
	}
	bb := b.Actor("B", model.Toolstack, -1, true)
	wait, end := bb.Loc("wait", ""), bb.Final("end", "")
	bb.T(model.Transition{Name: "give up", From: wait, To: end})
	if !own {
		bb.T(model.Transition{Name: "timer", From: wait, To: end, Timeout: 1000, Guard: []model.Cond{model.IsAbsent(x)},
			Ops: []model.Op{model.Write(seen, one)}})
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return sys, map[int]bool{sys.PathOffset(late): true, sys.PathOffset(seen): true}
}

// TestPORAnyTimeTimers: under any-time timers the ample set of an actor
// includes its own timers, and other actors' timers count in the
// independence check.
func TestPORAnyTimeTimers(t *testing.T) {
	for _, own := range []bool{true, false} {
		sys, visible := timerRace(t, own)
		fullProj, _, _ := reach(sys, nil, model.Visibility{Offsets: visible})
		redProj, _, redN := reach(sys, sys.NewPOR(visible, false), model.Visibility{Offsets: visible})
		_, _, fullN := reach(sys, nil, model.Visibility{Offsets: visible})
		if len(redProj) != len(fullProj) {
			t.Errorf("own timer %v: %d visible combinations with reduction, %d without", own, len(redProj), len(fullProj))
		}
		if own && redN >= fullN {
			t.Errorf("own timer %v: no reduction (%d states, %d without): the test shows nothing", own, redN, fullN)
		}
	}
}

// TestRecordsReadOnlyForOwnSteps: the step properties of every scenario
// read a transaction record only to know what a step of the record's own
// actor applies, the assumption that lets the reduction take an actor's
// writes to its own record as invisible (model.NewPOR): on every
// reachable step, closing the other actors' records before and after the
// step changes no property's value. Some step must read its own record
// (a commit the property judges), or the test shows nothing.
func TestRecordsReadOnlyForOwnSteps(t *testing.T) {
	judged := 0
	for _, tc := range allCases(t) {
		sys := tc.c.System
		var steps []checker.Property
		for _, p := range tc.c.Properties {
			if p.Kind == checker.StepInvariant {
				steps = append(steps, p)
			}
		}
		if len(steps) == 0 {
			continue
		}
		sys.Walk(nil, func(st model.State, tr *model.Transition, next model.State) bool {
			pre, post := append(model.State(nil), st...), append(model.State(nil), next...)
			for a := range sys.Actors {
				if a == tr.Actor {
					continue
				}
				for _, o := range sys.TxnOffsets(a) {
					pre[o], post[o] = 0, 0
				}
			}
			for _, p := range steps {
				if p.Step(st, int32(tr.ID), next) != p.Step(pre, int32(tr.ID), post) {
					t.Errorf("%s: %s on step %s reads another actor's transaction record", tc.name, p.Name, tr.Name)
				}
			}
			if tr.Kind == model.Commit && sys.OpenBody(st, tr.Actor) != nil {
				judged++
			}
			return true
		})
	}
	if judged == 0 {
		t.Error("no commit of an open transaction in any scenario")
	}
}

// watchRace builds three fair actors. W has a registered watch on /x
// whose handler writes /bad while /flag is missing; F writes /x (firing
// the watch); G writes /flag. Writing /flag first disables the handler
// for good, so the only way to /bad is F, then W's handler, before G. A
// stubborn set {G} is wrong: W's handler reads /flag, and what enables it
// is F's write through the watch it fires.
func watchRace(t *testing.T) (*model.System, []checker.Property) {
	t.Helper()
	b := model.NewBuilder("watch-race")
	x, flag, bad := b.Path("/x"), b.Path("/flag"), b.Path("/bad")
	one := b.Value("1")
	w := b.Actor("W", model.Toolstack, -1, true)
	idle := w.Final("idle", "")
	wx := w.Watch("x", x, true)
	w.T(model.On(wx, model.Transition{Name: "bad", From: idle, To: model.SameLoc, Guard: []model.Cond{model.IsAbsent(flag)},
		Ops: []model.Op{model.Write(bad, one)}}))
	for _, a := range []struct {
		name string
		p    model.PathID
	}{{"G", flag}, {"F", x}} { // G first: its set is tried first
		ab := b.Actor(a.name, model.Toolstack, -1, true)
		start, done := ab.Loc("start", ""), ab.Final("done", "")
		ab.T(model.Transition{Name: "write", From: start, To: done, Ops: []model.Op{model.Write(a.p, one)}})
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	p := checker.Property{Name: "never-bad", Kind: checker.Invariant, Symmetric: true,
		State: func(st []byte) bool { return !sys.Exists(st, bad) }}
	return sys, []checker.Property{p}
}

// TestPORWatchFire: the stubborn set of G includes W's disabled handler
// (it reads what G writes), and the handler's necessary enabling set is
// what may fire its watch, F: the reduced search finds the violation, in
// as many states as the full one at most.
func TestPORWatchFire(t *testing.T) {
	sys, ps := watchRace(t)
	full := checker.Check(sys, ps, checker.Options{})
	por := sys.NewPOR(map[int]bool{sys.PathOffset(mustPath(t, sys, "/bad")): true}, false)
	red := checker.Check(sys, ps, checker.Options{POR: por, ReducedCounterexamples: true})
	if full.Verdict != checker.Violation || red.Verdict != checker.Violation {
		t.Errorf("verdict %s with POR, %s without; want violations", red.Verdict, full.Verdict)
	}
	if red.Stats.Reduced == 0 {
		t.Error("no state reduced: the test shows nothing")
	}
	if red.Stats.States > full.Stats.States {
		t.Errorf("%d states with POR > %d without", red.Stats.States, full.Stats.States)
	}
}

func mustPath(t *testing.T, sys *model.System, p string) model.PathID {
	t.Helper()
	id, ok := sys.PathByName(p)
	if !ok {
		t.Fatalf("no path %s", p)
	}
	return id
}

// cleanupRace builds four fair actors. W's watch on /p/z (a node that
// never exists) fires only when /p goes; its handler writes /bad while
// /flag is missing. C cleans up /p/x: it removes /p as well, firing the
// watch, only when /p/y is gone, which Y removes; G writes /flag. The
// only way to /bad is Y, then C, then W's handler, before G. In the
// stubborn set of G, W's handler is disabled (its watch is not pending)
// and C's firing of the watch is conditional (on /p/y missing): the
// necessary enabling set must stand for it with what may remove /p/y, Y.
func cleanupRace(t *testing.T) (*model.System, []checker.Property) {
	t.Helper()
	b := model.NewBuilder("cleanup-race")
	b.Path("/p")
	x, y, z := b.Path("/p/x"), b.Path("/p/y"), b.Path("/p/z")
	flag, bad := b.Path("/flag"), b.Path("/bad")
	one := b.Value("1")
	b.Init(x, one)
	b.Init(y, one)
	w := b.Actor("W", model.Toolstack, -1, true)
	idle := w.Final("idle", "")
	wz := w.Watch("z", z, true)
	w.T(model.On(wz, model.Transition{Name: "bad", From: idle, To: model.SameLoc, Guard: []model.Cond{model.IsAbsent(flag)},
		Ops: []model.Op{model.Write(bad, one)}}))
	for _, a := range []struct {
		name string
		op   model.Op
	}{{"G", model.Write(flag, one)}, {"C", model.Cleanup(x)}, {"Y", model.Rm(y)}} { // G first: its set is tried first
		ab := b.Actor(a.name, model.Toolstack, -1, true)
		start, done := ab.Loc("start", ""), ab.Final("done", "")
		ab.T(model.Transition{Name: "step", From: start, To: done, Ops: []model.Op{a.op}})
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	prop := checker.Property{Name: "never-bad", Kind: checker.Invariant, Symmetric: true,
		State: func(st []byte) bool { return !sys.Exists(st, bad) }}
	return sys, []checker.Property{prop}
}

// TestPORConditionalEnabler: a necessary enabling set stands for a
// conditional access (a cleanup's removal of an ancestor, when its other
// children are gone) by the transitions that may remove a child that
// exists (model's enablersOf): the reduced search finds the violation of
// cleanupRace, in as many states as the full one at most.
func TestPORConditionalEnabler(t *testing.T) {
	sys, ps := cleanupRace(t)
	full := checker.Check(sys, ps, checker.Options{})
	por := sys.NewPOR(map[int]bool{sys.PathOffset(mustPath(t, sys, "/bad")): true}, false)
	red := checker.Check(sys, ps, checker.Options{POR: por, ReducedCounterexamples: true})
	if full.Verdict != checker.Violation || red.Verdict != checker.Violation {
		t.Errorf("verdict %s with POR, %s without; want violations", red.Verdict, full.Verdict)
	}
	if red.Stats.States > full.Stats.States {
		t.Errorf("%d states with POR > %d without", red.Stats.States, full.Stats.States)
	}
}

// TestPOREnsureOnMissingNode: a write below a node creates it when it is
// missing, so it does not commute with a step that needs the node
// missing. T waits for /o to be missing and moves on; U writes /o/c,
// which creates /o and leaves T stuck (a deadlock). The stubborn set of
// T must hold U: the reduction lets writes that only create a node if
// missing (accEns) past a step that reads it only when the node exists
// and that step neither removes nor creates it.
func TestPOREnsureOnMissingNode(t *testing.T) {
	b := model.NewBuilder("ensure-race")
	b.Path("/o")
	c := b.Path("/o/c")
	one := b.Value("1")
	for _, a := range []struct {
		name string
		tr   model.Transition
	}{
		{"T", model.Transition{Name: "wait", Guard: []model.Cond{model.IsAbsent(b.Path("/o"))}}}, // T first: its set is tried first
		{"U", model.Transition{Name: "write", Ops: []model.Op{model.Write(c, one)}}},
	} {
		ab := b.Actor(a.name, model.Toolstack, -1, true)
		a.tr.From, a.tr.To = ab.Loc("start", ""), ab.Final("done", "")
		ab.T(a.tr)
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ps := []checker.Property{{Name: "deadlock", Kind: checker.Deadlock, Symmetric: true}}
	full := checker.Check(sys, ps, checker.Options{})
	red := checker.Check(sys, ps, checker.Options{POR: sys.NewPOR(nil, false), ReducedCounterexamples: true})
	if full.Verdict != checker.Violation || red.Verdict != checker.Violation {
		t.Errorf("verdict %s with POR, %s without; want deadlocks", red.Verdict, full.Verdict)
	}
}

// TestPORChainedStart: an actor another actor's transition starts
// (Builder.Chain: B waits at idle, with no move of its own, until A
// finishes) may still occur before a stubborn set moves. G writes /flag;
// B, once started, writes /bad while /flag is missing. The set of G must
// hold B's step (it reads /flag), and then what moves B out of idle: A's
// finish. Taking B's location as changed only by B's own moves leaves
// the set at {G} and loses the violation.
func TestPORChainedStart(t *testing.T) {
	b := model.NewBuilder("chained-start")
	flag, bad := b.Path("/flag"), b.Path("/bad")
	one := b.Value("1")
	g := b.Actor("G", model.Toolstack, -1, true) // G first: its set is tried first
	gs, gd := g.Loc("start", ""), g.Final("done", "")
	g.T(model.Transition{Name: "write flag", From: gs, To: gd, Ops: []model.Op{model.Write(flag, one)}})
	a := b.Actor("A", model.Toolstack, -1, true)
	as, ad := a.Loc("start", ""), a.Final("done", "")
	a.T(model.Transition{Name: "finish", From: as, To: ad})
	bb := b.Actor("B", model.Toolstack, -1, true)
	idle, run, end := bb.Final("idle", ""), bb.Loc("run", ""), bb.Final("end", "")
	bb.T(model.Transition{Name: "bad", From: run, To: end, Guard: []model.Cond{model.IsAbsent(flag)}, Ops: []model.Op{model.Write(bad, one)}})
	bb.T(model.Transition{Name: "give up", From: run, To: end, Guard: []model.Cond{model.Present(flag)}})
	_ = idle
	b.Chain(a.Index(), ad, bb.Index(), run)
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ps := []checker.Property{{Name: "never-bad", Kind: checker.Invariant, Symmetric: true,
		State: func(st []byte) bool { return !sys.Exists(st, bad) }}}
	full := checker.Check(sys, ps, checker.Options{})
	red := checker.Check(sys, ps, checker.Options{POR: sys.NewPOR(map[int]bool{sys.PathOffset(bad): true}, false), ReducedCounterexamples: true})
	if full.Verdict != checker.Violation || red.Verdict != checker.Violation {
		t.Errorf("verdict %s with POR, %s without; want violations", red.Verdict, full.Verdict)
	}
}
